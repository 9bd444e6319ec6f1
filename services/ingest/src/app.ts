// The ingest HTTP app: cities POST submissions; each is checked against the submission schema and handed
// to Kafka, and the city gets a 202 receipt only after the broker acknowledged it. Built from its clients
// so tests hand it a real producer; it never connects on its own.
import { contentHash, compileContract, describeSchemaErrors, type Submission } from '@citycheck/contracts';
import { CitycheckError, isCitycheckError } from '@citycheck/errors';
import { type Producer, sendJson, topics as defaultTopics } from '@citycheck/kafka';
import type { Logger } from '@citycheck/logging';
import Fastify, { type FastifyError } from 'fastify';

export interface IngestAppOptions {
  readonly producer: Producer;
  readonly logger: Logger;
  /** Largest accepted body in bytes; larger ones get 413 before they are read whole. */
  readonly bodyLimitBytes?: number;
  readonly receivedTopic?: string;
  /** Answers whether the broker is reachable, for /readyz. */
  readonly brokerReady?: () => Promise<boolean>;
}

export interface Receipt {
  readonly submissionId: string;
  readonly status: 'accepted';
  readonly contentHash: string;
  readonly receivedAt: string;
  readonly partition: number;
  readonly offset: string;
}

const validateSubmission = compileContract<Submission>('submission');

export const buildIngestApp = ({
  producer,
  logger,
  bodyLimitBytes = 1_048_576,
  receivedTopic = defaultTopics.submissionsReceived,
  brokerReady = async () => true,
}: IngestAppOptions) => {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: bodyLimitBytes,
    // Every line about a request carries its id; a caller may pass its own for tracing.
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
  });

  app.setErrorHandler((error: FastifyError | CitycheckError, request, reply) => {
    const known = isCitycheckError(error) ? error : fromFrameworkError(error);
    if (known.status >= 500) request.log.error({ err: error }, known.message);
    else request.log.info({ code: known.code, problems: known.problems.length }, known.message);
    if (known.retryAfterSeconds !== undefined) void reply.header('retry-after', String(known.retryAfterSeconds));
    void reply.status(known.status).send(known.toResponse());
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(new CitycheckError('not_found', `no route ${request.method} ${request.url}`).toResponse());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const broker = await brokerReady();
    void reply.status(broker ? 200 : 503);
    return { status: broker ? 'ready' : 'not_ready', checks: { broker } };
  });

  app.post('/v1/submissions', async (request, reply) => {
    const body = request.body;
    if (!validateSubmission(body)) {
      throw new CitycheckError('invalid_request', 'the submission does not match the submission schema', {
        problems: describeSchemaErrors(validateSubmission.errors),
      });
    }
    const receivedAt = new Date().toISOString();
    const hash = contentHash(body);
    const [metadata] = await sendJson(producer, receivedTopic, [
      { key: body.cityCode, value: { submission: body, contentHash: hash, receivedAt } },
    ]);
    const receipt: Receipt = {
      submissionId: body.submissionId,
      status: 'accepted',
      contentHash: hash,
      receivedAt,
      partition: metadata?.partition ?? -1,
      offset: metadata?.baseOffset ?? '-1',
    };
    request.log.info({ submissionId: body.submissionId, cityCode: body.cityCode }, 'submission accepted');
    void reply.status(202);
    return receipt;
  });

  return app;
};

/** Maps fastify's own errors (body parsing, size, media type) onto the registry's codes. */
const fromFrameworkError = (error: FastifyError): CitycheckError => {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CitycheckError('payload_too_large', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CitycheckError('unsupported_media_type', 'send the submission as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new CitycheckError('invalid_json', `the body is not valid JSON: ${error.message}`);
    default:
      if (error.statusCode === 400 || error instanceof SyntaxError) {
        return new CitycheckError('invalid_json', `the body is not valid JSON: ${error.message}`);
      }
      if (error.statusCode === 413) return new CitycheckError('payload_too_large', error.message);
      if (error.statusCode === 415) return new CitycheckError('unsupported_media_type', error.message);
      return new CitycheckError('internal', 'internal error', { cause: error });
  }
};
