// The door for BI tools and notebooks: a PostgreSQL wire-protocol endpoint (psql, the `pg` driver, JDBC,
// psycopg, Superset, Metabase) in front of the same engine as POST /v1/query. The analyst signs in with the
// credential as password (any user name); every statement goes through the same guard, scope and limits,
// and its rows come back typed (see pg-wire.ts). pg-gateway does the startup and the password exchange;
// this file answers the simple and the extended query protocol. Nothing is ever written: session
// statements (SET, BEGIN, ...) are acknowledged and change nothing.
import { randomInt } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Authenticator } from '@citycheck/credentials';
import { CitycheckError, type ErrorCode, isCitycheckError } from '@citycheck/errors';
import { authenticationMessages } from '@citycheck/http';
import type { Logger } from '@citycheck/logging';
import { BackendError } from 'pg-gateway';
import { fromNodeSocket } from 'pg-gateway/node';
import { scopeOf } from './app.js';
import { MessageReader, pgBinary, pgText, pgTypeOf, type RowField, wire } from './pg-wire.js';
import type { QueryEngine, QueryResultStream, QueryScope } from './query-engine.js';
import { columnValues } from './result-columns.js';

export interface PgDoorOptions {
  readonly engine: QueryEngine;
  readonly authenticator: Authenticator;
  /** As for the HTTP app: while false, sign-ins are refused with 57P03 (cannot_connect_now). */
  readonly credentialsCurrent?: () => boolean;
  readonly logger: Logger;
}

export interface PgDoor {
  /** Starts listening; resolves with the address bound (port 0 picks a free one). */
  listen(options: { host: string; port: number }): Promise<AddressInfo>;
  /** Stops accepting connections and ends the open ones. */
  close(): Promise<void>;
}

/** The SQLSTATE each error of the registry is reported with (PostgreSQL's appendix A); others are XX000. */
const sqlStates: Partial<Record<ErrorCode, string>> = {
  query_not_allowed: '42501', // insufficient_privilege
  query_timeout: '57014', // query_canceled
  query_memory_exceeded: '53200', // out_of_memory
  query_row_cap_exceeded: '54000', // program_limit_exceeded
  rate_limited: '53300', // too_many_connections
  not_ready: '57P03', // cannot_connect_now
  object_store_unavailable: '58030', // io_error
  lake_object_missing: '58P01', // undefined_file
  unauthenticated: '28P01', // invalid_password
  forbidden: '28000', // invalid_authorization_specification
  invalid_request: '08P01', // protocol_violation
};

/** A query_invalid error by the start of DuckDB's (or the guard's) message; anything else is 42000. */
const invalidQueryStates: readonly (readonly [prefix: string, state: string])[] = [
  ['Parser Error', '42601'], // syntax_error
  ['the SQL does not parse', '42601'], // syntax_error
  ['Catalog Error', '42P01'], // undefined_table
  ['Binder Error', '42703'], // undefined_column
  ['Conversion Error', '22P02'], // invalid_text_representation
  ['Out of Range', '22003'], // numeric_value_out_of_range
];

export const sqlState = (error: CitycheckError): string => {
  if (error.code === 'query_invalid')
    return (
      invalidQueryStates.find(([prefix]) => error.message.startsWith(prefix))?.[1] ?? '42000' // syntax_error_or_access_rule_violation
    );
  return sqlStates[error.code] ?? 'XX000'; // internal_error
};

const errorMessage = (error: unknown, severity: 'ERROR' | 'FATAL' = 'ERROR'): Buffer => {
  const known = isCitycheckError(error)
    ? error
    : new CitycheckError('internal', 'internal error', { cause: error });
  return wire.error({
    severity,
    code: sqlState(known),
    message: known.message,
    detail: `citycheck error ${known.code}`,
  });
};

/** Parameter values as SQL literals: text as a quoted string (DuckDB casts it where a number is compared). */
const literal = (value: Buffer | null, format: number, oid: number): string => {
  if (value === null) return 'NULL';
  if (format === 1) {
    // Binary parameters of the common integer and float types; anything else must be sent as text.
    if (oid === 23 && value.length === 4) return String(value.readInt32BE());
    if (oid === 20 && value.length === 8) return String(value.readBigInt64BE());
    if (oid === 21 && value.length === 2) return String(value.readInt16BE());
    if (oid === 701 && value.length === 8) return String(value.readDoubleBE());
    if (oid === 16 && value.length === 1) return value[0] === 1 ? 'true' : 'false';
    if (oid === 25 || oid === 1043) return quote(value.toString('utf8'));
    throw new CitycheckError(
      'invalid_request',
      `binary parameters of type ${oid} are not accepted; send them as text`,
    );
  }
  const text = value.toString('utf8');
  // Declared numeric parameters go in bare, once they are plainly numbers.
  if ([20, 21, 23, 700, 701, 1700].includes(oid) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) return text;
  return quote(text);
};
const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/**
 * The statement with each `$n` outside strings, quoted names and comments replaced by its value as a literal.
 * What runs is then checked by the guard like any other statement: a parameter can only ever be a value.
 */
export const bindParameters = (sql: string, values: readonly string[]): string => {
  let out = '';
  let index = 0;
  while (index < sql.length) {
    const char = sql[index] as string;
    const next = sql[index + 1];
    if (char === "'" || char === '"') {
      let end = index + 1;
      for (;;) {
        const found = sql.indexOf(char, end);
        if (found < 0) {
          end = sql.length;
          break;
        }
        if (sql[found + 1] === char) {
          end = found + 2;
          continue;
        }
        end = found + 1;
        break;
      }
      out += sql.slice(index, end);
      index = end;
    } else if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', index);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(index, stop);
      index = stop;
    } else if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', index + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(index, stop);
      index = stop;
    } else if (char === '$' && next !== undefined && /\d/.test(next)) {
      const match = /^\$(\d+)/.exec(sql.slice(index)) as RegExpExecArray;
      const number = Number(match[1]);
      const value = values[number - 1];
      if (value === undefined)
        throw new CitycheckError(
          'invalid_request',
          `the statement uses $${number} but ${values.length} parameters were bound`,
        );
      out += value;
      index += match[0].length;
    } else {
      out += char;
      index += 1;
    }
  }
  return out;
};

/** The highest `$n` a statement uses (0 for none), outside strings and comments. */
const parameterCount = (sql: string): number => {
  const numbers: number[] = [];
  const stripped = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  for (const match of stripped.matchAll(/\$(\d+)/g)) numbers.push(Number(match[1]));
  return numbers.length === 0 ? 0 : Math.max(...numbers);
};

/** What the door answers itself: session statements and the few probes BI tools send on connecting. */
type SessionAnswer =
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'value'; readonly column: string; readonly value: string }
  | { readonly kind: 'empty' };

export const serverVersion = '16.0';
const versionText = `PostgreSQL ${serverVersion} (citycheck query service over DuckDB; read-only, documented views only)`;
const settings: Record<string, string> = {
  server_version: serverVersion,
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  timezone: 'UTC',
  integer_datetimes: 'on',
  standard_conforming_strings: 'on',
  'transaction isolation level': 'read committed',
  transaction_isolation: 'read committed',
  transaction_read_only: 'on',
  default_transaction_read_only: 'on',
  search_path: 'main',
  intervalstyle: 'postgres',
  max_identifier_length: '63',
};

export const sessionAnswer = (sql: string): SessionAnswer | undefined => {
  const text = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/;+\s*$/, '')
    .trim();
  if (text === '') return { kind: 'empty' };
  const lower = text.toLowerCase();
  const keyword = lower.split(' ')[0] ?? '';
  switch (keyword) {
    case 'set':
      return { kind: 'tag', tag: 'SET' };
    case 'reset':
      return { kind: 'tag', tag: 'RESET' };
    case 'discard':
      return { kind: 'tag', tag: 'DISCARD ALL' };
    case 'begin':
    case 'start':
      return { kind: 'tag', tag: 'BEGIN' };
    case 'commit':
    case 'end':
      return { kind: 'tag', tag: 'COMMIT' };
    case 'rollback':
    case 'abort':
      return { kind: 'tag', tag: 'ROLLBACK' };
    case 'show': {
      const name = lower.slice('show '.length).replaceAll('"', '').trim();
      const value = settings[name];
      if (value === undefined)
        throw new CitycheckError(
          'query_invalid',
          `Catalog Error: unrecognized configuration parameter "${name}"`,
        );
      return {
        kind: 'value',
        column: name === 'transaction isolation level' ? 'transaction_isolation' : name,
        value,
      };
    }
    default:
      break;
  }
  if (/^select (pg_catalog\.)?version\(\)$/.test(lower))
    return { kind: 'value', column: 'version', value: versionText };
  if (/^select (pg_catalog\.)?current_schema\(\)$/.test(lower))
    return { kind: 'value', column: 'current_schema', value: 'main' };
  if (/^select (pg_catalog\.)?current_database\(\)$/.test(lower))
    return { kind: 'value', column: 'current_database', value: 'citycheck' };
  return undefined;
};

const textType = pgTypeOf({ name: '', type: 'VARCHAR', kind: 'text' });

/** Row description and rows of a running result, in the formats the client asked for. */
const describe = (result: QueryResultStream, formats: readonly number[]): RowField[] =>
  result.columns.map((column, index) => ({
    name: column.name,
    type: pgTypeOf(column),
    format: (formats.length === 1 ? formats[0] : (formats[index] ?? 0)) === 1 ? 1 : 0,
  }));

async function* rows(result: QueryResultStream, fields: readonly RowField[]): AsyncGenerator<Buffer> {
  for await (const chunk of result.chunks()) {
    const values = result.columns.map((_, index) => columnValues(chunk, index));
    const batch: Buffer[] = [];
    for (let row = 0; row < chunk.rowCount; row += 1) {
      batch.push(
        wire.dataRow(
          result.columns.map((column, index) => {
            const value = values[index]?.[row] ?? null;
            const type = result.types[index] as never;
            if (fields[index]?.format === 1) return pgBinary(column, value, type);
            const text = pgText(column, value, type);
            return text === undefined ? undefined : Buffer.from(text, 'utf8');
          }),
        ),
      );
    }
    if (batch.length > 0) yield Buffer.concat(batch);
  }
}

interface Prepared {
  readonly sql: string;
  readonly parameterTypes: readonly number[];
}
interface Portal {
  readonly sql: string;
  readonly answer: SessionAnswer | undefined;
  readonly formats: readonly number[];
  /** Opened by Describe (so its row description is the one Execute sends), else by Execute. */
  result?: QueryResultStream;
}

export const createPgDoor = ({
  engine,
  authenticator,
  credentialsCurrent = () => true,
  logger,
}: PgDoorOptions): PgDoor => {
  const sockets = new Set<Socket>();

  const handle = async (socket: Socket): Promise<void> => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let caller: { scope: QueryScope; role: string; id: string } | undefined;
    const statements = new Map<string, Prepared>();
    const portals = new Map<string, Portal>();
    /** In the extended protocol, after an error every message is skipped until Sync. */
    let failed = false;
    const closePortal = (name: string): void => {
      portals.get(name)?.result?.close();
      portals.delete(name);
    };
    socket.once('close', () => {
      for (const name of [...portals.keys()]) closePortal(name);
    });

    const open = async (sql: string): Promise<QueryResultStream> => {
      if (caller === undefined) throw new CitycheckError('unauthenticated', 'sign in first');
      if (!credentialsCurrent()) {
        throw new CitycheckError(
          'not_ready',
          'the service has lost sight of credentials.v1 and cannot tell revoked credentials apart; retry shortly',
        );
      }
      return engine.open(caller.scope, sql);
    };

    const log = (sql: string, outcome: string, rowCount: number): void =>
      logger.info(
        {
          door: 'pg',
          credentialId: caller?.id,
          role: caller?.role,
          sql: sql.slice(0, 2_000),
          rows: rowCount,
          outcome,
        },
        'query answered',
      );

    /** The messages answering one statement: rows and CommandComplete, or an ErrorResponse. */
    async function* answer(
      sql: string,
      session: SessionAnswer | undefined,
      options: { describeRows: boolean; formats: readonly number[]; result?: QueryResultStream },
    ): AsyncGenerator<Buffer, boolean> {
      if (session !== undefined) {
        if (session.kind === 'empty') {
          yield wire.emptyQuery();
        } else if (session.kind === 'tag') {
          yield wire.commandComplete(session.tag);
        } else {
          if (options.describeRows)
            yield wire.rowDescription([{ name: session.column, type: textType, format: 0 }]);
          yield wire.dataRow([Buffer.from(session.value, 'utf8')]);
          yield wire.commandComplete('SELECT 1');
        }
        return true;
      }
      let result = options.result;
      try {
        result ??= await open(sql);
        const fields = describe(result, options.formats);
        if (options.describeRows) yield wire.rowDescription(fields);
        for await (const batch of rows(result, fields)) yield batch;
        yield wire.commandComplete(`SELECT ${result.rowCount}`);
        log(sql, 'ok', result.rowCount);
        return true;
      } catch (error) {
        log(sql, isCitycheckError(error) ? error.code : 'internal', result?.rowCount ?? 0);
        if (!isCitycheckError(error)) logger.error({ err: error }, 'pg door: query failed');
        yield errorMessage(error);
        return false;
      } finally {
        result?.close();
      }
    }

    async function* simpleQuery(reader: MessageReader): AsyncGenerator<Buffer> {
      const sql = reader.cstring();
      let session: SessionAnswer | undefined;
      try {
        session = sessionAnswer(sql);
      } catch (error) {
        yield errorMessage(error);
        yield wire.readyForQuery();
        return;
      }
      yield* answer(sql, session, { describeRows: true, formats: [] });
      yield wire.readyForQuery();
    }

    async function* extended(reader: MessageReader): AsyncGenerator<Buffer> {
      const type = reader.type;
      if (type === 'S') {
        failed = false;
        // Unnamed portals end with the transaction that, for a read-only door, every Sync ends.
        closePortal('');
        yield wire.readyForQuery();
        return;
      }
      if (failed) return;
      try {
        switch (type) {
          case 'P': {
            const name = reader.cstring();
            const sql = reader.cstring();
            const count = reader.int16();
            const parameterTypes: number[] = [];
            for (let index = 0; index < count; index += 1) parameterTypes.push(reader.int32());
            statements.set(name, { sql, parameterTypes });
            yield wire.parseComplete();
            return;
          }
          case 'B': {
            const portalName = reader.cstring();
            const statementName = reader.cstring();
            const statement = statements.get(statementName);
            if (statement === undefined)
              throw new CitycheckError(
                'invalid_request',
                `there is no prepared statement "${statementName}"`,
              );
            const formatCount = reader.int16();
            const parameterFormats: number[] = [];
            for (let index = 0; index < formatCount; index += 1) parameterFormats.push(reader.int16());
            const valueCount = reader.int16();
            const values: string[] = [];
            for (let index = 0; index < valueCount; index += 1) {
              const length = reader.int32();
              const value = length < 0 ? null : Buffer.from(reader.bytes(length));
              const format =
                parameterFormats.length === 1 ? parameterFormats[0] : (parameterFormats[index] ?? 0);
              values.push(literal(value, format ?? 0, statement.parameterTypes[index] ?? 0));
            }
            const resultFormatCount = reader.int16();
            const formats: number[] = [];
            for (let index = 0; index < resultFormatCount; index += 1) formats.push(reader.int16());
            const sql = bindParameters(statement.sql, values);
            closePortal(portalName);
            portals.set(portalName, { sql, answer: sessionAnswer(sql), formats });
            yield wire.bindComplete();
            return;
          }
          case 'D': {
            const kind = reader.byte();
            const name = reader.cstring();
            if (kind === 'S') {
              const statement = statements.get(name);
              if (statement === undefined)
                throw new CitycheckError('invalid_request', `there is no prepared statement "${name}"`);
              const count = Math.max(parameterCount(statement.sql), statement.parameterTypes.length);
              yield wire.parameterDescription(
                Array.from({ length: count }, (_, index) => statement.parameterTypes[index] || textType.oid),
              );
              // The columns, from the statement with NULL for every parameter and no row read.
              const session = sessionAnswer(statement.sql);
              if (session !== undefined) {
                yield session.kind === 'value'
                  ? wire.rowDescription([{ name: session.column, type: textType, format: 0 }])
                  : wire.noData();
                return;
              }
              const probe = await open(
                `SELECT * FROM (${bindParameters(
                  statement.sql,
                  Array.from({ length: count }, () => 'NULL'),
                )}) AS described LIMIT 0`,
              );
              try {
                yield wire.rowDescription(describe(probe, []));
              } finally {
                probe.close();
              }
              return;
            }
            const portal = portals.get(name);
            if (portal === undefined)
              throw new CitycheckError('invalid_request', `there is no portal "${name}"`);
            if (portal.answer !== undefined) {
              yield portal.answer.kind === 'value'
                ? wire.rowDescription([{ name: portal.answer.column, type: textType, format: 0 }])
                : wire.noData();
              return;
            }
            portal.result ??= await open(portal.sql);
            yield wire.rowDescription(describe(portal.result, portal.formats));
            return;
          }
          case 'E': {
            const name = reader.cstring();
            const portal = portals.get(name);
            if (portal === undefined)
              throw new CitycheckError('invalid_request', `there is no portal "${name}"`);
            // The whole result goes at once: a row limit asked for in Execute is not honoured (no suspension).
            const ok = yield* answer(portal.sql, portal.answer, {
              describeRows: false,
              formats: portal.formats,
              ...(portal.result === undefined ? {} : { result: portal.result }),
            });
            portals.delete(name);
            if (!ok) failed = true;
            return;
          }
          case 'C': {
            const kind = reader.byte();
            const name = reader.cstring();
            if (kind === 'S') statements.delete(name);
            else closePortal(name);
            yield wire.closeComplete();
            return;
          }
          case 'H':
            return;
          default:
            throw new CitycheckError('invalid_request', `message type ${type} is not supported by this door`);
        }
      } catch (error) {
        failed = true;
        if (!isCitycheckError(error)) logger.error({ err: error }, 'pg door: message failed');
        yield errorMessage(error);
      }
    }

    await fromNodeSocket(socket, {
      serverVersion,
      auth: {
        method: 'password',
        getClearTextPassword: () => '',
        validateCredentials: ({ password }) => {
          if (!credentialsCurrent()) {
            throw BackendError.create({
              severity: 'FATAL',
              code: '57P03',
              message: 'the service cannot confirm its credentials are current; retry shortly',
            });
          }
          const outcome = authenticator.authenticate(password);
          if (!outcome.ok) {
            logger.info(
              { door: 'pg', credentialId: outcome.credentialId, reason: outcome.reason },
              'authentication failed',
            );
            throw BackendError.create({
              severity: 'FATAL',
              code: '28P01',
              message: `${authenticationMessages[outcome.reason]} (sign in with the credential cc_<id>_<secret> as password)`,
            });
          }
          try {
            caller = scopeOf(outcome.principal);
          } catch (error) {
            throw BackendError.create({
              severity: 'FATAL',
              code: '28000',
              message: error instanceof Error ? error.message : 'this credential may not query',
            });
          }
          return true;
        },
      },
      onAuthenticated: () => {
        // pg-gateway reports server_version only; drivers also read these (JDBC, psycopg, SQLAlchemy).
        for (const [name, value] of Object.entries({
          server_encoding: 'UTF8',
          client_encoding: 'UTF8',
          DateStyle: 'ISO, MDY',
          TimeZone: 'UTC',
          integer_datetimes: 'on',
          standard_conforming_strings: 'on',
          IntervalStyle: 'postgres',
          default_transaction_read_only: 'on',
        }))
          socket.write(wire.parameterStatus(name, value));
        socket.write(wire.backendKeyData(randomInt(1, 2 ** 31 - 1), randomInt(1, 2 ** 31 - 1)));
        logger.info({ door: 'pg', credentialId: caller?.id, role: caller?.role }, 'signed in');
      },
      onMessage: (data, state) => {
        if (state.step !== 'ReadyForQuery') return undefined;
        const reader = new MessageReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        switch (reader.type) {
          case 'X':
            return undefined;
          case 'Q':
            return simpleQuery(reader);
          default:
            return extended(reader);
        }
      },
    });
  };

  let server: Server | undefined;
  return {
    async listen({ host, port }) {
      server = createServer((socket) => {
        handle(socket).catch((error: unknown) => {
          logger.warn({ err: error }, 'pg door: connection failed');
          socket.destroy();
        });
      });
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      return listening.address() as AddressInfo;
    },
    async close() {
      const closing = server;
      if (closing === undefined) return;
      const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
};
