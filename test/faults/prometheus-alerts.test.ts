// The shipped alert rules (infra/prometheus/citycheck.rules.yml) in a real Prometheus (Debian's) scraping a
// running stack: a private Kafka and object store and the three services as processes of this build. Idle
// after the sample cycle, every lag series reads 0 and no alert is pending or firing; validate killed while
// ingest keeps accepting, the down and stall alerts fire within their `for` windows; validate started again,
// both clear and the waiting records drain.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalogue } from '@citycheck/catalogue';
import type { Submission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { sampleCycle } from '@citycheck/generator';
import { freePort, repositoryRoot, submitEach, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pipeline, startPipeline } from './support/pipeline.js';

const prometheusBinary = process.env.CITYCHECK_PROMETHEUS ?? '/usr/bin/prometheus';
const rulesFile = join(repositoryRoot, 'infra', 'prometheus', 'citycheck.rules.yml');

interface PromAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing';
}
interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe('alert rules in a real Prometheus against a running stack', () => {
  let scratch: string;
  let pipeline: Pipeline | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let sample: ReturnType<typeof sampleCycle>;

  const alerts = async (): Promise<PromAlert[]> => {
    const body = (await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as {
      data: { alerts: PromAlert[] };
    };
    return body.data.alerts;
  };
  const instant = async (expr: string): Promise<PromSample[]> => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { data: { result: PromSample[] } };
    return body.data.result;
  };
  const firing = async (name: string): Promise<boolean> =>
    (await alerts()).some((alert) => alert.labels.alertname === name && alert.state === 'firing');
  const push = (submissions: readonly Submission[]): Promise<number> =>
    submitEach(started().ingestUrl, submissions, started().tokens);
  const started = (): Pipeline => {
    if (pipeline === undefined) throw new Error('the stack is started before the test');
    return pipeline;
  };

  beforeAll(async () => {
    if (!existsSync(prometheusBinary)) {
      throw new Error(`this test needs Prometheus at ${prometheusBinary}: run bash infra/prometheus.sh`);
    }
    scratch = await mkdtemp(join(tmpdir(), 'citycheck-prometheus-'));
    sample = sampleCycle({ catalogue: loadCatalogue('2024.1'), divisions: loadDivisionRegistry() });
    const validatePort = await freePort();
    const aggregatePort = await freePort();
    pipeline = await startPipeline({
      name: 'prometheus-alerts',
      cities: [...new Set(sample.valid.map((item) => item.cityCode))],
      kafkaHeap: '-Xms128m -Xmx512m',
      env: {
        ROLLUP_DEBOUNCE_MS: '200',
        VALIDATE_OPS_PORT: String(validatePort),
        AGGREGATE_OPS_PORT: String(aggregatePort),
      },
    });
    const { ingestUrl, logDirectory } = pipeline;

    // The shipped rules, evaluated every 2 s over targets scraped every 2 s (the shipped configuration
    // scrapes every 15 s; the rules' `for` windows are the shipped ones).
    const prometheusPort = await freePort();
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    const target = (job: string, port: number): string =>
      `  - job_name: citycheck-${job}\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`;
    const config = join(scratch, 'prometheus.yml');
    await writeFile(
      config,
      'global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n' +
        `rule_files:\n  - ${JSON.stringify(rulesFile)}\nscrape_configs:\n` +
        target('ingest', Number(new URL(ingestUrl).port)) +
        target('validate', validatePort) +
        target('aggregate', aggregatePort),
    );
    const log = createWriteStream(join(logDirectory, 'prometheus.log'));
    prometheus = spawn(
      prometheusBinary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(scratch, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.pipe(log);
    prometheus.stderr?.pipe(log);
    await waitFor(async () => ((await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined), {
      timeoutMs: 60_000,
      what: 'Prometheus to be ready',
    });

    await waitFor(async () => ((await fetch(`${ingestUrl}/readyz`)).ok ? true : undefined), {
      timeoutMs: 60_000,
      what: 'ingest to be ready',
    });
  }, 600_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await pipeline?.destroy();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }, 120_000);

  it('stay quiet on an idle stack, fire when a worker stops with records waiting, and clear when it is back', async () => {
    // Half the sample now; the other half while validate is down.
    const half = Math.floor(sample.valid.length / 2);
    expect(await push(sample.valid.slice(0, half))).toBe(half);

    // Idle: every target up, each group's lag scraped and 0 on every partition, nothing pending or firing.
    let lastSeen = '';
    const idle = await waitFor(
      async () => {
        const up = await instant('up');
        const lag = await instant('citycheck_consumer_lag_records');
        lastSeen = JSON.stringify({
          up: up.map((sample) => [sample.metric.job, sample.value[1]]),
          lag: lag.map((sample) => [sample.metric.group, sample.metric.partition, sample.value[1]]),
        });
        const everyoneUp = up.length === 3 && up.every((sample) => sample.value[1] === '1');
        const groups = new Set(lag.map((sample) => sample.metric.group));
        const drained = groups.size === 2 && lag.every((sample) => sample.value[1] === '0');
        return everyoneUp && drained ? lag : undefined;
      },
      {
        timeoutMs: 180_000,
        intervalMs: 1_000,
        what: 'every target up and every lag series at 0',
      },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; last seen ${lastSeen}`);
    });
    expect(idle.length).toBeGreaterThan(0);
    expect((await alerts()).map((alert) => `${alert.labels.alertname} ${alert.state}`)).toEqual([]);

    // Validate gone while ingest keeps accepting: records wait on submissions.received.v1.
    await started().instances.get('validate')?.kill9();
    const stoppedAt = Date.now();
    const rest = sample.valid.slice(half);
    expect(await push(rest)).toBe(rest.length);
    // ServiceDown has `for: 1m`, the stage-down alert `for: 2m`; allow two scrape and evaluation rounds and
    // the time the alert needs to be seen at all.
    await waitFor(async () => ((await firing('CitycheckServiceDown')) ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 2_000,
      what: 'CitycheckServiceDown to fire',
    });
    await waitFor(async () => ((await firing('CitycheckStageDownWithRecordsWaiting')) ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 2_000,
      what: 'CitycheckStageDownWithRecordsWaiting to fire',
    });
    const firedAfterMs = Date.now() - stoppedAt;
    // Not before its `for` window: the condition holds from the first failed scrape, 2 s after the kill.
    expect(firedAfterMs).toBeGreaterThanOrEqual(118_000);
    const down = (await alerts()).find((alert) => alert.labels.alertname === 'CitycheckServiceDown');
    expect(down?.labels.job).toBe('citycheck-validate');

    // Validate back: both alerts clear, and the records that waited drain.
    await started().start('validate');
    await waitFor(
      async () => {
        const active = await alerts();
        const lag = await instant('sum(citycheck_consumer_lag_records)');
        return active.length === 0 && lag[0]?.value[1] === '0' ? true : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2_000, what: 'the alerts to clear and the lag to drain' },
    );
  }, 900_000);
});
