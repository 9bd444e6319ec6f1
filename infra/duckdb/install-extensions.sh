#!/usr/bin/env bash
# Provision DuckDB's official `httpfs` extension offline (no extensions.duckdb.org).
#
# The signed extension binary is taken from the PyPI wheel `duckdb-ext-httpfs`,
# which repackages the official DuckDB-signed build. DuckDB verifies the
# signature on LOAD, so no `allow_unsigned_extensions` is needed.
#
# Installs to:
#   ${CITYCHECK_CACHE_DIR:-$HOME/.cache/citycheck}/duckdb-extensions/v<ver>/<platform>/httpfs.duckdb_extension
# and use it with:  SET extension_directory = '<...>/duckdb-extensions'
#   (or the `extension_directory` option of DuckDBInstance.create).
#
# Idempotent: a second run only hashes the installed file and exits.
#
# Usage:
#   infra/duckdb/install-extensions.sh               install (if needed), print the extension_directory
#   infra/duckdb/install-extensions.sh --print-dir   print the extension_directory only, install nothing
set -euo pipefail

# ---- Pins ---------------------------------------------------------------------------------
# DuckDB version: must equal the engine version of @duckdb/node-api (catalog in
# pnpm-workspace.yaml pins "1.4.4-r.4" -> engine 1.4.4). Extension binaries only load
# into the exact DuckDB version they were built for.
DUCKDB_VERSION="1.4.4"
# Build stamp of the PyPI wheel; wheel version = "${DUCKDB_VERSION}.${HTTPFS_WHEEL_BUILD}".
HTTPFS_WHEEL_BUILD="20260205"
HTTPFS_WHEEL_VERSION="${DUCKDB_VERSION}.${HTTPFS_WHEEL_BUILD}"
# sha256 of the extension file inside the linux x86_64 wheel (from the wheel's RECORD).
# Read indirectly as HTTPFS_SHA256_<platform>; add linux_arm64 when that wheel is vetted.
# shellcheck disable=SC2034
HTTPFS_SHA256_linux_amd64="ff726450b5374caaf9ffd9ef8fd9ec40df19b514117f079de3611326432a6646"
# ---------------------------------------------------------------------------------------------

die() { echo "install-extensions: ERROR: $*" >&2; exit 1; }
log() { echo "install-extensions: $*" >&2; }

CACHE_DIR="${CITYCHECK_CACHE_DIR:-$HOME/.cache/citycheck}"
EXT_DIR="${CACHE_DIR}/duckdb-extensions"
WHEEL_DIR="${CACHE_DIR}/wheels"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) PLATFORM="linux_amd64"; WHEEL_PLATFORM="manylinux_2_28_x86_64" ;;
  Linux/aarch64 | Linux/arm64) PLATFORM="linux_arm64"; WHEEL_PLATFORM="manylinux_2_28_aarch64" ;;
  *) die "unsupported platform $(uname -s)/$(uname -m) (only Linux x86_64/aarch64 are handled)" ;;
esac

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$EXT_DIR"
  exit 0
fi

TARGET_DIR="${EXT_DIR}/v${DUCKDB_VERSION}/${PLATFORM}"
TARGET="${TARGET_DIR}/httpfs.duckdb_extension"
sha_var="HTTPFS_SHA256_${PLATFORM}"
EXPECTED_SHA="${!sha_var:-}"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---- Version consistency checks ------------------------------------------------------------
# 1) The catalog pin in pnpm-workspace.yaml.
if [[ -f "$REPO_ROOT/pnpm-workspace.yaml" ]]; then
  pinned="$(sed -n 's/^[[:space:]]*"@duckdb\/node-api":[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$REPO_ROOT/pnpm-workspace.yaml" | head -n1)"
  if [[ -n "$pinned" && "${pinned%%-*}" != "$DUCKDB_VERSION" ]]; then
    die "pnpm-workspace.yaml pins @duckdb/node-api ${pinned} (DuckDB ${pinned%%-*}), but this script provisions extensions for DuckDB ${DUCKDB_VERSION}. Update DUCKDB_VERSION/HTTPFS_WHEEL_BUILD/HTTPFS_SHA256_* in $0."
  fi
fi
# 2) The installed native bindings (if pnpm install has run).
shopt -s nullglob
for pj in "$REPO_ROOT"/node_modules/.pnpm/@duckdb+node-bindings@*/node_modules/@duckdb/node-bindings/package.json; do
  installed="$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -n1)"
  if [[ "${installed%%-*}" != "$DUCKDB_VERSION" ]]; then
    die "node_modules has @duckdb/node-bindings ${installed} (DuckDB ${installed%%-*}), expected DuckDB ${DUCKDB_VERSION}. Extension binaries only load into the exact DuckDB version."
  fi
done
shopt -u nullglob
[[ "$HTTPFS_WHEEL_VERSION" == "${DUCKDB_VERSION}."* ]] || die "wheel version ${HTTPFS_WHEEL_VERSION} does not match DuckDB ${DUCKDB_VERSION}"

# ---- Fast path: already installed ---------------------------------------------------------
if [[ -f "$TARGET" ]]; then
  if [[ -z "$EXPECTED_SHA" || "$(sha256_of "$TARGET")" == "$EXPECTED_SHA" ]]; then
    log "httpfs ${DUCKDB_VERSION} already installed at ${TARGET}"
    echo "$EXT_DIR"
    exit 0
  fi
  log "installed ${TARGET} has an unexpected sha256; reinstalling"
fi

# ---- Download the wheel (cached) ----------------------------------------------------------
WHEEL_NAME="duckdb_ext_httpfs-${HTTPFS_WHEEL_VERSION}-py3-none-${WHEEL_PLATFORM}.whl"
WHEEL="${WHEEL_DIR}/${WHEEL_NAME}"
mkdir -p "$WHEEL_DIR"
if [[ ! -f "$WHEEL" ]]; then
  PY="$(command -v python3 || true)"
  [[ -n "$PY" ]] || die "python3 not found (needed for 'python3 -m pip download')"
  log "downloading duckdb-ext-httpfs==${HTTPFS_WHEEL_VERSION} (${WHEEL_PLATFORM}) into ${WHEEL_DIR}"
  # --no-deps: the wheel declares duckdb==<ver> (the Python package), which we don't need.
  # --platform/--only-binary: pick the wheel for the target platform regardless of host Python.
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: \
    --platform "$WHEEL_PLATFORM" --dest "$WHEEL_DIR" \
    "duckdb-ext-httpfs==${HTTPFS_WHEEL_VERSION}" \
    || die "pip download of duckdb-ext-httpfs==${HTTPFS_WHEEL_VERSION} failed"
  [[ -f "$WHEEL" ]] || die "pip download did not produce ${WHEEL}"
fi

# ---- Extract + verify + install atomically -----------------------------------------------
MEMBER="duckdb_ext/extensions/v${DUCKDB_VERSION}/${PLATFORM}/httpfs.duckdb_extension"
mkdir -p "$TARGET_DIR"
TMP="$(mktemp "${TARGET_DIR}/.httpfs.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
python3 - "$WHEEL" "$MEMBER" "$TMP" <<'PY' || die "could not extract ${MEMBER} from ${WHEEL}"
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if [[ -n "$EXPECTED_SHA" ]]; then
  got="$(sha256_of "$TMP")"
  [[ "$got" == "$EXPECTED_SHA" ]] || die "sha256 mismatch for extracted httpfs: got ${got}, expected ${EXPECTED_SHA}"
else
  log "WARNING: no pinned sha256 for ${PLATFORM}; relying on DuckDB's signature check at LOAD"
fi
chmod 0644 "$TMP"
mv -f "$TMP" "$TARGET"
trap - EXIT
log "installed httpfs ${DUCKDB_VERSION} (${PLATFORM}) -> ${TARGET}"
echo "$EXT_DIR"
