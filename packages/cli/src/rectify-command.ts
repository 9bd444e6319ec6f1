// `citycheck rectify list|show|download|plan|progress|evidence|verify|return`: the city of a shortfall ledger
// item's unit plans its rectification (整改), reports progress and attaches evidence; its province's reviewer
// or the ministry verifies or returns it; anyone who may read the city lists its items, shows one with its
// whole trail, or downloads an evidence file to look at before verifying (ingest's /v1/rectification routes). Registered in main.ts. Exit codes: 0 done, 1 refused (not
// entitled, not possible in the item's state, something missing or malformed), 2 the run failed, 64 usage.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { beijingTime } from '@citycheck/cycles';
import {
  type RectificationActionName,
  type RectificationRecord,
  type RectificationState,
  rectificationActionLabels,
  rectificationStateNames,
} from '@citycheck/rectification';
import { rectificationStateNamesEn } from './city-results.js';
import { cityOptions, closeHttp } from './http.js';
import { CommandUsageError, callIngest, cycleArgument, isUsageError, refusalExit } from './ingest-call.js';
import { type CliLanguage, parseLanguage } from './language.js';

export const rectifyUsage = `  citycheck rectify list --cycle <year> [--city <code>] [--json]
  citycheck rectify show --cycle <year> --unit <code> --indicator <code> [--level <level>] [--json]
  citycheck rectify download ... --sha256 HASH [--out PATH]   (an evidence file; PATH: its own name here)
  citycheck rectify plan ... --measure TEXT --department TEXT --target-date YYYY-MM-DD   (the unit's city)
  citycheck rectify progress ... --note TEXT                                             (the unit's city)
  citycheck rectify evidence ... --file PATH.jpg|.png|.pdf                               (the unit's city)
  citycheck rectify verify ... [--note TEXT]            (a reviewer of the unit's province, or the ministry)
  citycheck rectify return ... --note REASON            (a reviewer of the unit's province, or the ministry)
  (... is --cycle <year> --unit <code> --indicator <code>; --level is read from the code when it can be:
   12 digits community, six ending 00 city, other six district; a block or housing unit needs --level.
   rectify: --url URL and --token TOKEN as for submit; --lang en for English)`;

const actions: readonly RectificationActionName[] = ['plan', 'progress', 'evidence', 'verify', 'return'];
const levels = ['housing', 'community', 'block', 'district', 'city'] as const;

/** The level of a unit code when the code alone says it (block and housing units share one shape). */
export const unitLevelOf = (unitCode: string, named: string | undefined): string => {
  if (named !== undefined) {
    if (!(levels as readonly string[]).includes(named))
      throw new CommandUsageError(`--level ${named} is none of ${levels.join(', ')}`);
    return named;
  }
  if (/^[0-9]{12}$/.test(unitCode)) return 'community';
  if (/^[1-9][0-9]{3}00$/.test(unitCode)) return 'city';
  if (/^[1-9][0-9]{5}$/.test(unitCode)) return 'district';
  if (/^[0-9]{9}-[A-Za-z0-9_]{1,32}$/.test(unitCode))
    throw new CommandUsageError(`--unit ${unitCode} is a block or a housing unit: say which with --level`);
  throw new CommandUsageError(
    `--unit ${unitCode} is no unit code (12 digits, 6 digits, or a street code, a dash and a local id)`,
  );
};

const evidenceTypes: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.pdf': 'application/pdf',
};

/** The content type a file is sent as, from its extension. */
export const evidenceTypeOf = (file: string): string => {
  const type = evidenceTypes[extname(file).toLowerCase()];
  if (type === undefined)
    throw new CommandUsageError(
      `--file ${file}: evidence is a photo or a document: .jpg, .jpeg, .png or .pdf`,
    );
  return type;
};

const stateText = (state: RectificationState, language: CliLanguage): string =>
  language === 'en' ? rectificationStateNamesEn[state] : rectificationStateNames[state];

/** An item for people: its state, plan and evidence, then one line per action (Beijing time in Chinese, UTC in English). */
export const formatRectification = (record: RectificationRecord, language: CliLanguage): string => {
  const en = language === 'en';
  const state = stateText(record.state, language);
  const lines = [
    en
      ? `${record.unitLevel} ${record.unitCode} of ${record.cityCode}, indicator ${record.indicatorCode}, cycle ${record.cycle}: ${state} (${record.state})`
      : `${record.cycle} 年度 ${record.cityCode} ${record.unitLevel} ${record.unitCode} 指标 ${record.indicatorCode}：${state}（${record.state}）`,
  ];
  if (record.plan !== undefined)
    lines.push(
      en
        ? `  plan: ${record.plan.measure}; department ${record.plan.department}; due ${record.plan.targetDate}`
        : `  整改计划：${record.plan.measure}；责任部门 ${record.plan.department}；完成时限 ${record.plan.targetDate}`,
    );
  for (const file of record.evidence)
    lines.push(
      en
        ? `  evidence: ${file.fileName} (${file.contentType}, ${file.bytes} bytes, sha256 ${file.sha256})`
        : `  佐证材料：${file.fileName}（${file.contentType}，${file.bytes} 字节，sha256 ${file.sha256}）`,
    );
  for (const entry of record.actions) {
    const when = en ? entry.at : `${beijingTime(entry.at)}（北京时间）`;
    const what = en ? entry.action : rectificationActionLabels[entry.action];
    lines.push(`  ${when}  ${what}  ${entry.by}${en ? ` (${entry.role})` : `（${entry.role}）`}`);
    if (entry.note !== undefined) lines.push(`    ${en ? 'note: ' : '说明：'}${entry.note}`);
  }
  return lines.join('\n');
};

/** A list for people: one line per item, with its state, due date and evidence count. */
export const formatRectificationList = (
  records: readonly RectificationRecord[],
  language: CliLanguage,
): string => {
  const en = language === 'en';
  if (records.length === 0) return en ? 'no item acted on' : '没有已开始整改的事项';
  return records
    .map((record) =>
      [
        record.cycle,
        record.cityCode,
        `${record.unitLevel} ${record.unitCode}`,
        record.indicatorCode,
        stateText(record.state, language),
        record.plan === undefined ? '-' : `${en ? 'due ' : '完成时限 '}${record.plan.targetDate}`,
        `${en ? 'evidence ' : '佐证 '}${record.evidence.length}`,
      ].join('  '),
    )
    .join('\n');
};

const needed = (value: string | undefined, option: string, action: string): string => {
  if (value === undefined || value.trim() === '')
    throw new CommandUsageError(`rectify ${action} needs --${option}`);
  return value;
};

/**
 * Downloads one evidence file of an item to `out` (default: the file's own name in the working directory),
 * after checking its bytes against the SHA-256 it was attached under; a file that does not match is not
 * written. Returns the exit code.
 */
const downloadEvidence = async (
  connection: Pick<Parameters<typeof callIngest>[0], 'language' | 'url' | 'token'>,
  item: string,
  sha256: string,
  out: string | undefined,
): Promise<number> => {
  if (!/^[0-9a-f]{64}$/.test(sha256))
    throw new CommandUsageError(`--sha256 ${sha256} is not a SHA-256 (64 lowercase hex digits)`);
  const answer = await callIngest({
    ...connection,
    method: 'GET',
    path: `${item}/evidence/${sha256}`,
    binary: true,
  });
  if (answer.status !== 200) return refusalExit(answer);
  const bytes = answer.body as Buffer;
  const en = connection.language === 'en';
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    console.error(
      en
        ? `citycheck: the downloaded file's SHA-256 is ${actual}, not ${sha256}: not written`
        : `citycheck：下载的文件 sha256 为 ${actual}，与 ${sha256} 不符，未保存`,
    );
    return 2;
  }
  const disposition = String(answer.headers['content-disposition'] ?? '');
  const named = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
  const path = out ?? (named === undefined ? sha256 : basename(decodeURIComponent(named)));
  await writeFile(path, bytes);
  console.log(
    en
      ? `${path}: ${bytes.byteLength} bytes, sha256 ${sha256}`
      : `${path}：${bytes.byteLength} 字节，sha256 ${sha256}`,
  );
  return 0;
};

export const rectifyCommand = async (args: string[]): Promise<number> => {
  const [action, ...rest] = args;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        city: { type: 'string' },
        cycle: { type: 'string' },
        unit: { type: 'string' },
        level: { type: 'string' },
        indicator: { type: 'string' },
        measure: { type: 'string' },
        department: { type: 'string' },
        'target-date': { type: 'string' },
        note: { type: 'string' },
        file: { type: 'string' },
        sha256: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean', default: false },
        ...cityOptions,
      },
    });
    if (
      action !== 'list' &&
      action !== 'show' &&
      action !== 'download' &&
      !actions.includes(action as RectificationActionName)
    )
      throw new CommandUsageError(
        `rectify knows: list, show, download, ${actions.join(', ')}${action === undefined ? '' : ` (not ${action})`}`,
      );
    const language = parseLanguage(values.lang);
    if (language === undefined) throw new CommandUsageError(`--lang ${values.lang} is neither zh nor en`);
    const cycle = cycleArgument('rectify', values.cycle);
    const connection = { language, url: values.url, token: values.token };
    if (action === 'list') {
      if (values.city !== undefined && !/^[1-9][0-9]{5}$/.test(values.city))
        throw new CommandUsageError(`--city ${values.city} is not a six-digit city code`);
      const answer = await callIngest({
        ...connection,
        method: 'GET',
        path: `/v1/rectification?cycle=${cycle}${values.city === undefined ? '' : `&city=${values.city}`}`,
      });
      if (answer.status !== 200) return refusalExit(answer);
      const { items } = answer.body as { items: RectificationRecord[] };
      console.log(
        values.json ? JSON.stringify(answer.body, null, 2) : formatRectificationList(items, language),
      );
      return 0;
    }
    const unit = needed(values.unit, 'unit <code>', String(action));
    const indicator = needed(values.indicator, 'indicator <code>', String(action));
    const item = `/v1/rectification/${cycle}/${unitLevelOf(unit, values.level)}/${encodeURIComponent(unit)}/${encodeURIComponent(indicator)}`;
    if (action === 'download')
      return await downloadEvidence(
        connection,
        item,
        needed(values.sha256, 'sha256 HASH', action),
        values.out,
      );
    let call: Parameters<typeof callIngest>[0];
    if (action === 'show') call = { ...connection, method: 'GET', path: item };
    else if (action === 'plan')
      call = {
        ...connection,
        method: 'POST',
        path: `${item}/plan`,
        json: {
          measure: needed(values.measure, 'measure TEXT', action),
          department: needed(values.department, 'department TEXT', action),
          targetDate: needed(values['target-date'], 'target-date YYYY-MM-DD', action),
        },
      };
    else if (action === 'evidence') {
      const file = needed(values.file, 'file PATH', action);
      const contentType = evidenceTypeOf(file);
      call = {
        ...connection,
        method: 'POST',
        path: `${item}/evidence`,
        raw: {
          bytes: await readFile(file),
          contentType,
          headers: { 'x-file-name': encodeURIComponent(basename(file)) },
        },
      };
    } else {
      const note = action === 'verify' ? values.note : needed(values.note, 'note TEXT', action as string);
      call = {
        ...connection,
        method: 'POST',
        path: `${item}/${action}`,
        json: note === undefined ? {} : { note },
      };
    }
    const answer = await callIngest(call);
    if (answer.status !== 200) return refusalExit(answer);
    const record = answer.body as RectificationRecord;
    console.log(values.json ? JSON.stringify(record, null, 2) : formatRectification(record, language));
    return 0;
  } catch (error) {
    if (isUsageError(error)) {
      console.error(`citycheck: ${(error as Error).message}\n\n${rectifyUsage}`);
      return 64;
    }
    throw error;
  } finally {
    await closeHttp();
  }
};
