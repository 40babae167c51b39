// Account ids and kinds of both books, in one place so the books, the audit and the
// reconciliation agree. CB book: issuance (≤ 0: minus the money in existence) and one reserve per
// FI (≥ 0). FI book: settlement (≤ 0: mirrors the FI's reserve at the CB, which it must equal
// when both books are settled), treasury (≥ 0: reserve not yet given to customers) and customer
// accounts (≥ 0). Offline (migration 004, docs/ledger.md): the CB's circulation (≥ 0: value inside
// SEs) and incident (≤ 0: value double spends created) accounts. Sign rules live in the
// account_kinds table and are CHECKed on every row.

export const AccountKind = {
  cbIssuance: 'cb_issuance',
  fiReserve: 'fi_reserve',
  fiSettlement: 'fi_settlement',
  fiTreasury: 'fi_treasury',
  customer: 'customer',
  cbCirculation: 'cb_circulation',
  cbIncident: 'cb_incident',
} as const;
export type AccountKind = (typeof AccountKind)[keyof typeof AccountKind];

export const CB_ISSUANCE_ACCOUNT = 'cb:issuance';
export const cbReserveAccount = (fiId: string): string => `cb:reserve:${fiId}`;

export const FI_SETTLEMENT_ACCOUNT = 'fi:settlement';
export const FI_TREASURY_ACCOUNT = 'fi:treasury';

/** CB: value held inside SEs (≥ 0), a liability like cash in circulation (docs/ledger.md). */
export const CB_CIRCULATION_ACCOUNT = 'cb:circulation';
/** CB: value created by double spends (≤ 0), booked so issued = Σ accounts + Σ SE + in flight stays exact. */
export const CB_INCIDENT_ACCOUNT = 'cb:incident';
