// `citycheck status` with no submission id: the pipeline status page at a terminal, read from the query
// service's GET /v1/status (CITYCHECK_QUERY_URL). `--json` prints the document; `--watch` redraws every 5 s.
import { parseArgs } from 'node:util';
import { readConfig } from '@citycheck/config';

/** The part of GET /v1/status the terminal shows (schemas/http/pipeline-status.v1.schema.json has the whole shape). */
export interface PipelineStatusDocument {
  readonly generatedAt: string;
  readonly windowSeconds: number;
  readonly stages: readonly {
    readonly name: string;
    readonly consumes: string;
    readonly produces: readonly string[];
    readonly inWindow: number;
    readonly perMinute: number;
    readonly lag?: number;
    readonly lagByPartition?: readonly { readonly partition: number; readonly lag: number }[];
  }[];
  readonly rejections: {
    readonly submissions: number;
    readonly inWindow: number;
    readonly byReason: readonly {
      readonly reason: string;
      readonly total: number;
      readonly inWindow: number;
    }[];
  };
  readonly completeness: {
    readonly cycle: number | null;
    readonly source: string;
    readonly provinces: readonly {
      readonly code: string;
      readonly name: string;
      readonly citiesReporting: number;
      readonly citiesExpected: number | null;
      readonly unitsReporting: number;
      readonly unitsExpected: number | null;
    }[];
  };
  readonly services: readonly { readonly name: string; readonly up: boolean }[];
  readonly problems: readonly string[];
}

export const pipelineStatusUsage =
  '  citycheck status [--json] [--watch] [--url QUERY_URL] [--token TOKEN]   (the pipeline, with an analyst credential; with a submissionId: that submission)';

/** `status` is the pipeline's when it names no submission id (only options). */
export const isPipelineStatusCall = (args: readonly string[]): boolean => {
  try {
    const { positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: false,
      // --lang belongs to the submission's status; named here so its value is not taken for an id.
      options: { url: { type: 'string' }, token: { type: 'string' }, lang: { type: 'string' } },
    });
    return positionals.length === 0;
  } catch {
    return false;
  }
};

const of = (reported: number, expected: number | null): string =>
  expected === null ? String(reported) : `${reported}/${expected}`;

/** The status as text: the flow, rejections by reason, then one line per province that reported. */
export const formatPipelineStatus = (status: PipelineStatusDocument): string => {
  const lines: string[] = [];
  lines.push(
    `citycheck pipeline, ${status.generatedAt} (rates over the last ${status.windowSeconds / 60} min)`,
  );
  lines.push('');
  lines.push(
    status.stages
      .map(
        (stage) =>
          `${stage.name} ${stage.perMinute}/min${stage.lag === undefined ? '' : ` (lag ${stage.lag})`}`,
      )
      .join('  ->  '),
  );
  for (const stage of status.stages) {
    const lag = stage.lagByPartition
      ?.map((partition) => `p${partition.partition}:${partition.lag}`)
      .join(' ');
    lines.push(
      `  ${stage.name.padEnd(10)} ${String(stage.inWindow).padStart(8)} in window  reads ${stage.consumes}` +
        (lag === undefined || lag === '' ? '' : `  lag ${lag}`),
    );
  }
  lines.push('');
  lines.push(
    `rejected: ${status.rejections.submissions} submissions, ${status.rejections.inWindow} in the window`,
  );
  for (const reason of status.rejections.byReason) {
    lines.push(
      `  ${reason.reason.padEnd(28)} ${String(reason.total).padStart(8)} ${String(reason.inWindow).padStart(8)} in window`,
    );
  }
  lines.push('');
  const { completeness } = status;
  if (completeness.cycle === null) lines.push('reporting: no cycle opened yet');
  else {
    const reporting = completeness.provinces.filter((province) => province.unitsReporting > 0);
    lines.push(
      `reporting, current cycle ${completeness.cycle}: ${reporting.length} of ${completeness.provinces.length} provinces (from ${completeness.source})`,
    );
    for (const province of reporting) {
      lines.push(
        `  ${province.code} ${province.name}  cities ${of(province.citiesReporting, province.citiesExpected)}` +
          `  ${province.unitsExpected === null ? 'units' : 'communities'} ${of(province.unitsReporting, province.unitsExpected)}`,
      );
    }
    const silent = completeness.provinces
      .filter((province) => province.unitsReporting === 0)
      .map((province) => province.code);
    if (silent.length > 0) lines.push(`  not reported yet: ${silent.join(' ')}`);
  }
  const down = status.services.filter((service) => !service.up).map((service) => service.name);
  if (down.length > 0) lines.push('', `no metrics from: ${down.join(', ')}`);
  for (const problem of status.problems) lines.push(`problem: ${problem}`);
  return lines.join('\n');
};

export const fetchPipelineStatus = async (url: string, token?: string): Promise<PipelineStatusDocument> => {
  const response = await fetch(`${url.replace(/\/+$/, '')}/v1/status`, {
    headers: token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`the query service answered ${response.status} for /v1/status`);
  return (await response.json()) as PipelineStatusDocument;
};

export const pipelineStatusCommand = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const config = readConfig(['citycheckQueryUrl', 'citycheckToken']);
  const url = values.url ?? config.citycheckQueryUrl;
  // The status needs an analyst credential (a provincial one sees its own province's reporting only).
  const token = values.token ?? config.citycheckToken;
  for (;;) {
    let text: string;
    try {
      const status = await fetchPipelineStatus(url, token);
      text = values.json ? JSON.stringify(status, null, 2) : formatPipelineStatus(status);
    } catch (error) {
      console.error(`citycheck: ${error instanceof Error ? error.message : String(error)} (${url})`);
      if (!values.watch) return 2;
      text = '';
    }
    if (!values.watch) {
      console.log(text);
      return 0;
    }
    process.stdout.write(`\u001b[2J\u001b[H${text}\n`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
};
