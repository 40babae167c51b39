// Public surface of the ledger part (docs/ledger.md): the shared kernel (errors, context, limits,
// codec, the key ceremony, the network audit, exposure and flows) and each folder's own surface:
// the double-entry book (book/), the central bank (cb/), the financial intermediaries (fi/), the
// nodes over HTTP (http/), who may call them (access/, tls/), the clients of a node (clients/),
// the verification workers (verify/) and storage (db/). Other parts of src/ import the ledger
// through this file (tests, bench and scripts may reach into a folder); inside src/ledger files
// import by path.

export { HTTP_STATUS, LedgerError, LedgerErrorCode, isLedgerErrorCode } from './errors.ts';
export {
  checkAmount, checkName, newId, systemClock, systemRandomBytes, type Clock, type NodeDeps,
  type RandomBytes,
} from './context.ts';
export {
  AMOUNT_MAX_MINOR, AUDIT_ROWS_MAX, BALANCE_ABS_MAX_MINOR, HTTP_ANSWER_BYTES_MAX, HTTP_BODY_BYTES_MAX,
  HTTP_JSON_DEPTH_MAX, IDEMPOTENCY_KEY_LENGTH_MAX, IDENTITY_JSON_BYTES_MAX, JOURNAL_ENTRIES_MAX,
  NAME_LENGTH_MAX, NULLIFIER_BATCH_MAX, NULLIFIER_BYTES, NULLIFIER_PARTITIONS_DEFAULT,
  NULLIFIER_PARTITIONS_MAX, PAYMENT_HASH_BYTES, RELATED_KEY_DISTANCE_MAX, RELATED_KEY_LOOKUP_CHUNK,
  REVOCATION_LIST_MAX, SQL_BIGINT_MAX, SQL_BIGINT_MIN, SYNC_PAYMENTS_MAX, SYNC_UNLOADS_MAX,
  TRANSACTION_ATTEMPTS_MAX, TRANSACTION_BACKOFF_MS, VERIFY_CHUNKS_PER_WORKER, VERIFY_CHUNK_MAX,
  VERIFY_CHUNK_MIN, VERIFY_WORKERS_DEFAULT,
} from './limits.ts';
export { decodeTagged, encodeTagged, requestHash, toWireJson } from './codec.ts';
export {
  CEREMONY_FIS_MAX, DEMO_MANUFACTURER, ISSUER_MASTER_BYTES, REGULATOR_HOLDERS, REGULATOR_THRESHOLD, dealNetwork, isFiId,
  type DealtNetwork, type NetworkFi, type NetworkKeys,
} from './ceremony.ts';
export {
  NetworkViolationCode, auditNetwork, formatNetworkAudit, type NetworkAudit, type NetworkTotals,
  type NetworkViolation,
} from './network_audit.ts';
export {
  CREDENTIALS_WITHOUT_SYNC_MAX, brokenSeExposure, devicesPerTier, formatExposure, type Exposure,
  type TierExposure,
} from './exposure.ts';
export {
  AlarmCode, compareFlows, fiFlows, recordAlarm, type DiscrepancyAlarm, type FiFlows,
} from './flows.ts';

export * from './book/index.ts';
export * from './cb/index.ts';
export * from './fi/index.ts';
export * from './http/index.ts';
export * from './access/index.ts';
export * from './tls/index.ts';
export * from './clients/index.ts';
export * from './verify/index.ts';
export * from './db/index.ts';
