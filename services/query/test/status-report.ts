// A pipeline status document with every part filled in (a stage with lag, rejections with an example,
// history, two provinces reporting, a service), a status source that always answers it and one that must
// never be asked, for the tests of GET /v1/status that need no Kafka.
import type { PipelineStatus, PipelineStatusSource } from '../src/pipeline-status.js';

export const statusReport: PipelineStatus = {
  generatedAt: '2024-11-20T02:15:03.512Z',
  timeZone: 'Asia/Shanghai',
  windowSeconds: 300,
  thresholds: { lagAmber: 1_000, lagRed: 10_000, rejectedShareAmber: 0.05, rejectedShareRed: 0.2 },
  stages: [
    {
      name: 'validate',
      consumes: 'submissions.received.v1',
      produces: ['submissions.validated.v1', 'submissions.rejected.v1'],
      group: 'validate',
      inWindow: 12,
      perMinute: 2.4,
      rejectedInWindow: 1,
      lag: 3,
      lagByPartition: [{ partition: 0, lag: 3 }],
      health: 'amber',
      why: ['8.3% rejected in the window (amber above 5%)'],
    },
  ],
  rejections: {
    submissions: 2,
    inWindow: 1,
    byStage: { ingest: 0, validate: 2 },
    byReason: [{ stage: 'validate', reason: 'range', total: 2, inWindow: 1 }],
    byCity: [
      {
        cityCode: '440100',
        total: 2,
        inWindow: 1,
        byStage: { ingest: 0, validate: 2 },
        byReason: [{ stage: 'validate', reason: 'range', total: 2 }],
        examples: [
          {
            submissionId: '0190a1b2-0000-7000-8000-000000000001',
            stage: 'validate',
            reasons: ['range'],
            at: '2024-11-20T02:14:00.000Z',
          },
        ],
      },
    ],
    caughtUp: true,
  },
  history: [
    {
      at: '2024-11-20T02:15:00.000Z',
      perMinute: { ingest: 2.4, validate: 2.4, aggregate: 2 },
      lag: { validate: 3, aggregate: 0 },
      rejected: { ingest: 0, validate: 1 },
    },
  ],
  completeness: {
    cycle: 2024,
    source: 'completeness',
    deadline: '2024-12-31T15:59:59.000Z',
    citiesUnreported: 20,
    provinces: [
      {
        code: '11',
        name: '北京市',
        citiesReporting: 1,
        citiesExpected: 1,
        unitsReporting: 12,
        unitsExpected: 12,
        reportingRate: 1,
        reportingRateOnTime: 1,
      },
      {
        code: '44',
        name: '广东省',
        citiesReporting: 1,
        citiesExpected: 21,
        unitsReporting: 5,
        unitsExpected: null,
        reportingRate: 1 / 21,
        reportingRateOnTime: null,
      },
    ],
  },
  services: [{ name: 'ingest', url: 'http://127.0.0.1:8081/metrics', up: true, figures: { accepted: 6 } }],
  problems: [],
};

export const fixedStatus = (report: PipelineStatus): PipelineStatusSource => ({
  current: async () => report,
  latest: () => report,
  start: async () => undefined,
  stop: async () => undefined,
});

/** A status source for apps whose callers must be refused before the status is read: asked, it fails. */
export const unaskedStatus: PipelineStatusSource = {
  current: () => Promise.reject(new Error('the status source was asked')),
  latest: () => undefined,
  start: async () => undefined,
  stop: async () => undefined,
};
