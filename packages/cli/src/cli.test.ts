// Unit tests of the CLI's parts: chunking keeps every line's origin, Retry-After and backoff, the resume
// state's fingerprint, and how ingest's answers become counts and rejections.
import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { backoffMs, defaultRetryPolicy, retryAfterMs } from './http.js';
import { type Chunk, chunksOf, findInputFiles } from './input-files.js';
import { fingerprintOf, loadState, saveState } from './resume-state.js';
import { formatReport, resultOf, SubmitFailed } from './submit.js';

const collect = async (path: string, chunkLines = 2, maxChunkBytes = 1_000_000) => {
  const chunks: Chunk[] = [];
  for await (const chunk of chunksOf(path, { chunkLines, maxChunkBytes })) chunks.push(chunk);
  return chunks;
};

describe('input files', () => {
  it('finds .json, .ndjson, .jsonl, .gz, .xlsx and .csv files in directories, in order, skipping state and lock files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-'));
    for (const name of [
      'b.ndjson',
      'a.json',
      'c.jsonl.gz',
      'notes.txt',
      'a.json.citycheck-state.json',
      'd.xlsx',
      '~$d.xlsx',
      'e.csv',
    ]) {
      await writeFile(join(dir, name), '');
    }
    expect(await findInputFiles([dir])).toEqual(
      ['a.json', 'b.ndjson', 'c.jsonl.gz', 'd.xlsx', 'e.csv'].map((name) => join(dir, name)),
    );
    await expect(findInputFiles([join(dir, 'notes.txt')])).rejects.toThrow(
      /not a .json, .ndjson, .jsonl\(.gz\), .xlsx or .csv file/,
    );
  });

  it('sends a spreadsheet whole, as its media type', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-'));
    await writeFile(join(dir, 'yinchuan.csv'), '\uFEFF体检年度\r\ncycle\r\n');
    await writeFile(join(dir, 'yinchuan.xlsx'), Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    expect(await collect(join(dir, 'yinchuan.csv'))).toMatchObject([
      { index: 0, kind: 'sheet', contentType: 'text/csv; charset=utf-8', unit: 'row' },
    ]);
    const [workbook] = await collect(join(dir, 'yinchuan.xlsx'));
    expect(workbook?.contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(workbook?.body).toEqual(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  });

  it('cuts NDJSON into chunks of whole lines, remembering each line number, skipping blanks, keeping bytes as they are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-'));
    const path = join(dir, 'x.ndjson');
    const invalid = Buffer.from([0x7b, 0xff, 0x7d]);
    await writeFile(
      path,
      Buffer.concat([Buffer.from('{"a":1}\r\n\n{"b":2}\n   \n{"c":3}\n'), invalid, Buffer.from('\n{"e":5}')]),
    );
    const chunks = await collect(path);
    expect(chunks.map((c) => [c.index, c.origins, c.body.toString('latin1')])).toEqual([
      [0, [1, 3], '{"a":1}\n{"b":2}\n'],
      [1, [5, 6], `{"c":3}\n${invalid.toString('latin1')}\n`],
      [2, [7], '{"e":5}\n'],
    ]);
    await writeFile(`${path}.gz`, gzipSync('{"a":1}\n{"b":2}\n{"c":3}\n'));
    expect((await collect(`${path}.gz`)).map((c) => c.origins)).toEqual([[1, 2], [3]]);
  });

  it('also cuts by bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-'));
    const path = join(dir, 'x.ndjson');
    await writeFile(path, `${'{"a":"xxxxxxxx"}\n'.repeat(5)}`);
    expect((await collect(path, 1000, 40)).map((c) => c.origins)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('sends a .json object as it is and a .json array as NDJSON chunks of items', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-'));
    await writeFile(join(dir, 'one.json'), '{"submissionId": "x"}');
    await writeFile(join(dir, 'many.json'), JSON.stringify([{ a: 1 }, { b: 2 }, { c: 3 }]));
    const [one] = await collect(join(dir, 'one.json'));
    expect(one).toMatchObject({ kind: 'json', unit: 'file', origins: [1] });
    expect(one?.body.toString()).toBe('{"submissionId": "x"}');
    const many = await collect(join(dir, 'many.json'));
    expect(many.map((c) => [c.kind, c.unit, c.origins, c.body.toString()])).toEqual([
      ['ndjson', 'item', [1, 2], '{"a":1}\n{"b":2}\n'],
      ['ndjson', 'item', [3], '{"c":3}\n'],
    ]);
  });
});

describe('retries', () => {
  it('read Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('12')).toBe(12_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(
      10_000,
    );
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('back off exponentially with full jitter, capped', () => {
    expect(backoffMs(1, defaultRetryPolicy, () => 1)).toBe(500);
    expect(backoffMs(4, defaultRetryPolicy, () => 1)).toBe(4_000);
    expect(backoffMs(20, defaultRetryPolicy, () => 1)).toBe(30_000);
    expect(backoffMs(4, defaultRetryPolicy, () => 0.5)).toBe(2_000);
  });
});

describe('resume state', () => {
  it('is reused only for the same file, chunking and URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'citycheck-cli-'));
    const input = join(dir, 'x.ndjson');
    await writeFile(input, '{"a":1}\n');
    const settings = { chunkLines: 1000, maxChunkBytes: 1000, url: 'http://127.0.0.1:8080' };
    const fingerprint = await fingerprintOf(input, settings);
    const result = { sent: 1, accepted: 1, duplicates: 0, rejected: 0, rejections: [] };
    await saveState(input, { version: 1, ...fingerprint, chunks: { '0': result } });
    expect(await loadState(input, fingerprint)).toEqual({
      state: { version: 1, ...fingerprint, chunks: { '0': result } },
      resumed: true,
    });
    expect((await loadState(input, { ...fingerprint, url: 'https://ingest.example.gov.cn' })).resumed).toBe(
      false,
    );
    expect((await loadState(input, { ...fingerprint, chunkLines: 10 })).resumed).toBe(false);
    await utimes(input, new Date(), new Date(Date.now() + 5_000));
    expect((await loadState(input, await fingerprintOf(input, settings))).resumed).toBe(false);
  });
});

describe('answers', () => {
  const ndjsonChunk: Chunk = {
    index: 0,
    kind: 'ndjson',
    body: Buffer.alloc(0),
    origins: [4, 9, 12],
    unit: 'line',
    readBytes: 0,
  };
  const jsonChunk: Chunk = {
    index: 0,
    kind: 'json',
    body: Buffer.from('{"submissionId":"s-1"}'),
    origins: [1],
    unit: 'file',
    readBytes: 0,
  };
  const problem = { pointer: '/cycle', rule: 'schema.type', message: 'must be integer' };
  /** The totals of a run of one file with three lines: one accepted, one already received, one refused. */
  const oneOfEach = {
    files: 1,
    sent: 3,
    accepted: 1,
    duplicates: 1,
    rejected: 1,
    resumedChunks: 0,
    dryRun: false,
  };

  it('map the per-line summary back to the lines of the file', () => {
    const summary = {
      dryRun: false,
      received: 3,
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      lines: [
        { line: 1, submissionId: 'a', status: 'accepted' },
        { line: 2, submissionId: 'b', status: 'rejected', problems: [problem] },
        { line: 3, submissionId: 'c', status: 'duplicate' },
      ],
    };
    expect(resultOf(ndjsonChunk, { status: 202, headers: {}, body: summary }, false)).toEqual({
      sent: 3,
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      rejections: [{ at: 9, unit: 'line', submissionId: 'b', problems: [problem] }],
    });
  });

  it('count a single submission as accepted, duplicate or rejected, and stop on a refused credential', () => {
    expect(resultOf(jsonChunk, { status: 202, headers: {}, body: {} }, false).accepted).toBe(1);
    expect(resultOf(jsonChunk, { status: 200, headers: {}, body: {} }, false).duplicates).toBe(1);
    const error = { error: { code: 'invalid_request', message: 'x', problems: [problem] } };
    expect(resultOf(jsonChunk, { status: 400, headers: {}, body: error }, false).rejections).toEqual([
      { at: 1, unit: 'file', submissionId: 's-1', problems: [problem] },
    ]);
    expect(() =>
      resultOf(
        jsonChunk,
        { status: 401, headers: {}, body: { error: { code: 'unauthenticated', message: 'no' } } },
        false,
      ),
    ).toThrow(SubmitFailed);
    expect(() => resultOf(ndjsonChunk, { status: 413, headers: {}, body: {} }, false)).toThrow(
      /lower --chunk-lines/,
    );
  });

  it('print totals and one line per problem', () => {
    const report = {
      ...oneOfEach,
      rejections: [
        {
          file: 'beijing.ndjson',
          at: 9,
          unit: 'line',
          submissionId: 'b',
          problems: [{ ...problem, value: '2024' }],
        },
      ],
    } as const;
    expect(formatReport(report)).toBe(
      '1 file(s), 3 submission(s): 1 accepted, 1 already received, 1 rejected\n' +
        '  beijing.ndjson:9 b /cycle schema.type: must be integer (got "2024")',
    );
    // What the CLI prints by default: Chinese, with the place, id, pointer and rule code unchanged.
    expect(formatReport(report, 200, 'zh')).toBe(
      '1 个文件，3 条报送：已接收 1 条，此前已收到 1 条，被拒收 1 条\n' +
        '  beijing.ndjson:9 b /cycle schema.type: must be integer（实际为 "2024"）',
    );
  });

  it('map a spreadsheet summary to sheets and rows, keep the ids to follow, and print sheet, row and column', () => {
    const sheetChunk: Chunk = {
      index: 0,
      kind: 'sheet',
      contentType: 'text/csv',
      body: Buffer.alloc(0),
      origins: [],
      unit: 'row',
      readBytes: 0,
    };
    const range = {
      pointer: '/observations/0/value',
      rule: 'range',
      message: '应在 0 至 500（个）之间，实为 600',
      column: 'G',
      header: 'C01 未达标配建养老服务设施的小区数量（个）',
      value: 600,
    };
    const summary = {
      dryRun: false,
      received: 3,
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      skipped: 301,
      lines: [
        { line: 3, sheet: '社区 community', row: 3, submissionId: 'a', status: 'accepted' },
        { line: 4, sheet: '社区 community', row: 4, submissionId: 'b', status: 'duplicate' },
        {
          line: 5,
          sheet: '社区 community',
          row: 5,
          submissionId: 'c',
          status: 'rejected',
          problems: [range],
        },
      ],
    };
    const result = resultOf(sheetChunk, { status: 202, headers: {}, body: summary }, false, true);
    expect(result).toEqual({
      sent: 3,
      accepted: 1,
      duplicates: 1,
      rejected: 1,
      rejections: [{ at: 5, unit: 'row', sheet: '社区 community', submissionId: 'c', problems: [range] }],
      followed: [
        { submissionId: 'a', at: 3, sheet: '社区 community', status: 'accepted' },
        { submissionId: 'b', at: 4, sheet: '社区 community', status: 'duplicate' },
      ],
    });
    // A file ingest cannot read as a sheet is one rejected file, not the end of the run.
    const unreadable = { error: { code: 'invalid_request', message: 'x', problems: [problem] } };
    expect(resultOf(sheetChunk, { status: 400, headers: {}, body: unreadable }, false).rejections).toEqual([
      { at: 1, unit: 'file', submissionId: null, problems: [problem] },
    ]);

    const file = 'yinchuan.xlsx';
    const text = formatReport({
      ...oneOfEach,
      rejections: result.rejections.map((rejection) => ({ file, ...rejection })),
      waited: {
        counted: 1,
        rejected: 1,
        pending: 0,
        notFollowed: 0,
        files: [{ file, counted: 1, rejected: 1, pending: 0 }],
        rejections: [
          {
            file,
            submissionId: 'b',
            at: 4,
            sheet: '社区 community',
            status: 'duplicate',
            finalStatus: 'rejected',
            problems: [{ pointer: '/unit/code', rule: 'unit_exists', message: '单元编码无效' }],
          },
        ],
      },
    });
    expect(text).toBe(
      '1 file(s), 3 submission(s): 1 accepted, 1 already received, 1 rejected\n' +
        '  yinchuan.xlsx 社区 community!5 c column G "C01 未达标配建养老服务设施的小区数量（个）" ' +
        '/observations/0/value range: 应在 0 至 500（个）之间，实为 600 (got 600)\n' +
        'yinchuan.xlsx: 1 counted, 1 rejected by validate\n' +
        '  yinchuan.xlsx 社区 community!4 b /unit/code unit_exists: 单元编码无效\n' +
        'after waiting: 1 counted, 1 rejected by validate, 1 refused by ingest',
    );
  });
});
