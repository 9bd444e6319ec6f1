// POST /v1/export: one SELECT, as POST /v1/query takes it (same guard, scope and limits), answered for
// people rather than programs: XLSX with Chinese headers, CSV with a UTF-8 BOM, or JSON, with the values
// scaled and rounded as the catalogue declares and times in Asia/Shanghai (display-format.ts).
import { CitycheckError } from '@citycheck/errors';
import { errorSchemaId, principalOf } from '@citycheck/http';
import type { FastifyInstance } from 'fastify';
import { scopeOf } from './app.js';
import {
  type DisplayLanguage,
  displayResult,
  type IndicatorBook,
  loadIndicatorBook,
} from './display-format.js';
import { displayCsv, displayXlsx, xlsxMediaType } from './output-export.js';
import type { QueryEngine } from './query-engine.js';

const exportFormats = ['xlsx', 'csv', 'json'] as const;
type ExportFormat = (typeof exportFormats)[number];

const errorRef = { $ref: errorSchemaId };

export const exportSchema = {
  tags: ['query'],
  operationId: 'export',
  summary:
    'One SELECT as a table for people: XLSX, CSV with a BOM or JSON, values scaled and rounded, local times',
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['sql'],
    properties: {
      sql: {
        type: 'string',
        minLength: 1,
        description: 'One SELECT over the documented views, as for /v1/query.',
      },
      format: { type: 'string', enum: [...exportFormats], default: 'xlsx' },
      language: {
        type: 'string',
        enum: ['zh', 'en'],
        default: 'zh',
        description: 'zh: Chinese headers and 是/否; en: column names as in SQL.',
      },
      filename: { type: 'string', pattern: '^[^/\\\\\\r\\n"]{1,100}$', description: 'Without extension.' },
    },
  },
  response: {
    200: {
      description:
        'The table. Indicator values (value, previous_value, change, standard_value, gap …) are multiplied by the unit scale and rounded (counts 0, percentages 1, others 2 decimals); reporting rates are percentages; timestamps are China Standard Time.',
      content: {
        [xlsxMediaType]: { schema: { type: 'string', format: 'binary' } },
        'text/csv': { schema: { type: 'string' } },
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              columns: { type: 'array', items: { type: 'object' } },
              rows: { type: 'array', items: { type: 'array' } },
              rowCount: { type: 'integer' },
            },
          },
        },
      },
    },
    400: {
      description: 'The SQL is refused or invalid.',
      content: { 'application/json': { schema: errorRef } },
    },
    401: { description: 'No or a bad credential.', content: { 'application/json': { schema: errorRef } } },
    422: { description: 'A limit stopped the query.', content: { 'application/json': { schema: errorRef } } },
  },
};

export const registerExportRoute = (
  api: FastifyInstance,
  { engine, book = loadIndicatorBook() }: { engine: QueryEngine; book?: IndicatorBook },
): void => {
  api.post('/v1/export', { onRequest: api.authenticate, schema: exportSchema }, async (request, reply) => {
    const caller = scopeOf(principalOf(request));
    const body = request.body as {
      sql: string;
      format?: ExportFormat;
      language?: DisplayLanguage;
      filename?: string;
    };
    const format = body.format ?? 'xlsx';
    const language = body.language ?? 'zh';
    const result = await engine.open(caller.scope, body.sql);
    let shown: Awaited<ReturnType<typeof displayResult>>;
    try {
      shown = await displayResult(result, { book, language });
    } finally {
      result.close();
    }
    request.log.info(
      {
        credentialId: caller.id,
        role: caller.role,
        format,
        rows: shown.rows.length,
        sql: body.sql.slice(0, 2_000),
      },
      'export answered',
    );
    const name = encodeURIComponent(`${body.filename ?? 'citycheck'}.${format}`);
    void reply
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename*=UTF-8''${name}`);
    switch (format) {
      case 'xlsx':
        return reply.header('content-type', xlsxMediaType).send(await displayXlsx(shown, { language }));
      case 'csv':
        return reply
          .header('content-type', 'text/csv; charset=utf-8; header=present')
          .send(displayCsv(shown, language));
      case 'json':
        return reply.header('content-type', 'application/json; charset=utf-8').send(
          JSON.stringify({
            columns: shown.columns,
            rows: shown.rows.map((row) =>
              row.map((cell) => (cell !== null && typeof cell === 'object' ? cell.number : cell)),
            ),
            rowCount: shown.rows.length,
          }),
        );
      default:
        throw new CitycheckError('invalid_request', `format must be one of ${exportFormats.join(', ')}`);
    }
  });
};
