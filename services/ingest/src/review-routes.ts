// The review routes of ingest: a city submits its cycle's data for review and reads its review; reviewers
// return, approve, accept or reopen a city's review. Each action goes through the reviews state machine and
// is published on reviews.v1 (who, when, why) before it is answered.
import { httpSchemas, schemaRef } from '@citycheck/contracts';
import { mayReadCity } from '@citycheck/credentials';
import { CitycheckError } from '@citycheck/errors';
import { principalOf } from '@citycheck/http';
import type { Producer } from '@citycheck/kafka';
import {
  draftReview,
  publishReviewRecord,
  type ReviewActionName,
  type ReviewBook,
  type ReviewComment,
  type ReviewRecord,
  reviewAction,
  reviewKey,
  reviewsTopic,
} from '@citycheck/reviews';
import type { FastifyInstance } from 'fastify';
import { oneAtATime } from './one-at-a-time.js';
import { errorExample, errorResponse, rateLimited, unauthenticated } from './route-schemas.js';

export interface ReviewRoutesOptions {
  readonly reviews: ReviewBook;
  readonly producer: Producer;
  readonly topic?: string;
  readonly now?: () => Date;
}

const review = schemaRef(httpSchemas.review);
// Path parameters are strings (the validator does not coerce): a four-digit year.
const cycleParam = { type: 'string', pattern: '^20[0-9]{2}$', description: 'The cycle (year), e.g. 2025.' };
const cityParam = { type: 'string', pattern: '^[1-9][0-9]{5}$' };

const reviewExample = {
  kind: 'review',
  cycle: 2025,
  cityCode: '640100',
  state: 'returned',
  actions: [
    {
      action: 'submit',
      by: '银川市住建局',
      credentialId: '5c2f0e9a1b3d4c6e',
      role: 'city',
      at: '2026-01-10T02:00:00.000Z',
      state: 'submitted',
    },
    {
      action: 'return',
      by: '宁夏住建厅',
      credentialId: '7a1e3c5d9b2f4e60',
      role: 'reviewer:province:64',
      at: '2026-01-12T01:00:00.000Z',
      state: 'returned',
      comments: [{ text: '人均公园绿地面积比上年下降一半，请核实', unit: '640104', indicator: 'D01' }],
    },
  ],
};

const answered = (description: string) => ({
  200: {
    description,
    content: { 'application/json': { schema: review, examples: { returned: { value: reviewExample } } } },
  },
  401: unauthenticated,
  403: errorResponse('The credential may not take this action on this city.', {
    otherProvince: errorExample('forbidden', '省级审核人员（65）只能通过本省的城市：640100 属于省份 64'),
    selfApproval: errorExample('forbidden', '城市不能通过本市的数据：通过由所在省的审核人员进行'),
  }),
  409: errorResponse("The review's state does not allow the action.", {
    draft: errorExample(
      'review_transition_refused',
      '640100 的 2025 年度审核状态为“未提交”，不能通过：只有“已提交审核”状态下可以通过',
    ),
  }),
  422: errorResponse('The action lacks its reason or comments.', {
    noReason: errorExample('review_invalid', '重新开放需要说明理由（reason）'),
  }),
  429: rateLimited,
});

const submitReviewSchema = {
  tags: ['reviews'],
  operationId: 'submitForReview',
  summary: "Declare the city's data for a cycle complete: submit them for its province's review",
  params: { type: 'object', required: ['cycle'], properties: { cycle: cycleParam } },
  response: answered('The review as it now stands (state submitted).'),
};

const getReviewSchema = {
  tags: ['reviews'],
  operationId: 'getReview',
  summary: "The city's review for a cycle: its state and every action on it",
  params: { type: 'object', required: ['cycle'], properties: { cycle: cycleParam } },
  response: {
    200: answered('The review (a draft with no actions when nobody has acted on it).')[200],
    401: unauthenticated,
    429: rateLimited,
  },
};

const getCityReviewSchema = {
  tags: ['reviews'],
  operationId: 'getCityReview',
  summary:
    "A city's review for a cycle, for its province's reviewers and analysts, the ministry and operators (a city: its own)",
  params: {
    type: 'object',
    required: ['cycle', 'city'],
    properties: { cycle: cycleParam, city: cityParam },
  },
  response: {
    200: answered('The review (a draft with no actions when nobody has acted on it).')[200],
    401: unauthenticated,
    403: errorResponse('The credential may not read this city.', {
      otherProvince: errorExample('forbidden', 'this credential may not read the review of city 650100'),
    }),
    429: rateLimited,
  },
};

const reviewerActionSchema = (action: Exclude<ReviewActionName, 'submit'>, summary: string) => ({
  tags: ['reviews'],
  operationId: `${action}Review`,
  summary,
  params: {
    type: 'object',
    required: ['cycle', 'city'],
    properties: { cycle: cycleParam, city: cityParam },
  },
  body: schemaRef(httpSchemas.reviewRequest),
  response: answered('The review as it now stands.'),
});

const reviewerActions: Readonly<Record<Exclude<ReviewActionName, 'submit'>, string>> = {
  return: "Return a city's data to it, with a reason or comments naming units and indicators (its province)",
  approve: "Approve a city's submitted data (its province)",
  accept: "Accept a city's approved data, locking them for the cycle (the ministry)",
  reopen: "Reopen a city's accepted data, with a reason (its province or the ministry)",
};

export const reviewRoutes = async (
  v1: FastifyInstance,
  { reviews, producer, topic = reviewsTopic(), now = () => new Date() }: ReviewRoutesOptions,
): Promise<void> => {
  // One action at a time per review on this instance, so two concurrent actions cannot both start from the
  // same state.
  const serially = oneAtATime();

  const act = (
    request: Parameters<typeof principalOf>[0],
    action: ReviewActionName,
    cycle: number,
    cityCode: string,
    body: { reason?: string; comments?: ReviewComment[] } | undefined,
  ): Promise<ReviewRecord> =>
    serially(reviewKey(cycle, cityCode), async () => {
      const outcome = reviewAction(reviews.review(cycle, cityCode), {
        action,
        cycle,
        cityCode,
        by: principalOf(request),
        at: now(),
        ...(body?.reason === undefined ? {} : { reason: body.reason }),
        ...(body?.comments === undefined ? {} : { comments: body.comments }),
      });
      if (!outcome.ok)
        throw new CitycheckError(
          outcome.refusal.code === 'review_forbidden' ? 'forbidden' : outcome.refusal.code,
          outcome.refusal.message,
        );
      await publishReviewRecord(producer, outcome.record, topic);
      // Applied at once, so the next request to this instance sees it before the follower brings it back.
      reviews.apply(reviewKey(cycle, cityCode), outcome.record);
      request.outcome = {
        message: `review ${action}`,
        fields: {
          cycle,
          cityCode,
          state: outcome.record.state,
          credentialId: principalOf(request).credentialId,
        },
      };
      return outcome.record;
    });

  v1.post('/reviews/:cycle/submit', { schema: submitReviewSchema }, async (request) => {
    const principal = principalOf(request);
    const cycle = Number((request.params as { cycle: string }).cycle);
    if (principal.kind !== 'city')
      throw new CitycheckError(
        'forbidden',
        `只有城市本身可以提交审核：${principal.kind} 请使用 /v1/reviews/${cycle}/{city}/…`,
      );
    return act(request, 'submit', cycle, principal.cityCode, undefined);
  });

  v1.get('/reviews/:cycle', { schema: getReviewSchema }, async (request) => {
    const principal = principalOf(request);
    const cycle = Number((request.params as { cycle: string }).cycle);
    if (principal.kind !== 'city')
      throw new CitycheckError(
        'forbidden',
        `此路径读取本市的审核；审核人员请使用 /v1/reviews/${cycle}/{city}`,
      );
    return reviews.review(cycle, principal.cityCode) ?? draftReview(cycle, principal.cityCode);
  });

  v1.get('/reviews/:cycle/:city', { schema: getCityReviewSchema }, async (request) => {
    const { city } = request.params as { city: string };
    const cycle = Number((request.params as { cycle: string }).cycle);
    // Scoped as every read: a province's reviewer sees its own cities only, a city itself only.
    if (!mayReadCity(principalOf(request), city))
      throw new CitycheckError('forbidden', `this credential may not read the review of city ${city}`);
    return reviews.review(cycle, city) ?? draftReview(cycle, city);
  });

  for (const [action, summary] of Object.entries(reviewerActions) as [
    Exclude<ReviewActionName, 'submit'>,
    string,
  ][]) {
    v1.post(
      `/reviews/:cycle/:city/${action}`,
      { schema: reviewerActionSchema(action, summary) },
      async (request) => {
        const { city } = request.params as { city: string };
        const cycle = Number((request.params as { cycle: string }).cycle);
        // The machine checks who may act before the state, so a reviewer of another province learns nothing
        // of the city's review, not even its state.
        return act(
          request,
          action,
          cycle,
          city,
          request.body as { reason?: string; comments?: ReviewComment[] },
        );
      },
    );
  }
};
