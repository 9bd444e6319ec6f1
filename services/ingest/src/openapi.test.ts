// The OpenAPI document, generated from the route schemas: the checked-in copy is what the routes give, every
// reference resolves, and every example passes validation: submission examples against the submission schema
// itself, response examples against the schemas the document declares for them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type IndicatorKind, observationFields } from '@citycheck/catalogue';
import { compileContract, createAjv, type Submission } from '@citycheck/contracts';
import { errorCodes } from '@citycheck/errors';
import { describe, expect, it } from 'vitest';
import { ingestOpenApiDocument } from './openapi-document.js';
import { ndjsonExample, submissionExamples } from './route-schemas.js';

type Json = Record<string, unknown>;
const document = (await ingestOpenApiDocument()) as Json & {
  components: { schemas: Json; examples: Json };
  paths: Json;
};
const schemasDir = new URL('../../../schemas/', import.meta.url);
const checkedIn = fileURLToPath(new URL('openapi/ingest.openapi.json', schemasDir));

const resolve = (pointer: string): unknown =>
  pointer
    .slice(2)
    .split('/')
    .reduce<unknown>(
      (node, part) => (node as Json | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')],
      document,
    );

const walk = (node: unknown, visit: (value: Json, path: string) => void, path = ''): void => {
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      walk(item, visit, `${path}/${i}`);
    });
  } else if (typeof node === 'object' && node !== null) {
    visit(node as Json, path);
    for (const [key, value] of Object.entries(node)) walk(value, visit, `${path}/${key}`);
  }
};

// The document's schemas in one ajv schema, `#/components/schemas/X` read as `#/$defs/X`.
const ajv = createAjv();
ajv.addSchema({
  $id: 'urn:test:openapi',
  $defs: JSON.parse(
    JSON.stringify(document.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'),
  ),
});
const validatorFor = (schema: unknown) =>
  ajv.compile(
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"urn:test:openapi#/$defs/')),
  );

describe('the OpenAPI document', () => {
  it('is checked in as generated (node services/ingest/scripts/generate-openapi.mjs)', () => {
    expect(JSON.parse(readFileSync(checkedIn, 'utf8'))).toEqual(document);
  });

  it('is OpenAPI 3.1 with JSON Schema 2020-12, and every $ref resolves', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    const refs: string[] = [];
    walk(document, (value) => {
      if (typeof value.$ref === 'string') refs.push(value.$ref);
    });
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      expect(resolve(ref), ref).toBeDefined();
    }
  });

  it('takes the submission schema from schemas/submission and the error codes from the registry', () => {
    const submission = document.components.schemas.Submission as Json;
    expect(submission.required).toEqual([
      'submissionId',
      'cycle',
      'catalogueVersion',
      'cityCode',
      'unit',
      'observations',
    ]);
    expect((submission.properties as Json).unit).toEqual({ $ref: '#/components/schemas/Unit' });
    const errorSchema = document.components.schemas.Error as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(errorSchema.properties.error.properties.code.enum).toEqual(Object.keys(errorCodes));
  });

  it('has submission examples that pass the submission schema, as JSON and as NDJSON lines', () => {
    const validate = compileContract<Submission>('submission');
    const examples = Object.values(document.components.examples as Record<string, { value: unknown }>);
    expect(examples.length).toBe(Object.keys(submissionExamples).length);
    const asComponent = validatorFor({ $ref: '#/components/schemas/Submission' });
    for (const { value } of examples) {
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
      expect(asComponent(value), JSON.stringify(asComponent.errors)).toBe(true);
    }
    const lines = ndjsonExample.split('\n');
    expect(lines.length).toBe(2);
    for (const line of lines) expect(validate(JSON.parse(line)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('uses real division codes and catalogue 2024.1 indicators in its examples', () => {
    const catalogue = JSON.parse(readFileSync(new URL('catalogue/2024.1.json', schemasDir), 'utf8')) as {
      indicators: { code: string; kind: string; unitLevels: string[] }[];
    };
    for (const { value } of Object.values(submissionExamples)) {
      const unit = value.unit as { level: string };
      for (const observation of value.observations as { indicator: string }[]) {
        const indicator = catalogue.indicators.find((i) => i.code === observation.indicator);
        expect(indicator?.unitLevels, observation.indicator).toContain(unit.level);
        const { indicator: _, ...fields } = observation;
        // What each kind of indicator is reported with (docs/integration.md, "Observations").
        const kind = indicator?.kind as IndicatorKind;
        expect(Object.keys(fields).sort(), observation.indicator).toEqual(
          [...observationFields[kind]].sort(),
        );
      }
    }
  });

  it('has response examples that match the schemas declared for them', () => {
    let checked = 0;
    walk(document.paths, (value, path) => {
      const content = value.content as
        | Record<string, { schema?: unknown; examples?: Record<string, { value?: unknown }> }>
        | undefined;
      if (content === undefined || !path.includes('/responses/')) return;
      for (const media of Object.values(content)) {
        if (media.schema === undefined || media.examples === undefined) continue;
        const validate = validatorFor(media.schema);
        for (const [name, example] of Object.entries(media.examples)) {
          expect(validate(example.value), `${path} ${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
          checked += 1;
        }
      }
    });
    expect(checked).toBeGreaterThanOrEqual(15);
  });
});
