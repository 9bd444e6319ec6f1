// The HTTP plumbing the citycheck services share: authentication, error answers and the OpenAPI document,
// as one fastify plugin.
export {
  checkedByHandler,
  errorSchemaId,
  healthSchema,
  type OpenApiOptions,
  openApiDocument,
  openApiValidator,
  readinessSchema,
} from './openapi.js';
export {
  authenticationMessages,
  bearerToken,
  type HttpPlumbingOptions,
  httpPlumbing,
  principalOf,
  wwwAuthenticate,
} from './plumbing.js';
export { createServiceServer, type ServiceServerOptions } from './server.js';
