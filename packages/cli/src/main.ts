#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
// The `citycheck` command: `submit`, `status` and `results` for a city's IT vendor (HTTP to ingest and the query
// service, CITYCHECK_URL, CITYCHECK_QUERY_URL and CITYCHECK_TOKEN), `template` (a results workbook to fill in),
// `admin credentials ...` and `admin cycles ...` for operations (Kafka, KAFKA_BROKERS). Exit codes: 0 all good,
// 1 some submissions rejected (refused by ingest, or by validate under --wait), 2 the run failed (bad credential,
// ingest unreachable, --wait timed out), 64 usage, 130 interrupted.
import { parseArgs } from 'node:util';
import { objectStoreSettings, objectStoreVariables, readConfig } from '@citycheck/config';
import {
  type CredentialContact,
  contactProblem,
  credentialCodesProblem,
  isCityCode,
  type RoleName,
} from '@citycheck/credentials';
import { CycleAdminError, cyclesTopic, type OperatedCycleSettings } from '@citycheck/cycles';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { formatContact, formatCredentialList, runCredentialsAdmin } from './admin-credentials.js';
import { formatCycleList, runCyclesAdmin } from './admin-cycles.js';
import { formatReminders, runRemindersAdmin } from './admin-reminders.js';
import { fetchCityResults, formatCityResults, ResultsFailed } from './city-results.js';
import { cityOptions, closeHttp, RetriesExhausted } from './http.js';
import { type CliLanguage, parseLanguage } from './language.js';
import { queryCommand, queryUsage, tablesCommand } from './query/query-command.js';
import { rectifyCommand, rectifyUsage } from './rectify-command.js';
import { reviewCommand, reviewUsage } from './review-command.js';
import {
  isPipelineStatusCall,
  pipelineStatusCommand,
  pipelineStatusUsage,
} from './status/pipeline-status-command.js';
import { runSubmissionStatus } from './submission-status.js';
import { anyFailed, formatReport, runSubmit, SubmitFailed } from './submit.js';
import { isUnitLevel, TemplateRefused, writeTemplate } from './template.js';

const usage = `usage:
  citycheck submit <file|dir>... [--dry-run] [--chunk-lines 1000] [--parallel 2] [--restart] [--no-gzip] [--json]
                                 [--wait] [--wait-timeout 600] [--url URL] [--token TOKEN] [--quiet] [--lang en]
  citycheck template --city <code> --cycle <year> [--level community|block|housing|district|city]
                     [--format xlsx|csv] [--catalogue <version>] [--out file]
  citycheck status <submissionId> [--json] [--lang en] [--url URL] [--token TOKEN]
                                 (exit 0 on its way or arrived, 1 rejected, 2 never received or the look-up failed)
  citycheck results --cycle <year> [--lang en] [--json] [--city <code>] [--url URL] [--query-url QUERY_URL] [--token TOKEN]
                                 (the city's figures, shortfall ledger items and units still missing)
  citycheck admin credentials issue --city <code> [--name NAME] [contact]
  citycheck admin credentials issue --role analyst:province:<code>|analyst:ministry|reviewer:province:<code>|reviewer:ministry|operator [--name NAME] [contact]
  citycheck admin credentials contact <id> --contact-name NAME [--contact-phone PHONE] [--contact-email EMAIL]
  citycheck admin credentials list [--json]
  citycheck admin credentials rotate <id>
  citycheck admin credentials revoke <id>
  (contact: --contact-name NAME with --contact-phone PHONE and/or --contact-email EMAIL, the person to reach)
  citycheck admin cycles open --cycle <year> --catalogue <version> --opens-at <time> --deadline <time>
                              [--closes-at <time>] [--expected all|<code>,<code>...] [--county-level-cities <code>,...] [--settings file.json]
  citycheck admin cycles close <year> [--at <time>] [--reason TEXT]
  citycheck admin cycles reopen <year> --reason TEXT [--closes-at <time>]
  citycheck admin cycles current [<year> [--reason TEXT]]
  citycheck admin cycles list [--json]
  citycheck admin reminders --cycle <year> [--days 14] [--coverage-below 0.8] [--json]
  (admin cycles: --by NAME names the operator in the audit trail; default the login name)
${reviewUsage}
${rectifyUsage}
${queryUsage}
${pipelineStatusUsage}

environment: CITYCHECK_URL (default http://127.0.0.1:8080), CITYCHECK_TOKEN (the city credential),
             CITYCHECK_QUERY_URL (results, query; default http://127.0.0.1:8090),
             KAFKA_BROKERS (admin commands; default 127.0.0.1:9092)
files: .json (one submission or an array), .ndjson / .jsonl (one per line), optionally .gz;
       .xlsx / .csv in the layout of \`citycheck template\` (one submission per filled row)
--wait: follows every accepted line until validate and aggregate are done with it (counted or rejected)
resume: an interrupted submit records acknowledged chunks in <file>.citycheck-state.json; run it again`;

class UsageError extends Error {}

const positiveInteger = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer`);
  return value;
};

const languageArgument = (raw: string | undefined): CliLanguage => {
  const language = parseLanguage(raw);
  if (language === undefined) throw new UsageError(`--lang ${raw} is neither zh nor en`);
  return language;
};

const httpSettings = (
  values: { url?: string | undefined; token?: string | undefined },
  language: CliLanguage,
) => {
  const config = readConfig(['citycheckUrl', 'citycheckToken']);
  const token = values.token ?? config.citycheckToken;
  if (token === '')
    throw new UsageError(
      language === 'en'
        ? 'no credential: set CITYCHECK_TOKEN or pass --token'
        : '缺少凭证：请设置环境变量 CITYCHECK_TOKEN 或使用 --token',
    );
  return { url: values.url ?? config.citycheckUrl, token };
};

const submit = async (args: string[]): Promise<number> => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...cityOptions,
      'dry-run': { type: 'boolean', default: false },
      'chunk-lines': { type: 'string' },
      parallel: { type: 'string' },
      restart: { type: 'boolean', default: false },
      'no-gzip': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      'wait-timeout': { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('submit needs at least one file or directory');
  const language = languageArgument(values.lang);
  const { url, token } = httpSettings(values, language);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  try {
    const report = await runSubmit({
      paths: positionals,
      url,
      token,
      dryRun: values['dry-run'],
      chunkLines: positiveInteger('chunk-lines', values['chunk-lines'], 1_000),
      parallel: positiveInteger('parallel', values.parallel, 2),
      gzip: !values['no-gzip'],
      restart: values.restart,
      signal: abort.signal,
      progress: values.quiet ? false : process.stderr,
      language,
      wait: values.wait,
      waitTimeoutMs: positiveInteger('wait-timeout', values['wait-timeout'], 600) * 1000,
    });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report, 200, language));
    if (
      report.waited !== undefined &&
      report.waited.pending > 0 &&
      report.rejected === 0 &&
      report.waited.rejected === 0
    )
      return 2;
    return anyFailed(report) ? 1 : 0;
  } catch (error) {
    if (abort.signal.aborted) {
      console.error(
        language === 'en'
          ? 'citycheck: interrupted; acknowledged chunks are recorded, run the same command again to resume'
          : 'citycheck：已中断；已确认的分块均已记录，再次运行同一命令即可接着上传',
      );
      return 130;
    }
    throw error;
  } finally {
    await closeHttp();
  }
};

const status = async (args: string[]): Promise<number> => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...cityOptions,
      json: { type: 'boolean', default: false },
    },
  });
  const [submissionId] = positionals;
  if (submissionId === undefined) throw new UsageError('status needs a submissionId');
  const language = languageArgument(values.lang);
  const { url, token } = httpSettings(values, language);
  try {
    const answer = await runSubmissionStatus({ url, token, submissionId, language, json: values.json });
    if (answer.stdout !== '') console.log(answer.stdout);
    if (answer.stderr !== '') console.error(`citycheck: ${answer.stderr}`);
    return answer.exitCode;
  } finally {
    await closeHttp();
  }
};

/**
 * A refusal the command expects (a command's own error class) is printed as `citycheck: <message>` and
 * answered with its exit code; anything else is rethrown for main's last catch.
 */
const refusedWith = (
  error: unknown,
  refusal: abstract new (...args: never[]) => Error,
  exitCode: number,
): number => {
  if (!(error instanceof refusal)) throw error;
  console.error(`citycheck: ${error.message}`);
  return exitCode;
};

/** `results --cycle`: the credential's city's figures, ledger items and missing units. */
const results = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      cycle: { type: 'string' },
      city: { type: 'string' },
      json: { type: 'boolean', default: false },
      'query-url': { type: 'string' },
      ...cityOptions,
    },
  });
  const cycle = yearArgument(values.cycle, 'results --cycle');
  const language = languageArgument(values.lang);
  const { url, token } = httpSettings(values, language);
  const queryUrl = values['query-url'] ?? readConfig(['citycheckQueryUrl']).citycheckQueryUrl;
  try {
    const found = await fetchCityResults({
      ingestUrl: url,
      queryUrl,
      token,
      cycle,
      language,
      ...(values.city === undefined ? {} : { cityCode: values.city }),
    });
    console.log(values.json ? JSON.stringify(found, null, 2) : formatCityResults(found, language));
    return 0;
  } catch (error) {
    return refusedWith(error, ResultsFailed, 2);
  } finally {
    await closeHttp();
  }
};

/** `template`: the results workbook of a city and cycle, or one level of it as CSV. */
const template = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      city: { type: 'string' },
      cycle: { type: 'string' },
      level: { type: 'string' },
      format: { type: 'string', default: 'xlsx' },
      catalogue: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.city === undefined || !isCityCode(values.city))
    throw new UsageError('template needs --city with a six-digit city code, e.g. --city 640100');
  const cycle = yearArgument(values.cycle, 'template --cycle');
  if (values.level !== undefined && !isUnitLevel(values.level))
    throw new UsageError(`--level ${values.level}: community, block, housing, district or city`);
  if (values.format !== 'xlsx' && values.format !== 'csv')
    throw new UsageError(`--format ${values.format}: xlsx or csv`);
  try {
    const { file, rows } = await writeTemplate({
      cityCode: values.city,
      cycle,
      format: values.format,
      ...(values.level === undefined || !isUnitLevel(values.level) ? {} : { level: values.level }),
      ...(values.catalogue === undefined ? {} : { catalogueVersion: values.catalogue }),
      ...(values.out === undefined ? {} : { out: values.out }),
    });
    const counts = Object.entries(rows)
      .map(([level, count]) => `${level} ${count}`)
      .join(', ');
    console.log(`wrote ${file} (units: ${counts})`);
    return 0;
  } catch (error) {
    return refusedWith(error, TemplateRefused, 64);
  }
};

const yearArgument = (raw: string | undefined, action: string): number => {
  const cycle = Number(raw);
  if (raw === undefined || !Number.isInteger(cycle) || cycle < 2018 || cycle > 2100)
    throw new UsageError(`${action} needs a cycle year, e.g. ${action} 2026`);
  return cycle;
};

const cyclesAdmin = async (action: string, args: string[]): Promise<number> => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      cycle: { type: 'string' },
      catalogue: { type: 'string' },
      'opens-at': { type: 'string' },
      deadline: { type: 'string' },
      'closes-at': { type: 'string' },
      expected: { type: 'string' },
      'county-level-cities': { type: 'string' },
      settings: { type: 'string' },
      at: { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const config = readConfig(['kafkaBrokers', 'kafkaClientId', 'topicReplicationFactor', 'topicNamespace']);
  const options = {
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    replicationFactor: config.topicReplicationFactor,
    topic: cyclesTopic(config.topicNamespace),
  };
  const actor = {
    by: values.by ?? process.env.USER ?? userInfo().username,
    at: new Date(),
    ...(values.reason === undefined ? {} : { reason: values.reason }),
  };
  try {
    switch (action) {
      case 'open': {
        const file = (
          values.settings === undefined ? {} : JSON.parse(readFileSync(values.settings, 'utf8'))
        ) as Record<string, unknown>;
        const { $schema: _, expectedCities: fileExpected, ...fromFile } = file;
        const expected = values.expected ?? fileExpected;
        const settings = {
          ...fromFile,
          cycle: values.cycle === undefined ? fromFile.cycle : yearArgument(values.cycle, 'open --cycle'),
          catalogueVersion: values.catalogue ?? fromFile.catalogueVersion,
          opensAt: values['opens-at'] ?? fromFile.opensAt,
          deadline: values.deadline ?? fromFile.deadline,
          ...(values['closes-at'] === undefined && fromFile.closesAt === undefined
            ? {}
            : { closesAt: values['closes-at'] ?? fromFile.closesAt }),
          ...(expected === undefined || expected === 'all'
            ? {}
            : {
                expectedCities: Array.isArray(expected)
                  ? expected
                  : String(expected)
                      .split(',')
                      .map((code) => code.trim()),
              }),
          ...(values['county-level-cities'] === undefined
            ? {}
            : {
                countyLevelCities: values['county-level-cities']
                  .split(',')
                  .map((code) => code.trim())
                  .filter((code) => code !== ''),
              }),
        } as OperatedCycleSettings;
        // A named county-level city reports as a city of its own; a code that is none would expect a city
        // that can never report.
        const divisions = loadDivisionRegistry();
        for (const code of settings.countyLevelCities ?? []) {
          if (divisions.kind(code) === 'countyLevelCity') continue;
          const name = divisions.name(code);
          throw new UsageError(
            `open refused: ${code}${name === undefined ? '' : ` ${name}`} is no county-level city of the registry`,
          );
        }
        for (const [name, value] of Object.entries({
          '--cycle': settings.cycle,
          '--catalogue': settings.catalogueVersion,
          '--opens-at': settings.opensAt,
          '--deadline': settings.deadline,
        }))
          if (value === undefined) throw new UsageError(`open needs ${name} (or --settings with it)`);
        const { book, cycle } = await runCyclesAdmin(options, { action: 'open', settings, actor });
        const opened = book.settingsOf(cycle as number);
        console.log(
          `opened cycle ${cycle} (catalogue ${opened?.catalogueVersion}): from ${opened?.opensAt}, deadline ${opened?.deadline}, ` +
            `closing ${opened?.closesAt ?? 'none'}`,
        );
        return 0;
      }
      case 'close':
      case 'reopen': {
        // close takes --at, reopen --closes-at: the moment the (re)opened cycle closes, if any.
        const change = action === 'close' ? 'close' : 'reopen';
        const cycle = yearArgument(positionals[0], change);
        const closesAt = change === 'close' ? values.at : values['closes-at'];
        const { book } = await runCyclesAdmin(options, {
          action: change,
          cycle,
          actor,
          ...(closesAt === undefined ? {} : { closesAt }),
        });
        const closing = book.settingsOf(cycle)?.closesAt;
        console.log(
          change === 'close'
            ? `cycle ${cycle} closes at ${closing}`
            : `reopened cycle ${cycle} (${actor.reason ?? ''}); closing ${closing ?? 'none'}`,
        );
        return 0;
      }
      case 'current': {
        const year = positionals[0] === undefined ? undefined : yearArgument(positionals[0], 'current');
        const { book, cycle } = await runCyclesAdmin(options, {
          action: 'current',
          ...(year === undefined ? {} : { cycle: year }),
          actor,
        });
        if (values.json)
          console.log(JSON.stringify({ cycle: cycle ?? null, designation: book.designated ?? null }));
        else if (year !== undefined) console.log(`the current cycle is now ${cycle}`);
        else
          console.log(
            cycle === undefined
              ? 'no current cycle'
              : `${cycle}${book.designated === undefined ? ' (not designated: the latest cycle opened)' : ''}`,
          );
        return 0;
      }
      case 'list': {
        const { book } = await runCyclesAdmin(options, { action: 'list' });
        if (values.json)
          console.log(
            JSON.stringify(
              book.settings().map((settings) => ({
                ...settings,
                current: settings.cycle === book.currentCycle(),
                actions: book.record(settings.cycle)?.actions ?? [],
              })),
              null,
              2,
            ),
          );
        else console.log(formatCycleList(book));
        return 0;
      }
      default:
        throw new UsageError(`unknown admin cycles action ${action}`);
    }
  } catch (error) {
    return refusedWith(error, CycleAdminError, 64);
  }
};

/** `admin reminders`: the cities to remind before a cycle's deadline, with their contacts. */
const remindersAdmin = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      cycle: { type: 'string' },
      days: { type: 'string', default: '14' },
      'coverage-below': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const cycle = yearArgument(values.cycle, 'reminders --cycle');
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 0)
    throw new UsageError(`--days ${values.days} is no whole number of days`);
  const coverageBelow = values['coverage-below'] === undefined ? undefined : Number(values['coverage-below']);
  if (coverageBelow !== undefined && !(coverageBelow > 0 && coverageBelow <= 1))
    throw new UsageError(`--coverage-below ${values['coverage-below']} is no share between 0 and 1`);
  const config = readConfig([
    'kafkaBrokers',
    'kafkaClientId',
    'topicReplicationFactor',
    'topicNamespace',
    'duckdbExtensionDirectory',
    ...objectStoreVariables,
  ]);
  const kafka = {
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    replicationFactor: config.topicReplicationFactor,
  };
  try {
    const report = await runRemindersAdmin(
      {
        cycles: { ...kafka, topic: cyclesTopic(config.topicNamespace) },
        credentials: kafka,
        lake: { extensionDirectory: config.duckdbExtensionDirectory, s3: objectStoreSettings(config) },
        bucket: config.s3Bucket,
      },
      { cycle, days, now: new Date(), ...(coverageBelow === undefined ? {} : { coverageBelow }) },
    );
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReminders(report, days));
    return 0;
  } catch (error) {
    return refusedWith(error, CycleAdminError, 64);
  }
};

/** The contact given as --contact-name/--contact-phone/--contact-email, or undefined when none is. */
const contactArguments = (values: {
  'contact-name'?: string | undefined;
  'contact-phone'?: string | undefined;
  'contact-email'?: string | undefined;
}): CredentialContact | undefined => {
  const { 'contact-name': name, 'contact-phone': phone, 'contact-email': email } = values;
  if (name === undefined && phone === undefined && email === undefined) return undefined;
  if (name === undefined) throw new UsageError('a contact needs --contact-name');
  return {
    name,
    ...(phone === undefined ? {} : { phone }),
    ...(email === undefined ? {} : { email }),
  };
};

const admin = async (args: string[]): Promise<number> => {
  const [area, action, ...rest] = args;
  if (area === 'cycles' && action !== undefined) return cyclesAdmin(action, rest);
  if (area === 'reminders') return remindersAdmin(action === undefined ? rest : [action, ...rest]);
  if (area !== 'credentials' || action === undefined)
    throw new UsageError(
      'admin knows: credentials issue|list|contact|rotate|revoke, cycles open|close|reopen|current|list, reminders',
    );
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      city: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      'contact-name': { type: 'string' },
      'contact-phone': { type: 'string' },
      'contact-email': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const contact = contactArguments(values);
  const config = readConfig(['kafkaBrokers', 'kafkaClientId', 'topicReplicationFactor']);
  const options = {
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    replicationFactor: config.topicReplicationFactor,
  };
  const idArgument = (): string => {
    const [id] = positionals;
    if (id === undefined) throw new UsageError(`${action} needs a credential id`);
    return id;
  };
  switch (action) {
    case 'issue': {
      const role = (values.role ?? 'city') as RoleName;
      if (role === 'city' && (values.city === undefined || !isCityCode(values.city))) {
        throw new UsageError(
          'issue needs --city with a six-digit city code, e.g. --city 110100 (or 640181 for a county-level city)',
        );
      }
      // Checked here, before Kafka is reached, so a wrong code is refused at once and names itself.
      const problem =
        credentialCodesProblem(role, values.city) ??
        (contact === undefined ? undefined : contactProblem(contact));
      if (problem !== undefined) throw new UsageError(`issue refused: ${problem}`);
      const result = await runCredentialsAdmin(options, {
        action: 'issue',
        role,
        ...(values.city === undefined ? {} : { cityCode: values.city }),
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(contact === undefined ? {} : { contact }),
      });
      if (result.action !== 'issue') return 2;
      const { record, token } = result.issued;
      if (values.json) console.log(JSON.stringify({ ...record, secretSha256: undefined, token }));
      else {
        console.log(
          `issued ${record.id} (${record.role}${record.cityCode === undefined ? '' : ` ${record.cityCode}`}, ${record.name})`,
        );
        console.log(
          'token, shown once: give it to the city over a secure channel and store it as CITYCHECK_TOKEN',
        );
        console.log(token);
      }
      return 0;
    }
    case 'list': {
      const result = await runCredentialsAdmin(options, { action: 'list' });
      if (result.action !== 'list') return 2;
      if (values.json)
        console.log(
          JSON.stringify(
            result.records.map(({ secretSha256: _, ...rest }) => rest),
            null,
            2,
          ),
        );
      else console.log(formatCredentialList(result.records));
      return 0;
    }
    case 'rotate': {
      const result = await runCredentialsAdmin(options, { action: 'rotate', id: idArgument() });
      if (result.action !== 'rotate') return 2;
      console.log(`rotated ${result.issued.record.id}: the previous token no longer works`);
      console.log('new token, shown once:');
      console.log(result.issued.token);
      return 0;
    }
    case 'contact': {
      if (contact === undefined) throw new UsageError('contact needs --contact-name and a phone or e-mail');
      const problem = contactProblem(contact);
      if (problem !== undefined) throw new UsageError(`contact refused: ${problem}`);
      const result = await runCredentialsAdmin(options, { action: 'contact', id: idArgument(), contact });
      if (result.action !== 'contact') return 2;
      console.log(`${result.record.id}: contact ${formatContact(result.record.contact)}`);
      return 0;
    }
    case 'revoke': {
      const result = await runCredentialsAdmin(options, { action: 'revoke', id: idArgument() });
      if (result.action !== 'revoke') return 2;
      console.log(`revoked ${result.record.id} at ${result.record.revokedAt ?? 'an earlier time'}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown admin credentials action ${action}`);
  }
};

const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'submit':
        return await submit(rest);
      case 'template':
        return await template(rest);
      case 'status':
        return isPipelineStatusCall(rest) ? await pipelineStatusCommand(rest) : await status(rest);
      case 'results':
        return await results(rest);
      case 'review':
        return await reviewCommand(rest);
      case 'rectify':
        return await rectifyCommand(rest);
      case 'query':
        return await queryCommand(rest);
      case 'tables':
        return await tablesCommand(rest);
      case 'admin':
        return await admin(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(usage);
        return command === undefined ? 64 : 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
    ) {
      console.error(`citycheck: ${(error as Error).message}\n\n${usage}`);
      return 64;
    }
    if (error instanceof SubmitFailed || error instanceof RetriesExhausted) {
      console.error(`citycheck: ${error.message}`);
      return 2;
    }
    console.error(`citycheck: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
};

process.exitCode = await main(process.argv.slice(2));
