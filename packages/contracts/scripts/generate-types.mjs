// Generates the TypeScript types of the wire contracts from the JSON Schemas in schemas/, so each shape
// is written once. `--check` fails when the committed types differ from what the schemas give.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = dirname(fileURLToPath(import.meta.url));
const schemasDir = join(here, '..', '..', '..', 'schemas', 'submission');
const outDir = join(here, '..', 'src', 'generated');
const check = process.argv.includes('--check');

const files = {
  'submission.v1.schema.json': 'submission.ts',
  'received-submission.v1.schema.json': 'received-submission.ts',
  'validated-submission.v1.schema.json': 'validated-submission.ts',
  'rejected-submission.v1.schema.json': 'rejected-submission.ts',
};

let stale = 0;
for (const [schemaFile, outFile] of Object.entries(files)) {
  const schema = JSON.parse(readFileSync(join(schemasDir, schemaFile), 'utf8'));
  const ts = await compile(schema, schema.title, {
    bannerComment: `// Generated from schemas/submission/${schemaFile} by scripts/generate-types.mjs. Do not edit.`,
    additionalProperties: false,
    unreachableDefinitions: false,
    style: { singleQuote: true, printWidth: 110 },
  });
  const target = join(outDir, outFile);
  if (check) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {}
    if (current !== ts) {
      console.error(`stale: ${target} (run node packages/contracts/scripts/generate-types.mjs)`);
      stale += 1;
    }
  } else {
    writeFileSync(target, ts);
  }
}
process.exit(stale === 0 ? 0 : 1);
