// The progress of `citycheck submit` as a terminal and a log show it, on a fake clock and a fake stream:
// acknowledged lines against all lines, the rate and the time left, and in a log one line per file and a
// summary. Expected texts are worked out by hand from the lines and times given.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration } from './language.js';
import { type Counts, Progress } from './progress.js';

const stream = (isTTY: boolean) => {
  let text = '';
  const out = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }),
    { isTTY, columns: 200 },
  );
  return { out, text: () => text };
};

const clock = () => {
  let at = 1_000_000;
  return {
    now: () => at,
    advance: (ms: number) => {
      at += ms;
    },
  };
};

const counts = (accepted: number, duplicates = 0, rejected = 0): Counts => ({
  sent: accepted + duplicates + rejected,
  accepted,
  duplicates,
  rejected,
});

/** What a terminal shows last: the text after the last carriage return, without the erase-line code. */
const lastBar = (text: string): string => (text.split('\r').at(-1) ?? '').replace('\x1b[K', '');

describe('progress on a terminal', () => {
  it('counts acknowledged lines, and shows the rate and time left once a second has passed', () => {
    const { out, text } = stream(true);
    const time = clock();
    const progress = new Progress({ out, totalLines: 1_000, now: time.now });
    progress.startFile(counts(0));
    time.advance(500);
    progress.acknowledged(100, counts(99, 0, 1), 'a.ndjson');
    // 100 of 1,000 lines: 10%, 2 of 24 marks (2.4 rounded); half a second is too early for a rate.
    expect(lastBar(text())).toBe(
      '[##----------------------]  10%  100/1,000 行  已接收 99，重复 0，拒绝 1  a.ndjson',
    );
    time.advance(1_500);
    progress.acknowledged(200, counts(299, 0, 1), 'a.ndjson');
    // 300 lines in 2 s: 150 lines/s; 700 left take 4.67 s, shown as 5 s; 30% is 7.2 marks, 7.
    expect(lastBar(text())).toBe(
      '[#######-----------------]  30%  300/1,000 行  已接收 299，重复 0，拒绝 1  150 行/秒  剩余约 5 秒  a.ndjson',
    );
  });

  it('redraws at most every 100 ms, and always when a file is done', () => {
    const { out, text } = stream(true);
    const time = clock();
    const progress = new Progress({ out, totalLines: 30, now: time.now, language: 'en' });
    progress.startFile(counts(0));
    progress.acknowledged(10, counts(10), 'a.ndjson');
    time.advance(50);
    progress.acknowledged(10, counts(20), 'a.ndjson');
    expect(text().split('\r').length - 1).toBe(1);
    progress.fileDone('a.ndjson', counts(20));
    expect(text().split('\r').length - 1).toBe(2);
    expect(lastBar(text())).toBe(
      '[################--------]  66%  20/30 lines  20 accepted, 0 duplicates, 0 rejected  a.ndjson',
    );
    progress.finish();
    expect(text().endsWith('\n')).toBe(true);
  });

  it('counts lines acknowledged in an earlier run as done, but not in the rate', () => {
    const { out, text } = stream(true);
    const time = clock();
    const progress = new Progress({ out, totalLines: 2_000, now: time.now, language: 'en' });
    progress.startFile(counts(0));
    progress.resumed(1_000, counts(1_000), 'a.ndjson');
    time.advance(4_000);
    progress.acknowledged(200, counts(1_200), 'a.ndjson');
    // 200 lines sent in 4 s: 50 lines/s; 800 left: 16 s.
    expect(lastBar(text())).toBe(
      '[##############----------]  60%  1,200/2,000 lines  1,200 accepted, 0 duplicates, 0 rejected  50 lines/s  ETA 16 s  a.ndjson',
    );
  });

  it("adds a spreadsheet's rows to the total once ingest has counted them", () => {
    const { out, text } = stream(true);
    const time = clock();
    const progress = new Progress({ out, totalLines: 100, now: time.now, language: 'en' });
    progress.startFile(counts(0));
    progress.acknowledged(100, counts(100), 'a.ndjson');
    time.advance(200);
    progress.acknowledged(300, counts(399, 0, 1), '640100-2024.xlsx', true);
    // 400 of 400 lines once the workbook's 300 rows are known, not 400 of 100.
    expect(lastBar(text())).toBe(
      '[########################] 100%  400/400 lines  399 accepted, 0 duplicates, 1 rejected  640100-2024.xlsx',
    );
  });

  it('puts a note on a line of its own and draws the bar again after it', () => {
    const { out, text } = stream(true);
    const time = clock();
    const progress = new Progress({ out, totalLines: 10, now: time.now });
    progress.startFile(counts(0));
    progress.acknowledged(5, counts(5), 'a.ndjson');
    progress.retrying('a.ndjson', 2, 'HTTP 429', 1_000);
    expect(text()).toContain('\r\x1b[Kcitycheck: a.ndjson 第 2 块：HTTP 429，1.0 秒后重试\n');
  });
});

describe('progress in a log', () => {
  it('writes one line per file and a summary, and never a line per chunk', () => {
    const { out, text } = stream(false);
    const time = clock();
    const progress = new Progress({ out, totalLines: 2_504, now: time.now });
    progress.startFile(counts(0));
    time.advance(200);
    progress.acknowledged(1, counts(1), 'a.json');
    progress.fileDone('a.json', counts(1));
    progress.startFile(counts(1));
    for (let chunk = 0; chunk < 3; chunk += 1) {
      time.advance(1_000);
      progress.acknowledged(
        chunk === 2 ? 501 : 1_000,
        counts(chunk === 2 ? 2_500 : 1 + (chunk + 1) * 1_000, 0, chunk === 2 ? 2 : 0),
        'c.ndjson',
      );
    }
    progress.fileDone('c.ndjson', counts(2_500, 0, 2));
    progress.startFile(counts(2_500, 0, 2));
    time.advance(800);
    progress.resumed(2, counts(2_501, 1, 2), 'd.ndjson');
    progress.fileDone('d.ndjson', counts(2_501, 1, 2));
    progress.finish();
    // 2,502 lines sent in 4 s: 625.5, shown as 626 lines/s (the 2 resumed lines are not in the rate).
    expect(text()).toBe(
      'a.json：1 行，已接收 1，重复 0，拒绝 0（用时 0.2 秒）\n' +
        'c.ndjson：2,501 行，已接收 2,499，重复 0，拒绝 2（用时 3.0 秒）\n' +
        'd.ndjson：2 行，已接收 1，重复 1，拒绝 0（用时 0.8 秒，其中 2 行上次已确认）\n' +
        '合计：3 个文件，2,504/2,504 行，已接收 2,501，重复 1，拒绝 2，用时 4.0 秒（626 行/秒）\n',
    );
  });

  it('speaks English with --lang en, and says so for a dry run', () => {
    const { out, text } = stream(false);
    const time = clock();
    const progress = new Progress({ out, totalLines: 3, now: time.now, language: 'en', dryRun: true });
    progress.startFile(counts(0));
    time.advance(1_500);
    progress.acknowledged(3, counts(2, 0, 1), 'x.ndjson');
    progress.fileDone('x.ndjson', counts(2, 0, 1));
    progress.finish();
    expect(text()).toBe(
      'x.ndjson: 3 lines, 2 would be accepted, 0 duplicates, 1 rejected (1.5 s)\n' +
        'total: 1 file(s), 3 of 3 lines, 2 would be accepted, 0 duplicates, 1 rejected, in 1.5 s (2 lines/s)\n',
    );
  });

  it('writes nothing when disabled', () => {
    const { out, text } = stream(false);
    const progress = new Progress({ out, totalLines: 3, enabled: false });
    progress.startFile(counts(0));
    progress.acknowledged(3, counts(3), 'x.ndjson');
    progress.fileDone('x.ndjson', counts(3));
    progress.note('resuming');
    progress.finish();
    expect(text()).toBe('');
  });
});

describe('durations', () => {
  it('are seconds, minutes and seconds, or hours and minutes', () => {
    expect(formatDuration(4_400, 'zh')).toBe('4 秒');
    expect(formatDuration(185_000, 'en')).toBe('3 min 5 s');
    expect(formatDuration(7_830_000, 'zh')).toBe('2 小时 10 分');
  });
});
