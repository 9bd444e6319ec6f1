// One request of a command that acts through ingest's routes with a credential (review, rectify): where to
// (--url or CITYCHECK_URL), with which token (--token or CITYCHECK_TOKEN), in which language; and what a
// refusal prints and exits with.
import { readConfig } from '@citycheck/config';
import { type Answer, send } from './http.js';
import { acceptLanguage, type CliLanguage } from './language.js';

export class CommandUsageError extends Error {}

/** A command's --cycle: a four-digit year, else the usage error naming the command (`review`, `rectify`). */
export const cycleArgument = (command: string, raw: string | undefined): string => {
  if (raw === undefined || !/^20[0-9]{2}$/.test(raw))
    throw new CommandUsageError(`${command} needs --cycle <year>, e.g. --cycle 2025`);
  return raw;
};

export interface IngestCall {
  readonly method: 'GET' | 'POST';
  /** After the base URL: `/v1/...`. */
  readonly path: string;
  readonly language: CliLanguage;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  /** A JSON body. */
  readonly json?: Record<string, unknown>;
  /** A raw body, with its type and any headers it needs. */
  readonly raw?: {
    readonly bytes: Buffer;
    readonly contentType: string;
    readonly headers?: Record<string, string>;
  };
  /** The answer is a file: a successful answer's body is its bytes. */
  readonly binary?: boolean;
}

export const callIngest = async ({
  method,
  path,
  language,
  url,
  token,
  json,
  raw,
  binary,
}: IngestCall): Promise<Answer> => {
  const config = readConfig(['citycheckUrl', 'citycheckToken']);
  const credential = token ?? config.citycheckToken;
  if (credential === '') throw new CommandUsageError('no credential: set CITYCHECK_TOKEN or pass --token');
  const base = (url ?? config.citycheckUrl).replace(/\/+$/, '');
  return send({
    method,
    url: `${base}${path}`,
    headers: {
      authorization: `Bearer ${credential}`,
      'accept-language': acceptLanguage(language),
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(raw === undefined ? {} : { 'content-type': raw.contentType, ...raw.headers }),
    },
    ...(json === undefined ? {} : { body: Buffer.from(JSON.stringify(json)) }),
    ...(raw === undefined ? {} : { body: raw.bytes }),
    ...(binary === undefined ? {} : { binary }),
  });
};

/** Prints a refusal's code and message; exits 1 when the request was refused, 2 when the run failed. */
export const refusalExit = (answer: Answer): number => {
  const error = (answer.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  console.error(`citycheck: ${error?.code ?? `HTTP ${answer.status}`}: ${error?.message ?? ''}`);
  return answer.status >= 400 && answer.status < 500 && answer.status !== 401 ? 1 : 2;
};

/** Whether `error` is a usage error (ours or node:util's parseArgs'), answered with the usage and 64. */
export const isUsageError = (error: unknown): boolean =>
  error instanceof CommandUsageError ||
  ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ?? false);
