// HTTP helpers for tests: what a server does with a client that sends part of a request and falls silent,
// and submissions sent to ingest one request each.
import { connect } from 'node:net';

/**
 * Sends `head` (which declares a Content-Length longer than `partialBody`) and `partialBody` to the port,
 * then stays silent; resolves with the milliseconds until the server closed the connection, or undefined
 * if it had not after `giveUpMs`.
 */
export const closedAfterStall = async (
  port: number,
  head: string,
  partialBody: string,
  giveUpMs = 10_000,
): Promise<number | undefined> => {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  socket.on('error', () => undefined);
  socket.write(`${head}\r\n\r\n${partialBody}`);
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
