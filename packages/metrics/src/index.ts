// Prometheus metrics for every citycheck process: a registry per process, the pipeline's metrics by name,
// consumer lag from the broker, fastify latency and /metrics, and the ops server of workers without HTTP.
export { type ConsumerLagOptions, registerConsumerLag } from './consumer-lag.js';
export { type FollowerHealthSource, registerFollowerMetrics } from './follower-metrics.js';
export { httpLatencyBuckets, type InstrumentFastifyOptions, instrumentFastify } from './http-metrics.js';
export { type OpsServer, type OpsServerOptions, type ReadinessChecks, startOpsServer } from './ops-server.js';
export {
  createPipelineMetrics,
  freshnessBuckets,
  metricNames,
  type PipelineMetrics,
  rejectionCity,
  type Stage,
} from './pipeline-metrics.js';
export { parsePrometheusText, type Sample, sumSamples } from './prometheus-text.js';
export { createMetricsRegistry, type MetricsRegistryOptions, Registry } from './registry.js';
