// HTTP helpers for tests: what a server does with a client that sends part of a request and falls silent,
// and submissions sent to ingest one request each.
import { type AddressInfo, connect } from 'node:net';
import { expect } from 'vitest';

/**
 * POSTs to `path`, with `token` as the bearer credential, a JSON body that declares 1,000 bytes and sends two,
 * then stays silent; resolves with the milliseconds until the server closed the connection, or undefined if
 * it had not after `giveUpMs`.
 */
export const closedAfterStall = async (
  port: number,
  path: string,
  token: string,
  giveUpMs = 10_000,
): Promise<number | undefined> => {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
    'Content-Type: application/json\r\nContent-Length: 1000';
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  socket.on('error', () => undefined);
  socket.write(`${head}\r\n\r\n{"`);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      closed,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), giveUpMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
};

/**
 * Passes when the listening `server` closes a stalled POST to `path` (see closedAfterStall) once it has been
 * silent for the idle timeout (`idleTimeoutMs`, give or take 50 ms), well before a client would give up (5 s).
 */
export const expectClosedWhenIdle = async (
  server: { address(): AddressInfo | string | null },
  path: string,
  token: string,
  idleTimeoutMs: number,
): Promise<void> => {
  const after = await closedAfterStall((server.address() as AddressInfo).port, path, token);
  expect(after).toBeDefined();
  expect(after).toBeGreaterThanOrEqual(idleTimeoutMs - 50);
  expect(after).toBeLessThan(5_000);
};

/** POSTs each submission to ingest at `ingestUrl` with its city's token, one at a time; how many got a 202. */
export const submitEach = async (
  ingestUrl: string,
  submissions: readonly { readonly cityCode: string }[],
  tokens: ReadonlyMap<string, string>,
): Promise<number> => {
  let accepted = 0;
  for (const submission of submissions) {
    const response = await fetch(`${ingestUrl}/v1/submissions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.get(submission.cityCode)}`,
      },
      body: JSON.stringify(submission),
    });
    await response.arrayBuffer();
    if (response.status === 202) accepted += 1;
  }
  return accepted;
};
