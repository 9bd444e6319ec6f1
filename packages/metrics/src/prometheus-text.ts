// Reads the Prometheus text exposition format back into samples: how the status page takes figures from
// the services' /metrics without a Prometheus server in between.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const unescapeLabel = (text: string): string =>
  text.replace(/\\(["\\n])/g, (_match, char: string) => (char === 'n' ? '\n' : char));

/** Go's ParseFloat rules, as Prometheus reads them: Inf and NaN in any case (prom-client writes `Nan`). */
const parseValue = (raw: string): number => {
  const lower = raw.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  return Number(raw);
};

/** Every sample in `text`; comments (# HELP, # TYPE) and malformed lines are skipped. */
export const parsePrometheusText = (text: string): Sample[] => {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+([+-]?Inf|NaN|[-+0-9.eE]+)(\s+-?[0-9]+)?$/i.exec(
      trimmed,
    );
    if (match === null) continue;
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;
    for (let label = labelPattern.exec(body); label !== null; label = labelPattern.exec(body)) {
      labels[label[1] as string] = unescapeLabel(label[2] as string);
    }
    samples.push({ name: match[1] as string, labels, value: parseValue(match[4] as string) });
  }
  return samples;
};

/** Sum of the samples named `name` whose labels include `where`. */
export const sumSamples = (
  samples: readonly Sample[],
  name: string,
  where: Record<string, string> = {},
): number =>
  samples
    .filter(
      (sample) =>
        sample.name === name && Object.entries(where).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((total, sample) => total + (Number.isFinite(sample.value) ? sample.value : 0), 0);
