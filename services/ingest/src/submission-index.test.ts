// Unit tests of the submission index: statuses from records read in any order, receipts kept exactly, and
// the earliest record winning when two instances raced on one id.
import { describe, expect, it } from 'vitest';
import { SubmissionIndex } from './submission-index.js';

const id = '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01';
const hashA = 'a'.repeat(64);
const hashB = 'b'.repeat(64);
const accepted = (overrides: Partial<Parameters<SubmissionIndex['recordAccepted']>[0]> = {}) => ({
  submissionId: id,
  cityCode: '110100',
  contentHash: hashA,
  receivedAt: '2024-11-20T02:15:03.512Z',
  partition: 3,
  offset: '18231',
  ...overrides,
});

describe('SubmissionIndex', () => {
  it('keeps the receipt exactly and moves accepted -> valid -> stored', () => {
    const index = new SubmissionIndex();
    index.recordAccepted(accepted());
    expect(index.get(id)).toEqual({
      submissionId: id,
      cityCode: '110100',
      status: 'accepted',
      contentHash: hashA,
      receipt: {
        submissionId: id,
        status: 'accepted',
        contentHash: hashA,
        receivedAt: '2024-11-20T02:15:03.512Z',
        partition: 3,
        offset: '18231',
      },
    });
    index.recordValid(id, '110100', hashA);
    expect(index.get(id)?.status).toBe('valid');
    index.recordStored(id);
    expect(index.get(id)?.status).toBe('stored');
    // A late "valid" (read after "stored" from another topic) does not move it back.
    index.recordValid(id, '110100', hashA);
    expect(index.get(id)?.status).toBe('stored');
  });

  it('ends in the same state whatever order the topics are read in', () => {
    const problems = [
      { pointer: '/observations/0/value', rule: 'range', message: 'too big', indicator: 'C01', value: 900 },
    ];
    const forward = new SubmissionIndex();
    forward.recordAccepted(accepted());
    forward.recordRejected(id, '110100', hashA, problems);
    const backward = new SubmissionIndex();
    backward.recordRejected(id, '110100', hashA, problems);
    expect(backward.get(id)).toMatchObject({ status: 'rejected', cityCode: '110100' });
    expect(backward.get(id)?.receipt).toBeUndefined();
    backward.recordAccepted(accepted());
    expect(backward.get(id)).toEqual(forward.get(id));
    expect(forward.get(id)?.problems).toEqual(problems);
  });

  it('lets the record earlier in the topic win when two contents raced on one id, and ignores outcomes of the loser', () => {
    const index = new SubmissionIndex();
    index.recordAccepted(accepted({ contentHash: hashB, offset: '20' }));
    index.recordAccepted(
      accepted({ contentHash: hashA, offset: '10', receivedAt: '2024-11-20T02:15:00.000Z' }),
    );
    expect(index.get(id)?.contentHash).toBe(hashA);
    expect(index.get(id)?.receipt?.offset).toBe('10');
    index.recordAccepted(accepted({ contentHash: hashB, offset: '20' }));
    expect(index.get(id)?.contentHash).toBe(hashA);
    index.recordRejected(id, '110100', hashB, []);
    expect(index.get(id)?.status).toBe('accepted');
  });

  it('learns the offset of a receipt sent without one', () => {
    const index = new SubmissionIndex();
    index.recordAccepted(accepted({ partition: -1, offset: '-1' }));
    expect(index.get(id)?.receipt?.offset).toBe('-1');
    index.recordAccepted(accepted());
    expect(index.get(id)?.receipt).toMatchObject({ partition: 3, offset: '18231' });
  });

  it('reads counted, with the first derivation that counted its lake batch, whichever topic is read first', () => {
    const index = new SubmissionIndex();
    index.recordAccepted(accepted({ late: true }));
    // The derivation record is read before the batch's: it waits for the submission's batch to be known.
    index.recordCounted('1/40', '2024-11-20T02:16:10.000Z');
    expect(index.get(id)?.status).toBe('accepted');
    index.recordStored(id, '1/40');
    index.recordCounted('1/40', '2024-11-20T02:17:00.000Z');
    expect(index.get(id)).toMatchObject({
      status: 'counted',
      countedAt: '2024-11-20T02:16:10.000Z',
      late: true,
      receipt: { late: true },
    });
    // Another batch counted says nothing of this one.
    const other = new SubmissionIndex();
    other.recordAccepted(accepted());
    other.recordStored(id, '1/40');
    other.recordCounted('1/41', '2024-11-20T02:16:10.000Z');
    expect(other.get(id)?.status).toBe('stored');
    expect(other.get(id)?.countedAt).toBeUndefined();
    expect(other.get(id)?.receipt?.late).toBeUndefined();
  });
});
