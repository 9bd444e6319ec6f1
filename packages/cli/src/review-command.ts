// `citycheck review submit|return|approve|accept|reopen|show`: a city submits its cycle's data for review, its
// province's reviewer returns or approves them, the ministry's accepts them, either reopens them, and anyone
// who may read the city shows the review with its whole trail (ingest's /v1/reviews routes). Registered in
// main.ts. Exit codes: 0 done, 1 refused (not entitled, not possible in the review's state, a reason
// missing), 2 the run failed, 64 usage.
import { parseArgs } from 'node:util';
import { beijingTime } from '@citycheck/cycles';
import {
  actionNames,
  type ReviewActionName,
  type ReviewComment,
  type ReviewRecord,
  stateNames,
} from '@citycheck/reviews';
import { cityOptions, closeHttp } from './http.js';
import { CommandUsageError, callIngest, cycleArgument, isUsageError, refusalExit } from './ingest-call.js';
import { type CliLanguage, parseLanguage } from './language.js';

export const reviewUsage = `  citycheck review submit --cycle <year>                       (a city credential: its own city)
  citycheck review return --city <code> --cycle <year> (--reason TEXT | --comment "[unit][/indicator]: TEXT")...
  citycheck review approve|accept --city <code> --cycle <year> [--reason TEXT] [--comment ...]
  citycheck review reopen --city <code> --cycle <year> --reason TEXT
  citycheck review show --cycle <year> [--city <code>] [--json]
  (review: --url URL and --token TOKEN as for submit; --lang en for English)`;

const actions: readonly ReviewActionName[] = ['submit', 'return', 'approve', 'accept', 'reopen'];

/**
 * One `--comment`: `640104/D01: 人均公园绿地面积比上年下降一半`, or with the unit or the indicator alone
 * (`640104: ...`, `/D01: ...`), or only text when it names neither.
 */
export const parseComment = (raw: string): ReviewComment => {
  const match =
    /^\s*([1-9][0-9]{5}(?:[0-9]{3}(?:[0-9]{3})?)?)?(?:\/([A-Za-z][A-Za-z0-9.]*))?\s*[:：]\s*(.*)$/s.exec(raw);
  const named = match !== null && (match[1] !== undefined || match[2] !== undefined);
  const text = (named ? (match?.[3] ?? '') : raw).trim();
  if (text === '') throw new CommandUsageError(`--comment "${raw}" has no text`);
  return {
    text,
    ...(named && match?.[1] !== undefined ? { unit: match[1] } : {}),
    ...(named && match?.[2] !== undefined ? { indicator: match[2] } : {}),
  };
};

const stateNamesEn: Readonly<Record<ReviewRecord['state'], string>> = {
  draft: 'not submitted',
  submitted: 'submitted for review',
  returned: 'returned',
  approved: 'approved by the province',
  accepted: 'accepted by the ministry (locked)',
  reopened: 'reopened',
};

/** A review for people: its state, then one line per action (Beijing time in Chinese, UTC in English). */
export const formatReview = (review: ReviewRecord, language: CliLanguage): string => {
  const state = language === 'en' ? stateNamesEn[review.state] : stateNames[review.state];
  const lines = [
    language === 'en'
      ? `${review.cityCode} cycle ${review.cycle}: ${state} (${review.state})`
      : `${review.cityCode} ${review.cycle} 年度审核：${state}（${review.state}）`,
  ];
  for (const entry of review.actions) {
    const when = language === 'en' ? entry.at : `${beijingTime(entry.at)}（北京时间）`;
    const what = language === 'en' ? entry.action : actionNames[entry.action];
    lines.push(
      `  ${when}  ${what}  ${entry.by}${language === 'en' ? ` (${entry.role})` : `（${entry.role}）`}`,
    );
    if (entry.reason !== undefined)
      lines.push(`    ${language === 'en' ? 'reason: ' : '理由：'}${entry.reason}`);
    for (const comment of entry.comments ?? []) {
      const about = [comment.unit, comment.indicator].filter((part) => part !== undefined).join(' ');
      lines.push(
        `    ${language === 'en' ? 'comment: ' : '意见：'}${about === '' ? '' : `[${about}] `}${comment.text}`,
      );
    }
  }
  return lines.join('\n');
};

const cityOf = (raw: string | undefined, action: string): string => {
  if (raw === undefined || !/^[1-9][0-9]{5}$/.test(raw))
    throw new CommandUsageError(`review ${action} needs --city <six-digit code>, e.g. --city 640100`);
  return raw;
};

export const reviewCommand = async (args: string[]): Promise<number> => {
  const [action, ...rest] = args;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        city: { type: 'string' },
        cycle: { type: 'string' },
        reason: { type: 'string' },
        comment: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        ...cityOptions,
      },
    });
    if (action !== 'show' && !actions.includes(action as ReviewActionName))
      throw new CommandUsageError(
        `review knows: ${[...actions, 'show'].join(', ')}${action === undefined ? '' : ` (not ${action})`}`,
      );
    const language = parseLanguage(values.lang);
    if (language === undefined) throw new CommandUsageError(`--lang ${values.lang} is neither zh nor en`);
    const cycle = cycleArgument('review', values.cycle);
    let path: string;
    let body: Record<string, unknown> | undefined;
    if (action === 'show') {
      path = values.city === undefined ? `${cycle}` : `${cycle}/${cityOf(values.city, action)}`;
    } else if (action === 'submit') {
      // Ingest takes the city from the credential: a --city could only disagree with it.
      if (values.city !== undefined)
        throw new CommandUsageError("review submit acts for the credential's own city: leave out --city");
      path = `${cycle}/submit`;
    } else {
      path = `${cycle}/${cityOf(values.city, action as string)}/${action}`;
      const comments = (values.comment ?? []).map(parseComment);
      body = {
        ...(values.reason === undefined ? {} : { reason: values.reason }),
        ...(comments.length === 0 ? {} : { comments }),
      };
    }
    const answer = await callIngest({
      method: action === 'show' ? 'GET' : 'POST',
      path: `/v1/reviews/${path}`,
      language,
      url: values.url,
      token: values.token,
      ...(body === undefined ? {} : { json: body }),
    });
    if (answer.status !== 200) return refusalExit(answer);
    const review = answer.body as ReviewRecord;
    console.log(values.json ? JSON.stringify(review, null, 2) : formatReview(review, language));
    return 0;
  } catch (error) {
    if (isUsageError(error)) {
      console.error(`citycheck: ${(error as Error).message}\n\n${reviewUsage}`);
      return 64;
    }
    throw error;
  } finally {
    await closeHttp();
  }
};
