import type { FollowedMessage } from '@citycheck/kafka';
import { describe, expect, it } from 'vitest';
import { applyToIndex, defaultIndexTopics } from './index-follower.js';
import { SubmissionIndex } from './submission-index.js';

const id = '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01';
const hash = 'a'.repeat(64);
const receivedAt = '2024-11-20T02:15:03.512Z';

const received = (headers: Record<string, string>, value: unknown): FollowedMessage =>
  ({
    topic: defaultIndexTopics.received,
    partition: 0,
    message: {
      key: Buffer.from('640100'),
      value: value === null ? null : Buffer.from(JSON.stringify(value)),
      offset: '7',
      timestamp: '0',
      attributes: 0,
      size: 0,
      headers: Object.fromEntries(Object.entries(headers).map(([name, text]) => [name, Buffer.from(text)])),
    },
  }) as FollowedMessage;

/** The index entry of `id` after a fresh index applied one received record. */
const indexedFrom = (headers: Record<string, string>, value: unknown) => {
  const index = new SubmissionIndex();
  applyToIndex(index, defaultIndexTopics, received(headers, value));
  return index.get(id);
};

describe('the received record in the submission index', () => {
  it('takes cycle and unit from the headers ingest writes, without reading the value', () => {
    const entry = indexedFrom(
      {
        'submission-id': id,
        'content-hash': hash,
        'received-at': receivedAt,
        cycle: '2024',
        'unit-level': 'community',
        'unit-code': '640104001001',
      },
      null,
    );
    expect(entry).toMatchObject({ cycle: 2024, unit: { level: 'community', code: '640104001001' } });
  });

  it('reads them from the submission in a record written before ingest put them on the headers', () => {
    const entry = indexedFrom(
      { 'submission-id': id, 'content-hash': hash, 'received-at': receivedAt },
      {
        submission: { submissionId: id, cycle: 2025, unit: { level: 'district', code: '640104' } },
        contentHash: hash,
        receivedAt,
      },
    );
    expect(entry).toMatchObject({
      submissionId: id,
      contentHash: hash,
      cycle: 2025,
      unit: { level: 'district', code: '640104' },
      receipt: { receivedAt, offset: '7' },
    });
  });
});
