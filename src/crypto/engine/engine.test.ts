// The two curve engines side by side in one process, against @noble/curves as the reference:
// random operations must give byte-identical results on blst, mcl and noble, decoding must give
// the same verdict for valid, tampered, off-curve and off-subgroup bytes, and the cofactor-cleared
// MSM over points outside G1 (what the batch verifier relies on) must agree. The whole crypto
// suite also runs once per engine (package.json "test"); this file is what compares them.
//
// The native engine must load: npm install builds it wherever a compiler is present. Only with
// TALLY_NATIVE=0 (the build deliberately disabled) are the native cases skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { loadEngine, engineInfo, type CurveEngine } from './index.ts';
import { G1Point, R_ORDER, bigintToBytesBE, msmVartime } from '../group.ts';
import { seededRng } from '../rng.ts';

const nobleG1 = bls12_381.G1.Point;
const nobleG2 = bls12_381.G2.Point;
const P_FIELD = bls12_381.fields.Fp.ORDER;
const scalar = fc.bigInt({ min: 0n, max: R_ORDER - 1n });
const nativeDisabled = process.env.TALLY_NATIVE === '0';

const mcl = (await loadEngine('mcl'))!;
const blst = await loadEngine('blst');

function engines(): CurveEngine[] {
  if (blst === null) {
    assert.ok(nativeDisabled, 'the native blst engine did not load: run `npm install` with a C compiler (or set TALLY_NATIVE=0 to test mcl alone)');
    return [mcl];
  }
  return [blst, mcl];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the engine in use is the one TALLY_ENGINE names, and the native one by default', () => {
  const asked = process.env.TALLY_ENGINE;
  if (asked === 'mcl' || asked === 'blst') assert.equal(engineInfo.name, asked);
  else if (!nativeDisabled) assert.equal(engineInfo.name, 'blst', engineInfo.reason);
});

test('G1 and G2 arithmetic agree across blst, mcl and noble on random scalars', () => {
  const es = engines();
  fc.assert(
    fc.property(scalar, scalar, (a, b) => {
      const nA = a === 0n ? nobleG1.ZERO : nobleG1.BASE.multiply(a);
      const nB = b === 0n ? nobleG1.ZERO : nobleG1.BASE.multiply(b);
      const n2 = a === 0n ? nobleG2.ZERO : nobleG2.BASE.multiply(a);
      for (const e of es) {
        const A = e.g1Mul(e.g1Generator(), a);
        const B = e.g1Mul(e.g1Generator(), b);
        assert.equal(hex(e.g1Encode(A)), hex(nA.toBytes(true)), `${e.name} g1 mul`);
        assert.equal(hex(e.g1Encode(e.g1Add(A, B))), hex(nA.add(nB).toBytes(true)), `${e.name} g1 add`);
        assert.equal(hex(e.g1Encode(e.g1Sub(A, B))), hex(nA.subtract(nB).toBytes(true)), `${e.name} g1 sub`);
        assert.equal(hex(e.g1Encode(e.g1Neg(A))), hex(nA.negate().toBytes(true)), `${e.name} g1 neg`);
        assert.equal(hex(e.g1Encode(e.g1Dbl(A))), hex(nA.double().toBytes(true)), `${e.name} g1 dbl`);
        assert.equal(e.g1Eq(e.g1Add(A, B), e.g1Add(B, A)), true);
        assert.equal(e.g1IsIdentity(e.g1Sub(A, A)), true);
        const Q = e.g2Mul(e.g2Generator(), a);
        assert.equal(hex(e.g2Encode(Q)), hex(n2.toBytes(true)), `${e.name} g2 mul`);
        assert.equal(hex(e.g2Encode(e.g2Add(Q, e.g2Generator()))), hex(n2.add(nobleG2.BASE).toBytes(true)), `${e.name} g2 add`);
        assert.equal(hex(e.g2Encode(e.g2Sub(Q, e.g2Generator()))), hex(n2.subtract(nobleG2.BASE).toBytes(true)), `${e.name} g2 sub`);
        assert.equal(hex(e.g2Encode(e.g2Neg(Q))), hex(n2.negate().toBytes(true)), `${e.name} g2 neg`);
      }
    }),
    { numRuns: 12 },
  );
});

test('MSMs of every size from 0 to 70 agree across the engines and noble (identities and zero scalars included)', () => {
  const es = engines();
  const rng = seededRng('engine-msm');
  for (const n of [0, 1, 2, 3, 7, 31, 32, 33, 64, 70]) {
    const ks = Array.from({ length: n }, (_, i) => (i === 3 ? 0n : BigInt('0x' + hex(rng(32))) % R_ORDER));
    const ss = Array.from({ length: n }, (_, i) => (i === 5 ? 0n : BigInt('0x' + hex(rng(32))) % R_ORDER));
    let want = nobleG1.ZERO;
    for (let i = 0; i < n; i++) if (ks[i]! !== 0n && ss[i]! !== 0n) want = want.add(nobleG1.BASE.multiply((ks[i]! * ss[i]!) % R_ORDER));
    for (const e of es) {
      const pts = ks.map((k) => e.g1Mul(e.g1Generator(), k));
      assert.equal(hex(e.g1Encode(e.g1Msm(pts, ss))), hex(want.toBytes(true)), `${e.name} msm of ${n}`);
      if (e.g1FixedSlot !== null && e.g1MsmFixed !== null) {
        // The same sum with some bases from fixed-base rows (identities cannot have one).
        const fixed = pts.map((p, i) => (i % 3 !== 0 && !e.g1IsIdentity(p) ? e.g1FixedSlot!(p) : null));
        const slots = Uint32Array.from(fixed.filter((s) => s !== null) as number[]);
        const fixedScalars = ss.filter((_, i) => fixed[i] !== null);
        const rest = pts.filter((_, i) => fixed[i] === null);
        const restScalars = ss.filter((_, i) => fixed[i] === null);
        assert.equal(hex(e.g1Encode(e.g1MsmFixed(slots, fixedScalars, rest, restScalars))), hex(want.toBytes(true)), `${e.name} fixed-row msm of ${n}`);
      }
    }
  }
});

test('MSMs over table-backed generators equal noble, whatever mix of marked and unmarked bases', () => {
  const rng = seededRng('fixed-bases');
  const tag = 'TALLY-TEST/fixed-bases';
  const bases = Array.from({ length: 40 }, (_, i) => G1Point.hashToCurve(Uint8Array.of(i), tag));
  bases.forEach((b, i) => i % 4 !== 3 && b.useFixedTable());
  const nobleBases = Array.from({ length: 40 }, (_, i) => bls12_381.G1.hashToCurve(Uint8Array.of(i), { DST: tag }));
  for (const n of [40, 17, 5, 3]) {
    const ss = Array.from({ length: n }, (_, i) => (i === 2 ? 0n : BigInt('0x' + hex(rng(32))) % R_ORDER));
    let want = nobleG1.ZERO;
    for (let i = 0; i < n; i++) if (ss[i] !== 0n) want = want.add(nobleBases[i]!.multiply(ss[i]!));
    const both = [...bases.slice(0, n), bases[0]!]; // a base twice: its scalars add up
    const bothScalars = [...ss, 5n];
    const want2 = want.add(nobleBases[0]!.multiply(5n));
    assert.equal(msmVartime(bases.slice(0, n), ss).toHex(), Buffer.from(want.toBytes(true)).toString('hex'), `n = ${n}`);
    assert.equal(msmVartime(both, bothScalars).toHex(), Buffer.from(want2.toBytes(true)).toString('hex'), `n = ${n} with a repeat`);
  }
});

/** x for which (x, y) is on y² = x³ + 4 but outside G1, found by trying small x. */
function offSubgroupBytes(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let x = 1n; out.length < 3 && x < 1000n; x++) {
    const rhs = bls12_381.fields.Fp.create(x * x * x + 4n);
    let y: bigint;
    try {
      y = bls12_381.fields.Fp.sqrt(rhs);
    } catch {
      continue;
    }
    if (y === undefined) continue;
    const b = bigintToBytesBE(x, 48);
    b[0]! |= 0x80;
    if (mcl.g1Decode(b, true).ok) continue; // in G1 after all (vanishingly rare)
    out.push(b);
  }
  return out;
}

test('decoding gives the same verdict on every engine: valid, tampered, off-curve, off-subgroup, non-canonical', () => {
  const es = engines();
  const rng = seededRng('engine-decode');
  const samples: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    const good = nobleG1.BASE.multiply(1n + (BigInt('0x' + hex(rng(32))) % (R_ORDER - 1n))).toBytes(true);
    samples.push(good);
    const bad = Uint8Array.from(good);
    bad[1 + (i % 47)]! ^= 1 << (i % 8);
    samples.push(bad);
  }
  const inf = new Uint8Array(48);
  inf[0] = 0xc0;
  samples.push(inf, Uint8Array.from(inf).fill(1, 47), new Uint8Array(48), bigintToBytesBE(P_FIELD | (1n << 383n), 48));
  samples.push(...offSubgroupBytes());
  const x0 = new Uint8Array(48);
  x0[0] = 0x80; // (0, ±2): on the curve, order 3
  samples.push(x0);
  for (const b of samples) {
    for (const check of [true, false]) {
      const verdicts = es.map((e) => {
        const r = e.g1Decode(b, check);
        return r.ok ? `ok:${r.identity}:${hex(e.g1Encode(r.point))}` : r.code;
      });
      assert.equal(new Set(verdicts).size, 1, `${hex(b)} check=${check}: ${verdicts.join(' vs ')}`);
    }
  }
  const g2 = nobleG2.BASE.multiply(12345n).toBytes(true);
  const g2bad = Uint8Array.from(g2);
  g2bad[50]! ^= 4;
  for (const b of [g2, g2bad]) {
    const verdicts = es.map((e) => {
      const r = e.g2Decode(b, true);
      return r.ok ? `ok:${hex(e.g2Encode(r.point))}` : r.code;
    });
    assert.equal(new Set(verdicts).size, 1, verdicts.join(' vs '));
  }
});

test('points outside G1: subgroup test, cofactor clearing and the cleared MSM agree across engines', () => {
  const es = engines();
  const off = offSubgroupBytes();
  assert.ok(off.length >= 2);
  const ss = [123456789n, R_ORDER - 5n, 42n];
  const results = es.map((e) => {
    const pts = off.map((b) => {
      const r = e.g1Decode(b, false);
      assert.ok(r.ok);
      return r.point;
    });
    for (const p of pts) {
      assert.equal(e.g1InSubgroup(p), false, `${e.name}: off-subgroup point reported in G1`);
      assert.equal(e.g1InSubgroup(e.g1ClearCofactor(p)), true, `${e.name}: h_eff·P not in G1`);
    }
    const single = e.g1ClearCofactor(e.g1Msm(pts.slice(0, 1), ss.slice(0, 1)));
    const many = e.g1ClearCofactor(e.g1Msm([...pts, e.g1Generator()].slice(0, 3), ss));
    return [...pts.map((p) => hex(e.g1Encode(e.g1ClearCofactor(p)))), hex(e.g1Encode(single)), hex(e.g1Encode(many))].join('|');
  });
  assert.equal(new Set(results).size, 1);
});

test('multi-pairings agree: bilinearity holds and a perturbed product fails, on every engine', () => {
  const es = engines();
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: R_ORDER - 1n }), fc.bigInt({ min: 1n, max: R_ORDER - 1n }), (a, b) => {
      for (const e of es) {
        const P = e.g1Mul(e.g1Generator(), a);
        const Q = e.g2Mul(e.g2Generator(), b);
        const minusAb = e.g1Neg(e.g1Mul(e.g1Generator(), (a * b) % R_ORDER));
        assert.equal(e.pairingIsOne([[P, Q], [minusAb, e.g2Generator()]]), true, `${e.name}: e(aP, bQ)·e(-abP, Q) ≠ 1`);
        assert.equal(e.pairingIsOne([[e.g1Add(P, e.g1Generator()), Q], [minusAb, e.g2Generator()]]), false, `${e.name}: perturbed`);
        assert.equal(e.pairingIsOne([[e.g1Identity(), Q]]), true, `${e.name}: identity pair`);
      }
    }),
    { numRuns: 4 },
  );
});

test('native hash-to-curve equals noble on random messages and DSTs', { skip: blst === null && nativeDisabled }, () => {
  const e = blst!;
  assert.ok(e.g1HashToCurve !== null);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 60 }), (msg, dst) => {
      const want = bls12_381.G1.hashToCurve(msg, { DST: dst }).toBytes(true);
      assert.equal(hex(e.g1Encode(e.g1HashToCurve!(msg, new TextEncoder().encode(dst)))), hex(want));
    }),
    { numRuns: 20 },
  );
});
