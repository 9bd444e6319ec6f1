// The cycle gauges as Prometheus scrapes them: the deadline in Unix seconds and the unreported cities,
// labelled with the cycle, and no series while the cycle or the figure is unknown.
import { createMetricsRegistry, metricNames, parsePrometheusText } from '@citycheck/metrics';
import { describe, expect, it } from 'vitest';
import type { PipelineStatus } from './pipeline-status.js';
import { registerCycleMetrics } from './status-metrics.js';

type Completeness = PipelineStatus['completeness'];

const scrape = async (completeness: Completeness | undefined) => {
  const registry = createMetricsRegistry({ service: 'query-test', processMetrics: false });
  registerCycleMetrics(registry, () => completeness);
  return parsePrometheusText(await registry.metrics()).map(({ name, labels, value }) => ({
    name,
    cycle: labels.cycle,
    value,
  }));
};

const completeness = (
  figures: Pick<Completeness, 'cycle' | 'deadline' | 'citiesUnreported'>,
): Completeness => ({
  source: 'completeness',
  provinces: [],
  ...figures,
});

describe('cycle gauges', () => {
  it('report the deadline in Unix seconds and the unreported cities, labelled with the cycle', async () => {
    // 2025-01-01T00:00Z is 1735689600; eight hours earlier is midnight in Beijing.
    const samples = await scrape(
      completeness({ cycle: 2024, deadline: '2024-12-31T16:00:00.000Z', citiesUnreported: 3 }),
    );
    expect(samples).toEqual([
      { name: metricNames.cycleDeadline, cycle: '2024', value: 1_735_660_800 },
      { name: metricNames.cycleCitiesUnreported, cycle: '2024', value: 3 },
    ]);
  });

  it('leave out a figure that is not known', async () => {
    expect(await scrape(completeness({ cycle: 2024, deadline: null, citiesUnreported: 0 }))).toEqual([
      { name: metricNames.cycleCitiesUnreported, cycle: '2024', value: 0 },
    ]);
  });

  it('have no series without a current cycle or before the first report', async () => {
    expect(
      await scrape(completeness({ cycle: null, deadline: '2024-12-31T16:00:00.000Z', citiesUnreported: 3 })),
    ).toEqual([]);
    expect(await scrape(undefined)).toEqual([]);
  });
});
