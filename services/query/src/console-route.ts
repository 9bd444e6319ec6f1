// The analysts' console at /console: static HTML, CSS and a script served by the service itself (no CDN,
// for air-gapped networks), with Apache ECharts from node_modules and the simplified province shapes
// (console/china-provinces.geojson, see scripts/derive-province-shapes.mjs). The page holds no figures: it
// asks POST /v1/export with the analyst's credential, so it is scoped exactly as that credential's SQL. The
// Chinese names of the stored review and rectification states are embedded into the page as it is served,
// from the packages that define the states, so the console shows them without a copy of its own.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rectificationStateNames } from '@citycheck/rectification';
import { stateNames as reviewStateNames } from '@citycheck/reviews';
import type { FastifyInstance, FastifyReply } from 'fastify';

const consoleDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'console');
const javascript = 'text/javascript; charset=utf-8';
const consoleFiles: Record<string, { file: string; type: string }> = {
  '/console': { file: join(consoleDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/console/console.js': { file: join(consoleDir, 'console.js'), type: javascript },
  '/console/console.css': { file: join(consoleDir, 'console.css'), type: 'text/css; charset=utf-8' },
  '/console/china-provinces.geojson': {
    file: join(consoleDir, 'china-provinces.geojson'),
    type: 'application/geo+json; charset=utf-8',
  },
  // The full build (map, line and bar charts, visual map, tooltip), as the package ships it.
  '/console/echarts.min.js': {
    file: createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'),
    type: javascript,
  },
};

const consolePageSchema = (path: string): Record<string, unknown> =>
  path === '/console'
    ? {
        tags: ['console'],
        operationId: 'consolePage',
        summary: 'The analysts\u2019 console (HTML; it asks /v1/export with the credential typed into it)',
        security: [],
        response: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
      }
    : { hide: true };

/** Where the page holds the state names (index.html's empty JSON script element). */
const stateNamesSlot = '<script id="state-names" type="application/json"></script>';

/** The state names as the page's JSON script element holds them; `<` escaped so no text can end the element. */
export const consoleStateNames = JSON.stringify({
  review: reviewStateNames,
  rectification: rectificationStateNames,
}).replaceAll('<', '\\u003c');

export const registerConsoleRoutes = (api: FastifyInstance): void => {
  for (const [path, { file, type }] of Object.entries(consoleFiles)) {
    api.get(path, { schema: consolePageSchema(path) }, async (_request, reply: FastifyReply) => {
      void reply.header('content-type', type).header('cache-control', 'no-cache');
      if (path !== '/console') return readFile(file);
      const page = await readFile(file, 'utf8');
      return page.replace(
        stateNamesSlot,
        stateNamesSlot.replace('></script>', `>${consoleStateNames}</script>`),
      );
    });
  }
};
