// The current cycle's deadline and its expected cities that have not reported, as gauges on the query
// service's /metrics, read at scrape time from the last status report (computed at least once a minute), so
// Prometheus can warn when a deadline nears with cities missing (CitycheckDeadlineNearCitiesUnreported).
import { metricNames, type Registry } from '@citycheck/metrics';
import { Gauge } from 'prom-client';
import type { PipelineStatus } from './pipeline-status.js';

export const registerCycleMetrics = (
  registry: Registry,
  completeness: () => PipelineStatus['completeness'] | undefined,
): void => {
  new Gauge({
    name: metricNames.cycleDeadline,
    help: "Unix time of the current cycle's reporting deadline",
    labelNames: ['cycle'],
    registers: [registry],
    collect() {
      this.reset();
      const current = completeness();
      if (current?.cycle == null || current.deadline === null) return;
      this.set({ cycle: String(current.cycle) }, Date.parse(current.deadline) / 1000);
    },
  });
  new Gauge({
    name: metricNames.cycleCitiesUnreported,
    help: 'Cities the current cycle expects that have no valid submission yet',
    labelNames: ['cycle'],
    registers: [registry],
    collect() {
      this.reset();
      const current = completeness();
      if (current?.cycle == null || current.citiesUnreported === null) return;
      this.set({ cycle: String(current.cycle) }, current.citiesUnreported);
    },
  });
};
