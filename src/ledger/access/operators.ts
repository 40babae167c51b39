// The people who may call a node, each with their own token: staff in a role (CB operator, FI
// operator, auditor, regulator, escrow key holder i) or a customer of an FI (its own accounts and devices).
// A token is `tly1.<operator id>.<secret>` with a 256-bit secret from the system CSPRNG; the node
// stores only SHA-256(secret) — a slow password hash buys nothing against a 256-bit secret — and
// compares in constant time. Made and revoked with `tally operator add / revoke` on the node's
// database; both are written to the admin log. Revocation is immediate: every request looks the
// operator up.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { timingSafeEqual } from 'node:crypto';
import { OPERATOR_ROLES, type OperatorCaller, type OperatorRole } from './gate.ts';
import { appendAdminLog } from './admin_log.ts';
import { checkName, systemRandomBytes, type RandomBytes } from '../context.ts';
import { rowBytes, rowNullableString, rowString, rowBigint, type Db, type Queryable } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';

export const TOKEN_PREFIX = 'tly1';
/** Holder indexes of the escrow key (warrant_partials' CHECK: 1..255). */
export const HOLDER_INDEX_MAX = 255;
const TOKEN_RE = /^tly1\.(op-[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export interface OperatorRecord {
  operatorId: string;
  name: string;
  role: OperatorRole;
  customerId: string | null;
  /** The escrow key holder index i of a key-holder operator, else null. */
  holderIndex: number | null;
  createdMs: number;
  revokedMs: number | null;
}

export interface NewOperator {
  record: OperatorRecord;
  /** Shown once; the node keeps only its hash. */
  token: string;
}

function isRole(x: string): x is OperatorRole {
  return (OPERATOR_ROLES as readonly string[]).includes(x);
}

export function checkRole(x: string): OperatorRole {
  if (!isRole(x)) throw new LedgerError(LedgerErrorCode.badRequest, `role must be one of ${OPERATOR_ROLES.join(', ')}, got '${x}'`);
  return x;
}

const secretHash = (secret: string): Uint8Array => sha256(new TextEncoder().encode(secret));

function recordOf(r: Record<string, unknown>): OperatorRecord {
  const revoked = r['revoked_ms'];
  const holder = r['holder_index'];
  return {
    operatorId: rowString(r, 'operator_id'), name: rowString(r, 'name'), role: checkRole(rowString(r, 'role')),
    customerId: rowNullableString(r, 'customer_id'),
    holderIndex: holder === null || holder === undefined ? null : Number(rowBigint(r, 'holder_index')), createdMs: Number(rowBigint(r, 'created_ms')),
    revokedMs: revoked === null || revoked === undefined ? null : Number(rowBigint(r, 'revoked_ms')),
  };
}

/** Who ran a command-line admin action, for the admin log. */
export interface AdminActor {
  operatorId: string;
  role: string;
}

export const CLI_ACTOR: AdminActor = { operatorId: 'cli', role: 'node-admin' };

/**
 * Makes an operator and its token. A customer operator names the customer (`customerId`);
 * every other role must not. The CSPRNG is the system's unless a test injects one.
 */
export async function addOperator(
  db: Db,
  input: { name: string; role: string; customerId?: string; holderIndex?: number; nowMs?: number; rng?: RandomBytes; actor?: AdminActor },
): Promise<NewOperator> {
  const role = checkRole(input.role);
  const name = input.name.normalize('NFC');
  if (!/^[^\p{C}]{1,100}$/u.test(name) || name.trim() !== name) {
    throw new LedgerError(LedgerErrorCode.badRequest, 'operator name must be 1..100 printable characters with no leading or trailing space');
  }
  const customerId = input.customerId === undefined ? null : checkName(input.customerId, 'customer id');
  if ((role === 'customer') !== (customerId !== null)) {
    throw new LedgerError(LedgerErrorCode.badRequest, role === 'customer' ? 'a customer credential must name its customer' : `a ${role} credential names no customer`);
  }
  const holderIndex = input.holderIndex ?? null;
  if ((role === 'key-holder') !== (holderIndex !== null)) {
    throw new LedgerError(LedgerErrorCode.badRequest, role === 'key-holder' ? 'a key-holder credential must name its holder index' : `a ${role} credential names no holder index`);
  }
  if (holderIndex !== null && (!Number.isSafeInteger(holderIndex) || holderIndex < 1 || holderIndex > HOLDER_INDEX_MAX)) {
    throw new LedgerError(LedgerErrorCode.badRequest, `holder index must be 1..${HOLDER_INDEX_MAX}, got ${holderIndex}`);
  }
  if (customerId !== null && (await db.query('SELECT id FROM customers WHERE id = $1', [customerId])).length === 0) {
    throw new LedgerError(LedgerErrorCode.unknownAccount, `No customer ${customerId} at this node`);
  }
  const rng = input.rng ?? systemRandomBytes;
  const nowMs = input.nowMs ?? Date.now();
  const operatorId = `op-${bytesToHex(rng(8))}`;
  const secret = Buffer.from(rng(32)).toString('base64url');
  await db.run(
    'INSERT INTO operators (operator_id, name, role, customer_id, token_hash, created_ms, revoked_ms, holder_index) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)',
    [operatorId, name, role, customerId, secretHash(secret), BigInt(nowMs), holderIndex === null ? null : BigInt(holderIndex)],
  );
  const actor = input.actor ?? CLI_ACTOR;
  await appendAdminLog(db, { atMs: nowMs, ...actor, action: 'operator add', detail: { operatorId, name, role, customerId, holderIndex }, status: 201, code: null });
  return { record: { operatorId, name, role, customerId, holderIndex, createdMs: nowMs, revokedMs: null }, token: `${TOKEN_PREFIX}.${operatorId}.${secret}` };
}

/** Revokes an operator's token at once; revoking twice is a no-op that says so. */
export async function revokeOperator(db: Db, input: { operatorId: string; nowMs?: number; actor?: AdminActor }): Promise<{ record: OperatorRecord; alreadyRevoked: boolean }> {
  const nowMs = input.nowMs ?? Date.now();
  const before = await findOperator(db, input.operatorId);
  if (before === null) throw new LedgerError(LedgerErrorCode.unknownAccount, `No operator ${input.operatorId} on this node`);
  if (before.revokedMs !== null) return { record: before, alreadyRevoked: true };
  await db.run('UPDATE operators SET revoked_ms = $1 WHERE operator_id = $2 AND revoked_ms IS NULL', [BigInt(nowMs), input.operatorId]);
  const actor = input.actor ?? CLI_ACTOR;
  await appendAdminLog(db, { atMs: nowMs, ...actor, action: 'operator revoke', detail: { operatorId: input.operatorId }, status: 200, code: null });
  return { record: { ...before, revokedMs: nowMs }, alreadyRevoked: false };
}

export async function findOperator(q: Queryable, operatorId: string): Promise<OperatorRecord | null> {
  const r = (await q.query('SELECT * FROM operators WHERE operator_id = $1', [operatorId]))[0];
  return r === undefined ? null : recordOf(r);
}

export async function listOperators(q: Queryable): Promise<OperatorRecord[]> {
  return (await q.query('SELECT * FROM operators ORDER BY created_ms, operator_id')).map(recordOf);
}

/** The operator a token names, if the token is well-formed, its secret matches and it is not revoked. */
export async function authenticateToken(q: Queryable, token: string): Promise<OperatorCaller | null> {
  const m = TOKEN_RE.exec(token);
  if (m === null) return null;
  const r = (await q.query('SELECT * FROM operators WHERE operator_id = $1', [m[1]!]))[0];
  if (r === undefined) return null;
  const ok = timingSafeEqual(Buffer.from(rowBytes(r, 'token_hash')), Buffer.from(secretHash(m[2]!)));
  const record = recordOf(r);
  if (!ok || record.revokedMs !== null) return null;
  return { kind: 'operator', operatorId: record.operatorId, name: record.name, role: record.role, customerId: record.customerId, holderIndex: record.holderIndex };
}
