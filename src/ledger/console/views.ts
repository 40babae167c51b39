// What each console screen shows, read from the books: the banks (each FI's reserve at the CB),
// an FI's customers with their accounts and devices (with each device's last sync), and one
// customer's own accounts and devices. Plain data for the JSON routes of routes.ts; the page
// renders it with DOM text nodes only. Every list is bounded by CONSOLE_ROWS_MAX, the customers
// page by page.

import { AccountKind } from '../book/accounts.ts';
import { rowBigint, rowBytes, rowString, type Queryable, type Row, type SqlValue } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { assert } from '../../crypto/assert.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

/** Rows a console list shows per page at most (its "More" button reads the next page). */
export const CONSOLE_ROWS_MAX = 500;
/**
 * Accounts, and separately devices, shown per customer on the customers list (the devices screen
 * pages through every device); the rest are counted (`accountsNotShown`, `devicesNotShown`).
 */
export const CONSOLE_ITEMS_PER_CUSTOMER = 16;

export interface BankView {
  fiId: string;
  reserveMinor: bigint;
}

export interface DeviceView {
  deviceId: string;
  customerId: string;
  accountId: string;
  tier: number;
  reportedBalanceMinor: bigint;
  /** When the device last reported at a sync; null if it never synced. */
  lastSyncMs: number | null;
}

export interface AccountView {
  accountId: string;
  balanceMinor: bigint;
}

export interface CustomerView {
  customerId: string;
  /** The identity record's `name`, if it has a string one. */
  name: string | null;
  tier: number;
  frozen: boolean;
  accounts: AccountView[];
  devices: DeviceView[];
  /** The customer's accounts and devices past CONSOLE_ITEMS_PER_CUSTOMER, not listed. */
  accountsNotShown: number;
  devicesNotShown: number;
}

/** Each registered FI's reserve account at the CB. */
export async function banks(cb: Queryable): Promise<BankView[]> {
  const rows = await cb.query('SELECT owner, balance_minor FROM accounts WHERE kind = $1 ORDER BY owner LIMIT $2', [AccountKind.fiReserve, BigInt(CONSOLE_ROWS_MAX)]);
  return rows.map((r) => ({ fiId: rowString(r, 'owner'), reserveMinor: rowBigint(r, 'balance_minor') }));
}

function deviceOf(r: Row): DeviceView {
  const at = r['reported_at_ms'];
  return {
    deviceId: bytesToHex(rowBytes(r, 'device_id')),
    customerId: rowString(r, 'customer_id'),
    accountId: rowString(r, 'account_id'),
    tier: Number(rowBigint(r, 'tier')),
    reportedBalanceMinor: rowBigint(r, 'reported_balance_minor'),
    lastSyncMs: at === null || at === undefined ? null : Number(rowBigint(r, 'reported_at_ms')),
  };
}

/** The identity record's `name`, if it has a string one. */
export function nameOf(identityJson: string): string | null {
  const identity = JSON.parse(identityJson) as Record<string, unknown>;
  return typeof identity['name'] === 'string' ? identity['name'] : null;
}

const DEVICE_COLUMNS = 'device_id, customer_id, account_id, tier, reported_balance_minor, reported_at_ms';
const ACCOUNT_SQL =
  'SELECT ca.customer_id, a.id, a.balance_minor FROM customer_accounts ca JOIN accounts a ON a.id = ca.account_id';

/** A page of an FI's customers, oldest registration first, and whether more follow. */
export interface CustomersPage {
  customers: CustomerView[];
  more: boolean;
}

/**
 * An FI's customers, oldest registration first: `limit` of them (1..CONSOLE_ROWS_MAX, default
 * CONSOLE_ROWS_MAX) after the customer `after` when given, each with its first
 * CONSOLE_ITEMS_PER_CUSTOMER accounts and devices and a count of the rest (read for the page's
 * customers only, so a customer's rows never depend on how many others exist); `more` when
 * customers follow. A cursor naming no customer is NOT_FOUND.
 */
export async function customersPage(fi: Queryable, page: { limit?: number; after?: string } = {}): Promise<CustomersPage> {
  const limit = page.limit ?? CONSOLE_ROWS_MAX;
  if (!Number.isInteger(limit) || limit < 1 || limit > CONSOLE_ROWS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `limit must be 1..${CONSOLE_ROWS_MAX}, got ${limit}`);
  let cursor = '';
  const params: SqlValue[] = [BigInt(limit + 1)];
  if (page.after !== undefined) {
    const at = (await fi.query('SELECT created_ms FROM customers WHERE id = $1', [page.after]))[0];
    if (at === undefined) throw new LedgerError(LedgerErrorCode.notFound, `No customer ${page.after} to page from`);
    cursor = ' WHERE created_ms > $2 OR (created_ms = $2 AND id > $3)';
    params.push(rowBigint(at, 'created_ms'), page.after);
  }
  const people = await fi.query(`SELECT id, tier, identity_json, frozen FROM customers${cursor} ORDER BY created_ms, id LIMIT $1`, params);
  const shown = await withItems(fi, people.slice(0, limit));
  assert(shown.length <= CONSOLE_ROWS_MAX, 'customersPage: bounded by CONSOLE_ROWS_MAX');
  return { customers: shown, more: people.length > limit };
}

/** One customer of an FI with its accounts and devices, or null (the customer's own screen). */
export async function customerView(fi: Queryable, customerId: string): Promise<CustomerView | null> {
  const people = await fi.query('SELECT id, tier, identity_json, frozen FROM customers WHERE id = $1', [customerId]);
  return (await withItems(fi, people))[0] ?? null;
}

/** The customers of `people` (rows of `customers`, in that order) with their accounts and devices. */
async function withItems(fi: Queryable, people: readonly Row[]): Promise<CustomerView[]> {
  if (people.length === 0) return [];
  const ids = people.map((p) => rowString(p, 'id'));
  const marks = ids.map((_, i) => `$${i + 2}`).join(', ');
  // The first CONSOLE_ITEMS_PER_CUSTOMER of each customer's rows, with how many it has in all.
  const firstOf = (sql: string, partition: string, order: string) =>
    `SELECT * FROM (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.${partition} ORDER BY ${order}) AS rn, COUNT(*) OVER (PARTITION BY x.${partition}) AS n FROM (${sql}) x) y WHERE y.rn <= $1 ORDER BY y.${partition}, y.rn`;
  const perCustomer = BigInt(CONSOLE_ITEMS_PER_CUSTOMER);
  const accounts = await fi.query(firstOf(`${ACCOUNT_SQL} WHERE ca.customer_id IN (${marks})`, 'customer_id', 'x.id'), [perCustomer, ...ids]);
  const devices = await fi.query(firstOf(`SELECT ${DEVICE_COLUMNS}, created_ms FROM devices WHERE customer_id IN (${marks})`, 'customer_id', 'x.created_ms, x.device_id'), [perCustomer, ...ids]);
  const byCustomer = new Map<string, CustomerView>();
  for (const p of people) {
    const id = rowString(p, 'id');
    byCustomer.set(id, { customerId: id, name: nameOf(rowString(p, 'identity_json')), tier: Number(rowBigint(p, 'tier')), frozen: rowBigint(p, 'frozen') === 1n, accounts: [], devices: [], accountsNotShown: 0, devicesNotShown: 0 });
  }
  for (const a of accounts) {
    const c = byCustomer.get(rowString(a, 'customer_id'))!;
    c.accounts.push({ accountId: rowString(a, 'id'), balanceMinor: rowBigint(a, 'balance_minor') });
    c.accountsNotShown = Math.max(0, Number(rowBigint(a, 'n')) - CONSOLE_ITEMS_PER_CUSTOMER);
  }
  for (const d of devices) {
    const c = byCustomer.get(rowString(d, 'customer_id'))!;
    c.devices.push(deviceOf(d));
    c.devicesNotShown = Math.max(0, Number(rowBigint(d, 'n')) - CONSOLE_ITEMS_PER_CUSTOMER);
  }
  for (const c of byCustomer.values()) assert(c.accounts.length <= CONSOLE_ITEMS_PER_CUSTOMER && c.devices.length <= CONSOLE_ITEMS_PER_CUSTOMER, 'withItems: bounded per customer');
  return [...byCustomer.values()];
}
