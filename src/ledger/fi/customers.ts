// KYC records of an FI: a customer has a policy tier, an identity record (opaque JSON the FI
// keeps for the regulator: name, document numbers, ...; `dateOfBirth` and `country`, when given,
// in the watchlist's forms) and a frozen flag. Freezing blocks money leaving the customer's
// accounts and new accounts; credits still land (an FI→FI transfer already settled at the CB
// must be able to finish). Device enrolment, K registry, credentials and vouchers attach to the
// customer id later.

// limits.ts directly rather than the policy index: the index also loads the policy codec and,
// through it, the curve engine, which the ledger's books have no use for.
import { TIERS } from '../../policy/limits.ts';
import { assert } from '../../crypto/assert.ts';
import { SECONDARY_FIELDS, readSecondary } from '../../compliance/index.ts';
import { rowBigint, rowString, type Queryable, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { IDENTITY_JSON_BYTES_MAX } from '../limits.ts';

export interface Customer {
  id: string;
  fiId: string;
  tier: number;
  identity: Record<string, unknown>;
  frozen: boolean;
  accountIds: string[];
}

/** Validates a KYC tier and identity record, returning the identity's stored text. */
export function checkKyc(tier: unknown, identity: unknown): { tier: number; identityJson: string } {
  if (typeof tier !== 'number' || !TIERS.includes(tier as (typeof TIERS)[number])) {
    throw new LedgerError(LedgerErrorCode.badRequest, `KYC tier must be one of ${TIERS.join(', ')} (got ${String(tier)})`);
  }
  if (identity === null || typeof identity !== 'object' || Array.isArray(identity)) {
    throw new LedgerError(LedgerErrorCode.badRequest, `KYC identity record must be a JSON object (got ${Array.isArray(identity) ? 'array' : typeof identity})`);
  }
  // The identifiers watchlist screening weighs (watchlist.ts identityOf), held to the list's own
  // forms: a date or country that screening could not read would silently screen on the name alone.
  for (const field of SECONDARY_FIELDS) {
    const r = readSecondary(field, (identity as Record<string, unknown>)[field]);
    if ('error' in r) throw new LedgerError(LedgerErrorCode.badRequest, `KYC identity record: ${r.error}`);
  }
  const identityJson = JSON.stringify(identity);
  const bytes = new TextEncoder().encode(identityJson).length;
  if (bytes > IDENTITY_JSON_BYTES_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `KYC identity record is ${bytes} bytes, the limit is ${IDENTITY_JSON_BYTES_MAX}`);
  }
  return { tier, identityJson };
}

export async function insertCustomer(
  tx: Tx,
  c: { id: string; fiId: string; tier: number; identityJson: string; createdMs: number },
): Promise<void> {
  const n = await tx.run(
    'INSERT INTO customers (id, fi_id, tier, identity_json, frozen, created_ms) VALUES ($1, $2, $3, $4, 0, $5)',
    [c.id, c.fiId, BigInt(c.tier), c.identityJson, BigInt(c.createdMs)],
  );
  assert(n === 1, `customer ${c.id} was not inserted`);
}

/** Reads a customer (FOR UPDATE when `lock`), or throws UNKNOWN_ACCOUNT. */
export async function loadCustomer(q: Queryable, customerId: string, lock = false): Promise<Customer> {
  const rows = await q.query(
    `SELECT id, fi_id, tier, identity_json, frozen FROM customers WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [customerId],
  );
  const row = rows[0];
  if (row === undefined) throw new LedgerError(LedgerErrorCode.unknownAccount, `Customer ${customerId} is not registered at this FI`);
  const accounts = await q.query('SELECT account_id FROM customer_accounts WHERE customer_id = $1 ORDER BY account_id', [customerId]);
  const frozen = rowBigint(row, 'frozen');
  assert(frozen === 0n || frozen === 1n, `customer ${customerId} has frozen flag ${frozen}`);
  return {
    id: rowString(row, 'id'),
    fiId: rowString(row, 'fi_id'),
    tier: Number(rowBigint(row, 'tier')),
    identity: JSON.parse(rowString(row, 'identity_json')) as Record<string, unknown>,
    frozen: frozen === 1n,
    accountIds: accounts.map((a) => rowString(a, 'account_id')),
  };
}

/** The customer owning a customer account, or undefined for a non-customer account. */
export async function ownerOfAccount(q: Queryable, accountId: string): Promise<{ customerId: string; frozen: boolean } | undefined> {
  const rows = await q.query(
    'SELECT c.id, c.frozen FROM customer_accounts ca JOIN customers c ON c.id = ca.customer_id WHERE ca.account_id = $1',
    [accountId],
  );
  const row = rows[0];
  return row === undefined ? undefined : { customerId: rowString(row, 'id'), frozen: rowBigint(row, 'frozen') === 1n };
}

export async function setCustomerFrozen(tx: Tx, customerId: string, frozen: boolean): Promise<void> {
  const n = await tx.run('UPDATE customers SET frozen = $1 WHERE id = $2', [frozen ? 1n : 0n, customerId]);
  assert(n === 1, `customer ${customerId} was not updated`);
}

export async function linkAccount(tx: Tx, accountId: string, customerId: string): Promise<void> {
  const n = await tx.run('INSERT INTO customer_accounts (account_id, customer_id) VALUES ($1, $2)', [accountId, customerId]);
  assert(n === 1, `account ${accountId} was not linked to customer ${customerId}`);
}
