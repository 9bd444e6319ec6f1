// The ingest API as an OpenAPI 3.1 document, built from the same JSON Schemas the service validates with
// (schemas/submission/*.json via @citycheck/contracts) and the one error registry (@citycheck/errors).
// Served at GET /openapi.json and checked in as schemas/openapi/ingest.openapi.json (scripts/generate-openapi.mjs).
import { canonicalUuidPattern, schemas } from '@citycheck/contracts';
import { errorCodes } from '@citycheck/errors';

type Json = Record<string, unknown>;

/** Component names for the submission schema's `$defs`. */
const defNames: Record<string, string> = { unit: 'Unit', observation: 'Observation', finite: 'FiniteNumber' };

/** Copies a schema, pointing `#/$defs/x` references at `#/components/schemas/X`. */
const rewriteRefs = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Json = {};
  for (const [key, item] of Object.entries(value as Json)) {
    if (key === '$ref' && typeof item === 'string' && item.startsWith('#/$defs/')) {
      const name = item.slice('#/$defs/'.length);
      copy[key] = `#/components/schemas/${defNames[name] ?? name}`;
    } else {
      copy[key] = rewriteRefs(item);
    }
  }
  return copy;
};

/**
 * The submission schema split into components. `$id` and `$schema` are dropped from the component: inside an
 * OpenAPI document an `$id` would change the base that `#/components/...` references resolve against.
 */
const submissionComponents = (): Record<string, Json> => {
  const { $id, $schema, $defs, ...submission } = schemas.submission as Json & { $defs: Record<string, Json> };
  const components: Record<string, Json> = {
    Submission: {
      ...(rewriteRefs(submission) as Json),
      description: `${String(submission.description)} JSON Schema: ${String($id)}.`,
    },
  };
  for (const [name, schema] of Object.entries($defs))
    components[defNames[name] ?? name] = rewriteRefs(schema) as Json;
  return components;
};

/** A problem as validate writes it to submissions.rejected.v1, and as every 4xx of ingest carries it. */
const problemSchema = (): Json => {
  const rejected = schemas.rejectedSubmission as { properties: { problems: { items: Json } } };
  return {
    ...rejected.properties.problems.items,
    title: 'Problem',
    description:
      'One precise problem: the JSON pointer into the submission (or line), a stable rule name, a message, and where they apply the indicator and offending value.',
  };
};

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const uuid = { type: 'string', pattern: canonicalUuidPattern };

const ingestSchemas = (): Record<string, Json> => ({
  Problem: problemSchema(),
  Receipt: {
    type: 'object',
    description:
      'Proof that the submission is stored in Kafka (submissions.received.v1). Resending the same submission returns this same receipt with 200.',
    additionalProperties: false,
    required: ['submissionId', 'status', 'contentHash', 'receivedAt', 'partition', 'offset'],
    properties: {
      submissionId: uuid,
      status: { const: 'accepted' },
      contentHash: {
        type: 'string',
        pattern: '^[0-9a-f]{64}$',
        description: 'SHA-256 of the canonical JSON of the submission.',
      },
      receivedAt: { type: 'string', format: 'date-time' },
      partition: { type: 'integer', description: '-1 while not yet known to the answering instance.' },
      offset: { type: 'string', pattern: '^-?[0-9]+$' },
      late: {
        const: true,
        description:
          "Present when the submission was received after its cycle's reporting deadline (and before its closing): accepted, counted in the rollups, and not on time in completeness.",
      },
    },
  },
  SubmissionState: {
    type: 'object',
    description:
      'Where a submission is: accepted (in Kafka), valid (passed every rule), rejected (with every problem), stored (in the lake), counted (in rollups, completeness, ledger and flags written to the lake).',
    additionalProperties: false,
    required: ['submissionId', 'cityCode', 'status', 'contentHash'],
    properties: {
      submissionId: uuid,
      cityCode: { type: 'string' },
      status: { type: 'string', enum: ['accepted', 'valid', 'rejected', 'stored', 'counted'] },
      contentHash: { type: 'string' },
      late: { const: true, description: "Received after its cycle's deadline (see Receipt.late)." },
      countedAt: {
        type: 'string',
        format: 'date-time',
        description: 'When the first derivation that includes the submission was written to the lake.',
      },
      receipt: ref('Receipt'),
      problems: { type: 'array', items: ref('Problem') },
    },
  },
  DryRunReport: {
    type: 'object',
    description: 'What would happen to the submission; nothing was stored.',
    additionalProperties: false,
    required: ['dryRun', 'submissionId', 'outcome', 'idempotency', 'checks', 'problems'],
    properties: {
      dryRun: { const: true },
      submissionId: { type: ['string', 'null'] },
      outcome: { type: 'string', enum: ['valid', 'rejected'] },
      idempotency: {
        type: 'string',
        enum: ['new', 'duplicate', 'conflict', 'unknown'],
        description:
          'new: would be accepted; duplicate: already accepted with this content; conflict: the id was used for other content.',
      },
      checks: {
        type: 'array',
        items: { type: 'string', enum: ['schema', 'credential_scope', 'idempotency', 'rules'] },
        description:
          'The checks applied. Without `rules`, the catalogue and division rules run only after submission.',
      },
      problems: { type: 'array', items: ref('Problem') },
    },
  },
  LineResult: {
    type: 'object',
    additionalProperties: false,
    required: ['line', 'submissionId', 'status'],
    properties: {
      line: {
        type: 'integer',
        minimum: 1,
        description: 'Line number in the (decompressed) upload, counting blank lines.',
      },
      submissionId: { type: ['string', 'null'] },
      status: { type: 'string', enum: ['accepted', 'duplicate', 'rejected'] },
      problems: { type: 'array', items: ref('Problem') },
    },
  },
  BulkSummary: {
    type: 'object',
    description: 'Per-line result of an NDJSON upload. Accepted lines are in Kafka when this is sent.',
    additionalProperties: false,
    required: ['dryRun', 'received', 'accepted', 'rejected', 'duplicates', 'lines'],
    properties: {
      dryRun: { type: 'boolean' },
      received: { type: 'integer', minimum: 0, description: 'Non-blank lines read.' },
      accepted: { type: 'integer', minimum: 0 },
      rejected: { type: 'integer', minimum: 0 },
      duplicates: { type: 'integer', minimum: 0 },
      lines: { type: 'array', items: ref('LineResult') },
    },
  },
  Error: {
    type: 'object',
    additionalProperties: false,
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'reason', 'retriable', 'message'],
        properties: {
          code: { type: 'string', enum: Object.keys(errorCodes) },
          reason: {
            type: 'string',
            enum: [...new Set(Object.values(errorCodes).map((spec) => spec.reason))],
            description:
              'Whose fault: bad_input and friends mean change the request; infrastructure means retry later.',
          },
          retriable: {
            type: 'boolean',
            description: 'Whether sending the same request again later can succeed.',
          },
          message: { type: 'string' },
          problems: { type: 'array', items: ref('Problem') },
        },
      },
      summary: {
        ...ref('BulkSummary'),
        description: 'For an NDJSON upload that stopped part way: the lines processed before it stopped.',
      },
    },
  },
});

// Examples use real GB/T 2260 codes: Beijing 110100, Dongcheng 110101, Donghuamen street 110101001 and its
// community Duofuxiang 110101001001; and indicators of catalogue 2024.1.
export const submissionExamples: Record<string, { summary: string; value: Json }> = {
  community: {
    summary: 'A community (社区) of Dongcheng district, Beijing',
    value: {
      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
      cycle: 2024,
      catalogueVersion: '2024.1',
      cityCode: '110100',
      unit: { level: 'community', code: '110101001001', name: '多福巷社区' },
      observations: [
        { indicator: 'C01', value: 1 },
        { indicator: 'C09', value: 0.35 },
        { indicator: 'C12', meets: true },
        { indicator: 'C16', value: 86.5, weight: 412 },
      ],
      submittedAt: '2024-11-20T10:15:00+08:00',
    },
  },
  block: {
    summary: 'A block (街区) under Donghuamen street, with a rate and a weighted mean',
    value: {
      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a02',
      cycle: 2024,
      catalogueVersion: '2024.1',
      cityCode: '110100',
      unit: { level: 'block', code: '110101001-B07', name: '王府井北街区' },
      observations: [
        { indicator: 'B01', numerator: 1840, denominator: 2100 },
        { indicator: 'B10', value: 38, weight: 5200 },
      ],
    },
  },
  district: {
    summary: 'Dongcheng district as a whole, with per-capita indicators',
    value: {
      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a03',
      cycle: 2024,
      catalogueVersion: '2024.1',
      cityCode: '110100',
      unit: { level: 'district', code: '110101', name: '东城区' },
      observations: [
        { indicator: 'D01', quantity: 1_620_000, population: 704_000 },
        { indicator: 'D11', value: 2 },
      ],
    },
  },
};

export const ndjsonExample = [
  JSON.stringify(submissionExamples.community?.value),
  JSON.stringify(submissionExamples.block?.value),
].join('\n');

const problemExample = {
  pointer: '/observations/0/value',
  rule: 'range',
  message: 'value of C01 must be from 0 to 500',
  indicator: 'C01',
  value: 900,
};

const errorExample = (code: keyof typeof errorCodes, message: string, problems?: Json[]): Json => ({
  error: {
    code,
    reason: errorCodes[code].reason,
    retriable: errorCodes[code].retriable,
    message,
    ...(problems === undefined ? {} : { problems }),
  },
});

const receiptExample = {
  submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
  status: 'accepted',
  contentHash: '9b1f0c7a3d5e2f4b6a8c0e1d3f5a7b9c2e4d6f8a0b1c3e5d7f9a2b4c6e8d0f1a',
  receivedAt: '2024-11-20T02:15:03.512Z',
  partition: 3,
  offset: '18231',
};

const errorResponse = (description: string, examples: Record<string, Json>, retryAfter = false): Json => ({
  description,
  ...(retryAfter ? { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } } : {}),
  content: {
    'application/json': {
      schema: ref('Error'),
      examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])),
    },
  },
});

const standardErrors = {
  '401': errorResponse('No credential, or an unknown, rotated or revoked one.', {
    missing: errorExample(
      'unauthenticated',
      'this endpoint needs a city credential: send Authorization: Bearer cc_<id>_<secret>',
    ),
  }),
  '429': errorResponse(
    'The credential sent more requests than its rate limit allows; wait Retry-After seconds.',
    {
      limited: errorExample(
        'rate_limited',
        'credential 5c2f0e9a1b3d4c6e sent more than 1200 requests in 60 s; retry after 12 s',
      ),
    },
    true,
  ),
};

export const buildOpenApiDocument = (): Json => ({
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'citycheck ingest API',
    version: '1.0.0',
    summary: "How a city's platform delivers urban physical examination (城市体检) results to the ministry.",
    description:
      'Each request carries a city credential. A submission is one unit of one city in one cycle; its submissionId is ' +
      'the idempotency key. Send one submission as application/json, or many as application/x-ndjson (optionally ' +
      'gzip), and poll GET /v1/submissions/{submissionId} for the outcome. The vendor guide is docs/integration.md.',
  },
  servers: [{ url: 'http://127.0.0.1:8080', description: 'The local stack (scripts/demo.sh)' }],
  security: [{ cityCredential: [] }],
  tags: [
    {
      name: 'submissions',
      description: 'Deliver submissions and follow them through validation into the lake.',
    },
    { name: 'service', description: 'Health, readiness and this document.' },
  ],
  paths: {
    '/v1/submissions': {
      post: {
        tags: ['submissions'],
        operationId: 'submit',
        summary: 'Submit one submission (JSON) or many (NDJSON)',
        description:
          'application/json: one submission, at most INGEST_BODY_LIMIT_BYTES (1 MiB by default). 202 with a receipt once ' +
          'Kafka has it; 200 with the original receipt when the same id was already accepted with the same content; 409 ' +
          'when the id was used for other content. application/x-ndjson: one submission per line, each line at most the ' +
          'single-body limit, the upload at most INGEST_BULK_LIMIT_BYTES after decompression; answered with a per-line ' +
          'summary (202 when any line was accepted, else 200). Either may be sent with Content-Encoding: gzip.',
        parameters: [{ $ref: '#/components/parameters/DryRun' }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: ref('Submission'),
              examples: Object.fromEntries(
                Object.keys(submissionExamples).map((name) => [
                  name,
                  { $ref: `#/components/examples/${name}` },
                ]),
              ),
            },
            'application/x-ndjson': {
              schema: {
                type: 'string',
                description: 'One Submission per line (LF or CRLF); blank lines are skipped but counted.',
              },
              example: ndjsonExample,
            },
          },
        },
        responses: {
          '200': {
            description:
              'Nothing new was stored: the original receipt of an identical earlier submission (header Idempotent-Replayed: true), a dry-run report, or a bulk summary without accepted lines.',
            content: {
              'application/json': {
                schema: { oneOf: [ref('Receipt'), ref('DryRunReport'), ref('BulkSummary')] },
                examples: {
                  replay: { value: receiptExample },
                  dryRun: {
                    value: {
                      dryRun: true,
                      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
                      outcome: 'valid',
                      idempotency: 'new',
                      checks: ['schema', 'credential_scope', 'idempotency'],
                      problems: [],
                    },
                  },
                },
              },
            },
          },
          '202': {
            description:
              'Accepted: in Kafka, to be validated. A receipt for JSON, a per-line summary for NDJSON.',
            content: {
              'application/json': {
                schema: { oneOf: [ref('Receipt'), ref('BulkSummary')] },
                examples: {
                  receipt: { value: receiptExample },
                  bulk: {
                    value: {
                      dryRun: false,
                      received: 3,
                      accepted: 1,
                      rejected: 1,
                      duplicates: 1,
                      lines: [
                        {
                          line: 1,
                          submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
                          status: 'duplicate',
                        },
                        { line: 2, submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a02', status: 'accepted' },
                        {
                          line: 4,
                          submissionId: null,
                          status: 'rejected',
                          problems: [
                            {
                              pointer: '/',
                              rule: 'json_syntax',
                              message:
                                "the body is not valid JSON: expected ',' or '}' after a property value at line 1, column 58",
                            },
                          ],
                        },
                      ],
                    },
                  },
                },
              },
            },
          },
          '400': errorResponse(
            'The body is not valid JSON, UTF-8 or gzip, or does not match the submission schema.',
            {
              schema: errorExample('invalid_request', 'the submission does not match the submission schema', [
                { pointer: '/cycle', rule: 'schema.type', message: 'must be integer' },
              ]),
              json: errorExample('invalid_json', 'the body is not valid JSON', [
                {
                  pointer: '/',
                  rule: 'json_syntax',
                  message:
                    'the body is not valid JSON: expected a closing quote, found the end of the body at line 1, column 37',
                },
              ]),
            },
          ),
          '401': standardErrors['401'],
          '403': errorResponse('The credential may not submit for this city.', {
            otherCity: errorExample('forbidden', 'this credential may not submit for city 120100', [
              {
                pointer: '/cityCode',
                rule: 'credential_scope',
                message: 'this credential submits for city 110100 only, not for 120100',
                value: '120100',
              },
            ]),
          }),
          '409': errorResponse('The submissionId was already used for other content.', {
            conflict: errorExample(
              'submission_conflict',
              'submission 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01 conflicts',
              [
                {
                  pointer: '/submissionId',
                  rule: 'submission_conflict',
                  message:
                    'submission 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01 was already received with other content (content hash 9b1f0c7a…); resend the original content, or send a correction under a new submissionId',
                  value: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
                },
              ],
            ),
          }),
          '422': errorResponse("The submission's cycle was closed when it was received.", {
            closed: errorExample('cycle_closed', 'cycle 2026 was closed at 2027-03-01T00:00:00.000Z', [
              {
                pointer: '/cycle',
                rule: 'cycle_closed',
                message:
                  '2026 年度体检周期已于 2027-03-01 08:00（北京时间，即 2027-03-01T00:00:00.000Z）关闭，不再接收报送；如需补报，请联系主管部门重新开放该周期',
                value: 2026,
              },
            ]),
          }),
          '413': errorResponse('The body (after decompression) or the upload is larger than allowed.', {
            tooLarge: errorExample(
              'payload_too_large',
              'the body is more than 1048576 bytes; send several submissions as NDJSON (application/x-ndjson)',
            ),
          }),
          '415': errorResponse(
            'Neither application/json nor application/x-ndjson, or an encoding other than gzip.',
            {
              mediaType: errorExample(
                'unsupported_media_type',
                'send one submission as application/json or many as application/x-ndjson (UTF-8)',
              ),
            },
          ),
          '429': standardErrors['429'],
          '503': errorResponse(
            'Kafka did not acknowledge, or the service is still starting. Nothing was lost: send the same request again after Retry-After.',
            {
              broker: errorExample(
                'broker_unavailable',
                'the message broker did not acknowledge the message',
              ),
            },
            true,
          ),
        },
      },
    },
    '/v1/submissions/{submissionId}': {
      get: {
        tags: ['submissions'],
        operationId: 'getSubmission',
        summary: 'Where a submission is: accepted, valid, rejected (with every problem) or stored',
        parameters: [{ name: 'submissionId', in: 'path', required: true, schema: uuid }],
        responses: {
          '200': {
            description:
              'The submission as this instance knows it (updated within about a second of each step).',
            content: {
              'application/json': {
                schema: ref('SubmissionState'),
                examples: {
                  rejected: {
                    value: {
                      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
                      cityCode: '110100',
                      status: 'rejected',
                      contentHash: receiptExample.contentHash,
                      receipt: receiptExample,
                      problems: [problemExample],
                    },
                  },
                  stored: {
                    value: {
                      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
                      cityCode: '110100',
                      status: 'stored',
                      contentHash: receiptExample.contentHash,
                      receipt: receiptExample,
                    },
                  },
                  counted: {
                    value: {
                      submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
                      cityCode: '110100',
                      status: 'counted',
                      contentHash: receiptExample.contentHash,
                      countedAt: '2024-11-20T06:12:09.000Z',
                      receipt: receiptExample,
                    },
                  },
                },
              },
            },
          },
          '400': errorResponse('The path does not hold a UUID.', {
            notUuid: errorExample('invalid_request', 'submissionId must be a UUID'),
          }),
          '401': standardErrors['401'],
          '403': errorResponse('The submission belongs to another city.', {
            otherCity: errorExample('forbidden', 'this credential may not read submissions of city 120100'),
          }),
          '404': errorResponse('No submission with this id was received.', {
            unknown: errorExample(
              'not_found',
              'no submission 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a09 was received',
            ),
          }),
          '429': standardErrors['429'],
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['service'],
        operationId: 'openapi',
        summary: 'This document',
        security: [],
        responses: {
          '200': {
            description: 'OpenAPI 3.1',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/healthz': {
      get: {
        tags: ['service'],
        operationId: 'health',
        summary: 'The process answers',
        security: [],
        responses: {
          '200': { description: 'Alive', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/readyz': {
      get: {
        tags: ['service'],
        operationId: 'ready',
        summary: 'Kafka reachable and credentials and submission index loaded',
        security: [],
        responses: {
          '200': { description: 'Ready', content: { 'application/json': { schema: { type: 'object' } } } },
          '503': {
            description: 'Not ready',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  },
  components: {
    securitySchemes: {
      cityCredential: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'cc_<id>_<secret>',
        description:
          'A credential issued by `citycheck admin credentials issue --city <code>`, bound to one city.',
      },
    },
    parameters: {
      DryRun: {
        name: 'dryRun',
        in: 'query',
        required: false,
        schema: { type: 'boolean', default: false },
        description: 'Validate and report without storing anything (for NDJSON: the same per-line summary).',
      },
    },
    headers: {
      RetryAfter: {
        description: 'Seconds to wait before retrying.',
        schema: { type: 'integer', minimum: 0 },
      },
    },
    examples: Object.fromEntries(
      Object.entries(submissionExamples).map(([name, { summary, value }]) => [name, { summary, value }]),
    ),
    schemas: { ...submissionComponents(), ...ingestSchemas() },
  },
});
