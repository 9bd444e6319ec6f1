// The current cycle's deadline and its expected cities that have not reported, as gauges on the query
// service's /metrics, read at scrape time from the last status report (computed at least once a minute), so
// Prometheus can warn when a deadline nears with cities missing (CitycheckDeadlineNearCitiesUnreported).
import { metricNames, type Registry } from '@citycheck/metrics';
import { Gauge } from 'prom-client';
import type { PipelineStatus } from './pipeline-status.js';

type Completeness = PipelineStatus['completeness'];

export const registerCycleMetrics = (
  registry: Registry,
  completeness: () => Completeness | undefined,
): void => {
  /** A gauge labelled with the current cycle, with no series while there is no cycle or no value. */
  const cycleGauge = (name: string, help: string, value: (current: Completeness) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['cycle'],
      registers: [registry],
      collect() {
        this.reset();
        const current = completeness();
        if (current?.cycle == null) return;
        const figure = value(current);
        if (figure !== null) this.set({ cycle: String(current.cycle) }, figure);
      },
    });
  cycleGauge(
    metricNames.cycleDeadline,
    "Unix time of the current cycle's reporting deadline",
    ({ deadline }) => (deadline === null ? null : Date.parse(deadline) / 1000),
  );
  cycleGauge(
    metricNames.cycleCitiesUnreported,
    'Cities the current cycle expects that have no valid submission yet',
    ({ citiesUnreported }) => citiesUnreported,
  );
};
