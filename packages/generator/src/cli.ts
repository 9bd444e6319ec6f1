#!/usr/bin/env node
// Command line of the generator:
//   national --out DIR [--seed N] [--catalogue 2024.1] [--cities 110100,310100] [--communities-per-city N]
//            [--blocks-per-street N] [--housing-per-street N] [--errors N] [--corrections N]
//       writes <DIR>/<cityCode>.ndjson, <DIR>/cycle.json and <DIR>/expected.json
//   expected --dir DIR              recomputes <DIR>/expected.json from the NDJSON files
//   push --dir DIR --url URL --tokens FILE [--concurrency N] [--mode bulk|single] [--lines-per-request N]
//       pushes the cycle through the ingest endpoint; FILE is JSON {"<cityCode>": "<token>", ...}
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { computeExpectedRollups } from './expected.js';
import { readCityLines, readCycleManifest, writeNationalCycle } from './files.js';
import { pushCities, quantile } from './push.js';

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const number = (raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`not a number: ${raw}`);
  return value;
};

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    out: { type: 'string' },
    dir: { type: 'string' },
    seed: { type: 'string' },
    catalogue: { type: 'string' },
    cities: { type: 'string' },
    'communities-per-city': { type: 'string' },
    'blocks-per-street': { type: 'string' },
    'housing-per-street': { type: 'string' },
    errors: { type: 'string' },
    corrections: { type: 'string' },
    url: { type: 'string' },
    tokens: { type: 'string' },
    concurrency: { type: 'string' },
    mode: { type: 'string' },
    'lines-per-request': { type: 'string' },
  },
});

switch (command) {
  case 'national': {
    const out = values.out ?? 'national-cycle';
    const catalogue = loadCatalogue(values.catalogue ?? '2024.1');
    const started = Date.now();
    const manifest = writeNationalCycle({
      out,
      catalogue,
      divisions: loadDivisionRegistry(),
      seed: number(values.seed, 2024),
      ...(values.cities === undefined ? {} : { cities: values.cities.split(',') }),
      ...(values['communities-per-city'] === undefined
        ? {}
        : { communitiesPerCity: number(values['communities-per-city'], 0) }),
      blocksPerStreet: number(values['blocks-per-street'], 2),
      housingPerStreet: number(values['housing-per-street'], 2),
      deliberateErrors: number(values.errors, 40),
      corrections: number(values.corrections, 20),
    });
    const expected = computeExpectedRollups(out, manifest, catalogue);
    writeFileSync(join(out, 'expected.json'), `${JSON.stringify(expected, null, 1)}\n`);
    const { totals } = manifest;
    say(
      `${totals.cities} cities, ${totals.submissions} submissions (${totals.deliberateErrors} deliberately bad, ` +
        `${totals.corrections} corrections), ${totals.observations} observations, ` +
        `${(totals.bytes / 1_048_576).toFixed(1)} MiB in ${out}/ (${Date.now() - started} ms); ` +
        `${expected.rollups.length} expected province and nation rollups in ${out}/expected.json`,
    );
    break;
  }
  case 'expected': {
    const dir = values.dir ?? 'national-cycle';
    const manifest = readCycleManifest(dir);
    const expected = computeExpectedRollups(dir, manifest, loadCatalogue(manifest.catalogueVersion));
    writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 1)}\n`);
    say(`${expected.rollups.length} expected rollups written to ${dir}/expected.json`);
    break;
  }
  case 'push': {
    const dir = values.dir ?? 'national-cycle';
    if (values.url === undefined || values.tokens === undefined)
      throw new Error('push needs --url and --tokens');
    const tokens = JSON.parse(readFileSync(values.tokens, 'utf8')) as Record<string, string>;
    const manifest = readCycleManifest(dir);
    const mode = values.mode === 'single' ? 'single' : 'bulk';
    const started = Date.now();
    const tally = await pushCities({
      url: values.url,
      token: (city) => {
        const token = tokens[city];
        if (token === undefined) throw new Error(`no token for city ${city}`);
        return token;
      },
      cities: manifest.cities.map((city) => ({
        cityCode: city.cityCode,
        lines: () => readCityLines(dir, city),
      })),
      concurrency: number(values.concurrency, 8),
      mode,
      linesPerRequest: number(values['lines-per-request'], 2_000),
    });
    const seconds = (Date.now() - started) / 1000;
    const latencies = tally.requests.map((request) => request.latencyMs);
    say(
      `${tally.stored.size} stored, ${tally.refused.size} refused, ${tally.requests.length} requests ` +
        `(${tally.retries} retries) in ${seconds.toFixed(1)} s: ${(tally.stored.size / seconds).toFixed(0)} submissions/s, ` +
        `request latency p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms`,
    );
    break;
  }
  default:
    say(
      'usage: cli.js national|expected|push ... (see the comment at the top of packages/generator/src/cli.ts)',
    );
    process.exitCode = command === undefined || command === '--help' ? 0 : 1;
}
