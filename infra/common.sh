# shellcheck shell=bash disable=SC2034 # the variables here are read by the scripts that source this file
# Shared by infra/up.sh, down.sh and status.sh: versions, paths, the defaults every variable falls back
# to, and how a running process is recognised as this checkout's own Kafka or S3Proxy; and by the tool
# installers (chromium.sh, psql.sh, prometheus.sh): how a Debian package is installed. Sourced, not run.

# ---- Versions (change here; the download cache keys on them) ----------------------------------------
readonly KAFKA_VERSION=4.1.1 # same as the apache/kafka image in docker-compose.yml and packages/testkit
readonly S3PROXY_VERSION=4.1.0 # newest on Maven Central; built for Java 17; Apache-2.0

# ---- Paths ------------------------------------------------------------------------------------------
INFRA_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(dirname -- "$INFRA_DIR")
# Runtime state lives in the repo's git-ignored .local/, so each clone has its own broker and lake.
STATE_DIR="$REPO_ROOT/.local"
LOG_DIR="$STATE_DIR/logs"
KAFKA_STATE_DIR="$STATE_DIR/kafka"
S3_STATE_DIR="$STATE_DIR/s3"
# Downloads outlive clones; each version gets its own folder, filled completely or not at all.
CACHE_DIR="${CITYCHECK_CACHE_DIR:-${HOME:?HOME is not set}/.cache/citycheck}"
KAFKA_LIBS_DIR="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
S3PROXY_JAR="$CACHE_DIR/s3proxy-$S3PROXY_VERSION/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"

# ---- Settings, overridable from the environment ------------------------------------------------------
# Both services bind 127.0.0.1 only: nothing here is meant to be reachable from another machine.
readonly BIND_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
S3_PORT="${S3_PORT:-9000}"
S3_ACCESS_KEY_ID="${S3_ACCESS_KEY_ID:-citycheck}"
S3_SECRET_ACCESS_KEY="${S3_SECRET_ACCESS_KEY:-citycheck-local-secret}"
S3_BUCKET="${S3_BUCKET:-citycheck-lake}"
S3_REGION="${S3_REGION:-us-east-1}"
S3PROXY_HEAP_OPTS="${S3PROXY_HEAP_OPTS:--Xms64m -Xmx512m}"
INFRA_START_TIMEOUT="${INFRA_START_TIMEOUT:-120}" # seconds a service may take to answer after start
INFRA_STOP_TIMEOUT="${INFRA_STOP_TIMEOUT:-30}"    # seconds of SIGTERM grace before SIGKILL

readonly ALL_SERVICES=(kafka s3)

# ---- Messages ---------------------------------------------------------------------------------------
say() { printf 'infra: %s\n' "$*"; }
warn() { printf 'infra: warning: %s\n' "$*" >&2; }
die() {
  printf 'infra: error: %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of a log to stderr, framed, so a failure explains itself in CI output.
show_log_tail() {
  local file=$1 lines=${2:-40}
  [[ -s $file ]] || return 0
  printf -- '---- last %s lines of %s ----\n' "$lines" "$file" >&2
  tail -n "$lines" -- "$file" >&2
  printf -- '---- end of %s ----\n' "$file" >&2
}

# ---- Tools the tests drive (chromium.sh, psql.sh, prometheus.sh) -----------------------------------------
# Prints the tool the variable named $2 points to and exits, when it is set; fails when it is set but not
# executable. Returns when it is unset. $1 names the calling script in messages.
use_tool_override() {
  local script=$1 variable=$2
  local tool=${!variable:-}
  [[ -n $tool ]] || return 0
  [[ -x $tool ]] || {
    printf '%s: %s=%s is not executable\n' "$script" "$variable" "$tool" >&2
    exit 1
  }
  echo "$tool"
  exit 0
}

# apt_install SCRIPT MISSING HINT WHAT PACKAGE_OR_FLAG...: installs Debian packages quietly (through sudo
# unless root), or fails saying what is MISSING and the HINT when there is no apt-get.
apt_install() {
  local script=$1 missing=$2 hint=$3 what=$4
  shift 4
  command -v apt-get >/dev/null 2>&1 || {
    printf '%s: no %s and no apt-get; %s\n' "$script" "$missing" "$hint" >&2
    exit 1
  }
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  printf '%s: installing %s (apt-get)\n' "$script" "$what" >&2
  "${sudo[@]}" apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}

# ---- Arguments --------------------------------------------------------------------------------------
# Turns the script's arguments into the list of services to act on (all of them when none are named).
SERVICES=()
parse_services() {
  local usage=$1
  shift
  SERVICES=()
  local arg
  for arg in "$@"; do
    case $arg in
    kafka) SERVICES+=(kafka) ;;
    s3 | s3proxy) SERVICES+=(s3) ;;
    -h | --help)
      printf '%s\n' "$usage"
      exit 0
      ;;
    *) die "unknown argument '$arg'. $usage" ;;
    esac
  done
  if ((${#SERVICES[@]} == 0)); then SERVICES=("${ALL_SERVICES[@]}"); fi
  # `up.sh kafka kafka` means kafka once.
  mapfile -t SERVICES < <(printf '%s\n' "${SERVICES[@]}" | awk '!seen[$0]++')
}

validate_settings() {
  local name value
  for name in KAFKA_PORT KAFKA_CONTROLLER_PORT S3_PORT INFRA_START_TIMEOUT INFRA_STOP_TIMEOUT; do
    value=${!name}
    # Ports and timeouts in seconds share one sane range.
    if ! [[ $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
      die "$name must be a whole number from 1 to 65535, got '$value'"
    fi
  done
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both $KAFKA_PORT)"
  # S3 bucket naming rules, reduced to what path-style requests and the filesystem backend care about.
  [[ $S3_BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "S3_BUCKET '$S3_BUCKET' is not a valid bucket name"
}

# How up.sh, down.sh and status.sh begin: the services their arguments name (both when none), the settings
# checked.
begin_services_command() {
  parse_services "usage: infra/$(basename -- "$0") [kafka] [s3]   (no argument: both)" "$@"
  validate_settings
}

# ---- Java -------------------------------------------------------------------------------------------
JAVA_BIN=""
require_java() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    JAVA_BIN="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    JAVA_BIN=$(command -v java)
  else
    die "Java 17 or newer is needed to run Kafka and S3Proxy, but no 'java' is on PATH and JAVA_HOME is not set. Install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
  fi
  local line major minor
  line=$("$JAVA_BIN" -version 2>&1 | head -n 1)
  # `openjdk version "17.0.15" 2025-04-15`, or `java version "1.8.0_392"` for the old scheme.
  read -r major minor <<<"$(sed -E 's/^[^"]*"([0-9]+)(\.([0-9]+))?.*$/\1 \3/' <<<"$line")"
  [[ $major == 1 ]] && major=${minor:-0}
  [[ $major =~ ^[0-9]+$ ]] || die "could not read the Java version from '$JAVA_BIN -version': $line"
  ((major >= 17)) || die "Kafka $KAFKA_VERSION and S3Proxy $S3PROXY_VERSION need Java 17 or newer; $JAVA_BIN is Java $major ($line). Set JAVA_HOME to a newer JDK."
}

# ---- Ports and processes ----------------------------------------------------------------------------
# True when something accepts TCP connections on 127.0.0.1:port.
port_open() {
  # shellcheck disable=SC2016 # $0 and $1 are the inner shell's arguments
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$BIND_HOST" "$1" 2>/dev/null
}

# Prints the pid listening on the TCP port, if `ss` can tell (it needs to see the owner's processes).
listener_pid() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -nE 's/.*pid=([0-9]+).*/\1/p' | head -n 1
}

process_command() {
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline"
}

# Every JVM up.sh starts carries these two system properties. A process is "ours" only if it has both,
# so a Kafka from another checkout or an unrelated server on the same port is never adopted or killed.
marker_args() { printf '%s\n' "-Dcitycheck.service=$1" "-Dcitycheck.state=$STATE_DIR"; }

is_ours() {
  local pid=$1 service=$2 cmd
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(process_command "$pid") || return 1
  [[ $cmd == *"-Dcitycheck.service=$service "* && $cmd == *"-Dcitycheck.state=$STATE_DIR "* ]]
}

service_port() {
  case $1 in
  kafka) printf '%s\n' "$KAFKA_PORT" ;;
  s3) printf '%s\n' "$S3_PORT" ;;
  esac
}
service_label() {
  case $1 in
  kafka) printf 'Kafka %s' "$KAFKA_VERSION" ;;
  s3) printf 'S3Proxy %s' "$S3PROXY_VERSION" ;;
  esac
}
pid_file() {
  case $1 in
  kafka) printf '%s\n' "$KAFKA_STATE_DIR/kafka.pid" ;;
  s3) printf '%s\n' "$S3_STATE_DIR/s3proxy.pid" ;;
  esac
}
log_file() {
  case $1 in
  kafka) printf '%s\n' "$LOG_DIR/kafka.log" ;;
  s3) printf '%s\n' "$LOG_DIR/s3proxy.log" ;;
  esac
}

# Prints the pid of this checkout's running process for the service, or nothing. The pid file is the
# first guess; the listener on the service's port is the second, which recovers a process whose pid
# file was lost (for example `rm -rf .local` while it ran) and rewrites the file.
running_pid() {
  local service=$1 file pid
  file=$(pid_file "$service")
  if [[ -f $file ]]; then
    pid=$(<"$file")
    if is_ours "$pid" "$service"; then
      printf '%s\n' "$pid"
      return 0
    fi
  fi
  pid=$(listener_pid "$(service_port "$service")")
  if [[ -n $pid ]] && is_ours "$pid" "$service"; then
    mkdir -p -- "$(dirname -- "$file")"
    printf '%s\n' "$pid" >"$file"
    printf '%s\n' "$pid"
  fi
}

# Resident memory of a process in MiB, for status lines.
rss_mib() {
  local kib
  kib=$(ps -o rss= -p "$1" 2>/dev/null | tr -d ' ') || return 0
  [[ -n $kib ]] && printf '%s' "$((kib / 1024))"
}

# Describes whoever holds a port, for "port already taken" errors.
describe_listener() {
  local pid cmd
  pid=$(listener_pid "$1")
  if [[ -z $pid ]]; then
    printf 'an unknown process'
    return
  fi
  cmd=$(process_command "$pid" | cut -c 1-160 | sed 's/ *$//')
  if [[ $cmd == *"-Dcitycheck.service="* ]]; then
    printf 'pid %s, a citycheck service of another checkout (%s)' "$pid" \
      "$(sed -nE 's/.*-Dcitycheck\.state=([^ ]*).*/\1/p' <<<"$cmd")"
  else
    printf 'pid %s: %s' "$pid" "${cmd:-?}"
  fi
}

# ---- Probes -----------------------------------------------------------------------------------------
# True when the broker on KAFKA_PORT answers a Metadata request listing at least one live broker. This is
# the wire protocol spoken from bash (Metadata v4, no topics), so a warm `up.sh` does not pay for a JVM:
#   request  = int32 size 20 | int16 api 3 | int16 version 4 | int32 correlation 7 | string "probe"
#              | int32 topics 0 | bool allow_auto_topic_creation false
#   response = int32 size | int32 correlation | int32 throttle_ms | int32 broker count | ...
# A KRaft broker that has not yet caught up with the controller answers with no brokers, or not at all.
kafka_serves_metadata() {
  local answer
  # shellcheck disable=SC2016 # $0 and $1 are the inner shell's arguments
  answer=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x07\x00\x05probe\x00\x00\x00\x00\x00" >&3
    head -c 16 <&3 | od -An -v -tu1
  ' "$BIND_HOST" "$KAFKA_PORT" 2>/dev/null) || return 1
  local -a bytes
  read -r -d '' -a bytes <<<"$answer" || true
  ((${#bytes[@]} == 16)) || return 1
  local correlation=$((bytes[4] << 24 | bytes[5] << 16 | bytes[6] << 8 | bytes[7]))
  local brokers=$((bytes[12] << 24 | bytes[13] << 16 | bytes[14] << 8 | bytes[15]))
  ((correlation == 7 && brokers >= 1))
}

# Sends a body-less SigV4-signed request to S3Proxy and prints the HTTP status (000: no answer). The
# credentials go through a curl config on stdin, not argv, so they never show in `ps`. curl before 8.x
# signs without an x-amz-content-sha256 header, which S3Proxy rejects (XAmzContentSHA256Mismatch), so
# the header is set explicitly; newer curl then signs the given value instead of adding its own.
s3_request() {
  local method=$1 path=$2
  printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" |
    curl --config - --silent --max-time 5 --output /dev/null --write-out '%{http_code}' \
      --aws-sigv4 "aws:amz:$S3_REGION:s3" --header 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
      --request "$method" "http://$BIND_HOST:$S3_PORT$path" 2>/dev/null || true
}

# True when S3Proxy answers a signed ListBuckets with 200: it is up and accepts our credentials.
s3_answers() {
  [[ $(s3_request GET /) == 200 ]]
}
