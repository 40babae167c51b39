// What each console screen shows, read from the books: the banks (each FI's reserve at the CB),
// an FI's customers with their accounts and devices (with each device's last sync), and one
// customer's own accounts and devices. Plain data for the JSON routes of routes.ts; the page
// renders it with DOM text nodes only. Every list is bounded by CONSOLE_ROWS_MAX.

import { AccountKind } from '../book/accounts.ts';
import { rowBigint, rowBytes, rowString, type Queryable, type Row } from '../db/adapter.ts';
import { bytesToHex } from '@noble/hashes/utils.js';

/** Rows a console list shows at most; a larger FI needs paging, which this first slice lacks. */
export const CONSOLE_ROWS_MAX = 500;
/** Accounts (and, separately, devices) read per customer shown, on average. */
export const CONSOLE_ITEMS_PER_CUSTOMER = 4;

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

/** Customers of an FI (all of them, or the one `customerId` names), with accounts and devices. */
export async function customers(fi: Queryable, customerId?: string): Promise<CustomerView[]> {
  const one = customerId !== undefined;
  const limit = BigInt(CONSOLE_ROWS_MAX);
  const people = await fi.query(`SELECT id, tier, identity_json, frozen FROM customers${one ? ' WHERE id = $2' : ''} ORDER BY created_ms, id LIMIT $1`, one ? [limit, customerId] : [limit]);
  // Accounts and devices of customers past the first CONSOLE_ROWS_MAX are read and dropped below;
  // the bound on these reads keeps the work finite until the screens page.
  const many = BigInt(CONSOLE_ROWS_MAX * CONSOLE_ITEMS_PER_CUSTOMER);
  const accounts = await fi.query(`${ACCOUNT_SQL}${one ? ' WHERE ca.customer_id = $2' : ''} ORDER BY a.id LIMIT $1`, one ? [many, customerId] : [many]);
  const devices = await fi.query(`SELECT ${DEVICE_COLUMNS} FROM devices${one ? ' WHERE customer_id = $2' : ''} ORDER BY created_ms, device_id LIMIT $1`, one ? [many, customerId] : [many]);
  const byCustomer = new Map<string, CustomerView>();
  for (const p of people) {
    const id = rowString(p, 'id');
    byCustomer.set(id, { customerId: id, name: nameOf(rowString(p, 'identity_json')), tier: Number(rowBigint(p, 'tier')), frozen: rowBigint(p, 'frozen') === 1n, accounts: [], devices: [] });
  }
  for (const a of accounts) byCustomer.get(rowString(a, 'customer_id'))?.accounts.push({ accountId: rowString(a, 'id'), balanceMinor: rowBigint(a, 'balance_minor') });
  for (const d of devices) byCustomer.get(rowString(d, 'customer_id'))?.devices.push(deviceOf(d));
  return [...byCustomer.values()];
}
