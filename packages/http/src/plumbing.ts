// The HTTP plumbing every citycheck service registers: bearer authentication (one parser, one set of answers,
// `WWW-Authenticate` on every 401) and one error and not-found handler that answers with the error registry's
// body. Services keep only their routes and what those routes allow.
import type { Authenticator, Principal } from '@citycheck/credentials';
import { CitycheckError, isCitycheckError } from '@citycheck/errors';
import type { FastifyError, FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { type OpenApiOptions, registerOpenApi, validationProblems } from './openapi.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, once `authenticate` ran (routes that register it only). */
    principal: Principal | undefined;
  }
  interface FastifyInstance {
    /** An onRequest hook: checks the bearer credential and sets `request.principal`, or answers 401/503. */
    authenticate: onRequestAsyncHookHandler;
  }
}

export interface HttpPlumbingOptions {
  readonly authenticator: Authenticator;
  /** What a request without a credential is told it needs, e.g. "a city credential". */
  readonly credentialNeeded: string;
  /**
   * Whether the credentials the authenticator holds are known to be current. While they are not, every
   * authenticated request is answered 503 not_ready: a revocation the service may have missed must not let
   * a request through.
   */
  readonly credentialsCurrent?: () => boolean;
  readonly notReady?: { readonly message: string; readonly retryAfterSeconds: number };
  /** The 415 message: which media types the service takes. */
  readonly mediaTypeHint: string;
  /**
   * Unwraps a thrown error the service knows (one that carries a partial result) into the error to answer
   * with and fields to add to the body. Other errors are answered as they are.
   */
  readonly unwrapError?: (
    error: unknown,
  ) => { readonly error: unknown; readonly body?: Readonly<Record<string, unknown>> } | undefined;
  /** Called once per error answer, after it was logged (metrics, the service's own log bookkeeping). */
  readonly onErrorAnswered?: (request: FastifyRequest, error: CitycheckError) => void;
  /** The OpenAPI document, generated from the route schemas and served at GET /openapi.json. */
  readonly openapi: OpenApiOptions;
}

/** The 401 messages, the same on every service. */
export const authenticationMessages = {
  scheme: 'the Authorization header must be "Bearer cc_<id>_<secret>"',
  malformed: 'the bearer token is not a citycheck credential (cc_<id>_<secret>)',
  unknown: 'the credential is not known: check the token, or ask for a new one if it was rotated',
  revoked: 'the credential was revoked: ask the operations team for a new one',
} as const;

export const wwwAuthenticate = 'Bearer realm="citycheck"';

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110 11.1). */
export const bearerToken = (header: string): string | undefined =>
  /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];

/** The request's principal, for routes behind `authenticate`; a route without the hook is a bug. */
export const principalOf = (request: FastifyRequest): Principal => {
  if (request.principal === undefined) throw new Error(`route ${request.url} does not register authenticate`);
  return request.principal;
};

const plumbing = async (app: FastifyInstance, options: HttpPlumbingOptions): Promise<void> => {
  const {
    authenticator,
    credentialNeeded,
    credentialsCurrent = () => true,
    notReady = {
      message: 'the service cannot confirm its credentials are current; retry shortly',
      retryAfterSeconds: 5,
    },
    mediaTypeHint,
    unwrapError,
    onErrorAnswered,
  } = options;
  await registerOpenApi(app, options.openapi);

  app.decorateRequest('principal', undefined);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (!credentialsCurrent()) {
      throw new CitycheckError('not_ready', notReady.message, {
        retryAfterSeconds: notReady.retryAfterSeconds,
      });
    }
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') {
      throw new CitycheckError(
        'unauthenticated',
        `this endpoint needs ${credentialNeeded}: send Authorization: Bearer cc_<id>_<secret>`,
      );
    }
    const token = bearerToken(header);
    if (token === undefined) throw new CitycheckError('unauthenticated', authenticationMessages.scheme);
    const result = authenticator.authenticate(token);
    if (!result.ok) {
      // The credential id is not secret and tells operations who is failing; the token never reaches a log.
      request.log.info({ credentialId: result.credentialId, reason: result.reason }, 'authentication failed');
      throw new CitycheckError('unauthenticated', authenticationMessages[result.reason]);
    }
    request.principal = result.principal;
  });

  app.setErrorHandler((thrown: unknown, request, reply) => {
    const unwrapped = unwrapError?.(thrown);
    const cause = unwrapped === undefined ? thrown : unwrapped.error;
    const known = isCitycheckError(cause)
      ? cause
      : fromFrameworkError(cause as FastifyError, request, mediaTypeHint);
    const where = { method: request.method, url: request.url, statusCode: known.status };
    const credentialId = request.principal?.credentialId;
    if (known.status >= 500) request.log.error({ err: cause, credentialId, ...where }, known.message);
    else
      request.log.info(
        { code: known.code, problems: known.problems.length, credentialId, ...where },
        known.message,
      );
    onErrorAnswered?.(request, known);
    if (known.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(known.retryAfterSeconds));
    if (known.code === 'unauthenticated') void reply.header('www-authenticate', wwwAuthenticate);
    void reply.status(known.status).send({ ...known.toResponse(), ...unwrapped?.body });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(new CitycheckError('not_found', `no route ${request.method} ${request.url}`).toResponse());
  });
};

/** Registers authentication and the error handlers on the app itself (not in an encapsulated context). */
export const httpPlumbing = fastifyPlugin(plumbing, { name: 'citycheck-http-plumbing', fastify: '5.x' });

/** Maps fastify's own errors (body parsing, size, media type, validation) onto the registry's codes. */
const fromFrameworkError = (
  error: FastifyError,
  request: FastifyRequest,
  mediaTypeHint: string,
): CitycheckError => {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CitycheckError('payload_too_large', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CitycheckError('unsupported_media_type', mediaTypeHint);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new CitycheckError('invalid_json', `the body is not valid JSON: ${error.message}`);
    case 'FST_ERR_VALIDATION': {
      const problems = validationProblems(error, request);
      const first = problems[0];
      // A parameter's problem names it ("submissionId must be a UUID…"); a body's is one of its fields.
      const message =
        first !== undefined && first.pointer === '/' && first.rule.includes('.')
          ? `${first.rule.slice(first.rule.indexOf('.') + 1)} ${first.message}`
          : 'the request does not match its schema';
      return new CitycheckError('invalid_request', message, { problems });
    }
    default:
      if (error.statusCode === 400 || error instanceof SyntaxError) {
        return new CitycheckError('invalid_request', error.message);
      }
      if (error.statusCode === 413) return new CitycheckError('payload_too_large', error.message);
      if (error.statusCode === 415) return new CitycheckError('unsupported_media_type', error.message);
      return new CitycheckError('internal', 'internal error', { cause: error });
  }
};
