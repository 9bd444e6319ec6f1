// The alert rules shipped in infra/prometheus/, checked by Prometheus' own promtool (Debian's package,
// provisioned by infra/prometheus.sh): the rule file and the scrape configuration parse, the rules' unit
// tests (citycheck.rules.test.yml: series worked out by hand, the alerts that must and must not fire) pass,
// and every citycheck metric a rule or the Grafana dashboard reads is one the services export, so a
// renamed metric cannot leave a rule silently dead.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { metricNames } from '@citycheck/metrics';
import { repositoryRoot } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const promtool = process.env.CITYCHECK_PROMTOOL ?? '/usr/bin/promtool';
const directory = join(repositoryRoot, 'infra', 'prometheus');

const promtoolRun = async (...args: string[]): Promise<string> => {
  if (!existsSync(promtool)) {
    throw new Error(`the alert rule tests need promtool at ${promtool}: run bash infra/prometheus.sh`);
  }
  const { stdout, stderr } = await run(promtool, args, { cwd: directory });
  return `${stdout}${stderr}`;
};

describe('alert rules', () => {
  it('parse, and the scrape configuration loads them', async () => {
    expect(await promtoolRun('check', 'rules', 'citycheck.rules.yml')).toContain('SUCCESS: 10 rules found');
    expect(await promtoolRun('check', 'config', 'prometheus.yml')).toContain('SUCCESS: 1 rule files found');
  });

  it('fire and stay quiet exactly as their unit tests say', async () => {
    // promtool exits non-zero (and execFile rejects) when any case fails; the output names the case.
    expect(await promtoolRun('test', 'rules', 'citycheck.rules.test.yml')).toContain('SUCCESS');
  });

  const metricsRead = (file: string): Set<string> =>
    new Set(
      [...readFileSync(join(directory, file), 'utf8').matchAll(/\bcitycheck_[a-z_]+/g)]
        .map(([name]) => name.replace(/_(bucket|count|sum)$/, ''))
        .filter((name) => !name.endsWith('_')),
    );
  const exported = new Set<string>(Object.values(metricNames));

  it('and the dashboard read only metrics the services export', () => {
    const read = metricsRead('citycheck.rules.yml');
    expect([...read].filter((name) => !exported.has(name))).toEqual([]);
    const charted = metricsRead('grafana-dashboard.json');
    expect([...charted].filter((name) => !exported.has(name))).toEqual([]);
    expect(charted.size).toBeGreaterThanOrEqual(10);
    // The rules read these at least: a rule file that lost them would no longer watch the flow.
    for (const name of [metricNames.consumerLag, metricNames.lakeLastCommit, metricNames.rollupLast]) {
      expect(read).toContain(name);
    }
  });
});
