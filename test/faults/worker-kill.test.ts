// kill -9, at random moments while a small cycle flows through the pipeline, of each of the three
// processes in turn (validate, aggregate and ingest), several times, each restarted after a random pause.
// Afterwards every submission the endpoint acknowledged is in the lake exactly once, no rejected one is,
// the rollups equal the ones worked out independently, and every consumer-lag series the workers export
// reads 0. The seed of the random moments is printed and can be replayed with FAULT_SEED.
import { createRandom, createTally } from '@citycheck/generator';
import { topics } from '@citycheck/kafka';
import { type ServiceName, type ServiceProcess, sleep } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import {
  assertExactlyOnce,
  assertStoredButTheDeliberateErrors,
  exportedLag,
  pushCycle,
  usePipeline,
  waitForCompleteLake,
} from './support/pipeline.js';

const cities = ['110100', '310100', '440100', '510100'];
const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000);

describe('workers killed with SIGKILL during a cycle', () => {
  const fixture = usePipeline({
    name: 'worker-kill',
    cities,
    seed: 11,
    communitiesPerCity: 40,
    // Small lake objects, so a kill is likely to land between the writes and the commits of a batch.
    env: { AGGREGATE_FLUSH_RECORDS: '15' },
  });

  it('keeps every acknowledged submission exactly once and the rollups right', async () => {
    const { pipeline, cycle } = fixture;
    const random = createRandom(seed);
    process.stdout.write(`worker-kill: FAULT_SEED=${seed}\n`);
    const tally = createTally();
    // Slow enough that the kills land while data flows: small bulk uploads from two city clients.
    const pushing = pushCycle(fixture, {
      concurrency: 2,
      mode: 'bulk',
      linesPerRequest: 4,
      paceMs: 500,
      maxRetryDelayMs: 500,
      tally,
    });
    let pushed = false;
    void pushing.then(
      () => {
        pushed = true;
      },
      () => {
        pushed = true;
      },
    );

    const victims: ServiceName[] = ['ingest', 'validate', 'aggregate', 'ingest', 'aggregate', 'validate'];
    const kills: string[] = [];
    for (const victim of victims) {
      await sleep(random.int(300, 2_500));
      const instance = pipeline.instances.get(victim);
      if (instance === undefined) throw new Error(`no ${victim} running`);
      await instance.kill9();
      kills.push(`${victim}${pushed ? ' (after the push)' : ''}`);
      await sleep(random.int(100, 1_500));
      await pipeline.start(victim);
    }
    process.stdout.write(`worker-kill: killed ${kills.join(', ')}\n`);

    await pushing;
    assertStoredButTheDeliberateErrors(cycle, tally);
    const reading = await waitForCompleteLake(pipeline, cycle);
    assertExactlyOnce(cycle, tally, reading);
    // Idle and caught up, every lag series the workers export reads 0, on the transactional validated topic
    // too: one per partition (TOPIC_PARTITIONS is 6), none counting a marker or an aborted record.
    const zeros = (topic: string) => [0, 1, 2, 3, 4, 5].map((partition) => `${topic}/${partition} 0`);
    const lagOf = (name: string) => exportedLag(pipeline.instances.get(name) as ServiceProcess);
    expect(await lagOf('validate')).toEqual(zeros(topics.submissionsReceived));
    expect(await lagOf('aggregate')).toEqual(zeros(topics.submissionsValidated));
    // The three processes are still the ones restarted last: nothing else died on the way.
    for (const name of ['ingest', 'validate', 'aggregate'])
      expect(pipeline.instances.get(name)?.running).toBe(true);
  }, 600_000);
});
