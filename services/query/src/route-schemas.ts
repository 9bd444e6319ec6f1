// The schemas of the query service's routes (body, responses): the one declaration of its HTTP contract,
// from which @fastify/swagger writes the OpenAPI document.
import { httpSchemas, schemaRef } from '@citycheck/contracts';
import { errorCodes } from '@citycheck/errors';
import { errorSchemaId, readinessSchema } from '@citycheck/http';
import { resultFormats } from './accept.js';

type Json = Record<string, unknown>;

/** The body schemas the routes refer to (the plumbing adds Problem and Error). */
export const queryBodySchemas = [
  httpSchemas.queryRequest,
  httpSchemas.queryResult,
  httpSchemas.tableCatalogue,
  httpSchemas.pipelineStatus,
];

const errorExample = (code: keyof typeof errorCodes, message: string): Json => ({
  error: { code, reason: errorCodes[code].reason, retriable: errorCodes[code].retriable, message },
});

const errorResponse = (description: string, examples: Record<string, Json>, retryAfter = false): Json => ({
  description,
  ...(retryAfter
    ? {
        headers: {
          'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before retrying.' },
        },
      }
    : {}),
  content: {
    'application/json': {
      schema: { $ref: errorSchemaId },
      examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])),
    },
  },
});

const unauthenticated = errorResponse('No credential, or an unknown, rotated or revoked one.', {
  missing: errorExample(
    'unauthenticated',
    'this endpoint needs an analyst or city credential: send Authorization: Bearer cc_<id>_<secret>',
  ),
});
const forbidden = errorResponse('A city credential: the pipeline status is for analysts and operators.', {
  city: errorExample('forbidden', 'the pipeline status is for analysts and operators'),
});
const notReady = errorResponse(
  'The service cannot confirm its credentials are current, or the object store is down; retry after Retry-After.',
  {
    stale: errorExample(
      'not_ready',
      'the service has lost sight of credentials.v1 and cannot tell revoked credentials apart; retry shortly',
    ),
  },
  true,
);

export const querySchema = {
  tags: ['query'],
  operationId: 'query',
  summary: 'Run one SELECT over the lake; rows as JSON, CSV, Arrow or Parquet by the Accept header',
  body: schemaRef(httpSchemas.queryRequest),
  response: {
    200: {
      description:
        'The rows, streamed. JSON ends with `"complete":false` and an `error` when a limit stopped the query after rows were sent.',
      content: {
        [resultFormats.json]: {
          schema: schemaRef(httpSchemas.queryResult),
          examples: {
            one: {
              value: {
                columns: [{ name: 'one', type: 'INTEGER' }],
                rows: [[1]],
                rowCount: 1,
                complete: true,
              },
            },
          },
        },
        [resultFormats.csv]: { schema: { type: 'string', description: 'RFC 4180 with a header line.' } },
        [resultFormats.arrow]: { schema: { type: 'string', contentMediaType: resultFormats.arrow } },
        [resultFormats.parquet]: { schema: { type: 'string', contentMediaType: resultFormats.parquet } },
      },
    },
    400: errorResponse('The SQL does not parse, or is not one read-only SELECT over the documented views.', {
      notAllowed: errorExample('query_not_allowed', 'INSTALL is not accepted: send one SELECT'),
      missingSql: errorExample('invalid_request', 'the request does not match its schema'),
    }),
    401: unauthenticated,
    406: errorResponse('The Accept header names no format the endpoint produces.', {
      xml: errorExample(
        'not_acceptable',
        'cannot answer in application/xml; ask for one of application/json, text/csv, application/vnd.apache.arrow.stream, application/vnd.apache.parquet',
      ),
    }),
    413: errorResponse('The body is larger than allowed.', {
      tooLarge: errorExample('payload_too_large', 'Request body is too large'),
    }),
    415: errorResponse('The body is not application/json.', {
      mediaType: errorExample('unsupported_media_type', 'send {"sql": "..."} as application/json'),
    }),
    422: errorResponse('The query ran past its timeout, memory limit or row cap.', {
      timeout: errorExample(
        'query_timeout',
        'the query ran longer than 30000 ms and was stopped; filter it (by cycle, province, indicator) or aggregate first',
      ),
    }),
    429: errorResponse(
      'More queries are waiting than the queue holds.',
      { queue: errorExample('rate_limited', '2 queries are running and 32 waiting; retry shortly') },
      true,
    ),
    503: notReady,
  },
};

/** A GET route answering one document, to a credential the service knows and while it is ready. */
const documentRoute = (
  tag: string,
  operationId: string,
  summary: string,
  ok: Json,
  otherErrors: Record<number, Json> = {},
): Json => ({
  tags: [tag],
  operationId,
  summary,
  response: { 200: ok, 401: unauthenticated, ...otherErrors, 503: notReady },
});

export const tablesSchema = documentRoute(
  'query',
  'tables',
  'The documented views with their columns, and the table macros',
  { description: 'The catalogue of views and macros.', ...schemaRef(httpSchemas.tableCatalogue) },
);

export const statusSchema = documentRoute(
  'status',
  'status',
  "The pipeline's health; a provincial analyst sees its own province's reporting only",
  { description: 'The status document.', ...schemaRef(httpSchemas.pipelineStatus) },
  { 403: forbidden },
);

export const statusPageSchema = (path: string): Json =>
  path === '/status'
    ? {
        tags: ['status'],
        operationId: 'statusPage',
        summary: 'The status page (HTML; it fetches /v1/status with the credential typed into it)',
        security: [],
        response: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
      }
    : { hide: true };

export const readySchema = readinessSchema(
  'DuckDB answers; Kafka, the object store and credentials are reachable and loaded',
);
