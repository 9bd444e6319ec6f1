// `citycheck rectify` against ingest running in-process on a real port, with the real broker and object
// store behind it: 银川市 plans, reports and attaches a photo to one ledger item, is refused verifying it
// itself, and 宁夏's reviewer verifies it; the photo's bytes are read back from the bucket and hashed here.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CycleBook } from '@citycheck/cycles';
import { type IngestFixture, startIngestFixture } from '@citycheck/ingest/test-fixture';
import type { ObjectStore } from '@citycheck/lake';
import { ensureRectificationTopic, RectificationBook } from '@citycheck/rectification';
import { createTestCredentials, createTestStore, uniqueName } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rectifyCommand } from './rectify-command.js';

let fixture: IngestFixture;
let store: ObjectStore;
let url: string;

const credentials = createTestCredentials();
const yinchuan = credentials.issue('a000000000000001', 'city', { cityCode: '640100', name: '银川市住建局' });
const ningxia = credentials.issue('b000000000000064', 'reviewer:province:64', { name: '宁夏住建厅' });

/** Runs the command with its output captured: exit code, what it printed and what it complained. */
const rectify = async (token: string, ...args: string[]) => {
  const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const code = await rectifyCommand([...args, '--url', url, '--token', token]);
    return {
      code,
      stdout: out.mock.calls.map((call) => String(call[0])).join('\n'),
      stderr: err.mock.calls.map((call) => String(call[0])).join('\n'),
    };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
};

const item = ['--cycle', '2025', '--unit', '640104', '--indicator', 'D01'];

beforeAll(async () => {
  fixture = await startIngestFixture();
  const topic = uniqueName('rectification');
  await ensureRectificationTopic(fixture.kafka, { topic });
  store = await createTestStore('evidence');
  url = await fixture.serve({
    authenticator: credentials.store,
    cycles: new CycleBook(),
    rectification: new RectificationBook(),
    rectificationTopic: topic,
    evidenceStore: store,
  });
});

afterAll(async () => {
  await fixture?.close();
  store?.close();
});

describe('citycheck rectify', () => {
  it('walks one item from plan to verified, refusing the city its own verification', async () => {
    const planned = await rectify(
      yinchuan,
      'plan',
      ...item,
      '--measure',
      '新建社区体育公园 2 处',
      '--department',
      '兴庆区体育局',
      '--target-date',
      '2026-09-30',
    );
    expect(planned.code).toBe(0);
    expect(planned.stdout.split('\n').slice(0, 2)).toEqual([
      '2025 年度 640100 district 640104 指标 D01：已制定计划（planned）',
      '  整改计划：新建社区体育公园 2 处；责任部门 兴庆区体育局；完成时限 2026-09-30',
    ]);

    const noNote = await rectify(yinchuan, 'progress', ...item);
    expect(noNote.code).toBe(64);
    expect(noNote.stderr).toContain('rectify progress needs --note TEXT');
    expect((await rectify(yinchuan, 'progress', ...item, '--note', '已完成选址')).code).toBe(0);

    const dir = await mkdtemp(join(tmpdir(), 'citycheck-rectify-'));
    const file = join(dir, '竣工照片.png');
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x02, 0x03]);
    await writeFile(file, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const attached = await rectify(yinchuan, 'evidence', ...item, '--file', file);
    expect(attached.code).toBe(0);
    expect(attached.stdout).toContain(`  佐证材料：竣工照片.png（image/png，11 字节，sha256 ${sha256}）`);
    const stored = await store.get(`evidence/cycle=2025/city_code=640100/${sha256}`);
    expect(stored === undefined ? undefined : Buffer.from(stored)).toEqual(bytes);

    // Ningxia's reviewer looks at the photo before verifying: the same bytes, written where asked.
    const copy = join(dir, '下载.png');
    const downloaded = await rectify(ningxia, 'download', ...item, '--sha256', sha256, '--out', copy);
    expect(downloaded.code).toBe(0);
    expect(downloaded.stdout).toBe(`${copy}：11 字节，sha256 ${sha256}`);
    expect(await readFile(copy)).toEqual(bytes);
    const other = 'f'.repeat(64);
    const missing = await rectify(ningxia, 'download', ...item, '--sha256', other, '--out', copy);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`citycheck: not_found: 该整改事项没有 sha256 为 ${other} 的佐证材料`);

    const self = await rectify(yinchuan, 'verify', ...item);
    expect(self.code).toBe(1);
    expect(self.stderr).toBe(
      'citycheck: rectification_forbidden: 城市不能核验本市的整改：核验由所在省的审核人员或部级审核人员进行',
    );

    const verified = await rectify(ningxia, 'verify', ...item, '--note', '现场核查属实', '--json');
    expect(verified.code).toBe(0);
    const record = JSON.parse(verified.stdout);
    expect(record.state).toBe('rectified');
    expect(
      record.actions.map((entry: { action: string; role: string }) => `${entry.action} ${entry.role}`),
    ).toEqual(['plan city', 'progress city', 'evidence city', 'verify reviewer:province:64']);

    const listed = await rectify(ningxia, 'list', '--cycle', '2025', '--lang', 'en');
    expect(listed.stdout).toBe(
      '2025  640100  district 640104  D01  rectified (verified)  due 2026-09-30  evidence 1',
    );
  });
});
