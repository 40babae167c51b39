// Range proof benchmarks: prove and verify for the payment's 4 × 32 bits (the rows the budget
// tracks), the inner-product argument alone (the dominant phase), proving with nonces computed
// ahead of time (and what computing them costs), batch verification per proof, and informative
// rows for 1 × 64 and 8 × 64.

import { timeIt, type Benchmark, type BenchResult } from './harness.ts';
import { innerProduct, proveInnerProduct } from '../src/crypto/inner_product.ts';
import { bulletproofG, bulletproofH, bulletproofU } from '../src/crypto/generators.ts';
import { randomScalar, seededRng } from '../src/crypto/rng.ts';
import { Transcript } from '../src/crypto/transcript.ts';
import {
  RangeProofNonces,
  proveRange,
  verifyRange,
  verifyRangeBatch,
  type RangeBits,
} from '../src/crypto/range_proof.ts';

const LABEL = 'TALLY-V1/bench/range_proof';
const rng = seededRng('range-proof-bench');

function statement(m: number, bits: RangeBits) {
  const values = Array.from({ length: m }, (_, j) => (1n << BigInt(bits)) - 1n - BigInt(j * 12345));
  const blindings = values.map(() => randomScalar(rng));
  return { values, blindings, bits };
}

async function proveVerifyRows(m: number, bits: RangeBits, n: number): Promise<BenchResult[]> {
  const st = statement(m, bits);
  const prove = () => proveRange({ transcript: new Transcript(LABEL), ...st, rng });
  const { proof, commitments } = prove(); // also warms the generator cache
  const verify = () => {
    const ok = verifyRange({ transcript: new Transcript(LABEL), proof, commitments, bits, rng });
    if (!ok) throw new Error('range proof bench: proof did not verify');
  };
  return [
    await timeIt(`rangeproof.${m}x${bits}.prove`, prove, { n, warmup: 2 }),
    await timeIt(`rangeproof.${m}x${bits}.verify`, verify, { n, warmup: 2 }),
  ];
}

/** Phases of the 4 × 32 prover that dominate: S (precomputable) and the IPA on N = 128. */
async function phaseRows(): Promise<BenchResult[]> {
  const st = statement(4, 32);
  const N = 128;
  const online = () => {
    const nonces = RangeProofNonces.precompute(4, 32, rng);
    const t0 = performance.now();
    proveRange({ transcript: new Transcript(LABEL), ...st, rng, nonces });
    return performance.now() - t0;
  };
  const samples: number[] = [];
  for (let i = 0; i < 22; i++) samples.push(online());
  samples.sort((a, b) => a - b);
  const a = Array.from({ length: N }, () => randomScalar(rng));
  const b = Array.from({ length: N }, () => randomScalar(rng));
  const G = Array.from({ length: N }, (_, i) => bulletproofG(i));
  const H = Array.from({ length: N }, (_, i) => bulletproofH(i));
  const hFactors = Array.from({ length: N }, () => randomScalar(rng));
  const qFactor = randomScalar(rng);
  void innerProduct(a, b);
  return [
    await timeIt('rangeproof.4x32.nonces.precompute', () => RangeProofNonces.precompute(4, 32, rng), { n: 20 }),
    await timeIt(
      'rangeproof.4x32.phase.ipa',
      () => proveInnerProduct({ transcript: new Transcript(LABEL), G, H, hFactors, Q: bulletproofU(), qFactor, a, b }),
      { n: 20 },
    ),
    {
      name: 'rangeproof.4x32.prove.online (nonces precomputed)',
      median_ms: Math.round(samples[11]! * 1000) / 1000,
      p95_ms: Math.round(samples[20]! * 1000) / 1000,
      n: 22,
    },
  ];
}

async function batchRow(count: number): Promise<BenchResult> {
  const items = Array.from({ length: count }, () => {
    const { proof, commitments } = proveRange({ transcript: new Transcript(LABEL), ...statement(4, 32), rng });
    return { proof, commitments, bits: 32 };
  });
  return timeIt(
    `rangeproof.4x32.verify.batch${count} (per proof)`,
    () => {
      const r = verifyRangeBatch(items.map((it) => ({ ...it, transcript: new Transcript(LABEL) })), rng);
      if (!r.ok) throw new Error('range proof bench: batch did not verify');
    },
    { n: 5, warmup: 1, perCall: count },
  );
}

export const benchmarks: Benchmark[] = [
  {
    group: 'range_proof',
    async run() {
      return [
        ...(await proveVerifyRows(4, 32, 21)),
        ...(await phaseRows()),
        await batchRow(16),
        ...(await proveVerifyRows(1, 64, 11)),
        ...(await proveVerifyRows(8, 64, 5)),
      ];
    },
  },
];
