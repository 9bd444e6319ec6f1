// `citycheck status <submissionId>`: where one submission is, from ingest's GET /v1/submissions/{id}, for a
// person (Chinese by default) or, with --json, exactly as ingest answered. The exit code tells a script the
// outcome: 0 on its way or arrived, 1 rejected, 2 not received (refused at the door, or an unknown id) or
// the look-up failed.
import type { SubmissionState } from '@citycheck/contracts';
import { isErrorBody } from './answers.js';
import { type Answer, send } from './http.js';
import { acceptLanguage, type CliLanguage, problemValue } from './language.js';

export const statusExitCodes = { fine: 0, rejected: 1, failed: 2 } as const;

const statusNames: Readonly<Record<SubmissionState['status'], { zh: string; en: string }>> = {
  accepted: { zh: '已接收，等待校验', en: 'accepted, waiting for validation' },
  valid: { zh: '校验通过', en: 'valid' },
  rejected: { zh: '已驳回', en: 'rejected' },
  stored: { zh: '已入库', en: 'stored in the lake' },
  counted: { zh: '已计入汇总', en: 'counted in the rollups' },
};

export const unitLevelNames: Readonly<Record<string, { zh: string; en: string }>> = {
  community: { zh: '社区', en: 'community' },
  block: { zh: '街区', en: 'block' },
  housing: { zh: '住房', en: 'housing' },
  district: { zh: '区（县）', en: 'district' },
  city: { zh: '城市', en: 'city' },
  street: { zh: '街道', en: 'street' },
};

export const isSubmissionState = (body: unknown): body is SubmissionState =>
  typeof body === 'object' &&
  body !== null &&
  typeof (body as SubmissionState).submissionId === 'string' &&
  typeof (body as SubmissionState).status === 'string';

/** The exit code for ingest's answer: 0 on its way or arrived, 1 rejected, 2 anything else. */
export const statusExitCode = (answer: Answer): number => {
  if (answer.status !== 200 || !isSubmissionState(answer.body)) return statusExitCodes.failed;
  return answer.body.status === 'rejected' ? statusExitCodes.rejected : statusExitCodes.fine;
};

/** A submission's state as lines for a person: status, unit, receipt, then every problem. */
export const formatSubmissionState = (state: SubmissionState, language: CliLanguage): string => {
  const en = language === 'en';
  const name = statusNames[state.status];
  const lines = [
    en
      ? `submission ${state.submissionId}: ${name?.en ?? state.status} (${state.status})`
      : `报送 ${state.submissionId}：${name?.zh ?? state.status}（${state.status}）`,
  ];
  const unit =
    state.unit === undefined
      ? ''
      : en
        ? `, ${unitLevelNames[state.unit.level]?.en ?? state.unit.level} ${state.unit.code}`
        : `，${unitLevelNames[state.unit.level]?.zh ?? state.unit.level} ${state.unit.code}`;
  const cycle = state.cycle === undefined ? '' : en ? `, cycle ${state.cycle}` : `，${state.cycle} 年度`;
  lines.push(en ? `city ${state.cityCode}${cycle}${unit}` : `城市 ${state.cityCode}${cycle}${unit}`);
  if (state.receipt !== undefined) {
    const late = state.late === true ? (en ? ' (after the deadline)' : '（逾期报送）') : '';
    lines.push(
      en ? `received ${state.receipt.receivedAt}${late}` : `接收时间 ${state.receipt.receivedAt}${late}`,
    );
  }
  if (state.countedAt !== undefined)
    lines.push(en ? `counted since ${state.countedAt}` : `计入汇总时间 ${state.countedAt}`);
  lines.push(en ? `content hash ${state.contentHash}` : `内容哈希 ${state.contentHash}`);
  const problems = state.problems ?? [];
  if (problems.length > 0) {
    lines.push(en ? `${problems.length} problem(s):` : `问题 ${problems.length} 处：`);
    for (const problem of problems)
      lines.push(
        `  ${problem.pointer} ${problem.rule}: ${problem.message}${problemValue(problem.value, language)}`,
      );
    lines.push(
      en
        ? 'fix them and send the corrected submission under a new submissionId'
        : '请修正后以新的 submissionId 重新报送',
    );
  }
  return lines.join('\n');
};

/** What to tell a person when ingest answered with an error (or something that is no state). */
export const formatStatusFailure = (id: string, answer: Answer, language: CliLanguage): string => {
  const en = language === 'en';
  if (answer.status === 404)
    return en
      ? `submission ${id} was never received: ingest refused it at the door (the answer to its POST lists why), or the id is wrong`
      : `报送 ${id} 未被接收：提交时已被拒收（提交时的答复列出了原因），或编号有误`;
  if (answer.status === 403)
    return en
      ? `submission ${id} is another city's: this credential may not read it`
      : `报送 ${id} 属于其他城市，本凭证无权查看`;
  const detail = isErrorBody(answer.body)
    ? `${answer.body.error.code}: ${answer.body.error.message}`
    : `HTTP ${answer.status}`;
  return en ? `the status of ${id} could not be read (${detail})` : `无法查询报送 ${id} 的状态（${detail}）`;
};

export interface StatusOptions {
  /** Base URL of ingest. */
  readonly url: string;
  readonly token: string;
  readonly submissionId: string;
  readonly language: CliLanguage;
  readonly json: boolean;
}

/** Looks the submission up; what to print on stdout and stderr, and the exit code. */
export const runSubmissionStatus = async ({
  url,
  token,
  submissionId,
  language,
  json,
}: StatusOptions): Promise<{
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}> => {
  const answer = await send({
    method: 'GET',
    url: `${url.replace(/\/+$/, '')}/v1/submissions/${encodeURIComponent(submissionId)}`,
    headers: { authorization: `Bearer ${token}`, 'accept-language': acceptLanguage(language) },
  });
  const exitCode = statusExitCode(answer);
  if (json) return { stdout: JSON.stringify(answer.body ?? null, null, 2), stderr: '', exitCode };
  if (answer.status === 200 && isSubmissionState(answer.body))
    return { stdout: formatSubmissionState(answer.body, language), stderr: '', exitCode };
  return { stdout: '', stderr: formatStatusFailure(submissionId, answer, language), exitCode };
};
