// The small HTTP server of a worker that has no HTTP server of its own (validate, aggregate): `/healthz`
// (the process is alive), `/readyz` (its Kafka, object store and DuckDB answer) and `/metrics`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Named dependency checks; each resolves true when that dependency answers. A throw counts as false. */
export type ReadinessChecks = () => Promise<Record<string, boolean>>;

export interface OpsServerOptions {
  readonly registry: Registry;
  readonly ready: ReadinessChecks;
  readonly port: number;
  readonly host?: string;
  /** Readiness is `false` for a check that has not answered within this long. */
  readonly checkTimeoutMs?: number;
  /** Told about failures of the server itself (never about a failed readiness check, which is a 503). */
  readonly onError?: (error: unknown) => void;
}

export interface OpsServer {
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

const withTimeout = async (
  checks: ReadinessChecks,
  timeoutMs: number,
): Promise<Record<string, boolean> | undefined> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      checks(),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
};

export const startOpsServer = async ({
  registry,
  ready,
  port,
  host = '127.0.0.1',
  checkTimeoutMs = 3_000,
  onError = () => undefined,
}: OpsServerOptions): Promise<OpsServer> => {
  const send = (
    response: import('node:http').ServerResponse,
    status: number,
    type: string,
    body: string,
  ): void => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(body);
  };
  const json = 'application/json; charset=utf-8';

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(
        response,
        405,
        json,
        JSON.stringify({ error: { code: 'method_not_allowed', message: 'use GET' } }),
      );
      return;
    }
    const handle = async (): Promise<void> => {
      switch (path) {
        case '/healthz':
          send(response, 200, json, JSON.stringify({ status: 'ok' }));
          return;
        case '/readyz': {
          const checks = (await withTimeout(ready, checkTimeoutMs)) ?? { checks: false };
          const ok = Object.values(checks).every(Boolean);
          send(
            response,
            ok ? 200 : 503,
            json,
            JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks }),
          );
          return;
        }
        case '/metrics':
          send(response, 200, registry.contentType, await registry.metrics());
          return;
        default:
          send(
            response,
            404,
            json,
            JSON.stringify({ error: { code: 'not_found', message: `no route ${path}` } }),
          );
      }
    };
    handle().catch((error: unknown) => {
      onError(error);
      if (!response.headersSent) send(response, 500, json, JSON.stringify({ error: { code: 'internal' } }));
      else response.destroy();
    });
  });
  server.on('error', onError);
  // Only short GETs come here (a scrape, a probe): a client that stops sending is cut off soon, not after
  // Node's minutes, so it cannot hold sockets of a worker's only HTTP door.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.setTimeout(30_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeIdleConnections();
      }),
  };
};
