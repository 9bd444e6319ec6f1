// The CLI's query and status commands against a stand-in HTTP server that answers like the query service:
// tables print aligned, files are streamed to disk, and a result that breaks off leaves no file behind.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatPipelineStatus,
  isPipelineStatusCall,
  type PipelineStatusDocument,
} from '../status/pipeline-status-command.js';
import { formatTable, mediaTypeFor, QueryFailed, queryRows, queryToFile } from './query-client.js';

let server: Server;
let url: string;
let dir: string;
const seen: { accept: string | undefined; authorization: string | undefined; sql: string }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-query-'));
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const sql = (JSON.parse(body || '{}') as { sql?: string }).sql ?? '';
      seen.push({ accept: request.headers.accept, authorization: request.headers.authorization, sql });
      if (sql === 'refused') {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { code: 'query_not_allowed', message: 'INSTALL is not accepted' } }),
        );
      } else if (sql === 'cap') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          '{"columns":[{"name":"a","type":"INTEGER"}],"rows":[\n[1]\n],"rowCount":1,"complete":false,' +
            '"error":{"code":"query_row_cap_exceeded","reason":"bad_input","retriable":false,"message":"more than 1 rows"}}\n',
        );
      } else if (sql === 'broken') {
        response.writeHead(200, { 'content-type': 'text/csv' });
        response.write('a\r\n1\r\n');
        setTimeout(() => response.destroy(), 20);
      } else if (request.headers.accept === 'text/csv') {
        response.writeHead(200, { 'content-type': 'text/csv' });
        response.end('city,n\r\n440100,3\r\n');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            columns: [
              { name: 'city', type: 'VARCHAR' },
              { name: 'name', type: 'VARCHAR' },
              { name: 'n', type: 'BIGINT' },
            ],
            rows: [
              ['440100', '广州市', 3],
              ['110100', 'Beijing', 12],
            ],
            rowCount: 2,
            complete: true,
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const target = () => ({ url, token: 'cc_0000000000000044_secret' });

describe('citycheck query', () => {
  it('prints rows as an aligned table, numbers to the right, wide characters counted twice', async () => {
    const result = await queryRows(target(), 'SELECT 1');
    expect(seen.at(-1)).toMatchObject({
      accept: 'application/json',
      authorization: 'Bearer cc_0000000000000044_secret',
    });
    expect(formatTable(result)).toBe(
      ['city    name      n', '------  -------  --', '440100  广州市    3', '110100  Beijing  12'].join('\n'),
    );
  });

  it('asks for the format the file extension names and streams it to disk', async () => {
    expect(mediaTypeFor('x.parquet')).toBe('application/vnd.apache.parquet');
    expect(mediaTypeFor('x.ARROW')).toBe('application/vnd.apache.arrow.stream');
    expect(mediaTypeFor('x.txt')).toBeUndefined();
    const file = join(dir, 'out.csv');
    expect(await queryToFile(target(), 'SELECT 1', file)).toEqual({ bytes: 18 });
    expect(seen.at(-1)?.accept).toBe('text/csv');
    expect(readFileSync(file, 'utf8')).toBe('city,n\r\n440100,3\r\n');
  });

  it("reports the service's refusal with its code", async () => {
    await expect(queryRows(target(), 'refused')).rejects.toMatchObject({
      code: 'query_not_allowed',
      status: 400,
    });
  });

  it('leaves no file when the result breaks off or ends with an error', async () => {
    const csv = join(dir, 'broken.csv');
    await expect(queryToFile(target(), 'broken', csv)).rejects.toBeInstanceOf(QueryFailed);
    expect(existsSync(csv)).toBe(false);
    const json = join(dir, 'cap.json');
    await expect(queryToFile(target(), 'cap', json)).rejects.toMatchObject({
      code: 'query_row_cap_exceeded',
    });
    expect(existsSync(json)).toBe(false);
    await expect(queryRows(target(), 'cap')).rejects.toMatchObject({ code: 'query_row_cap_exceeded' });
  });
});

describe('citycheck status', () => {
  it('is the pipeline status without a submission id, a submission status with one', () => {
    expect(isPipelineStatusCall([])).toBe(true);
    expect(isPipelineStatusCall(['--url', 'http://127.0.0.1:8090', '--json'])).toBe(true);
    expect(isPipelineStatusCall(['3f1c7a1e-0000-4000-8000-000000000000'])).toBe(false);
  });

  it('prints the flow, rejections and reporting provinces', () => {
    const status: PipelineStatusDocument = {
      generatedAt: '2024-11-20T09:00:00.000Z',
      windowSeconds: 300,
      stages: [
        {
          name: 'ingest',
          consumes: 'HTTP',
          produces: ['submissions.received.v1'],
          inWindow: 10,
          perMinute: 2,
        },
        {
          name: 'validate',
          consumes: 'submissions.received.v1',
          produces: [],
          inWindow: 8,
          perMinute: 1.6,
          lag: 2,
          lagByPartition: [
            { partition: 0, lag: 2 },
            { partition: 1, lag: 0 },
          ],
        },
      ],
      rejections: { submissions: 1, inWindow: 1, byReason: [{ reason: 'range', total: 1, inWindow: 1 }] },
      completeness: {
        cycle: 2024,
        source: 'completeness',
        provinces: [
          {
            code: '11',
            name: '北京市',
            citiesReporting: 1,
            citiesExpected: 1,
            unitsReporting: 5,
            unitsExpected: 3722,
          },
          {
            code: '12',
            name: '天津市',
            citiesReporting: 0,
            citiesExpected: 1,
            unitsReporting: 0,
            unitsExpected: 2069,
          },
        ],
      },
      services: [{ name: 'validate', up: false }],
      problems: [],
    };
    expect(formatPipelineStatus(status)).toBe(
      [
        'citycheck pipeline, 2024-11-20T09:00:00.000Z (rates over the last 5 min)',
        '',
        'ingest 2/min  ->  validate 1.6/min (lag 2)',
        '  ingest           10 in window  reads HTTP',
        '  validate          8 in window  reads submissions.received.v1  lag p0:2 p1:0',
        '',
        'rejected: 1 submissions, 1 in the window',
        '  range                               1        1 in window',
        '',
        'reporting, current cycle 2024: 1 of 2 provinces (from completeness)',
        '  11 北京市  cities 1/1  communities 5/3722',
        '  not reported yet: 12',
        '',
        'no metrics from: validate',
      ].join('\n'),
    );
  });
});
