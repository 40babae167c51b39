// Tests for the aggregated range proof: round trips for every (m, bits), a property over random
// in-range values, every proof element and commitment tampered in turn, a foreign transcript
// context, out-of-range values forced through the prover, batch verification that names the bad
// proof, and the decoder's length / point / scalar checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { G1Point, R_ORDER, mod, msmVartime } from './group.ts';
import { pedersenG, pedersenH } from './generators.ts';
import { randomScalar, seededRng, type Rng } from './rng.ts';
import { Transcript } from './transcript.ts';
import {
  RangeProofError,
  RangeProofNonces,
  decodeRangeProof,
  encodeRangeProof,
  proveRange,
  proveRangeSkippingValueCheck,
  rangeProofBytes,
  rangeProofEquations,
  verifyRange,
  verifyRangeBatch,
  type RangeBits,
  type RangeProof,
} from './range_proof.ts';

const utf8 = new TextEncoder();

/** A transcript already bound to a caller context, as the payment proof will do. */
function ctx(context = 'payment-1'): Transcript {
  return new Transcript('TALLY-V1/test/range').appendBytes('ctx', utf8.encode(context));
}

function randomValues(m: number, bits: number, rng: Rng): bigint[] {
  return Array.from({ length: m }, () => randomScalar(rng) % (1n << BigInt(bits)));
}

function makeProof(m: number, bits: RangeBits, seed: number, values?: bigint[]) {
  const rng = seededRng(seed);
  const vs = values ?? randomValues(m, bits, rng);
  const blindings = vs.map(() => randomScalar(rng));
  const out = proveRange({ transcript: ctx(), values: vs, blindings, bits, rng });
  return { ...out, values: vs, blindings, bits };
}

function verifies(proof: RangeProof, commitments: G1Point[], bits: number, context = 'payment-1'): boolean {
  return verifyRange({ transcript: ctx(context), proof, commitments, bits, rng: seededRng('verify') });
}

const four = makeProof(4, 32, 1, [0n, 1n, 0xffffffffn, 123456789n]);

test('proveRange() output verifies and round-trips through the encoding for every (m, bits)', () => {
  const cases: Array<[number, RangeBits]> = [[1, 8], [2, 8], [1, 16], [2, 16], [4, 16], [1, 32], [2, 32], [4, 32], [8, 32], [1, 64], [2, 64], [4, 64], [8, 64]];
  for (const [m, bits] of cases) {
    const p = m === 4 && bits === 32 ? four : makeProof(m, bits, m * bits);
    assert.ok(verifies(p.proof, p.commitments, bits), `${m} x ${bits}`);
    const bytes = encodeRangeProof(p.proof);
    assert.equal(bytes.length, rangeProofBytes(m, bits));
    const decoded = decodeRangeProof(bytes, { m, bits });
    assert.deepEqual(encodeRangeProof(decoded), bytes);
    assert.ok(verifies(decoded, p.commitments, bits), `${m} x ${bits} decoded`);
  }
  assert.equal(encodeRangeProof(four.proof).length, 1024);
});

test('commitments are V_j = v_j·G + gamma_j·H', () => {
  four.values.forEach((v, j) => {
    assert.ok(four.commitments[j]!.equals(pedersenG().mul(v).add(pedersenH().mul(four.blindings[j]!))));
  });
});

test('each returned equation sums to the identity on its own for a valid proof', () => {
  const r = rangeProofEquations({ transcript: ctx(), proof: four.proof, commitments: four.commitments, bits: 32 });
  assert.ok(r.ok);
  assert.equal(r.equations.length, 2);
  for (const eq of r.equations) assert.ok(msmVartime(eq.map((t) => t[0]), eq.map((t) => t[1])).isIdentity());
});

test('proofs for random in-range values verify (property)', () => {
  fc.assert(
    fc.property(fc.integer(), fc.constantFrom(1, 2), (seed, m) => {
      const p = makeProof(m, 32, seed);
      return verifies(p.proof, p.commitments, 32);
    }),
    { numRuns: 4 },
  );
});

test('verifyRange() rejects each tampered point, scalar, L_j and R_j of the proof', () => {
  const { proof, commitments } = four;
  const bump = (P: G1Point) => P.add(G1Point.BASE);
  for (const k of ['A', 'S', 'T1', 'T2'] as const) {
    assert.ok(!verifies({ ...proof, [k]: bump(proof[k]) }, commitments, 32), k);
  }
  for (const k of ['taux', 'mu', 'tHat'] as const) {
    assert.ok(!verifies({ ...proof, [k]: mod(proof[k] + 1n) }, commitments, 32), k);
  }
  for (const k of ['a', 'b'] as const) {
    assert.ok(!verifies({ ...proof, ipa: { ...proof.ipa, [k]: mod(proof.ipa[k] + 1n) } }, commitments, 32), k);
  }
  for (let j = 0; j < proof.ipa.L.length; j++) {
    for (const side of ['L', 'R'] as const) {
      const pts = proof.ipa[side].slice();
      pts[j] = bump(pts[j]!);
      assert.ok(!verifies({ ...proof, ipa: { ...proof.ipa, [side]: pts } }, commitments, 32), `${side}_${j}`);
    }
  }
});

test('verifyRange() rejects each tampered commitment, reordered commitments and a wrong bit length', () => {
  const { proof, commitments } = four;
  for (let j = 0; j < commitments.length; j++) {
    const cs = commitments.slice();
    cs[j] = cs[j]!.add(pedersenG()); // commits to v_j + 1: still in range, but not what was proved
    assert.ok(!verifies(proof, cs, 32), `V_${j}`);
  }
  assert.ok(!verifies(proof, [commitments[1]!, commitments[0]!, commitments[2]!, commitments[3]!], 32));
  assert.ok(!verifies(proof, commitments.slice(0, 2), 32));
  assert.ok(!verifies(proof, commitments, 64));
});

test('verifyRange() rejects a proof verified under a transcript with a different prior context', () => {
  assert.ok(verifies(four.proof, four.commitments, 32, 'payment-1'));
  assert.ok(!verifies(four.proof, four.commitments, 32, 'payment-2'));
});

test('proveRange() refuses out-of-range values, bad sizes and mismatched blindings with typed errors', () => {
  const rng = seededRng(3);
  const base = { transcript: ctx(), blindings: [1n], bits: 32 as RangeBits, rng };
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof RangeProofError);
      return e.code;
    }
    return 'no error';
  };
  assert.equal(code(() => proveRange({ ...base, values: [1n << 32n] })), 'VALUE_OUT_OF_RANGE');
  assert.equal(code(() => proveRange({ ...base, values: [-1n] })), 'VALUE_OUT_OF_RANGE');
  assert.equal(code(() => proveRange({ ...base, values: [1n << 64n], bits: 64 })), 'VALUE_OUT_OF_RANGE');
  assert.equal(code(() => proveRange({ ...base, values: [1n, 2n, 3n], blindings: [1n, 2n, 3n] })), 'SIZE');
  assert.equal(code(() => proveRange({ ...base, values: [1n], bits: 12 as RangeBits })), 'SIZE');
  assert.equal(code(() => proveRange({ ...base, values: [1n, 2n] })), 'BAD_INPUT');
  assert.equal(code(() => proveRange({ ...base, values: [1n], blindings: [R_ORDER] })), 'BAD_INPUT');
});

test('precomputed nonces give a valid proof once and refuse a second use or another size', () => {
  const rng = seededRng(12);
  const nonces = RangeProofNonces.precompute(2, 32, rng);
  const values = [3n, 4n];
  const blindings = [randomScalar(rng), randomScalar(rng)];
  const p = proveRange({ transcript: ctx(), values, blindings, bits: 32, rng, nonces });
  assert.ok(verifies(p.proof, p.commitments, 32));
  assert.throws(
    () => proveRange({ transcript: ctx(), values, blindings, bits: 32, rng, nonces }),
    (e: unknown) => e instanceof RangeProofError && e.code === 'NONCES_REUSED',
  );
  const other = RangeProofNonces.precompute(1, 32, rng);
  assert.throws(
    () => proveRange({ transcript: ctx(), values, blindings, bits: 32, rng, nonces: other }),
    (e: unknown) => e instanceof RangeProofError && e.code === 'BAD_INPUT',
  );
});

test('precomputed nonces (first IPA round from cross terms) give the same proof as inline ones', () => {
  const values = [0n, 1n, 0xfffffffen, 77n];
  const blindings = [5n, 6n, 7n, 8n];
  const inline = proveRange({ transcript: ctx(), values, blindings, bits: 32, rng: seededRng('same') });
  const rng = seededRng('same');
  const nonces = RangeProofNonces.precompute(4, 32, rng);
  const pre = proveRange({ transcript: ctx(), values, blindings, bits: 32, rng, nonces });
  assert.deepEqual(encodeRangeProof(pre.proof), encodeRangeProof(inline.proof));
  assert.ok(verifies(pre.proof, pre.commitments, 32));
});

test('a proof forced through for an out-of-range value does not verify', () => {
  const rng = seededRng(4);
  // 2^32 + 5 (bits proved: those of 5), r − 1 (i.e. −1), and 2^32 exactly.
  for (const bad of [(1n << 32n) + 5n, R_ORDER - 1n, 1n << 32n]) {
    const values = [7n, bad];
    const blindings = [randomScalar(rng), randomScalar(rng)];
    const { proof, commitments } = proveRangeSkippingValueCheck({ transcript: ctx(), values, blindings, bits: 32, rng });
    assert.ok(!verifies(proof, commitments, 32), `value ${bad}`);
  }
  // Control: the same unchecked prover with in-range values does verify.
  const ok = proveRangeSkippingValueCheck({ transcript: ctx(), values: [7n, 8n], blindings: [1n, 2n], bits: 32, rng });
  assert.ok(verifies(ok.proof, ok.commitments, 32));
});

test('rangeProofEquations() returns a reason and never throws on malformed input', () => {
  const { proof, commitments } = four;
  const run = (p: RangeProof, cs: G1Point[] = commitments, bits = 32) =>
    rangeProofEquations({ transcript: ctx(), proof: p, commitments: cs, bits });
  assert.deepEqual(pick(run(proof, commitments.slice(0, 3))), 'SIZE');
  assert.deepEqual(pick(run(proof, commitments, 12)), 'SIZE');
  assert.deepEqual(pick(run({ ...proof, A: G1Point.IDENTITY })), 'SHAPE');
  assert.deepEqual(pick(run({ ...proof, taux: R_ORDER })), 'SHAPE');
  assert.deepEqual(pick(run({ ...proof, mu: -1n })), 'SHAPE');
  assert.deepEqual(pick(run({ ...proof, ipa: { ...proof.ipa, L: proof.ipa.L.slice(1) } })), 'IPA');
  assert.deepEqual(pick(run({ ...proof, ipa: { ...proof.ipa, a: R_ORDER + 1n } })), 'IPA');
  assert.deepEqual(pick(run(null as unknown as RangeProof)), 'SHAPE');
  assert.deepEqual(pick(run(proof, null as unknown as G1Point[])), 'SHAPE');
  assert.deepEqual(pick(run(proof, 'x' as unknown as G1Point[])), 'SHAPE');
  assert.deepEqual(pick(run(proof, [...commitments.slice(0, 3), 'V' as unknown as G1Point])), 'SHAPE');
});

function pick(r: ReturnType<typeof rangeProofEquations>): string {
  return r.ok ? 'ok' : r.reason;
}

test('verifyRangeBatch() accepts good proofs and names the one bad proof', () => {
  const items = [four, makeProof(2, 32, 21), makeProof(1, 64, 22), makeProof(1, 32, 23)].map((p) => ({
    proof: p.proof,
    commitments: p.commitments,
    bits: p.bits,
  }));
  const fresh = () => items.map((it) => ({ ...it, transcript: ctx() }));
  assert.deepEqual(verifyRangeBatch(fresh(), seededRng(5)), { ok: true, failed: [] });
  for (const badIndex of [0, 2]) {
    const batch = fresh();
    const bad = batch[badIndex]!;
    batch[badIndex] = { ...bad, proof: { ...bad.proof, tHat: mod(bad.proof.tHat + 1n) } };
    assert.deepEqual(verifyRangeBatch(batch, seededRng(6)), { ok: false, failed: [badIndex] });
  }
  const shapeBad = fresh();
  shapeBad[3] = { ...shapeBad[3]!, bits: 48 as RangeBits };
  shapeBad[1] = { ...shapeBad[1]!, transcript: ctx('other') };
  assert.deepEqual(verifyRangeBatch(shapeBad, seededRng(7)), { ok: false, failed: [1, 3] });
});

test('decodeRangeProof() rejects truncated, extended and non-canonical bytes with the right code', () => {
  const bytes = encodeRangeProof(four.proof);
  const code = (b: Uint8Array, shape = { m: 4, bits: 32 }) => {
    try {
      decodeRangeProof(b, shape);
    } catch (e) {
      assert.ok(e instanceof RangeProofError, String(e));
      return e.code;
    }
    return 'decoded';
  };
  assert.equal(code(bytes), 'decoded');
  assert.equal(code(bytes.subarray(0, 1023)), 'LENGTH');
  assert.equal(code(Uint8Array.from([...bytes, 0])), 'LENGTH');
  assert.equal(code(bytes, { m: 2, bits: 32 }), 'LENGTH');
  assert.equal(code(bytes, { m: 3, bits: 32 }), 'SIZE');
  const edit = (offset: number, f: (b: Uint8Array) => void) => {
    const b = bytes.slice();
    f(b.subarray(offset));
    return b;
  };
  // Point fields: A at 0, T2 at 144, L_0 at 288, R_6 at 288 + 13·48.
  for (const off of [0, 144, 288, 288 + 13 * 48]) {
    assert.equal(code(edit(off, (b) => (b[0]! &= 0x7f))), 'POINT'); // uncompressed flag
    assert.equal(code(edit(off, (b) => b.set(Uint8Array.of(0xc0, ...new Uint8Array(47))))), 'POINT'); // identity
    assert.equal(code(edit(off, (b) => { b[0] = (b[0]! & 0xe0) | 0x1f; b.fill(0xff, 1, 48); })), 'POINT'); // x ≥ p
  }
  // Scalar fields: taux at 192, tHat at 256, a at 960, b at 992: set to r (not canonical).
  const rBytes = Uint8Array.from(Buffer.from(R_ORDER.toString(16).padStart(64, '0'), 'hex'));
  for (const off of [192, 256, 960, 992]) assert.equal(code(edit(off, (b) => b.set(rBytes))), 'SCALAR');
});
