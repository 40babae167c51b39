// The central bank (cb/): CbLedger, the CB's book (book.ts), and CentralBank, the CB node over it
// (central_bank.ts), with the nullifier registry, distribution, incidents, issuer keys and
// warrant disclosure. What other parts may use; inside src/ledger files import by path.

export { CbLedger, type CbStorageOptions, type MoveResult, type SettleResult } from './book.ts';
export {
  CentralBank, type CbIssueRequest, type CbIssueResult, type CbOfflinePort, type CbRegisterDeviceRequest,
  type CentralBankConfig, type RegisterPaymentsResult,
} from './central_bank.ts';
export {
  listDeviceRevocations, revokedDeviceKeys, type CbDeviceRevocationRequest, type CbDeviceRevocationResult, type DeviceRevocation,
} from './device_revocations.ts';
export {
  checkNullifierBatch, insertNullifiers, insertNullifiersTx, listNullifierConflicts, type NullifierConflict,
  type NullifierInsertResult, type NullifierOutcome, type NullifierRecord, type RecordedConflict,
} from './nullifiers.ts';
export {
  buildDistribution, currentEpoch, ensurePolicy, latestPolicy, policyByVersion, revocationVersion,
  storePolicy, type Distribution, type IssuerKeyCertEntry,
} from './distribution.ts';
export {
  listIncidents, recordConflict, type Incident, type IncidentContext, type Uploader,
} from './incidents.ts';
export { ISSUER_KEY_DST, ISSUER_MASTER_BYTES_MIN, IssuerKeys, type IssuerKey } from './issuer_keys.ts';
export {
  WARRANT_TEXT_CHARS_MAX, answerWarrant, disclose, fileWarrant, partialForEscrow, submitPartial, verifyDisclosureLog,
  type DisclosedIdentity, type DisclosureLogCheck, type EscrowAuthority,
} from './disclosure.ts';
export { escrowOfRecord, type StoredEscrow } from './escrow_evidence.ts';
export {
  DISCLOSURE_LOG_READ_MAX, WARRANTS_LISTED_MAX, listWarrants, postPartial, readDisclosureLog, refuseWarrant, warrantEscrow, warrantState,
  warrantedPayment, type DisclosureLogEntry, type HolderRefusal, type WarrantEscrow, type WarrantState,
} from './warrants.ts';
