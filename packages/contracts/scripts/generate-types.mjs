// Generates the TypeScript types of the wire contracts from the JSON Schemas in schemas/ (Kafka records in
// schemas/submission, HTTP bodies in schemas/http), so each shape is written once. `--check` fails when the committed types differ from what the schemas give.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = dirname(fileURLToPath(import.meta.url));
const schemasRoot = join(here, '..', '..', '..', 'schemas');
const outDir = join(here, '..', 'src', 'generated');
const check = process.argv.includes('--check');

const files = {
  // Every HTTP body in one file, so a shape that several reference (Problem, Receipt) is declared once. It
  // comes first: a record schema that references an HTTP shape (a rejection's Problem) imports it from here.
  'http-bodies': 'http-bodies.ts',
  'submission/submission.v1.schema.json': 'submission.ts',
  'submission/received-submission.v1.schema.json': 'received-submission.ts',
  'submission/validated-submission.v1.schema.json': 'validated-submission.ts',
  'submission/rejected-submission.v1.schema.json': 'rejected-submission.ts',
};
const httpBodies = readdirSync(join(schemasRoot, 'http'))
  .filter((file) => file.endsWith('.schema.json'))
  .sort();

// `$ref`s name other schemas by their `$id`: read them from schemas/, never from the network.
const byId = new Map();
for (const file of httpBodies) {
  const schema = JSON.parse(readFileSync(join(schemasRoot, 'http', file), 'utf8'));
  byId.set(schema.$id, schema);
}
const bodiesSchema = {
  $id: 'urn:citycheck:http-bodies',
  title: 'HttpBodies',
  description: 'Every body schema of schemas/http, by file name.',
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    [...byId.values()].map((schema, i) => [
      httpBodies[i].replace('.v1.schema.json', ''),
      { $ref: schema.$id },
    ]),
  ),
};
const fromSchemasDir = {
  order: 1,
  canRead: (file) => byId.has(file.url),
  read: (file) => JSON.stringify(byId.get(file.url)),
};

// The top-level declarations of a generated file: each starts at column 0, after its doc comment if it has
// one, and runs to the next one.
const declarationPattern =
  /(?:^\/\*\*\n(?:^ .*\n)*?)?^export (?:interface|type) (\w+)[\s\S]*?(?=^\/\*\*|^export |(?![\s\S]))/gm;
const declarationsOf = (ts) => [...ts.matchAll(declarationPattern)].map(([text, name]) => ({ name, text }));

// A declaration an earlier file already holds is imported from it instead of written again; the same name
// for a different shape is an error in the schemas.
const declaredIn = new Map();
const importShared = (ts, outFile) => {
  const imports = new Map();
  let kept = ts;
  for (const { name, text } of declarationsOf(ts)) {
    const earlier = declaredIn.get(name);
    if (earlier === undefined) {
      declaredIn.set(name, { file: outFile, text });
      continue;
    }
    if (earlier.text !== text)
      throw new Error(`${name} is declared differently in ${earlier.file} and ${outFile}`);
    kept = kept.replace(text, '');
    imports.set(earlier.file, [...(imports.get(earlier.file) ?? []), name]);
  }
  if (imports.size === 0) return ts;
  const [banner, ...rest] = kept.split('\n');
  const importLines = [...imports].map(
    ([file, names]) => `import type { ${names.sort().join(', ')} } from './${file.replace('.ts', '.js')}';`,
  );
  return [banner, ...importLines, ...rest].join('\n');
};

let stale = 0;
for (const [schemaFile, outFile] of Object.entries(files)) {
  const schema =
    schemaFile === 'http-bodies'
      ? bodiesSchema
      : JSON.parse(readFileSync(join(schemasRoot, schemaFile), 'utf8'));
  const compiled = await compile(schema, schema.title, {
    bannerComment: `// Generated from schemas/${schemaFile === 'http-bodies' ? 'http/*.schema.json' : schemaFile} by scripts/generate-types.mjs. Do not edit.`,
    $refOptions: { resolve: { citycheck: fromSchemasDir, http: false } },
    additionalProperties: false,
    unreachableDefinitions: false,
    style: { singleQuote: true, printWidth: 110 },
  });
  const ts = importShared(compiled, outFile);
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
