// Per-city credentials for the ingest API: token format and hashing, roles and what they may do, the
// in-memory store ingest authenticates against, and its home on the compacted Kafka topic credentials.v1.
export {
  type AdminContext,
  CredentialAdminError,
  credentialCodesProblem,
  type IssuedCredential,
  issueCredential,
  revokeCredential,
  rotateCredential,
  setCredentialContact,
} from './admin.js';
export {
  type CredentialContact,
  type CredentialRecord,
  contactProblem,
  parseCredentialRecord,
} from './record.js';
export {
  isCityCode,
  mayReadCity,
  maySubmitFor,
  type Principal,
  principalOf,
  type RoleName,
  registryProblem,
  roleOf,
  roleProblem,
} from './role.js';
export { type Authentication, type Authenticator, CredentialStore } from './store.js';
export {
  formatToken,
  generateCredentialId,
  generateSecret,
  hashSecret,
  isCredentialId,
  type ParsedToken,
  parseToken,
  secretMatches,
} from './token.js';
export {
  defaultCredentialsTopic,
  ensureCredentialsTopic,
  type FollowCredentialsOptions,
  followCredentials,
  publishCredential,
} from './topic.js';
