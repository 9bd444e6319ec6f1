// The schemas of ingest's routes (body, query string, path parameters, responses with examples): the one
// declaration of its HTTP contract, from which @fastify/swagger writes the OpenAPI document.
import { canonicalUuidPattern, httpSchemas, schemaRef, schemas } from '@citycheck/contracts';
import { errorCodes } from '@citycheck/errors';
import { checkedByHandler, errorSchemaId, readinessSchema } from '@citycheck/http';

type Json = Record<string, unknown>;

// Examples use real GB/T 2260 codes: Beijing 110100, Dongcheng 110101, Donghuamen street 110101001 and its
// community Duofuxiang 110101001001; and indicators of catalogue 2024.1.
/** Beijing's cycle-2024 submission for `unit`, its id ending in `n`. */
const beijingExample = (summary: string, n: number, unit: Json, observations: Json[], extra: Json = {}) => ({
  summary,
  value: {
    submissionId: `3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a0${n}`,
    cycle: 2024,
    catalogueVersion: '2024.1',
    cityCode: '110100',
    unit,
    observations,
    ...extra,
  },
});

export const submissionExamples: Record<string, { summary: string; value: Json }> = {
  community: beijingExample(
    'A community (社区) of Dongcheng district, Beijing',
    1,
    { level: 'community', code: '110101001001', name: '多福巷社区' },
    [
      { indicator: 'C01', value: 1 },
      { indicator: 'C09', value: 0.35 },
      { indicator: 'C12', meets: true },
      { indicator: 'C16', value: 86.5, weight: 412 },
    ],
    { submittedAt: '2024-11-20T10:15:00+08:00' },
  ),
  block: beijingExample(
    'A block (街区) under Donghuamen street, with a rate and a weighted mean',
    2,
    { level: 'block', code: '110101001-B07', name: '王府井北街区' },
    [
      { indicator: 'B01', numerator: 1840, denominator: 2100 },
      { indicator: 'B10', value: 38, weight: 5200 },
    ],
  ),
  district: beijingExample(
    'Dongcheng district as a whole, with per-capita indicators',
    3,
    { level: 'district', code: '110101', name: '东城区' },
    [
      { indicator: 'D01', quantity: 1_620_000, population: 704_000 },
      { indicator: 'D11', value: 2 },
    ],
  ),
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

export const errorExample = (code: keyof typeof errorCodes, message: string, problems?: Json[]): Json => ({
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

const media = (schema: Json, examples?: Record<string, Json>): Json => ({
  'application/json': {
    schema,
    ...(examples === undefined
      ? {}
      : { examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])) }),
  },
});

export const errorResponse = (
  description: string,
  examples: Record<string, Json>,
  retryAfter = false,
): Json => ({
  description,
  ...(retryAfter
    ? {
        headers: {
          'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before retrying.' },
        },
      }
    : {}),
  content: media({ $ref: errorSchemaId }, examples),
});

export const unauthenticated = errorResponse('No credential, or an unknown, rotated or revoked one.', {
  missing: errorExample(
    'unauthenticated',
    'this endpoint needs a city credential: send Authorization: Bearer cc_<id>_<secret>',
  ),
});

export const rateLimited = errorResponse(
  'The credential sent more requests than its rate limit allows; wait Retry-After seconds.',
  {
    limited: errorExample(
      'rate_limited',
      'credential 5c2f0e9a1b3d4c6e sent more than 1200 requests in 60 s; retry after 12 s',
    ),
  },
  true,
);

const receipt = schemaRef(httpSchemas.receipt);
const dryRunReport = schemaRef(httpSchemas.dryRunReport);
const bulkSummary = schemaRef(httpSchemas.bulkSummary);

/** The body schemas ingest's routes refer to (the plumbing adds Problem and Error). */
export const ingestBodySchemas = [
  schemas.submission,
  httpSchemas.receipt,
  httpSchemas.submissionState,
  httpSchemas.dryRunReport,
  httpSchemas.lineResult,
  httpSchemas.bulkSummary,
  httpSchemas.catalogueVersion,
  httpSchemas.expectedUnits,
  httpSchemas.submissionList,
  httpSchemas.reviewComment,
  httpSchemas.reviewRequest,
  httpSchemas.review,
  httpSchemas.rectificationPlan,
  httpSchemas.rectificationNote,
  httpSchemas.rectification,
  httpSchemas.rectificationList,
];

/** Beside `error`, a bulk upload that stopped part way carries the lines processed before it stopped. */
export const ingestErrorProperties = {
  summary: {
    ...bulkSummary,
    description: 'For an NDJSON upload that stopped part way: the lines processed before it stopped.',
  },
};

/** `dryRun` as the route reads it: true as `true`, `1` or empty; false as `false`, `0` or absent. */
export const dryRunValues = { true: ['true', '1', ''], false: ['false', '0'] } as const;

export const xlsxMediaType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const csvExample =
  '体检年度,指标目录版本,城市代码,单元级别,单元代码,单元名称,C01 未达标配建养老服务设施的小区数量（个）\r\n' +
  'cycle,catalogueVersion,cityCode,unit.level,unit.code,unit.name,C01.value Compounds without standard elderly-care service facilities (compounds)\r\n' +
  '2024,2024.1,640100,community,640104001002,崇安社区居委会,2\r\n';

export const submitSchema = {
  tags: ['submissions'],
  operationId: 'submit',
  summary: 'Submit one submission (JSON) or many (NDJSON, or a spreadsheet: XLSX or CSV)',
  description:
    'application/json: one submission, at most INGEST_BODY_LIMIT_BYTES (1 MiB by default). 202 with a receipt once ' +
    'Kafka has it; 200 with the original receipt when the same id was already accepted with the same content; 409 ' +
    'when the id was used for other content. application/x-ndjson: one submission per line, each line at most the ' +
    'single-body limit, the upload at most INGEST_BULK_LIMIT_BYTES after decompression; answered with a per-line ' +
    'summary (202 when any line was accepted, else 200). ' +
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet (a workbook made by `citycheck template`) ' +
    'and text/csv (one sheet of it, UTF-8 with or without a byte-order mark): at most INGEST_BODY_LIMIT_BYTES; ' +
    'each filled row is one submission whose id is derived from city, cycle, unit and content (so the same sheet ' +
    'sent again stores nothing new, and a changed row is a correction), checked against the same rules as a JSON ' +
    'submission at once; rows naming a unit without values are skipped. Answered with a per-row summary whose ' +
    'lines carry sheet and row, and whose problems carry column and header, in Chinese (English on ' +
    'Accept-Language: en). Any may be sent with Content-Encoding: gzip.',
  querystring: {
    type: 'object',
    properties: {
      dryRun: {
        type: 'string',
        enum: [...dryRunValues.true, ...dryRunValues.false],
        description:
          'Validate and report without storing anything (for NDJSON: the same per-line summary). `true`, `1` or empty; `false` or `0`.',
      },
    },
  },
  // The handler checks the body: a dry run reports a submission's problems in a 200, and NDJSON is read line by line.
  body: {
    content: {
      'application/json': {
        schema: checkedByHandler({
          // allOf, so the examples stay beside the reference.
          allOf: [{ $ref: String(schemas.submission.$id) }],
          'x-examples': Object.fromEntries(
            Object.keys(submissionExamples).map((name) => [name, { $ref: `#/components/examples/${name}` }]),
          ),
        }),
      },
      'application/x-ndjson': {
        schema: checkedByHandler({
          type: 'string',
          description: 'One Submission per line (LF or CRLF); blank lines are skipped but counted.',
          examples: [ndjsonExample],
        }),
      },
      [xlsxMediaType]: {
        schema: checkedByHandler({
          type: 'string',
          format: 'binary',
          description:
            'A workbook in the layout of `citycheck template`: per unit level a sheet whose row 1 holds the Chinese ' +
            'headers and row 2 the English ones, beginning with the field key (cycle, catalogueVersion, cityCode, ' +
            'unit.level, unit.code, unit.name, C01.value ...); one unit per row from row 3. Other sheets are ignored.',
        }),
      },
      'text/csv': {
        schema: checkedByHandler({
          type: 'string',
          description:
            'One sheet of the template as CSV (UTF-8, a byte-order mark optional; RFC 4180 quoting): the two header ' +
            'rows, then one unit per row.',
          examples: [csvExample],
        }),
      },
    },
  },
  response: {
    200: {
      description:
        'Nothing new was stored: the original receipt of an identical earlier submission (header Idempotent-Replayed: true), a dry-run report, or a bulk summary without accepted lines.',
      content: media(
        { oneOf: [receipt, dryRunReport, bulkSummary] },
        {
          replay: receiptExample,
          dryRun: {
            dryRun: true,
            submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
            outcome: 'valid',
            idempotency: 'new',
            checks: ['schema', 'credential_scope', 'idempotency'],
            problems: [],
          },
        },
      ),
    },
    202: {
      description:
        'Accepted: in Kafka, to be validated. A receipt for JSON, a per-line summary for NDJSON, a per-row one for a spreadsheet.',
      content: media(
        { oneOf: [receipt, bulkSummary] },
        {
          receipt: receiptExample,
          bulk: {
            dryRun: false,
            received: 3,
            accepted: 1,
            rejected: 1,
            duplicates: 1,
            lines: [
              { line: 1, submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01', status: 'duplicate' },
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
      ),
    },
    400: errorResponse(
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
    401: unauthenticated,
    403: errorResponse('The credential may not submit for this city.', {
      otherCity: errorExample('forbidden', 'this credential may not submit for city 120100', [
        {
          pointer: '/cityCode',
          rule: 'credential_scope',
          message: 'this credential submits for city 110100 only, not for 120100',
          value: '120100',
        },
      ]),
    }),
    409: errorResponse('The submissionId was already used for other content.', {
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
    422: errorResponse(
      "The submission breaks a rule judged by itself, the catalogue and the registry (range, kind fields, unit placement, dimension, cycle), every problem listed in Chinese (English on Accept-Language: en); or its cycle was closed when it was received; or the ministry accepted the city's data for the cycle, which are locked until a reviewer reopens them.",
      {
        invalid: errorExample(
          'submission_invalid',
          '报送 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01 有 1 处不符合规则，未被接收',
          [
            {
              pointer: '/observations/0/value',
              rule: 'range',
              message:
                '指标 C01（未达标配建养老服务设施的小区数量）的数值（value）应在 0 至 500（个）之间，实为 501',
              indicator: 'C01',
              value: 501,
            },
          ],
        ),
        closed: errorExample('cycle_closed', 'cycle 2026 was closed at 2027-03-01T00:00:00.000Z', [
          {
            pointer: '/cycle',
            rule: 'cycle_closed',
            message:
              '2026 年度体检周期已于 2027-03-01 08:00（北京时间，即 2027-03-01T00:00:00.000Z）关闭，不再接收报送；如需补报，请联系主管部门重新开放该周期',
            value: 2026,
          },
        ]),
        locked: errorExample(
          'city_cycle_locked',
          '640100 的 2025 年度数据已于 2026-01-20 14:30（北京时间）由 住建部城市体检司 验收，已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放',
          [
            {
              pointer: '/cycle',
              rule: 'city_cycle_locked',
              message:
                '640100 的 2025 年度数据已于 2026-01-20 14:30（北京时间）由 住建部城市体检司 验收，已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放',
              value: 2025,
            },
          ],
        ),
      },
    ),
    413: errorResponse('The body (after decompression) or the upload is larger than allowed.', {
      tooLarge: errorExample(
        'payload_too_large',
        'the body is more than 1048576 bytes; send several submissions as NDJSON (application/x-ndjson)',
      ),
    }),
    415: errorResponse('Neither application/json nor application/x-ndjson, or an encoding other than gzip.', {
      mediaType: errorExample(
        'unsupported_media_type',
        'send one submission as application/json or many as application/x-ndjson (UTF-8)',
      ),
    }),
    429: rateLimited,
    503: errorResponse(
      'Kafka did not acknowledge, or the service is still starting. Nothing was lost: send the same request again after Retry-After.',
      {
        broker: errorExample('broker_unavailable', 'the message broker did not acknowledge the message'),
      },
      true,
    ),
  },
};

export const submissionStateSchema = {
  tags: ['submissions'],
  operationId: 'getSubmission',
  summary: 'Where a submission is: accepted, valid, rejected (with every problem) or stored',
  params: {
    type: 'object',
    required: ['submissionId'],
    properties: { submissionId: { type: 'string', pattern: canonicalUuidPattern } },
  },
  response: {
    200: {
      description: 'The submission as this instance knows it (updated within about a second of each step).',
      content: {
        'application/json': {
          schema: schemaRef(httpSchemas.submissionState),
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
    400: errorResponse('The path does not hold a UUID.', {
      notUuid: errorExample('invalid_request', 'submissionId must be a UUID'),
    }),
    401: unauthenticated,
    403: errorResponse('The submission belongs to another city.', {
      otherCity: errorExample('forbidden', 'this credential may not read submissions of city 120100'),
    }),
    404: errorResponse('No submission with this id was received.', {
      unknown: errorExample('not_found', 'no submission 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a09 was received'),
    }),
    429: rateLimited,
  },
};

const okResponse = (description: string, schema: Json, example: Json): Json => ({
  description,
  content: media(schema, { example }),
});

const cityQuery = {
  city: {
    type: 'string',
    pattern: '^[0-9]{6}$',
    description:
      'For a province or ministry credential: the city to answer for. A city credential answers for its own city and may leave it out.',
  },
};

// Query strings are not coerced (see @citycheck/http): numbers are declared as the digits a route reads.
const cycleQuery = {
  type: 'string',
  pattern: '^[0-9]{4}$',
  description: 'The cycle (year examined), e.g. 2024.',
};

const cityRefused = errorResponse('The credential may not read this city, or names no city.', {
  otherCity: errorExample('forbidden', 'this credential may not read submissions of city 120100'),
});

export const catalogueSchema = {
  tags: ['look-ups'],
  operationId: 'getCatalogue',
  summary: 'One catalogue version: each indicator with its kind, fields, units, range, standard and levels',
  params: {
    type: 'object',
    required: ['version'],
    properties: { version: { type: 'string', pattern: '^[0-9]{4}\\.[0-9]+$' } },
  },
  response: {
    200: okResponse('The catalogue version.', schemaRef(httpSchemas.catalogueVersion), {
      id: '2024.1',
      cycle: 2024,
      title: { zh: '2024年城市体检指标体系', en: 'Urban physical examination indicators 2024' },
      indicators: [
        {
          code: 'C01',
          nameZh: '未达标配建养老服务设施的小区数量',
          nameEn: 'Residential compounds without the required elderly-care facilities',
          dimension: 'community',
          kind: 'count',
          aggregation: 'sum',
          direction: 'lowerIsBetter',
          unit: { zh: '个', en: 'compounds' },
          range: { min: 0, max: 500 },
          standard: { operator: '<=', value: 0 },
          unitLevels: ['community'],
          fields: [
            {
              field: 'value',
              nameZh: '未达标配建养老服务设施的小区数量',
              nameEn: 'Residential compounds without the required elderly-care facilities',
              type: 'number',
              unit: { zh: '个', en: 'compounds' },
            },
          ],
          status: 'active',
          since: '2024.1',
        },
      ],
    }),
    400: errorResponse('The path does not hold a version like 2024.1.', {
      notVersion: errorExample('invalid_request', 'params/version must match pattern "^[0-9]{4}\\.[0-9]+$"'),
    }),
    401: unauthenticated,
    404: errorResponse('No catalogue of this version exists.', {
      unknown: errorExample('not_found', 'there is no catalogue version 2023.9'),
    }),
    429: rateLimited,
  },
};

export const unitsSchema = {
  tags: ['look-ups'],
  operationId: 'listExpectedUnits',
  summary: "The city's expected units (urban communities) in a cycle, with names and whether each reported",
  querystring: {
    type: 'object',
    required: ['cycle'],
    properties: { cycle: cycleQuery, ...cityQuery },
  },
  response: {
    200: okResponse('The expected units, sorted by code.', schemaRef(httpSchemas.expectedUnits), {
      cityCode: '110100',
      cycle: 2024,
      expected: 3,
      reported: 1,
      units: [
        { level: 'community', code: '110101001001', name: '多福巷社区', reported: true },
        { level: 'community', code: '110101001002', name: '银闸社区', reported: false },
        { level: 'community', code: '110101001005', name: '东厂社区', reported: false },
      ],
    }),
    400: errorResponse('No cycle, or a non-city credential without city.', {
      noCycle: errorExample('invalid_request', "querystring must have required property 'cycle'"),
    }),
    401: unauthenticated,
    403: cityRefused,
    429: rateLimited,
  },
};

export const submissionStatuses = ['accepted', 'valid', 'rejected', 'stored', 'counted'] as const;

export const listSubmissionsSchema = {
  tags: ['submissions'],
  operationId: 'listSubmissions',
  summary: "The city's submissions with their states, oldest received first, paged",
  querystring: {
    type: 'object',
    properties: {
      cycle: cycleQuery,
      status: { type: 'string', enum: [...submissionStatuses] },
      unit: { type: 'string', minLength: 1, description: 'A unit code: the submissions of this unit only.' },
      limit: {
        type: 'string',
        pattern: '^([1-9][0-9]{0,2}|1000)$',
        description: 'Submissions per page, 1 to 1000; 100 when absent.',
      },
      cursor: { type: 'string', minLength: 1, description: 'The nextCursor of the page before.' },
      ...cityQuery,
    },
  },
  response: {
    200: okResponse('One page; nextCursor asks for the next.', schemaRef(httpSchemas.submissionList), {
      submissions: [
        {
          submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
          cityCode: '110100',
          cycle: 2024,
          unit: { level: 'community', code: '110101001001' },
          status: 'rejected',
          contentHash: receiptExample.contentHash,
          receipt: receiptExample,
          problems: [problemExample],
        },
      ],
      nextCursor: 'MTczMjA2ODkwMzUxMi8zZjBjOWI4ZS00ZDJhLTRjNjEtOWE4ZS0yYjdkNWUxZjZhMDE',
    }),
    400: errorResponse('A filter out of its range, a cursor this service did not give, or no city.', {
      cursor: errorExample('invalid_request', 'cursor abc is not one this service gave'),
    }),
    401: unauthenticated,
    403: cityRefused,
    429: rateLimited,
  },
};

export const readySchema = readinessSchema('Kafka reachable and credentials and submission index loaded');
