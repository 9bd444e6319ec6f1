// The rectification routes of ingest: the city of a shortfall ledger item's unit plans its rectification,
// reports progress and attaches evidence (stored in the lake bucket under its SHA-256); a reviewer of the
// unit's province, or the ministry, verifies or returns it. Each action goes through the rectification state
// machine and is published on rectification.v1 (who, when, why) before it is answered. Reads are scoped as
// every read: a city its own units, a province's reviewers and analysts their province, the ministry all.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Catalogue } from '@citycheck/catalogue';
import { httpSchemas, schemaRef } from '@citycheck/contracts';
import { mayReadCity, type Principal } from '@citycheck/credentials';
import type { CycleBook } from '@citycheck/cycles';
import type { DivisionRegistry } from '@citycheck/divisions';
import { CitycheckError } from '@citycheck/errors';
import { checkedByHandler, principalOf } from '@citycheck/http';
import type { Producer } from '@citycheck/kafka';
import type { ObjectStore } from '@citycheck/lake';
import {
  evidenceContentTypes,
  evidenceObjectKey,
  identifiedItem,
  publishRectificationRecord,
  type RectificationActionName,
  type RectificationBook,
  type RectificationEvidence,
  type RectificationItem,
  type RectificationPlan,
  type RectificationRecord,
  type RectificationRequest,
  rectificationAction,
  rectificationKey,
  rectificationTopic,
} from '@citycheck/rectification';
import { placeUnit } from '@citycheck/rules';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { oneAtATime } from './one-at-a-time.js';
import { bodyEncodingOf, readWholeBody } from './request-body.js';
import { errorExample, errorResponse, rateLimited, unauthenticated } from './route-schemas.js';

export interface RectificationRoutesOptions {
  readonly rectification: RectificationBook;
  readonly producer: Producer;
  /** The lake bucket, where evidence files are stored. */
  readonly store: ObjectStore;
  readonly cycles: CycleBook;
  readonly catalogue: (version: string) => Catalogue | undefined;
  readonly divisions: () => DivisionRegistry;
  readonly topic?: string;
  readonly now?: () => Date;
  /** Largest evidence file. */
  readonly evidenceLimitBytes?: number;
  /** How long storing an evidence file may retry before the city is answered 503. */
  readonly storeRetryMs?: number;
}

/** 10 MiB: a phone's photo or a scanned report, with room to spare. */
export const defaultEvidenceLimitBytes = 10 * 1_048_576;

const rectification = schemaRef(httpSchemas.rectification);
const cycleParam = {
  type: 'string',
  pattern: '^20[0-9]{2}$',
  description: 'The cycle whose data found the shortfall.',
};
const itemParams = {
  type: 'object',
  required: ['cycle', 'unitLevel', 'unitCode', 'indicator'],
  properties: {
    cycle: cycleParam,
    unitLevel: { type: 'string', enum: ['housing', 'community', 'block', 'district', 'city'] },
    unitCode: {
      type: 'string',
      pattern: '^([0-9]{6}|[0-9]{12}|[0-9]{9}-[A-Za-z0-9_]{1,32})$',
      description:
        'community: 12 digits; district or city: 6; block or housing: street code, a dash and a local id.',
    },
    indicator: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]{1,32}$',
      description: 'Catalogue code of the indicator.',
    },
  },
};
const sha256Param = { type: 'string', pattern: '^[0-9a-f]{64}$' };

const example = {
  kind: 'rectification',
  cycle: 2025,
  provinceCode: '64',
  cityCode: '640100',
  unitLevel: 'district',
  unitCode: '640104',
  indicatorCode: 'D01',
  state: 'planned',
  plan: { measure: '新建口袋公园 3 处', department: '银川市园林局', targetDate: '2026-06-30' },
  evidence: [],
  actions: [
    {
      action: 'plan',
      by: '银川市住建局',
      credentialId: '5c2f0e9a1b3d4c6e',
      role: 'city',
      at: '2026-02-01T02:00:00.000Z',
      state: 'planned',
      plan: { measure: '新建口袋公园 3 处', department: '银川市园林局', targetDate: '2026-06-30' },
    },
  ],
};

const notFound = errorResponse('No such cycle, unit of the cycle or indicator of its catalogue.', {
  unknownUnit: errorExample(
    'not_found',
    '2025 年度没有 district 单元 640199（640199 is not a known division code）',
  ),
});
const readForbidden = errorResponse('The credential may not read this city.', {
  otherProvince: errorExample('forbidden', '此凭据不能查看城市 640100 的整改事项'),
});

const answered = (description: string, extra: Record<string, unknown> = {}) => ({
  200: {
    description,
    content: { 'application/json': { schema: rectification, examples: { planned: { value: example } } } },
  },
  401: unauthenticated,
  403: errorResponse('The credential may not take this action on this item.', {
    otherProvince: errorExample(
      'rectification_forbidden',
      '省级审核人员（65）只能核验本省城市的整改：640104 属于省份 64',
    ),
    selfVerification: errorExample(
      'rectification_forbidden',
      '城市不能核验本市的整改：核验由所在省的审核人员或部级审核人员进行',
    ),
  }),
  404: notFound,
  409: errorResponse("The item's state does not allow the action.", {
    noEvidence: errorExample(
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改尚无佐证材料，不能核验：须由 640100 先上传佐证材料',
    ),
  }),
  422: errorResponse('The action lacks what it needs, or what it gives is malformed.', {
    badDate: errorExample(
      'rectification_invalid',
      '整改计划完成时限（targetDate）须为真实的日期，写作 YYYY-MM-DD：“2026-02-30”不是',
    ),
  }),
  429: rateLimited,
  ...extra,
});

const noteBody = schemaRef(httpSchemas.rectificationNote);
const actionRoutes: Readonly<
  Record<Exclude<RectificationActionName, 'evidence'>, { summary: string; body: Record<string, unknown> }>
> = {
  plan: {
    summary: "Set the item's plan: measure, responsible department, target date (the unit's city)",
    body: schemaRef(httpSchemas.rectificationPlan),
  },
  progress: { summary: "Report progress on the item, with a note (the unit's city)", body: noteBody },
  verify: {
    summary: "Verify the item rectified, once it has evidence (its province's reviewer or the ministry)",
    body: noteBody,
  },
  return: {
    summary: "Return the item to the city, with the reason in note (its province's reviewer or the ministry)",
    body: noteBody,
  },
};

const actionSchema = (action: RectificationActionName, summary: string, extra: Record<string, unknown>) => ({
  tags: ['rectification'],
  operationId: `${action}Rectification`,
  summary,
  params: itemParams,
  ...extra,
  response: answered('The item as it now stands.'),
});

const evidenceSchema = actionSchema(
  'evidence',
  "Attach a photo or document to the item as evidence (the unit's city): the raw bytes as the body",
  {
    description:
      'The body is the file itself, as image/jpeg, image/png or application/pdf, at most 10 MiB; its name in the ' +
      'X-File-Name header (percent-encoded UTF-8, as encodeURIComponent gives it) or the fileName query parameter. ' +
      'The file is stored in the lake bucket under evidence/cycle=<cycle>/city_code=<city>/<sha256> and the item ' +
      'records its SHA-256, size, type and name. The same file twice on one item is refused.',
    querystring: {
      type: 'object',
      properties: { fileName: { type: 'string', minLength: 1, maxLength: 255 } },
    },
    // The handler reads the bytes: the file is not JSON for a schema to check.
    body: {
      content: Object.fromEntries(
        evidenceContentTypes.map((type) => [
          type,
          { schema: checkedByHandler({ type: 'string', format: 'binary' }) },
        ]),
      ),
    },
  },
);

const getItemSchema = {
  tags: ['rectification'],
  operationId: 'getRectification',
  summary:
    'A ledger item: its state, plan, evidence and every action on it (identified when nobody acted yet)',
  params: itemParams,
  response: {
    200: answered('The item.')[200],
    401: unauthenticated,
    403: readForbidden,
    404: notFound,
    429: rateLimited,
  },
};

const listSchema = {
  tags: ['rectification'],
  operationId: 'listRectification',
  summary: 'The ledger items acted on that the credential may read, of a cycle and a city if named',
  querystring: {
    type: 'object',
    properties: {
      cycle: { type: 'string', pattern: '^20[0-9]{2}$' },
      city: { type: 'string', pattern: '^[1-9][0-9]{5}$' },
    },
  },
  response: {
    200: {
      description: 'The items, ordered by cycle, city, unit level, unit and indicator.',
      content: { 'application/json': { schema: schemaRef(httpSchemas.rectificationList) } },
    },
    401: unauthenticated,
    403: readForbidden,
    429: rateLimited,
  },
};

const getEvidenceSchema = {
  tags: ['rectification'],
  operationId: 'getRectificationEvidence',
  summary: 'An evidence file of the item, as the city sent it (its SHA-256 checked before it is answered)',
  params: {
    ...itemParams,
    required: [...itemParams.required, 'sha256'],
    properties: { ...itemParams.properties, sha256: sha256Param },
  },
  response: {
    200: {
      description: 'The file, with its type; Content-Disposition names it, X-Content-SHA256 gives its hash.',
      content: Object.fromEntries(
        evidenceContentTypes.map((type) => [type, { schema: { type: 'string', format: 'binary' } }]),
      ),
    },
    401: unauthenticated,
    403: readForbidden,
    404: notFound,
    429: rateLimited,
  },
};

interface ItemParams {
  readonly cycle: string;
  readonly unitLevel: string;
  readonly unitCode: string;
  readonly indicator: string;
}

/** An evidence body, read whole within its limit. */
class EvidenceBody {
  constructor(
    readonly contentType: string,
    readonly bytes: Buffer,
  ) {}
}

const mediaTypeOf = (header: string | undefined): string =>
  (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

const fileNameOf = (request: FastifyRequest): string => {
  const fromQuery = (request.query as { fileName?: string } | undefined)?.fileName;
  const header = request.headers['x-file-name'];
  const raw = fromQuery ?? (typeof header === 'string' ? header : undefined);
  if (raw === undefined || raw.trim() === '')
    throw new CitycheckError(
      'rectification_invalid',
      '佐证材料需要文件名：在 X-File-Name 头（UTF-8 百分号编码）或 ?fileName= 中给出',
    );
  if (fromQuery !== undefined) return fromQuery.trim();
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    throw new CitycheckError('rectification_invalid', `X-File-Name 不是有效的百分号编码：${raw}`);
  }
};

export const rectificationRoutes = async (
  v1: FastifyInstance,
  {
    rectification: book,
    producer,
    store,
    cycles,
    catalogue,
    divisions,
    topic = rectificationTopic(),
    now = () => new Date(),
    evidenceLimitBytes = defaultEvidenceLimitBytes,
    storeRetryMs = 10_000,
  }: RectificationRoutesOptions,
): Promise<void> => {
  const serially = oneAtATime();

  // Evidence arrives as the file itself. These parsers are this plugin's alone: elsewhere an image is a 415.
  v1.addContentTypeParser([...evidenceContentTypes], async (request: FastifyRequest, payload: Readable) => {
    const contentLength = Number(request.headers['content-length']);
    const bytes = await readWholeBody(payload, {
      encoding: bodyEncodingOf(request.headers['content-encoding']),
      limitBytes: evidenceLimitBytes,
      ...(Number.isSafeInteger(contentLength) ? { contentLength } : {}),
      tooLargeHint: `佐证材料最大 ${evidenceLimitBytes} 字节：请压缩图片或拆分文档`,
    });
    return new EvidenceBody(mediaTypeOf(request.headers['content-type']), bytes);
  });

  // Any other type is refused before its body is read, saying what is taken.
  v1.addContentTypeParser('*', async (request: FastifyRequest) => {
    const type = mediaTypeOf(request.headers['content-type']);
    throw new CitycheckError(
      'unsupported_media_type',
      request.url.split('?')[0]?.endsWith('/evidence')
        ? `佐证材料须为 JPEG 或 PNG 图片、PDF 文档，以文件本身作为请求体（Content-Type 为 ${evidenceContentTypes.join('、')} 之一）：不接受 ${type}`
        : `请求体须为 JSON（application/json）：不接受 ${type}`,
    );
  });

  /** The item a path names, checked against the cycle's registry and catalogue; 404 with why when it is none. */
  const itemOf = (params: ItemParams): RectificationItem => {
    const cycle = Number(params.cycle);
    const settings = cycles.settingsOf(cycle);
    if (settings === undefined) throw new CitycheckError('not_found', `没有 ${cycle} 年度的体检周期`);
    const placed = placeUnit(
      params.unitLevel as Parameters<typeof placeUnit>[0],
      params.unitCode,
      divisions(),
      new Set(settings.countyLevelCities ?? []),
    );
    if (placed.problem !== undefined)
      throw new CitycheckError(
        'not_found',
        `${cycle} 年度没有 ${params.unitLevel} 单元 ${params.unitCode}（${placed.problem}）`,
      );
    const cityCode = placed.cityCode;
    if (cityCode === undefined)
      throw new CitycheckError(
        'not_found',
        `单元 ${params.unitCode} 在 ${cycle} 年度不属于任何参加体检的城市`,
      );
    const version = settings.catalogueVersion;
    const indicator = catalogue(version)?.indicators.get(params.indicator);
    if (indicator === undefined)
      throw new CitycheckError(
        'not_found',
        `${cycle} 年度的指标体系（${version}）中没有指标 ${params.indicator}`,
      );
    if (!indicator.unitLevels.includes(params.unitLevel as (typeof indicator.unitLevels)[number]))
      throw new CitycheckError(
        'not_found',
        `指标 ${params.indicator}（${indicator.nameZh}）不在 ${params.unitLevel} 一级填报：只在 ${indicator.unitLevels.join('、')}`,
      );
    return {
      cycle,
      cityCode,
      unitLevel: params.unitLevel,
      unitCode: params.unitCode,
      indicatorCode: params.indicator,
    };
  };

  const readable = (principal: Principal, item: RectificationItem): RectificationRecord => {
    if (!mayReadCity(principal, item.cityCode))
      throw new CitycheckError('forbidden', `此凭据不能查看城市 ${item.cityCode} 的整改事项`);
    return book.item(item) ?? identifiedItem(item);
  };

  /**
   * Takes one action: the machine's refusal, or the record published (after `before`, which stores an
   * evidence file) and applied. `before` runs only once the machine allowed the action.
   */
  const act = (
    request: FastifyRequest,
    item: RectificationItem,
    action: RectificationActionName,
    extra: Pick<RectificationRequest, 'note' | 'plan' | 'evidence'>,
    before: () => Promise<void> = async () => undefined,
  ): Promise<RectificationRecord> =>
    serially(rectificationKey(item), async () => {
      const principal = principalOf(request);
      const outcome = rectificationAction(book.item(item), {
        ...item,
        action,
        by: principal,
        at: now(),
        ...extra,
      });
      if (!outcome.ok) throw new CitycheckError(outcome.refusal.code, outcome.refusal.message);
      await before();
      await publishRectificationRecord(producer, outcome.record, topic);
      // Applied at once, so the next request to this instance sees it before the follower brings it back.
      book.apply(rectificationKey(item), outcome.record);
      request.outcome = {
        message: `rectification ${action}`,
        fields: {
          key: rectificationKey(item),
          state: outcome.record.state,
          credentialId: principal.credentialId,
        },
      };
      return outcome.record;
    });

  v1.get('/rectification', { schema: listSchema }, async (request) => {
    const principal = principalOf(request);
    const query = request.query as { cycle?: string; city?: string };
    if (query.city !== undefined && !mayReadCity(principal, query.city))
      throw new CitycheckError('forbidden', `此凭据不能查看城市 ${query.city} 的整改事项`);
    const cycle = query.cycle === undefined ? undefined : Number(query.cycle);
    return {
      items: book.where(
        (record) =>
          mayReadCity(principal, record.cityCode) &&
          (cycle === undefined || record.cycle === cycle) &&
          (query.city === undefined || record.cityCode === query.city),
      ),
    };
  });

  const itemPath = '/rectification/:cycle/:unitLevel/:unitCode/:indicator';
  v1.get(itemPath, { schema: getItemSchema }, async (request) =>
    readable(principalOf(request), itemOf(request.params as ItemParams)),
  );

  for (const [action, { summary, body }] of Object.entries(actionRoutes) as [
    Exclude<RectificationActionName, 'evidence'>,
    { summary: string; body: Record<string, unknown> },
  ][]) {
    v1.post(`${itemPath}/${action}`, { schema: actionSchema(action, summary, { body }) }, async (request) => {
      const given = (request.body ?? {}) as { note?: string } & Partial<RectificationPlan>;
      const extra =
        action === 'plan'
          ? {
              plan: {
                measure: given.measure ?? '',
                department: given.department ?? '',
                targetDate: given.targetDate ?? '',
              },
            }
          : given.note === undefined
            ? {}
            : { note: given.note };
      return act(request, itemOf(request.params as ItemParams), action, extra);
    });
  }

  v1.post(`${itemPath}/evidence`, { schema: evidenceSchema }, async (request) => {
    const item = itemOf(request.params as ItemParams);
    const body = request.body;
    if (!(body instanceof EvidenceBody))
      throw new CitycheckError(
        'unsupported_media_type',
        `佐证材料须为 JPEG 或 PNG 图片、PDF 文档，以文件本身作为请求体，Content-Type 为 ${evidenceContentTypes.join('、')} 之一`,
      );
    const sha256 = createHash('sha256').update(body.bytes).digest('hex');
    const evidence: RectificationEvidence = {
      sha256,
      bytes: body.bytes.length,
      contentType: body.contentType,
      fileName: fileNameOf(request),
      objectKey: evidenceObjectKey(item.cycle, item.cityCode, sha256),
    };
    // Stored once the machine allows it: a refused upload leaves nothing in the bucket. The key is the
    // content's hash, so a retried upload overwrites the same object with the same bytes.
    return act(request, item, 'evidence', { evidence }, () =>
      store.put(evidence.objectKey, body.bytes, evidence.contentType, { maxElapsedMs: storeRetryMs }),
    );
  });

  v1.get(`${itemPath}/evidence/:sha256`, { schema: getEvidenceSchema }, async (request, reply) => {
    const params = request.params as ItemParams & { sha256: string };
    const record = readable(principalOf(request), itemOf(params));
    const evidence = record.evidence.find((attached) => attached.sha256 === params.sha256);
    if (evidence === undefined)
      throw new CitycheckError('not_found', `该整改事项没有 sha256 为 ${params.sha256} 的佐证材料`);
    const bytes = await store.get(evidence.objectKey, { maxElapsedMs: storeRetryMs });
    if (bytes === undefined)
      throw new CitycheckError('lake_object_missing', `佐证材料 ${evidence.objectKey} 不在对象存储中`);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== evidence.sha256)
      throw new CitycheckError(
        'internal',
        `佐证材料 ${evidence.objectKey} 的内容与其 sha256 不符（存储中为 ${actual}）`,
      );
    return reply
      .header('content-type', evidence.contentType)
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(evidence.fileName)}`)
      .header('x-content-sha256', evidence.sha256)
      .send(Buffer.from(bytes));
  });
};
