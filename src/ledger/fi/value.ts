// Moves of value between an FI customer account and the customer's SE, each a two-book saga like
// transfer.ts: the FI leg (customer ↔ settlement, plus the voucher or unload row) and the CB leg
// (reserve ↔ circulation) each run once under their own key. The FI row records whether its CB
// leg is done, so FinancialIntermediary.resume() finishes any saga a crash interrupted, and a
// retried request finishes it too. Exactly once per voucher: (device, load counter) is a primary
// key and the counter is allocated under the device row's lock. Exactly once per unload record:
// (device, unload counter) is a primary key and its idempotency key is derived from it.
// A device's voucher request names the SE's next load counter n: the FI issues voucher n only when
// n is the device's vouchers_issued, answers an issued voucher n again when the amount matches (the
// host lost the answer), and otherwise refuses (VOUCHER_OUTSTANDING: apply voucher n first), so no
// request can debit the account for a voucher the SE will not take. The debit and the voucher row
// are one transaction: a refused voucher moves no money.

import { bytesToHex } from '@noble/hashes/utils.js';
import { assert } from '../../crypto/assert.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { limitsFor, type PolicyTable } from '../../policy/limits.ts';
import { SeDecodeError } from '../../se/cbor.ts';
import { SIGNED_MESSAGE_BYTES_MAX, decodeUnloadRecord, openUnloadRecord, signLoadVoucher } from '../../se/messages.ts';
import { peekEnvelopeBody } from '../../se/signed.ts';
import { FI_SETTLEMENT_ACCOUNT } from '../book/accounts.ts';
import type { CbOfflinePort } from '../cb/central_bank.ts';
import { checkAmount, type RandomBytes } from '../context.ts';
import { loadCustomer } from './customers.ts';
import { rowBigint, rowBytes, type Db, type Tx } from '../db/adapter.ts';
import { loadDevice, type DeviceRow } from './devices.ts';
import { lastAcceptedTotals, type CarriedUnload } from './report_totals.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { idempotent } from '../book/idempotency.ts';
import { readAccount } from '../book/journal.ts';
import { postTwoLegMove } from '../book/moves.ts';
import type { RuleSet } from '../../compliance/index.ts';
import { recheckScreened, recordScreened, screenMove, type Screened } from './compliance.ts';

export interface ValueDeps {
  db: Db;
  fiId: string;
  rng: RandomBytes;
  nowMs: number;
  fiSecretKey: Uint8Array;
  cb: CbOfflinePort;
  /** The AML/CFT rules to screen funding and defunding against (compliance.ts); absent: none. */
  rules?: RuleSet;
}

export interface VoucherResult {
  deviceId: Uint8Array;
  loadCounter: bigint;
  amountMinor: bigint;
  voucher: Uint8Array;
  accountBalanceMinor: bigint;
}

export interface UnloadResult {
  deviceId: Uint8Array;
  unloadCounter: bigint;
  amountMinor: bigint;
  accountBalanceMinor: bigint;
}

const hex = (b: Uint8Array): string => bytesToHex(b);

export interface VoucherRequest {
  deviceId: Uint8Array;
  amountMinor: bigint;
  idempotencyKey: string;
  /** The SE's next load counter (a device's own request always names it; in-process callers may not). */
  loadCounter?: bigint;
}

/** An issued voucher, as a device that lost the answer fetches it again. */
export interface IssuedVoucher {
  deviceId: Uint8Array;
  loadCounter: bigint;
  amountMinor: bigint;
  voucher: Uint8Array;
}

async function readVoucher(q: Pick<Tx, 'query'>, deviceId: Uint8Array, loadCounter: bigint): Promise<IssuedVoucher | null> {
  const r = (await q.query('SELECT amount_minor, voucher FROM load_vouchers WHERE device_id = $1 AND load_counter = $2', [deviceId, loadCounter]))[0];
  return r === undefined ? null : { deviceId, loadCounter, amountMinor: rowBigint(r, 'amount_minor'), voucher: rowBytes(r, 'voucher') };
}

/** Voucher `loadCounter` of a device, or NOT_FOUND when this FI has not issued it. */
export async function issuedVoucher(db: Db, deviceId: Uint8Array, loadCounter: bigint): Promise<IssuedVoucher> {
  const device = await loadDevice(db, deviceId);
  const v = await readVoucher(db, device.deviceId, loadCounter);
  if (v === null) throw new LedgerError(LedgerErrorCode.notFound, `Voucher ${loadCounter} of device ${hex(deviceId)} is not issued (this FI issued ${device.vouchersIssued})`);
  return v;
}

/**
 * The check of a device's load counter n under its row's lock: null when voucher n is the next to
 * issue; the issued voucher n when it exists for this amount (answered again, no second debit).
 */
async function checkLoadCounter(tx: Tx, device: DeviceRow, loadCounter: bigint, amountMinor: bigint): Promise<VoucherResult | null> {
  const issued = device.vouchersIssued;
  if (loadCounter === issued) return null;
  if (loadCounter > issued || loadCounter < 0n) {
    throw new LedgerError(LedgerErrorCode.badRequest, `Load counter ${loadCounter} is not one this FI issued or issues next (it issued ${issued} vouchers to this device)`);
  }
  const v = await readVoucher(tx, device.deviceId, loadCounter);
  assert(v !== null, `voucher ${loadCounter} of ${hex(device.deviceId)} is below vouchers_issued ${issued} but has no row`);
  if (v.amountMinor !== amountMinor) {
    throw new LedgerError(
      LedgerErrorCode.voucherOutstanding,
      `Voucher ${loadCounter} of this device (${v.amountMinor}) is issued and its SE has not applied it: apply it first (GET /devices/${hex(device.deviceId)}/vouchers/${loadCounter}), then ask for ${amountMinor}`,
    );
  }
  const account = await readAccount(tx, device.accountId);
  assert(account !== undefined, `device ${hex(device.deviceId)} names account ${device.accountId}, which does not exist`);
  return { ...v, accountBalanceMinor: account.balanceMinor };
}
export const voucherCbKey = (fiId: string, deviceId: Uint8Array, counter: bigint) => `${fiId}/voucher/${hex(deviceId)}/${counter}/cb`;
export const unloadCbKey = (fiId: string, deviceId: Uint8Array, counter: bigint) => `${fiId}/unload/${hex(deviceId)}/${counter}/cb`;

async function voucherFiLeg(tx: Tx, d: ValueDeps, policy: PolicyTable, input: VoucherRequest, screened: Screened | null): Promise<VoucherResult> {
  const amountMinor = checkAmount(input.amountMinor);
  const device = await loadDevice(tx, input.deviceId, true);
  if (input.loadCounter !== undefined) {
    const again = await checkLoadCounter(tx, device, input.loadCounter, amountMinor);
    if (again !== null) return again;
  }
  const customer = await loadCustomer(tx, device.customerId);
  if (customer.frozen) throw new LedgerError(LedgerErrorCode.frozen, `Customer ${customer.id} is frozen: no loads`);
  const checked = screened === null ? null : await recheckScreened(tx, { ...d, rules: d.rules! }, screened);
  const holding = limitsFor(policy, device.tier).holdingLimitMinor;
  if (amountMinor > holding) {
    throw new LedgerError(LedgerErrorCode.amountInvalid, `A voucher of ${amountMinor} is above the tier-${device.tier} holding limit ${holding}`);
  }
  const loadCounter = device.vouchersIssued;
  await tx.run('UPDATE devices SET vouchers_issued = vouchers_issued + 1 WHERE device_id = $1', [device.deviceId]);
  const move = await postTwoLegMove(tx, d.rng, d.nowMs, {
    operation: 'fi.loadVoucher', from: device.accountId, to: FI_SETTLEMENT_ACCOUNT, amountMinor,
    journalKey: `${input.idempotencyKey}/fi`, reference: `voucher ${hex(device.deviceId)}/${loadCounter}`,
  });
  const voucher = signLoadVoucher(d.fiSecretKey, { devicePublicKey: device.publicKey, loadCounter, amountMinor, fiId: d.fiId });
  await tx.run(
    'INSERT INTO load_vouchers (device_id, load_counter, account_id, amount_minor, voucher, cb_done, idempotency_key, created_ms) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)',
    [device.deviceId, loadCounter, device.accountId, amountMinor, voucher, input.idempotencyKey, BigInt(d.nowMs)],
  );
  if (checked !== null) await recordScreened(tx, { ...d, rules: d.rules! }, checked, `voucher ${hex(device.deviceId)}/${loadCounter}`);
  return { deviceId: device.deviceId, loadCounter, amountMinor, voucher, accountBalanceMinor: move.fromBalanceMinor };
}

/** Screens a funding (compliance.ts); null when the rules are off or the request asks again for an issued voucher. */
async function screenFunding(d: ValueDeps, input: VoucherRequest): Promise<Screened | null> {
  if (d.rules === undefined) return null;
  const device = await loadDevice(d.db, input.deviceId);
  if (input.loadCounter !== undefined && input.loadCounter < device.vouchersIssued) return null;
  return screenMove(d, input.idempotencyKey, { kind: 'fund', customerId: device.customerId, deviceId: hex(device.deviceId), amountMinor: input.amountMinor, atMs: d.nowMs });
}

/** Debits the device's account, signs a voucher for its next load counter, funds circulation. */
export async function createLoadVoucher(d: ValueDeps, input: VoucherRequest): Promise<VoucherResult> {
  const policy = await d.cb.currentPolicy();
  const request = { deviceId: input.deviceId, amountMinor: input.amountMinor, ...(input.loadCounter === undefined ? {} : { loadCounter: input.loadCounter }) };
  const screened = await screenFunding(d, input);
  const r = await idempotent(d.db, d.nowMs, input.idempotencyKey, 'fi.loadVoucher', request, (tx) => voucherFiLeg(tx, d, policy, input, screened));
  await finishVoucher(d, r.value.deviceId, r.value.loadCounter, r.value.amountMinor);
  return r.value;
}

export async function finishVoucher(d: ValueDeps, deviceId: Uint8Array, counter: bigint, amountMinor: bigint): Promise<void> {
  await d.cb.fundCirculation({ fiId: d.fiId, amountMinor, idempotencyKey: voucherCbKey(d.fiId, deviceId, counter) });
  await d.db.run('UPDATE load_vouchers SET cb_done = 1 WHERE device_id = $1 AND load_counter = $2', [deviceId, counter]);
}

function peekUnload(record: Uint8Array) {
  try {
    return decodeUnloadRecord(peekEnvelopeBody(record, SIGNED_MESSAGE_BYTES_MAX, 'unload record'));
  } catch (e) {
    if (!(e instanceof SeDecodeError)) throw e;
    throw new LedgerError(LedgerErrorCode.badRequest, `Unload record does not decode: ${e.message}`);
  }
}

/** Checks the record's signature, FI and amount before any key is taken, so a forgery cannot block the genuine record. */
async function checkUnload(d: ValueDeps, record: Uint8Array) {
  const claimed = peekUnload(record);
  const device = await loadDevice(d.db, claimed.deviceId);
  const opened = openUnloadRecord(record, device.publicKey);
  if (!opened.ok) throw new LedgerError(LedgerErrorCode.signatureInvalid, `Unload record does not verify under the device key (${opened.reason})`);
  const u = opened.value;
  if (u.fiId !== d.fiId) throw new LedgerError(LedgerErrorCode.badRequest, `Unload record is for FI ${u.fiId}, not ${d.fiId}`);
  return { ...u, amountMinor: checkAmount(u.amountMinor) };
}

/**
 * A broken SE can sign any unload record, so its signature is not enough: what a device unloads,
 * in total, may never exceed what the FI knows went into it — every voucher it issued to the
 * device and every receipt settled from its accepted batches. Value it spent offline is not
 * subtracted (the FI cannot see it; that is the L × cap exposure), but value it never had cannot
 * come out (UNLOAD_NOT_COVERED).
 */
async function checkUnloadCovered(tx: Tx, device: DeviceRow, amountMinor: bigint): Promise<void> {
  const sum = async (sql: string) => rowBigint((await tx.query(sql, [device.deviceId]))[0]!, 'total');
  const loaded = await sum('SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM load_vouchers WHERE device_id = $1');
  const unloaded = await sum('SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM unload_records WHERE device_id = $1');
  const received = (await lastAcceptedTotals(tx, device)).receivedTotalMinor;
  if (unloaded + amountMinor > loaded + received) {
    throw new LedgerError(
      LedgerErrorCode.unloadNotCovered,
      `Unload of ${amountMinor} would take this device's unloads to ${unloaded + amountMinor}, above the ${loaded} loaded and ${received} received in accepted syncs`,
    );
  }
}

async function unloadFiLeg(
  tx: Tx, d: ValueDeps, u: { deviceId: Uint8Array; unloadCounter: bigint; amountMinor: bigint }, record: Uint8Array, key: string, screened: Screened | null,
): Promise<UnloadResult> {
  const device = await loadDevice(tx, u.deviceId, true);
  await checkUnloadCovered(tx, device, u.amountMinor);
  const checked = screened === null ? null : await recheckScreened(tx, { ...d, rules: d.rules! }, screened);
  await tx.run(
    'INSERT INTO unload_records (device_id, unload_counter, account_id, amount_minor, record, cb_done, created_ms) VALUES ($1, $2, $3, $4, $5, 0, $6)',
    [device.deviceId, u.unloadCounter, device.accountId, u.amountMinor, record, BigInt(d.nowMs)],
  );
  await tx.run('UPDATE devices SET unloads_applied = unloads_applied + 1 WHERE device_id = $1', [device.deviceId]);
  const move = await postTwoLegMove(tx, d.rng, d.nowMs, {
    operation: 'fi.unload', from: FI_SETTLEMENT_ACCOUNT, to: device.accountId, amountMinor: u.amountMinor,
    journalKey: `${key}/fi`, reference: `unload ${hex(device.deviceId)}/${u.unloadCounter}`,
  });
  if (checked !== null) await recordScreened(tx, { ...d, rules: d.rules! }, checked, `unload ${hex(device.deviceId)}/${u.unloadCounter}`);
  return { deviceId: device.deviceId, unloadCounter: u.unloadCounter, amountMinor: u.amountMinor, accountBalanceMinor: move.toBalanceMinor };
}

/** Credits an SE-signed unload record to the device's account exactly once; defunds circulation. */
/** The signature-checked content of unload records a sync carries (checkReportTotals counts them). */
export async function openCarriedUnloads(d: ValueDeps, records: readonly Uint8Array[]): Promise<CarriedUnload[]> {
  const out: CarriedUnload[] = [];
  for (const record of records) {
    const u = await checkUnload(d, record);
    out.push({ deviceId: u.deviceId, unloadCounter: u.unloadCounter, amountMinor: u.amountMinor });
  }
  return out;
}

export async function applyUnloadRecord(d: ValueDeps, record: Uint8Array): Promise<UnloadResult & { replayed: boolean }> {
  const u = await checkUnload(d, record);
  const key = `unload:${hex(u.deviceId)}:${u.unloadCounter}`;
  const screened = d.rules === undefined ? null
    : await screenMove(d, key, { kind: 'defund', customerId: (await loadDevice(d.db, u.deviceId)).customerId, deviceId: hex(u.deviceId), amountMinor: u.amountMinor, atMs: d.nowMs });
  let r;
  try {
    r = await idempotent(d.db, d.nowMs, key, 'fi.unload', { record: hex(sha256(record)) }, (tx) => unloadFiLeg(tx, d, u, record, key, screened));
  } catch (e) {
    if (e instanceof LedgerError && e.code === LedgerErrorCode.idempotencyMismatch) {
      throw new LedgerError(LedgerErrorCode.replayConflict, `Unload counter ${u.unloadCounter} of this device was already used by another record`);
    }
    throw e;
  }
  await finishUnload(d, r.value.deviceId, r.value.unloadCounter, r.value.amountMinor);
  return { ...r.value, replayed: r.replayed };
}

export async function finishUnload(d: ValueDeps, deviceId: Uint8Array, counter: bigint, amountMinor: bigint): Promise<void> {
  await d.cb.defundCirculation({ fiId: d.fiId, amountMinor, idempotencyKey: unloadCbKey(d.fiId, deviceId, counter) });
  await d.db.run('UPDATE unload_records SET cb_done = 1 WHERE device_id = $1 AND unload_counter = $2', [deviceId, counter]);
}

/** Finishes every voucher and unload whose CB leg a crash interrupted; returns how many. */
export async function resumeValueSagas(d: ValueDeps): Promise<number> {
  let n = 0;
  for (const r of await d.db.query('SELECT device_id, load_counter, amount_minor FROM load_vouchers WHERE cb_done = 0')) {
    await finishVoucher(d, rowBytes(r, 'device_id'), rowBigint(r, 'load_counter'), rowBigint(r, 'amount_minor'));
    n++;
  }
  for (const r of await d.db.query('SELECT device_id, unload_counter, amount_minor FROM unload_records WHERE cb_done = 0')) {
    await finishUnload(d, rowBytes(r, 'device_id'), rowBigint(r, 'unload_counter'), rowBigint(r, 'amount_minor'));
    n++;
  }
  return n;
}
