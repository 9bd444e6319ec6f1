// The metrics building blocks without infrastructure: names and values as Prometheus scrapes them, the
// fastify latency histogram by route template, the ops server's three endpoints, and the text parser.
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerFollowerMetrics } from './follower-metrics.js';
import { instrumentFastify } from './http-metrics.js';
import { type OpsServer, startOpsServer } from './ops-server.js';
import { createPipelineMetrics, metricNames } from './pipeline-metrics.js';
import { parsePrometheusText, sumSamples } from './prometheus-text.js';
import { createMetricsRegistry } from './registry.js';

const scrape = async (registry: ReturnType<typeof createMetricsRegistry>) =>
  parsePrometheusText(await registry.metrics());

describe('follower metrics', () => {
  it('reports lag, view age, running and restarts per follower, and no sample before a measurement', async () => {
    const registry = createMetricsRegistry({ service: 'ingest', processMetrics: false });
    const now = Date.now();
    registerFollowerMetrics(registry, {
      credentials: {
        health: () => ({
          loaded: true,
          running: false,
          lagRecords: 3,
          currentAsOf: now - 12_000,
          restarts: 2,
        }),
      },
      submissionIndex: {
        health: () => ({
          loaded: false,
          running: true,
          lagRecords: undefined,
          currentAsOf: undefined,
          restarts: 0,
        }),
      },
    });
    const samples = await scrape(registry);
    const of = (name: string) =>
      samples
        .filter((sample) => sample.name === name)
        .map((sample) => [sample.labels.follower, sample.value]);
    expect(of(metricNames.followerLag)).toEqual([['credentials', 3]]);
    const [age] = of(metricNames.followerViewAge);
    expect(age?.[0]).toBe('credentials');
    // Twelve seconds old when registered; the scrape came a moment later.
    expect(age?.[1]).toBeGreaterThanOrEqual(12);
    expect(age?.[1]).toBeLessThan(13);
    expect(of(metricNames.followerRunning)).toEqual([
      ['credentials', 0],
      ['submissionIndex', 1],
    ]);
    expect(of(metricNames.followerRestarts)).toEqual([
      ['credentials', 2],
      ['submissionIndex', 0],
    ]);
  });
});

describe('pipeline metrics', () => {
  it('exports each counter under its documented name with the service label', async () => {
    const registry = createMetricsRegistry({ service: 'validate', processMetrics: false });
    const metrics = createPipelineMetrics(registry);
    metrics.submissionsAccepted.inc({ stage: 'validate' }, 3);
    metrics.submissionsRejected.inc({ stage: 'validate', reason: 'range' });
    metrics.submissionsRejected.inc({ stage: 'validate', reason: 'range' });
    metrics.submissionsRejected.inc({ stage: 'validate', reason: 'unit_under_city' });
    metrics.observationsAccepted.inc({ stage: 'validate' }, 120);
    metrics.lakeObjectsWritten.inc({ dataset: 'observations' }, 2);
    metrics.lakeBytesWritten.inc({ dataset: 'observations' }, 4096);
    const samples = await scrape(registry);
    expect(
      sumSamples(samples, metricNames.submissionsAccepted, { stage: 'validate', service: 'validate' }),
    ).toBe(3);
    expect(sumSamples(samples, metricNames.submissionsRejected, { reason: 'range' })).toBe(2);
    expect(sumSamples(samples, metricNames.submissionsRejected)).toBe(3);
    expect(sumSamples(samples, metricNames.observationsAccepted)).toBe(120);
    expect(sumSamples(samples, metricNames.lakeObjectsWritten, { dataset: 'observations' })).toBe(2);
    expect(sumSamples(samples, metricNames.lakeBytesWritten)).toBe(4096);
  });

  it('reports time since the last commit and rollup, NaN before the first', async () => {
    const registry = createMetricsRegistry({ service: 'aggregate', processMetrics: false });
    const metrics = createPipelineMetrics(registry, { lakeWriter: true });
    const before = await scrape(registry);
    expect(before.find((sample) => sample.name === metricNames.lakeSecondsSinceLastCommit)?.value).toBeNaN();
    const committedAt = new Date(Date.now() - 90_000);
    metrics.markLakeCommit(committedAt);
    metrics.markRollup(new Date(Date.now() - 30_000));
    const after = await scrape(registry);
    const since = after.find((sample) => sample.name === metricNames.lakeSecondsSinceLastCommit)?.value ?? 0;
    expect(since).toBeGreaterThanOrEqual(90);
    expect(since).toBeLessThan(90 + 60);
    expect(after.find((sample) => sample.name === metricNames.lakeLastCommit)?.value).toBe(
      committedAt.getTime() / 1000,
    );
    expect(
      after.find((sample) => sample.name === metricNames.rollupSecondsSinceLast)?.value,
    ).toBeGreaterThanOrEqual(30);
  });

  it('exports lake and rollup gauges only from the lake writer', async () => {
    const lakeNames: string[] = [
      metricNames.lakeLastCommit,
      metricNames.lakeSecondsSinceLastCommit,
      metricNames.rollupLast,
      metricNames.rollupSecondsSinceLast,
      metricNames.endToEndFreshness,
    ];
    const ingest = createMetricsRegistry({ service: 'ingest', processMetrics: false });
    const ingestMetrics = createPipelineMetrics(ingest);
    // Calls that only the lake writer makes stay harmless elsewhere, and still export nothing.
    ingestMetrics.markLakeCommit();
    ingestMetrics.observeFreshness(new Date(), new Date());
    const text = await ingest.metrics();
    for (const name of lakeNames) expect(text).not.toContain(name);
    const aggregate = createMetricsRegistry({ service: 'aggregate', processMetrics: false });
    createPipelineMetrics(aggregate, { lakeWriter: true });
    const written = await aggregate.metrics();
    for (const name of lakeNames) expect(written).toContain(`# TYPE ${name} `);
  });

  it('observes end-to-end freshness from the receipt time', async () => {
    const registry = createMetricsRegistry({ service: 'aggregate', processMetrics: false });
    const metrics = createPipelineMetrics(registry, { lakeWriter: true });
    const visible = new Date('2024-11-20T09:00:10.000Z');
    metrics.observeFreshness('2024-11-20T09:00:07.000Z', visible); // 3 s
    metrics.observeFreshness(new Date('2024-11-20T08:59:10.000Z'), visible); // 60 s
    metrics.observeFreshness('not a date', visible);
    const samples = await scrape(registry);
    expect(sumSamples(samples, `${metricNames.endToEndFreshness}_count`)).toBe(2);
    expect(sumSamples(samples, `${metricNames.endToEndFreshness}_sum`)).toBe(63);
    expect(sumSamples(samples, `${metricNames.endToEndFreshness}_bucket`, { le: '5' })).toBe(1);
    expect(sumSamples(samples, `${metricNames.endToEndFreshness}_bucket`, { le: '60' })).toBe(2);
  });
});

describe('instrumentFastify', () => {
  it('times requests by route template and serves /metrics', async () => {
    const registry = createMetricsRegistry({ service: 'ingest', processMetrics: false });
    const app = Fastify();
    instrumentFastify(app, { registry });
    app.get('/v1/submissions/:id', async () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/v1/submissions/a' });
    await app.inject({ method: 'GET', url: '/v1/submissions/b' });
    await app.inject({ method: 'GET', url: '/nowhere' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const samples = parsePrometheusText(response.body);
    const count = `${metricNames.httpRequestDuration}_count`;
    expect(
      sumSamples(samples, count, { route: '/v1/submissions/:id', status_code: '200', method: 'GET' }),
    ).toBe(2);
    expect(sumSamples(samples, count, { status_code: '404' })).toBe(1);
    await app.close();
  });
});

describe('startOpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers /healthz, /readyz with each check, and /metrics', async () => {
    const registry = createMetricsRegistry({ service: 'validate', processMetrics: false });
    createPipelineMetrics(registry).submissionsAccepted.inc({ stage: 'validate' });
    let brokerUp = true;
    server = await startOpsServer({
      registry,
      port: 0,
      ready: async () => ({ broker: brokerUp, objectStore: true }),
    });
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { broker: true, objectStore: true } });
    brokerUp = false;
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'not_ready',
      checks: { broker: false, objectStore: true },
    });
    const metrics = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
    expect(sumSamples(metrics, metricNames.submissionsAccepted)).toBe(1);
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
  });

  it('is not ready when a check throws or hangs', async () => {
    const registry = createMetricsRegistry({ service: 'aggregate', processMetrics: false });
    server = await startOpsServer({
      registry,
      port: 0,
      checkTimeoutMs: 50,
      ready: () => new Promise<Record<string, boolean>>(() => undefined),
    });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });
});

describe('parsePrometheusText', () => {
  it('reads names, escaped labels and special values', () => {
    const samples = parsePrometheusText(
      [
        '# HELP x help',
        '# TYPE x counter',
        'x{a="1",b="quote \\" and \\\\ slash"} 2',
        'y 3.5 1700000000000',
        'z{le="+Inf"} +Inf',
        'n NaN',
        'garbage line here',
      ].join('\n'),
    );
    expect(samples.slice(0, 3)).toEqual([
      { name: 'x', labels: { a: '1', b: 'quote " and \\ slash' }, value: 2 },
      { name: 'y', labels: {}, value: 3.5 },
      { name: 'z', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY },
    ]);
    expect(samples[3]?.value).toBeNaN();
    expect(samples).toHaveLength(4);
  });
});
