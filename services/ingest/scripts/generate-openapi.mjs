// Writes the ingest API's OpenAPI document (built from schemas/submission/*.json by src/openapi.ts) to
// schemas/openapi/ingest.openapi.json. `--check` fails when the checked-in document differs from what the
// schemas give. Reads the built service: run `pnpm build` (tsc -b) first.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, '..', 'dist', 'openapi.js');
const target = join(here, '..', '..', '..', 'schemas', 'openapi', 'ingest.openapi.json');
const check = process.argv.includes('--check');

if (!existsSync(built)) {
  console.error(`missing ${built}: run pnpm build (tsc -b tsconfig.json) first`);
  process.exit(2);
}
const { buildOpenApiDocument } = await import(pathToFileURL(built).href);
const document = buildOpenApiDocument();

if (check) {
  let current;
  try {
    current = JSON.parse(readFileSync(target, 'utf8'));
  } catch (error) {
    console.error(`cannot read ${target}: ${error.message}`);
    process.exit(1);
  }
  // Compared as data, not text: the formatter may lay the JSON out differently.
  if (!isDeepStrictEqual(current, document)) {
    console.error(`stale: ${target} (run node services/ingest/scripts/generate-openapi.mjs)`);
    process.exit(1);
  }
  console.log(`up to date: ${target}`);
} else {
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
  // Laid out as the repository's formatter would, so `biome check` stays quiet about it.
  const biome = join(here, '..', '..', '..', 'node_modules', '.bin', 'biome');
  if (existsSync(biome)) spawnSync(biome, ['format', '--write', target], { stdio: 'ignore' });
  console.log(`wrote ${target}`);
}
