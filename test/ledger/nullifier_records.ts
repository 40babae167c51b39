// Nullifier registry records for tests and benchmarks: deterministic ones named by label (tests
// that want the same nullifier twice), and random batches (benchmarks that want fresh ones).

import { createHash, randomBytes } from 'node:crypto';
import { NULLIFIER_BYTES, PAYMENT_HASH_BYTES } from '../../src/ledger/limits.ts';
import type { NullifierRecord } from '../../src/ledger/cb/nullifiers.ts';

/** n bytes of a SHA-256 chain seeded with `label`. */
export function labelBytes(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let block = createHash('sha256').update(label).digest();
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % 32 === 0) block = createHash('sha256').update(block).digest();
    out[i] = block[i % 32]!;
  }
  return out;
}

/** The record of nullifier `n` paid by payment `payment`, both named by label. */
export const namedRecord = (epoch: bigint, n: string, payment: string): NullifierRecord => ({
  epoch,
  nullifier: labelBytes(`N/${n}`, NULLIFIER_BYTES),
  paymentHash: labelBytes(`P/${payment}`, PAYMENT_HASH_BYTES),
});

/** `size` records with random nullifiers and payment hashes. */
export function randomBatch(size: number, epoch: bigint): NullifierRecord[] {
  const bytes = randomBytes(size * (NULLIFIER_BYTES + PAYMENT_HASH_BYTES));
  return Array.from({ length: size }, (_, i) => {
    const o = i * (NULLIFIER_BYTES + PAYMENT_HASH_BYTES);
    return {
      epoch,
      nullifier: new Uint8Array(bytes.subarray(o, o + NULLIFIER_BYTES)),
      paymentHash: new Uint8Array(bytes.subarray(o + NULLIFIER_BYTES, o + NULLIFIER_BYTES + PAYMENT_HASH_BYTES)),
    };
  });
}
