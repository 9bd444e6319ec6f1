// Source of the status page's services: each service's own /metrics (STATUS_METRICS_TARGETS, `name=url`),
// and the query service's own registry, read in process, so every service is listed.
import { metricNames, parsePrometheusText, type Sample, sumSamples } from '@citycheck/metrics';

export interface ServiceMetrics {
  readonly name: string;
  readonly url: string;
  readonly up: boolean;
  readonly figures: Readonly<Record<string, number>>;
}

const figuresOf = (samples: readonly Sample[]): Record<string, number> => {
  const figures: Record<string, number> = {
    submissionsAccepted: sumSamples(samples, metricNames.submissionsAccepted),
    submissionsRejected: sumSamples(samples, metricNames.submissionsRejected),
    observationsAccepted: sumSamples(samples, metricNames.observationsAccepted),
    lakeObjectsWritten: sumSamples(samples, metricNames.lakeObjectsWritten),
    lakeBytesWritten: sumSamples(samples, metricNames.lakeBytesWritten),
    consumerLag: sumSamples(samples, metricNames.consumerLag),
    queries: sumSamples(samples, metricNames.queries),
  };
  const since = samples.find((sample) => sample.name === metricNames.lakeSecondsSinceLastCommit);
  if (since !== undefined && Number.isFinite(since.value)) figures.secondsSinceLastCommit = since.value;
  const rollup = samples.find((sample) => sample.name === metricNames.rollupSecondsSinceLast);
  if (rollup !== undefined && Number.isFinite(rollup.value)) figures.secondsSinceLastRollup = rollup.value;
  const freshnessCount = sumSamples(samples, `${metricNames.endToEndFreshness}_count`);
  if (freshnessCount > 0) {
    figures.meanFreshnessSeconds =
      sumSamples(samples, `${metricNames.endToEndFreshness}_sum`) / freshnessCount;
  }
  const memory = samples.find((sample) => sample.name === 'process_resident_memory_bytes');
  if (memory !== undefined && Number.isFinite(memory.value)) figures.residentMemoryBytes = memory.value;
  return figures;
};

export const scrapeService = async (target: string): Promise<ServiceMetrics> => {
  const at = target.indexOf('=');
  const name = at > 0 ? target.slice(0, at) : target;
  const url = at > 0 ? target.slice(at + 1) : target;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    if (!response.ok) return { name, url, up: false, figures: {} };
    return { name, url, up: true, figures: figuresOf(parsePrometheusText(await response.text())) };
  } catch {
    return { name, url, up: false, figures: {} };
  }
};

/** The service answering the status itself: up by definition, its figures from its own registry. */
export const ownService = async (
  name: string,
  metricsText: () => Promise<string>,
): Promise<ServiceMetrics> => ({
  name,
  url: 'this process',
  up: true,
  figures: figuresOf(parsePrometheusText(await metricsText())),
});
