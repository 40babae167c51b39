// What every ledger node is given rather than reaching for: its database, a clock and a source of
// random bytes (for ids). Tests pass a fake clock and a seeded RNG, so a run replays exactly.
// Also the input checks shared by the CB and FI books.

import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Db } from './db/adapter.ts';
import { LedgerError, LedgerErrorCode } from './errors.ts';
import { AMOUNT_MAX_MINOR, NAME_LENGTH_MAX } from './limits.ts';

export interface Clock {
  nowMs(): number;
}

/** Same shape as src/crypto/rng.ts `Rng`, declared here so the ledger does not load the curve engine. */
export type RandomBytes = (n: number) => Uint8Array;

export const systemClock: Clock = { nowMs: () => Date.now() };
export const systemRandomBytes: RandomBytes = (n) => new Uint8Array(randomBytes(n));

export interface NodeDeps {
  db: Db;
  clock?: Clock;
  rng?: RandomBytes;
}

/** Random part of generated ids: 96 bits, so collisions are not a practical concern. */
const ID_RANDOM_BYTES = 12;

export function newId(rng: RandomBytes, prefix: string): string {
  return `${prefix}_${bytesToHex(rng(ID_RANDOM_BYTES))}`;
}

/** Amounts are bigint minor units in 1..AMOUNT_MAX_MINOR. */
export function checkAmount(amount: unknown): bigint {
  if (typeof amount !== 'bigint' || amount <= 0n || amount > AMOUNT_MAX_MINOR) {
    throw new LedgerError(
      LedgerErrorCode.amountInvalid,
      `Amount must be a bigint of minor units in 1..${AMOUNT_MAX_MINOR} (got ${typeof amount === 'bigint' ? amount : typeof amount})`,
    );
  }
  return amount;
}

/** An FI's id: what its certificate, its reserve account and its routes (/fi/<id>) are named by. */
export const FI_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** An FI id a CB may register: lower-case letters, digits and '-', 1..32, starting with a letter or digit. */
export function checkFiId(value: unknown): string {
  if (typeof value !== 'string' || !FI_ID_PATTERN.test(value)) {
    throw new LedgerError(LedgerErrorCode.badRequest, `FI id must be 1..32 lower-case letters, digits and '-' (got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value})`);
  }
  return value;
}

/** Ids and names: 1..NAME_LENGTH_MAX characters of [A-Za-z0-9_.:-]. */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]+$/.test(value) || value.length > NAME_LENGTH_MAX) {
    throw new LedgerError(
      LedgerErrorCode.badRequest,
      `${what} must be 1..${NAME_LENGTH_MAX} characters of [A-Za-z0-9_.:-] (got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value})`,
    );
  }
  return value;
}
