// Pedersen commitments C = v·G + r·H over G1 with the fixed, nothing-up-my-sleeve bases of
// generators.ts. Perfectly hiding, computationally binding (nobody knows log_G H). Additively
// homomorphic, which is what lets the ledger check Σ C_a against a batch's Σ a (batch_opening.ts
// proves that opening without revealing Σ r_a) and lets a verifier derive C_{cap−a} = cap·G − C_a
// without the prover sending it.

import { G1Point, mod, msmVartime, scalarAdd } from './group.ts';
import { pedersenG, pedersenH } from './generators.ts';

export interface Opening {
  value: bigint;
  blinding: bigint;
}

export function commit(value: bigint, blinding: bigint): G1Point {
  return msmVartime([pedersenG(), pedersenH()], [mod(value), mod(blinding)]);
}

export function opens(c: G1Point, opening: Opening): boolean {
  return commit(opening.value, opening.blinding).equals(c);
}

/** Σ C_i, the commitment to Σ v_i under Σ r_i. */
export function sumCommitments(cs: readonly G1Point[]): G1Point {
  return cs.reduce((acc, c) => acc.add(c), G1Point.IDENTITY);
}

export function sumOpenings(os: readonly Opening[]): Opening {
  return os.reduce(
    (acc, o) => ({ value: acc.value + o.value, blinding: scalarAdd(acc.blinding, o.blinding) }),
    { value: 0n, blinding: 0n },
  );
}

/** C' = x·G − C commits to x − v under −r (public derivation, no prover help). */
export function complementCommitment(x: bigint, c: G1Point): G1Point {
  return pedersenG().mul(mod(x)).sub(c);
}
