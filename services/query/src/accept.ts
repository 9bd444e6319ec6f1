// Content negotiation for query results: the Accept header picks JSON (the default), CSV, an Arrow IPC
// stream or Parquet, honouring q-values; anything else is a 406 that lists what is on offer.
import { CitycheckError } from '@citycheck/errors';

export const resultFormats = {
  json: 'application/json',
  csv: 'text/csv',
  arrow: 'application/vnd.apache.arrow.stream',
  parquet: 'application/vnd.apache.parquet',
} as const;

export type ResultFormat = keyof typeof resultFormats;

const byMediaType = new Map<string, ResultFormat>(
  Object.entries(resultFormats).map(([format, type]) => [type, format as ResultFormat]),
);

/** The format to answer in; throws not_acceptable when the header accepts none of them. */
export const negotiateFormat = (accept: string | undefined): ResultFormat => {
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = accept
    .split(',')
    .map((part, order) => {
      const [range = '', ...params] = part.split(';').map((item) => item.trim().toLowerCase());
      const q = params.find((param) => param.startsWith('q='));
      return { range, q: q === undefined ? 1 : Number(q.slice(2)), order };
    })
    .filter((item) => item.range !== '' && Number.isFinite(item.q) && item.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { range } of ranges) {
    const exact = byMediaType.get(range);
    if (exact !== undefined) return exact;
    if (range === '*/*' || range === 'application/*') return 'json';
    if (range === 'text/*') return 'csv';
  }
  throw new CitycheckError(
    'not_acceptable',
    `cannot answer in ${accept}; ask for one of ${Object.values(resultFormats).join(', ')}`,
  );
};
