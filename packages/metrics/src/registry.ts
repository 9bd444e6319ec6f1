// One Prometheus registry per process, labelled with the service name, with Node's process metrics
// (CPU, memory, event-loop lag) collected alongside citycheck's own.
import { collectDefaultMetrics, Registry } from 'prom-client';

export { Registry } from 'prom-client';

export interface MetricsRegistryOptions {
  /** `ingest`, `validate`, `aggregate`, `query`: added as the `service` label of every sample. */
  readonly service: string;
  /** Node process metrics (process_*, nodejs_*); tests usually turn them off. */
  readonly processMetrics?: boolean;
}

export const createMetricsRegistry = ({
  service,
  processMetrics = true,
}: MetricsRegistryOptions): Registry => {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
};
