// Who may call a node (access/): the gate every route sits behind, operators and their tokens,
// the admin log, per-caller rate limits, and devices' signed requests.
// What other parts may use; inside src/ledger files import by path.

export {
  AUTHORIZATION_HEADER, Gate, OPERATOR_ROLES, anyone, bodyField, callerKey, nodeGate, param, role,
  type Access, type AnonymousCaller, type Authenticator, type Caller, type CallerSources, type DeviceCaller,
  type GateOptions, type Grant, type InstitutionCaller, type OperatorCaller, type OperatorRole,
} from './gate.ts';
export {
  CLI_ACTOR, TOKEN_PREFIX, addOperator, authenticateToken, checkRole, findOperator, listOperators,
  revokeOperator, type AdminActor, type NewOperator, type OperatorRecord,
} from './operators.ts';
export {
  adminEntryHash, appendAdminLog, readAdminLog, verifyAdminLog, type AdminLogCheck, type AdminLogEntry,
  type AdminLogRecord,
} from './admin_log.ts';
export {
  DEFAULT_RATE_LIMITS, RateLimiter, type Budget, type RateClass, type RateLimits,
} from './rate_limit.ts';
export {
  DEVICE_HEADER, REQUEST_COUNTER_ACCEPTED_MAX, REQUEST_COUNTER_HEADER, REQUEST_SIGNATURE_HEADER,
  deviceRequests, requestDigest, signedHeaders,
} from './device_requests.ts';
