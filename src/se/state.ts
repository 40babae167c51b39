// The SE's persistent state: typed sections, each one NVM cell, plus one cell per receipt-log
// entry; and StateTx, the staging area through which a command changes them all at once.
//
// Why this shape: a command reads and writes typed values (`tx.get('wallet')`,
// `tx.set('wallet', …)`) and never touches bytes; `SeState.commit(tx)` turns the staged sections
// into one NVM transaction (nvm.ts makes it atomic) and only then updates the in-memory view. A
// refused or failed command simply drops its tx, so no path can leave half a command applied.
// Secrets (attestation secret key, k, credential signatures, issuance blinding) live only here.

import { assert } from '../crypto/assert.ts';
import { G1_BYTES, G2_BYTES, SCALAR_BYTES } from '../crypto/group.ts';
import { ISSUER_NONCE_BYTES_MAX } from '../crypto/blind_issuance.ts';
import { COUNTER_SET_SIZE_MAX, COUNTER_SIGNATURE_BYTES } from '../crypto/counter_set.ts';
import { SPEND_TOKEN_BYTES } from '../crypto/spend_token.ts';
import { POLICY_BYTES_MAX, decodePolicy, encodePolicy } from '../policy/policy_codec.ts';
import type { PolicyTable } from '../policy/limits.ts';
import { CREDENTIALS_MAX, RECEIPT_LOG_ENTRIES_MAX, RECEIPT_PAYMENT_BYTES_MAX, SEEN_NULLIFIERS_MAX } from './constants.ts';
import { PAYEE_IDENTITY_BYTES, PAYMENT_BYTES_MAX, PAYEE_NONCE_BYTES, RECEIPT_BYTES_MAX, REQUEST_ID_BYTES, SESSION_KEY_BYTES } from '../protocol/limits.ts';
import { PAYMENT_CONTEXT_BYTES_MAX } from '../crypto/payment.ts';
import { ISSUER_KEYS_MAX, PAID_REQUEST_IDS_MAX, PENDING_REQUESTS_MAX, RECLAIM_REFUSALS_MAX, UNCONFIRMED_ENTRY_NVM_BYTES } from './payment_limits.ts';

/** A credential's counter set: one 80-byte signature per counter value below L. */
export const COUNTER_SET_BYTES_MAX = COUNTER_SET_SIZE_MAX * COUNTER_SIGNATURE_BYTES;
import { DEVICE_ID_BYTES, NAME_CHARS_MAX, SIGNED_MESSAGE_BYTES_MAX } from './messages.ts';
import { NVM_CELL_BYTES_MAX, type Nvm } from './nvm.ts';
import { big, bool, bytes, int, list, nullable, record, recordCodec, text, type RecordCodec } from './schema.ts';
import { P256_PUBLIC_KEY_BYTES, P256_SECRET_KEY_BYTES } from './signed.ts';

/** The applet's life cycle; every command names the phases it runs in. */
export const Phase = { blank: 0, keyed: 1, operational: 2 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export interface AppletRecord { phase: Phase }
export interface Identity {
  deviceId: Uint8Array;
  deviceClass: number;
  attestationSecretKey: Uint8Array;
  attestationPublicKey: Uint8Array;
  /** Device secret k (32-byte scalar), the hidden message 0 of every credential. */
  k: Uint8Array;
  manufacturerCaPublicKey: Uint8Array;
}
/** Installed at personalization: who this SE trusts and its attestation certificate. */
export interface Anchors {
  certificate: Uint8Array;
  cbPublicKey: Uint8Array;
  fiId: string;
  fiPublicKey: Uint8Array;
  /** Regulator escrow key Y_reg (compressed G1), a public input of every payment proof. */
  regulatorKey: Uint8Array;
}
export interface Wallet {
  tier: number;
  balanceMinor: bigint;
  /** Counter the next load voucher must carry. */
  loadCounter: bigint;
  /** Unload records emitted so far. */
  unloadCounter: bigint;
  /** Offline spend since the last acknowledged sync (checked against offlineSpendBeforeSync). */
  spentSinceSyncMinor: bigint;
  /**
   * Running totals since personalisation, reported at every sync (DESIGN §3.4 Contain): the FI
   * checks them against its vouchers, unload records and settled receipts. They only grow, and
   * balance = loaded + received − spent − unloaded after every command (assertWalletTotals).
   */
  loadedTotalMinor: bigint;
  receivedTotalMinor: bigint;
  spentTotalMinor: bigint;
  unloadedTotalMinor: bigint;
  /** The last unload record, kept so a host that lost the response can fetch it again. */
  lastUnloadRecord: Uint8Array | null;
}
/**
 * The last counter SIGN_REQUEST spent (0: none yet). It only grows, and is written in the same NVM
 * transaction as the command, before the signature leaves the SE: a power cut never lets two
 * requests share a counter (request_signature.ts).
 */
export interface RequestCounter { lastCounter: bigint }
/** Spending counters used in `epoch`: the next payment uses counter `counter`. */
export interface Spending { epoch: bigint; counter: bigint }
export interface PolicyState { table: PolicyTable }
export interface RevocationState {
  version: bigint;
  epoch: bigint;
  nullifiers: Uint8Array[];
  /** The installed list names this SE's own attestation key (its customer is frozen): it may not pay. */
  deviceRevoked: boolean;
}
export interface CredentialRecord {
  epoch: bigint;
  tier: number;
  deviceClass: number;
  /** BBS signature (A, e) and the issuance blinding s: secret. */
  A: Uint8Array;
  e: Uint8Array;
  s: Uint8Array;
  issuerPublicKey: Uint8Array;
  /** The issuer's counter-set signatures on 0 … L−1 for this tier (public; checked at install). */
  counterSet: Uint8Array;
}
export interface CredentialStore { credentials: CredentialRecord[] }
/**
 * An issuance begun and not finished: the blinding s' (secret), what the request was for, and the
 * signed request itself, re-sent as is if the host asks again for the same nonce (so a retry after a
 * lost answer is the identical request the FI answers idempotently, never a second one).
 */
export interface PendingIssuance {
  issuerNonce: Uint8Array;
  sPrime: Uint8Array;
  startedAtMs: bigint;
  epoch: bigint;
  tier: number;
  issuerPublicKey: Uint8Array;
  request: Uint8Array;
}
export interface IssuanceState { pending: PendingIssuance | null }
/** Receipt log bookkeeping: entries firstSeq..nextSeq-1 are present. */
export interface ReceiptLogMeta { firstSeq: bigint; nextSeq: bigint }
export interface ReceiptEntry {
  /** The payment message as received (opaque here; the payment layer owns its format). */
  payment: Uint8Array;
  amountMinor: bigint;
  /** r_a, the amount commitment's blinding (32-byte scalar): reported only as a batch sum. */
  blinding: Uint8Array;
  epoch: bigint;
  nullifier: Uint8Array;
  receivedAtMs: bigint;
}
export interface SeenNullifier { epoch: bigint; nullifier: Uint8Array }
export interface SeenNullifiers { entries: SeenNullifier[] }
export interface PendingBatch {
  batchId: bigint;
  firstSeq: bigint;
  endSeq: bigint;
  /** The SE-signed balance report, frozen at export so a repeated export is identical. */
  report: Uint8Array;
  spentSinceSyncMinor: bigint;
}
export interface SyncState { nextBatchId: bigint; pending: PendingBatch | null }
/**
 * A payment request this SE (as payee) issued. The X25519 session secret stays until a payment for
 * the request is accepted (a late or re-sent payment needs it), then it is wiped and the payment's
 * hash and receipt are kept, so a re-sent identical payment gets the same receipt back.
 */
export interface PendingRequest {
  requestId: Uint8Array;
  payeeNonce: Uint8Array;
  sessionSecretKey: Uint8Array | null;
  sessionPublicKey: Uint8Array;
  amountMinor: bigint;
  timeMs: bigint;
  /** Policy version the request was made under; the payment context names it. */
  policyVersion: bigint;
  paidHash: Uint8Array | null;
  receipt: Uint8Array | null;
}
export interface PaymentRequests { entries: PendingRequest[] }
/**
 * An outgoing payment the payer SE debited and holds no receipt for yet. Kept whole until the
 * payee's receipt (CONFIRM_PAYMENT) or the FI's signed word that it was settled or reclaimed drops
 * it, so a host that lost it (link drop, crash, payee killed) can send it again, and the SE can
 * claim it back at sync after the settlement window (reclaim): the claim needs the payment, its
 * context and the opening (a, r_a) of C_a.
 */
export interface UnconfirmedPayment {
  requestId: Uint8Array;
  /** SHA-256 of the request as paid: an identical re-request gets the kept payment back. */
  requestHash: Uint8Array;
  payment: Uint8Array;
  paymentHash: Uint8Array;
  /** The payment context (session.ts paymentContext) the proof is bound to. */
  context: Uint8Array;
  amountMinor: bigint;
  /** r_a, the blinding of C_a (32-byte scalar): reported only in a reclaim claim. */
  blinding: Uint8Array;
  epoch: bigint;
  nullifier: Uint8Array;
  payeeIdentity: Uint8Array;
  paidAtMs: bigint;
}
/** The payer's view: kept payments oldest first, and the request ids it remembers having paid. */
export interface PayerState { unconfirmed: UnconfirmedPayment[]; paidRequestIds: Uint8Array[] }
/** NVM section of the paid request ids. */
export interface PaidRequests { paidRequestIds: Uint8Array[] }
/**
 * One kept payment per NVM cell (`seq` orders them), so a payment writes one entry and a receipt
 * empties one cell instead of rewriting every kept payment (handlers_unconfirmed.ts).
 */
export interface UnconfirmedSlot { seq: bigint; entry: UnconfirmedPayment | null }
export const UNCONFIRMED_SLOTS = [
  'unconfirmed_0', 'unconfirmed_1', 'unconfirmed_2', 'unconfirmed_3', 'unconfirmed_4', 'unconfirmed_5', 'unconfirmed_6', 'unconfirmed_7',
] as const;
export type UnconfirmedSlotName = (typeof UNCONFIRMED_SLOTS)[number];
function unconfirmedCodec(i: number): RecordCodec<UnconfirmedSlot> {
  return recordCodec(`unconfirmed payment ${i}`, {
    seq: big(),
    entry: nullable(record({
      requestId: bytes(REQUEST_ID_BYTES), requestHash: bytes(32), payment: bytes(1, PAYMENT_BYTES_MAX), paymentHash: bytes(32),
      context: bytes(1, PAYMENT_CONTEXT_BYTES_MAX), amountMinor: big(), blinding: bytes(SCALAR_BYTES), epoch: big(),
      nullifier: bytes(G1_BYTES), payeeIdentity: bytes(PAYEE_IDENTITY_BYTES), paidAtMs: big(),
    })),
  }, UNCONFIRMED_ENTRY_NVM_BYTES + 64);
}
/** CB-signed reclaim refusals this SE (as payee) applied, so a repeated one reverses nothing more. */
export interface ReclaimRefusals { applied: Array<{ epoch: bigint; nullifier: Uint8Array }> }
/** Issuer keys installed from CB certificates at sync, for verifying peers of any tier. */
export interface IssuerKeys { entries: Array<{ epoch: bigint; publicKey: Uint8Array }> }
/**
 * One slot of the spend-token pool (crypto/payment.ts, SpendToken, encoded by crypto/spend_token.ts),
 * made while idle for a next counter of the active credential. A token holds secrets and is used
 * exactly once: the payment that uses it empties its slot in the same NVM transaction as the debit.
 * One cell per slot, so a payment rewrites a few bytes, not the whole pool.
 */
export interface SpendTokenSlot { token: Uint8Array | null }
export const SPEND_TOKEN_SLOTS = ['spend_token_0', 'spend_token_1', 'spend_token_2', 'spend_token_3'] as const;
export type SpendTokenSlotName = (typeof SPEND_TOKEN_SLOTS)[number];
function spendTokenCodec(i: number): RecordCodec<SpendTokenSlot> {
  return recordCodec(`spend token ${i}`, { token: nullable(bytes(SPEND_TOKEN_BYTES)) }, SPEND_TOKEN_BYTES + 64);
}
/** Set by the manufacturer (keyed phase): how many receipts this SE's NVM can hold. */
export interface StorageConfig { receiptLogCapacity: number }

const U32 = 0xffff_ffff;
const pub = bytes(P256_PUBLIC_KEY_BYTES);
const credentialSchema = {
  epoch: big(), tier: int(255), deviceClass: int(255), A: bytes(G1_BYTES), e: bytes(SCALAR_BYTES),
  s: bytes(SCALAR_BYTES), issuerPublicKey: bytes(G2_BYTES), counterSet: bytes(0, COUNTER_SET_BYTES_MAX),
};
const policyCodec: RecordCodec<PolicyState> = {
  what: 'policy', maxBytes: POLICY_BYTES_MAX,
  encode: (p) => encodePolicy(p.table),
  decode: (b) => ({ table: decodePolicy(b) }),
};

/** Every section: its NVM key and codec. Adding a section means adding it here and to Sections. */
export const SECTIONS: { readonly [K in SectionName]: RecordCodec<Sections[K]> } = {
  applet: recordCodec('applet', { phase: int<Phase>(Phase.operational) }, 64),
  identity: recordCodec('identity', {
    deviceId: bytes(DEVICE_ID_BYTES), deviceClass: int(255), attestationSecretKey: bytes(P256_SECRET_KEY_BYTES),
    attestationPublicKey: pub, k: bytes(SCALAR_BYTES), manufacturerCaPublicKey: pub,
  }, 1024),
  anchors: recordCodec('anchors', {
    certificate: bytes(1, SIGNED_MESSAGE_BYTES_MAX), cbPublicKey: pub, fiId: text(NAME_CHARS_MAX), fiPublicKey: pub,
    regulatorKey: bytes(G1_BYTES),
  }, 4096),
  wallet: recordCodec('wallet', {
    tier: int(255), balanceMinor: big(), loadCounter: big(), unloadCounter: big(), spentSinceSyncMinor: big(),
    loadedTotalMinor: big(), receivedTotalMinor: big(), spentTotalMinor: big(), unloadedTotalMinor: big(),
    lastUnloadRecord: nullable(bytes(1, SIGNED_MESSAGE_BYTES_MAX)),
  }, 4096),
  spending: recordCodec('spending', { epoch: big(), counter: big() }, 64),
  requests: recordCodec('requests', { lastCounter: big() }, 64),
  policy: policyCodec,
  revocation: recordCodec('revocation', {
    version: big(), epoch: big(), nullifiers: list(bytes(G1_BYTES), U32), deviceRevoked: bool,
  }, NVM_CELL_BYTES_MAX),
  credentials: recordCodec('credentials', { credentials: list(record(credentialSchema), CREDENTIALS_MAX) }, CREDENTIALS_MAX * (COUNTER_SET_BYTES_MAX + 512)),
  spend_token_0: spendTokenCodec(0),
  spend_token_1: spendTokenCodec(1),
  spend_token_2: spendTokenCodec(2),
  spend_token_3: spendTokenCodec(3),
  issuance: recordCodec('issuance', {
    pending: nullable(record({
      issuerNonce: bytes(1, ISSUER_NONCE_BYTES_MAX), sPrime: bytes(SCALAR_BYTES), startedAtMs: big(), epoch: big(), tier: int(255),
      issuerPublicKey: bytes(G2_BYTES), request: bytes(1, SIGNED_MESSAGE_BYTES_MAX),
    })),
  }, SIGNED_MESSAGE_BYTES_MAX + 512),
  receipts: recordCodec('receipts', { firstSeq: big(), nextSeq: big() }, 64),
  nullifiers: recordCodec('nullifiers', {
    entries: list(record({ epoch: big(), nullifier: bytes(G1_BYTES) }), SEEN_NULLIFIERS_MAX),
  }, NVM_CELL_BYTES_MAX),
  sync: recordCodec('sync', {
    nextBatchId: big(),
    pending: nullable(record({
      batchId: big(), firstSeq: big(), endSeq: big(), report: bytes(1, SIGNED_MESSAGE_BYTES_MAX), spentSinceSyncMinor: big(),
    })),
  }, 4096),
  payment_requests: recordCodec('payment requests', {
    entries: list(record({
      requestId: bytes(REQUEST_ID_BYTES), payeeNonce: bytes(PAYEE_NONCE_BYTES), sessionSecretKey: nullable(bytes(32)),
      sessionPublicKey: bytes(SESSION_KEY_BYTES), amountMinor: big(), timeMs: big(), policyVersion: big(), paidHash: nullable(bytes(32)),
      receipt: nullable(bytes(1, RECEIPT_BYTES_MAX)),
    }), PENDING_REQUESTS_MAX),
  }, 8192),
  payer: recordCodec('payer', { paidRequestIds: list(bytes(REQUEST_ID_BYTES), PAID_REQUEST_IDS_MAX) }, PAID_REQUEST_IDS_MAX * 24 + 64),
  unconfirmed_0: unconfirmedCodec(0),
  unconfirmed_1: unconfirmedCodec(1),
  unconfirmed_2: unconfirmedCodec(2),
  unconfirmed_3: unconfirmedCodec(3),
  unconfirmed_4: unconfirmedCodec(4),
  unconfirmed_5: unconfirmedCodec(5),
  unconfirmed_6: unconfirmedCodec(6),
  unconfirmed_7: unconfirmedCodec(7),
  reclaim_refusals: recordCodec('reclaim refusals', {
    applied: list(record({ epoch: big(), nullifier: bytes(G1_BYTES) }), RECLAIM_REFUSALS_MAX),
  }, RECLAIM_REFUSALS_MAX * 64 + 64),
  issuer_keys: recordCodec('issuer keys', {
    entries: list(record({ epoch: big(), publicKey: bytes(G2_BYTES) }), ISSUER_KEYS_MAX),
  }, 2048),
  storage: recordCodec('storage', { receiptLogCapacity: int(RECEIPT_LOG_ENTRIES_MAX) }, 64),
};

export interface Sections {
  applet: AppletRecord;
  identity: Identity;
  anchors: Anchors;
  wallet: Wallet;
  spending: Spending;
  requests: RequestCounter;
  policy: PolicyState;
  revocation: RevocationState;
  credentials: CredentialStore;
  issuance: IssuanceState;
  receipts: ReceiptLogMeta;
  nullifiers: SeenNullifiers;
  sync: SyncState;
  payment_requests: PaymentRequests;
  payer: PaidRequests;
  unconfirmed_0: UnconfirmedSlot;
  unconfirmed_1: UnconfirmedSlot;
  unconfirmed_2: UnconfirmedSlot;
  unconfirmed_3: UnconfirmedSlot;
  unconfirmed_4: UnconfirmedSlot;
  unconfirmed_5: UnconfirmedSlot;
  unconfirmed_6: UnconfirmedSlot;
  unconfirmed_7: UnconfirmedSlot;
  reclaim_refusals: ReclaimRefusals;
  issuer_keys: IssuerKeys;
  storage: StorageConfig;
  spend_token_0: SpendTokenSlot;
  spend_token_1: SpendTokenSlot;
  spend_token_2: SpendTokenSlot;
  spend_token_3: SpendTokenSlot;
}
export type SectionName = keyof Sections;

export const receiptCodec: RecordCodec<ReceiptEntry> = recordCodec('receipt', {
  payment: bytes(1, RECEIPT_PAYMENT_BYTES_MAX), amountMinor: big(), blinding: bytes(SCALAR_BYTES), epoch: big(),
  nullifier: bytes(G1_BYTES), receivedAtMs: big(),
}, RECEIPT_PAYMENT_BYTES_MAX + 512);
const receiptKey = (seq: bigint): string => `receipt/${seq.toString().padStart(12, '0')}`;

/** Read-only view of the committed state, decoded once at open. */
export class SeState {
  private readonly sections = new Map<SectionName, unknown>();

  constructor(private readonly nvm: Nvm) {
    for (const name of Object.keys(SECTIONS) as SectionName[]) {
      const cell = nvm.get(name);
      if (cell) this.sections.set(name, SECTIONS[name].decode(cell));
    }
  }

  has(name: SectionName): boolean {
    return this.sections.has(name);
  }

  get<K extends SectionName>(name: K): Sections[K] {
    const v = this.sections.get(name);
    assert(v !== undefined, `SeState: section ${name} is missing (the phase check should have refused)`);
    return v as Sections[K];
  }

  receipt(seq: bigint): ReceiptEntry | null {
    const cell = this.nvm.get(receiptKey(seq));
    return cell ? receiptCodec.decode(cell) : null;
  }

  begin(): StateTx {
    return new StateTx(this);
  }

  /** Writes every staged change in one NVM transaction, then updates this view. */
  commit(tx: StateTx): void {
    const writes = new Map<string, Uint8Array | null>();
    for (const [name, value] of tx.stagedSections()) writes.set(name, SECTIONS[name].encode(value as never));
    for (const [seq, entry] of tx.stagedReceipts()) writes.set(receiptKey(seq), entry ? receiptCodec.encode(entry) : null);
    this.nvm.commit(writes);
    for (const [name, value] of tx.stagedSections()) this.sections.set(name, value);
  }
}

/** Staged changes of one command; reads see the staged value first. */
export class StateTx {
  private readonly sections = new Map<SectionName, unknown>();
  private readonly receipts = new Map<bigint, ReceiptEntry | null>();

  constructor(private readonly base: SeState) {}

  has(name: SectionName): boolean {
    return this.sections.has(name) || this.base.has(name);
  }

  get<K extends SectionName>(name: K): Sections[K] {
    return this.sections.has(name) ? (this.sections.get(name) as Sections[K]) : this.base.get(name);
  }

  set<K extends SectionName>(name: K, value: Sections[K]): void {
    this.sections.set(name, value);
  }

  receipt(seq: bigint): ReceiptEntry | null {
    return this.receipts.has(seq) ? this.receipts.get(seq)! : this.base.receipt(seq);
  }

  /** Appends to the receipt log; the caller has checked `receiptCount(tx) < RECEIPT_LOG_ENTRIES_MAX`. */
  appendReceipt(entry: ReceiptEntry): bigint {
    const meta = this.get('receipts');
    assert(meta.nextSeq - meta.firstSeq < BigInt(RECEIPT_LOG_ENTRIES_MAX), 'appendReceipt: log full (caller must refuse first)');
    this.receipts.set(meta.nextSeq, entry);
    this.set('receipts', { ...meta, nextSeq: meta.nextSeq + 1n });
    return meta.nextSeq;
  }

  /** Frees log entries below `endSeq`. */
  freeReceiptsBefore(endSeq: bigint): number {
    const meta = this.get('receipts');
    assert(endSeq >= meta.firstSeq && endSeq <= meta.nextSeq, 'freeReceiptsBefore: range outside the log');
    for (let seq = meta.firstSeq; seq < endSeq; seq++) this.receipts.set(seq, null);
    this.set('receipts', { ...meta, firstSeq: endSeq });
    return Number(endSeq - meta.firstSeq);
  }

  stagedSections(): ReadonlyMap<SectionName, unknown> {
    return this.sections;
  }
  stagedReceipts(): ReadonlyMap<bigint, ReceiptEntry | null> {
    return this.receipts;
  }
}

export const receiptCount = (tx: StateTx | SeState): number => {
  const meta = tx.get('receipts');
  return Number(meta.nextSeq - meta.firstSeq);
};

/** The SE's own invariant over its running totals; a broken one is a bug, never an operating error. */
export function assertWalletTotals(w: Wallet, where: string): void {
  assert(
    w.balanceMinor === w.loadedTotalMinor + w.receivedTotalMinor - w.spentTotalMinor - w.unloadedTotalMinor,
    `${where}: balance ${w.balanceMinor} ≠ loaded ${w.loadedTotalMinor} + received ${w.receivedTotalMinor} − spent ${w.spentTotalMinor} − unloaded ${w.unloadedTotalMinor}`,
  );
}

/** The applet phase; a blank NVM (no applet cell yet) is the blank phase. */
export const appletPhase = (s: StateTx | SeState): Phase => (s.has('applet') ? s.get('applet').phase : Phase.blank);
