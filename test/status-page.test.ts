// The pipeline status page in headless Chromium (Debian's, driven by playwright-core) against a running
// stack: a private Kafka and object store, the three services and the query service as real processes of
// this checkout's build. After the sample cycle is pushed through ingest, the page must show every stage
// moving (non-zero rates), the rejections by reason and reporters in the sample's provinces; a screenshot is
// kept in test-artifacts/status-page.png.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalogue } from '@citycheck/catalogue';
import type { Submission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { sampleCycle } from '@citycheck/generator';
import {
  designateCycleIfNone,
  issueAnalystToken,
  issueCityTokens,
  preparePipelineTopics,
} from '@citycheck/generator/stack';
import { createKafka, topicNames } from '@citycheck/kafka';
import type { PipelineStatus } from '@citycheck/query';
import {
  freePort,
  type PrivateInfra,
  type ServiceProcess,
  sendReceivedUnchecked,
  stackEnvironment,
  startPrivateInfra,
  startService,
  submitEach,
  waitFor,
} from '@citycheck/testkit';
import { artifacts, launchChromium, requireChromium } from '@citycheck/testkit/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('pipeline status page', () => {
  let scratch: string;
  let infra: PrivateInfra | undefined;
  let ministryToken = '';
  const services: ServiceProcess[] = [];
  let queryUrl: string;
  let sample: ReturnType<typeof sampleCycle>;
  // A submission ingest refuses (no observations: schema), sent with its city's credential.
  let refusedAtIngest: { submissionId: string; cityCode: string };

  beforeAll(async () => {
    requireChromium('status page');
    scratch = await mkdtemp(join(tmpdir(), 'citycheck-status-page-'));
    infra = await startPrivateInfra({ directory: join(scratch, 'stack'), kafkaHeap: '-Xms128m -Xmx512m' });
    await preparePipelineTopics(infra.kafkaBrokers, { partitions: 3 });
    // The page shows the cycle the operators designate as current: the sample's.
    await designateCycleIfNone(infra.kafkaBrokers, loadCatalogue('2024.1').cycle);
    const ingestPort = await freePort();
    const env = await stackEnvironment({ infra, ingestPort, extra: { ROLLUP_DEBOUNCE_MS: '200' } });
    const logDirectory = join(scratch, 'logs');
    for (const service of ['ingest', 'validate', 'aggregate'] as const) {
      services.push(await startService({ service, env, logDirectory }));
    }

    const queryPort = await freePort();
    queryUrl = `http://127.0.0.1:${queryPort}`;
    const query = await startService({
      service: 'query',
      logDirectory,
      env: {
        ...env,
        QUERY_PORT: String(queryPort),
        QUERY_PG_PORT: '0',
        QUERY_EXPORT_DIRECTORY: join(scratch, 'exports'),
        QUERY_LAKE_REFRESH_MS: '500',
        STATUS_WINDOW_MS: '600000',
        STATUS_METRICS_TARGETS: [
          `ingest=http://127.0.0.1:${ingestPort}/metrics`,
          `validate=http://127.0.0.1:${env.VALIDATE_OPS_PORT}/metrics`,
          `aggregate=http://127.0.0.1:${env.AGGREGATE_OPS_PORT}/metrics`,
        ].join(','),
      },
    });
    services.push(query);
    await waitFor(
      async () => {
        if (!query.running) throw new Error(`the query service exited; see ${logDirectory}/query.log`);
        return (await fetch(`${queryUrl}/readyz`)).ok ? true : undefined;
      },
      { timeoutMs: 120_000, what: 'the query service to be ready' },
    );

    // The sample cycle through the ingest endpoint, each city with its own credential.
    sample = sampleCycle({ catalogue: loadCatalogue('2024.1'), divisions: loadDivisionRegistry() });
    const all: Submission[] = [...sample.valid, ...sample.invalid.map((item) => item.submission)];
    const tokens = await issueCityTokens(infra.kafkaBrokers, [...new Set(all.map((item) => item.cityCode))]);
    // The whole status is an operator's to read (see the query README's scope policy).
    ministryToken = await issueAnalystToken(infra.kafkaBrokers, 'operator');
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${ingestPort}/readyz`)).ok ? true : undefined),
      { timeoutMs: 60_000, what: 'ingest to be ready' },
    );
    // Ingest refuses the invalid ones at its door; validate, the authority downstream, rejects them when they
    // reach it unchecked, so both stages have rejections to show.
    await submitEach(`http://127.0.0.1:${ingestPort}`, sample.valid, tokens);
    await sendReceivedUnchecked(
      createKafka({ brokers: infra.kafkaBrokers.split(','), clientId: 'status-page-test' }),
      topicNames(env.TOPIC_NAMESPACE ?? '').submissionsReceived,
      sample.invalid.map((item) => item.submission),
      'status-page-test',
    );
    const first = sample.valid[0] as Submission;
    refusedAtIngest = { submissionId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', cityCode: first.cityCode };
    const { observations: _, ...withoutObservations } = {
      ...first,
      submissionId: refusedAtIngest.submissionId,
    };
    const refused = await fetch(`http://127.0.0.1:${ingestPort}/v1/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(first.cityCode)}` },
      body: JSON.stringify(withoutObservations),
    });
    expect(refused.status).toBe(400);
  }, 600_000);

  afterAll(async () => {
    for (const service of services) await service.stop().catch(() => undefined);
    await infra?.destroy();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }, 120_000);

  it('refuses the status without a credential, and shows an analyst no rejections', async () => {
    expect((await fetch(`${queryUrl}/v1/status`)).status).toBe(401);
    expect((await fetch(`${queryUrl}/healthz`)).status).toBe(200);
    const analyst = await issueAnalystToken(infra?.kafkaBrokers ?? '', 'analyst:ministry');
    const answer = await waitFor(
      async () => {
        const response = await fetch(`${queryUrl}/v1/status`, {
          headers: { authorization: `Bearer ${analyst}` },
        });
        return response.ok ? ((await response.json()) as PipelineStatus) : undefined;
      },
      { timeoutMs: 60_000, what: 'the analyst credential to be known' },
    );
    expect(answer.rejections.byCity).toEqual([]);
    expect(answer.stages).toEqual([]);
  }, 120_000);

  it('shows every stage moving, the rejections and the reporting provinces', async () => {
    const provincesSent = new Set(sample.valid.map((submission) => submission.cityCode.slice(0, 2)));
    // Wait for the pipeline, through the page's own data source, before looking at the page.
    const status = await waitFor(
      async () => {
        const response = await fetch(`${queryUrl}/v1/status`, {
          headers: { authorization: `Bearer ${ministryToken}` },
        });
        // 401 until the query service has read the credential from credentials.v1.
        if (!response.ok) return undefined;
        const current = (await response.json()) as PipelineStatus;
        const moving = current.stages.every((stage) => stage.perMinute > 0);
        const reported = [...provincesSent].every(
          (code) =>
            (current.completeness.provinces.find((province) => province.code === code)?.unitsReporting ?? 0) >
            0,
        );
        // Reporters counted from the derived completeness, not from the fallback over current observations:
        // a derivation that started before the last commits can replace the fallback with fewer reporters,
        // while derived completeness only ever grows.
        const derived = current.completeness.source === 'completeness';
        const cities = current.rejections.byCity;
        const ingestRefusal = cities.some((city) =>
          city.examples.some((example) => example.submissionId === refusedAtIngest.submissionId),
        );
        const validateRejections = sample.invalid.every((item) =>
          cities.some((city) =>
            city.examples.some((example) => example.submissionId === item.submission.submissionId),
          ),
        );
        return derived && moving && reported && ingestRefusal && validateRejections ? current : undefined;
      },
      {
        timeoutMs: 180_000,
        what: 'every stage to show a rate, a rejection and every province sent to report in the completeness',
      },
    );

    const browser = await launchChromium('status page');
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      await page.goto(`${queryUrl}/status#token=${ministryToken}`);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
      for (const stage of ['ingest', 'validate', 'aggregate']) {
        const rate = await page.textContent(`[data-stage="${stage}"] [data-field="perMinute"]`);
        expect(Number(rate?.replaceAll(',', '')), `${stage} rate on the page`).toBeGreaterThan(0);
      }
      const reasons = await page.$$eval('#rejections tr[data-reason]', (rows) =>
        rows.map((row) => row.getAttribute('data-reason')),
      );
      expect(reasons).toEqual(status.rejections.byReason.map((item) => item.reason));
      expect(reasons.length).toBeGreaterThan(0);
      for (const province of provincesSent) {
        const tile = await page.textContent(`[data-province="${province}"] [data-field="units"]`);
        expect(tile, `tile of province ${province}`).toMatch(/^[1-9]/);
      }
      expect(await page.$$('[data-province]')).toHaveLength(31);
      // Ingest's refusal under its city, with its id, beside validate's rejections under theirs.
      const ingestRow = `#rejections-by-city tr[data-city="${refusedAtIngest.cityCode}"]`;
      expect(
        await page.getAttribute(
          `${ingestRow} [data-submission="${refusedAtIngest.submissionId}"]`,
          'data-stage',
        ),
      ).toBe('ingest');
      expect(Number(await page.textContent(`${ingestRow} [data-field="ingest"]`))).toBeGreaterThanOrEqual(1);
      for (const item of sample.invalid) {
        const row = `#rejections-by-city tr[data-city="${item.submission.cityCode}"]`;
        expect(
          await page.getAttribute(`${row} [data-submission="${item.submission.submissionId}"]`, 'data-stage'),
        ).toBe('validate');
      }
      expect(await page.$$eval('#rejections tr[data-stage="ingest"]', (rows) => rows.length)).toBeGreaterThan(
        0,
      );
      expect(
        await page.$$eval('#rejections tr[data-stage="validate"]', (rows) => rows.length),
      ).toBeGreaterThan(0);
      // Every stage coloured, the hour charted, and the time in Beijing, 24-hour: generatedAt + 8 h.
      for (const stage of ['ingest', 'validate', 'aggregate'])
        expect(await page.getAttribute(`[data-stage="${stage}"]`, 'data-health')).toMatch(
          /^(green|amber|red)$/,
        );
      expect(await page.$$('#history svg polyline')).toHaveLength(6);
      const generatedAt = await page.getAttribute('#meta', 'data-generated-at');
      const beijing = new Date(Date.parse(generatedAt ?? '') + 8 * 3_600_000).toISOString();
      expect(await page.textContent('#meta')).toContain(
        `${beijing.slice(0, 10)} ${beijing.slice(11, 19)} 北京时间`,
      );
      expect(await page.$$('[data-service="query"]')).toHaveLength(1);
      await page.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 300_000);
});
