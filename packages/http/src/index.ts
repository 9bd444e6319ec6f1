// The HTTP plumbing the citycheck services share: authentication and error answers as one fastify plugin.
export {
  authenticationMessages,
  bearerToken,
  type HttpPlumbingOptions,
  httpPlumbing,
  principalOf,
  wwwAuthenticate,
} from './plumbing.js';
