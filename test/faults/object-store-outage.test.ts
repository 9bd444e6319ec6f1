// The object store stopped for 30 seconds while the aggregate worker has data to write. Ingest and
// validation carry on; the lake writer backs off (it neither drops the batch nor commits its offsets) and
// catches up once the store is back: every acknowledged submission is in the lake exactly once, no
// rejected one is, and the rollups equal the ones worked out independently.
import { createTally } from '@citycheck/generator';
import { createCommitLog, datasets } from '@citycheck/lake';
import { sleep, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import {
  assertExactlyOnce,
  assertStoredButTheDeliberateErrors,
  pushCycle,
  usePipeline,
  waitForCompleteLake,
} from './support/pipeline.js';

const cities = ['110100', '310100', '440100', '510100'];
const outageMs = 30_000;

describe('the object store stopped while the lake is being written', () => {
  const fixture = usePipeline({
    name: 'object-store-outage',
    cities,
    seed: 13,
    communitiesPerCity: 30,
    env: { AGGREGATE_FLUSH_RECORDS: '20' },
  });

  it('backs off and catches up, with nothing lost or doubled', async () => {
    const { pipeline, cycle } = fixture;
    const tally = createTally();
    const push = (cityCodes: readonly string[]) =>
      pushCycle(fixture, {
        cities: cityCodes,
        concurrency: 2,
        mode: 'bulk',
        linesPerRequest: 10,
        tally,
      });

    await push(cities.slice(0, 2));
    const store = pipeline.store();
    const commitLog = createCommitLog(store, datasets.observations);
    const before = await waitFor(
      async () => {
        const entries = await commitLog.committed();
        return entries.length > 0 ? entries.length : undefined;
      },
      { timeoutMs: 60_000, what: 'the first batches in the lake' },
    );

    await pipeline.infra.down('s3');
    const downAt = Date.now();
    // Ingest and validation do not need the store: the rest of the cycle is accepted during the outage.
    await push(cities.slice(2));
    assertStoredButTheDeliberateErrors(cycle, tally);
    await sleep(Math.max(0, outageMs - (Date.now() - downAt)));
    const aggregate = pipeline.instances.get('aggregate');
    expect(aggregate?.running).toBe(true);
    await pipeline.infra.up('s3');

    const reading = await waitForCompleteLake(pipeline, cycle);
    assertExactlyOnce(cycle, tally, reading);
    const after = await commitLog.committed();
    expect(after.length).toBeGreaterThan(before);
    // The same process wrote the rest: it waited for the store instead of crashing.
    expect(pipeline.instances.get('aggregate')).toBe(aggregate);
    expect(aggregate?.running).toBe(true);
    store.close();
  }, 600_000);
});
