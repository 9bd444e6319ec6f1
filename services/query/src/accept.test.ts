// Content negotiation of query results: the Accept header's order and q-values pick the format.
import { describe, expect, it } from 'vitest';
import { negotiateFormat } from './accept.js';

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/json', 'json'],
    ['text/csv', 'csv'],
    ['text/csv; charset=utf-8', 'csv'],
    ['text/*', 'csv'],
    ['application/vnd.apache.arrow.stream', 'arrow'],
    ['application/vnd.apache.parquet', 'parquet'],
    ['application/json;q=0.5, text/csv', 'csv'],
    ['application/xml, application/vnd.apache.parquet;q=0.9, */*;q=0.1', 'parquet'],
  ] as const)('%s -> %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });

  it('refuses a header that accepts nothing it can produce, listing what it can', () => {
    expect(() => negotiateFormat('application/xml, text/html;q=0.9')).toThrow(
      /ask for one of application\/json, text\/csv/,
    );
    expect(() => negotiateFormat('text/csv;q=0')).toThrow(/cannot answer/);
  });
});
