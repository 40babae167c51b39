// The financial intermediary (fi/): FiLedger, an FI's book (book.ts), and FinancialIntermediary,
// the FI node over it (financial_intermediary.ts), with customers, devices, issuance, vouchers
// and unloads (value.ts), sync, balance-report totals, the renewal gate and payment records.
// What other parts may use; inside src/ledger files import by path.

export { FiLedger, checkFreezeReason, type FreezeInput, type FreezeLogEntry } from './book.ts';
export {
  FinancialIntermediary, type FinancialIntermediaryConfig, type FreezeResult, type SignedRules, type Renewal, type SyncRequest, type SyncResult,
} from './financial_intermediary.ts';
export {
  checkKyc, insertCustomer, linkAccount, loadCustomer, ownerOfAccount, setCustomerFrozen, type Customer,
} from './customers.ts';
export {
  DEVICE_ID_BYTES, checkAttestation, checkDeviceTier, enrolmentChallenge, listDevices, loadDevice,
  type DeviceRow,
} from './devices.ts';
export { type IssuanceStart, type IssuedCredential } from './issuance.ts';
export {
  applyUnloadRecord, createLoadVoucher, finishUnload, finishVoucher, issuedVoucher, openCarriedUnloads,
  resumeValueSagas, unloadCbKey, voucherCbKey, type IssuedVoucher, type UnloadResult, type ValueDeps,
  type VoucherRequest, type VoucherResult,
} from './value.ts';
export {
  openReport, registerKey, settleBatch, syncKey, type BatchResult, type SyncDeps, type SyncUpload,
} from './sync.ts';
export {
  TOTALS_COLUMNS, ZERO_TOTALS, checkReportTotals, lastAcceptedTotals, totalsOf, type CarriedUnload,
  type RunningTotals,
} from './report_totals.ts';
export {
  RENEWAL_EPOCHS_AHEAD, checkRenewalGate, markSyncAccepted, recordCredentialGrant,
} from './renewal_gate.ts';
export { RECORD_BYTES_MAX, RECORD_VERSION, viewRecord, type RecordView } from './payment_records.ts';
export {
  COMPLIANCE_TEXT_MAX, changeAlert, checkHolds, listAlerts, recordScreened, screenEvent, screenMove, type Alert, type AlertAction,
  type AlertStatus, type ComplianceDeps, type Screened,
} from './compliance.ts';
export { appendComplianceLog, verifyComplianceLog, type ComplianceLogCheck, type ComplianceLogEntry } from './compliance_log.ts';
export { ComplianceDesk } from './compliance_desk.ts';
export {
  CASE_ALERTS_MAX, CASE_NOTES_MAX, CASE_TEXT_MAX, addCaseAlert, addCaseNote, closeCase, listCases, loadCase, openCase, type CaseNote, type ComplianceCase,
} from './compliance_cases.ts';
export { CSV_COLUMNS, EXPORT_EVENTS_MAX, csvField, exportCase, exportCsv, type CaseExport } from './compliance_export.ts';
export { identityOf, importWatchlist, listWatchlist, screenIdentity, type StoredWatchlistEntry, type WatchlistImport, type WatchlistImportResult } from './watchlist.ts';
export { applicantId } from './kyc_screen.ts';
