// Regulator escrow: dealing, encryption of K, threshold decryption with checked partials, the
// escrow relations through the real sigma prover/verifier, and strict byte encodings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeErrorCode } from './fixtures.ts';
import { G1Point, G1_BYTES, R_ORDER, scalarAdd, scalarToBytes, bigintToBytesBE } from './group.ts';
import { gK, pedersenG } from './generators.ts';
import { randomScalar, seededRng } from './rng.ts';
import { ShamirError, reconstructSecret } from './shamir.ts';
import { proveSigma, verifySigma, type SigmaProof } from './sigma.ts';
import {
  ESCROW_CIPHERTEXT_BYTES,
  PARTIAL_DECRYPTION_BYTES,
  combine,
  dealRegulatorKey,
  encryptDeviceKey,
  escrowCiphertextFromBytes,
  escrowCiphertextToBytes,
  escrowRelations,
  partialDecrypt,
  partialDecryptionFromBytes,
  partialDecryptionToBytes,
  verifyPartialDecryption,
  type EscrowCiphertext,
  type PartialDecryption,
  type RegulatorKey,
} from './escrow.ts';

const utf8 = new TextEncoder();
const WARRANT = utf8.encode('warrant/2026/0042');
const OTHER_WARRANT = utf8.encode('warrant/2026/0043');
/** Payment ids are 32-byte payment hashes; these two stand for two stored records. */
const PAYMENT = new Uint8Array(32).fill(0xa1);
const OTHER_PAYMENT = new Uint8Array(32).fill(0xb2);

const decodeCode = decodeErrorCode;

interface Setup {
  regulator: RegulatorKey;
  k: bigint;
  K: G1Point;
  s: bigint;
  ct: EscrowCiphertext;
}

function setup(threshold: number, holders: number, seed: string): Setup {
  const rng = seededRng(seed);
  const regulator = dealRegulatorKey({ threshold, holders, rng });
  const k = randomScalar(rng);
  const K = gK().mul(k);
  const s = randomScalar(rng);
  return { regulator, k, K, s, ct: encryptDeviceKey(K, regulator.publicKey, s) };
}

function partialsOf(st: Setup, indexes: readonly number[], warrantId = WARRANT, paymentId = PAYMENT): PartialDecryption[] {
  const rng = seededRng(`partials-${indexes.join(',')}`);
  return indexes.map((i) =>
    partialDecrypt({ share: st.regulator.shares[i - 1]!, E1: st.ct.E1, E2: st.ct.E2, rng, warrantId, paymentId }),
  );
}

function combineWith(st: Setup, partials: readonly PartialDecryption[], warrantId = WARRANT) {
  return combine({
    ...st.ct,
    partials,
    threshold: st.regulator.threshold,
    verificationKeys: st.regulator.shares.map((s) => s.verificationKey),
    warrantId,
    paymentId: PAYMENT,
  });
}

type PartialOverrides = Partial<{ E1: G1Point; E2: G1Point; warrantId: Uint8Array; paymentId: Uint8Array; verificationKey: G1Point }>;

function verifyPartial(st: Setup, partial: PartialDecryption, overrides: PartialOverrides = {}) {
  return verifyPartialDecryption({
    partial,
    verificationKey: st.regulator.shares[partial.index - 1]!.verificationKey,
    ...st.ct,
    warrantId: WARRANT,
    paymentId: PAYMENT,
    ...overrides,
  });
}

// A 3-of-5 dealing shared by most tests below.
const st = setup(3, 5, 'escrow-3-of-5');
const honestPartials = partialsOf(st, [1, 2, 3, 4, 5]);

// ---------------------------------------------------------------------------------------------
// Dealing and encryption

test('dealRegulatorKey() shares y so that the shares reconstruct the key behind Y_reg', () => {
  const y = reconstructSecret(st.regulator.shares.slice(1, 4).map((s) => ({ index: s.index, value: s.secret })));
  assert.ok(pedersenG().mul(y).equals(st.regulator.publicKey));
  for (const share of st.regulator.shares) assert.ok(share.verificationKey.equals(pedersenG().mul(share.secret)));
  assert.deepEqual(
    st.regulator.shares.map((s) => s.index),
    [1, 2, 3, 4, 5],
  );
});

test('dealRegulatorKey() refuses a threshold outside 1 ≤ k ≤ n ≤ 255 with a typed error', () => {
  for (const [threshold, holders] of [
    [0, 3],
    [4, 3],
    [2, 256],
  ] as const) {
    assert.throws(
      () => dealRegulatorKey({ threshold, holders, rng: seededRng('x') }),
      (e: unknown) => e instanceof ShamirError && e.code === 'THRESHOLD_RANGE',
    );
  }
});

test('encryptDeviceKey() is ElGamal: E2 − y·E1 = K', () => {
  const y = reconstructSecret(st.regulator.shares.map((s) => ({ index: s.index, value: s.secret })));
  assert.ok(st.ct.E1.equals(pedersenG().mul(st.s)));
  assert.ok(st.ct.E2.sub(st.ct.E1.mul(y)).equals(st.K));
});

// ---------------------------------------------------------------------------------------------
// Threshold decryption

test('any k of n honest partial decryptions combine to K', () => {
  const quorumArb = fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }))
    .chain(([k, extra]) =>
      fc.tuple(
        fc.constant(k),
        fc.constant(k + extra),
        fc.shuffledSubarray(
          Array.from({ length: k + extra }, (_, i) => i + 1),
          { minLength: k, maxLength: k },
        ),
      ),
    );
  fc.assert(
    fc.property(quorumArb, fc.integer(), ([k, n, chosen], seed) => {
      const small = setup(k, n, `any-${seed}`);
      const r = combineWith(small, partialsOf(small, chosen));
      assert.ok(r.ok, `combine failed: ${!r.ok && r.reason}`);
      assert.ok(r.K.equals(small.K));
    }),
    { numRuns: 6 },
  );
});

test('more than k partials also combine to K', () => {
  const r = combineWith(st, honestPartials);
  assert.ok(r.ok && r.K.equals(st.K));
});

test('combine() refuses k−1 partials, and k−1 shares interpolated anyway do not give K', () => {
  assert.deepEqual(combineWith(st, honestPartials.slice(0, 2)), { ok: false, reason: 'TOO_FEW_PARTIALS' });
  const forced = combine({
    ...st.ct,
    partials: honestPartials.slice(0, 2),
    threshold: 2,
    verificationKeys: st.regulator.shares.map((s) => s.verificationKey),
    warrantId: WARRANT,
    paymentId: PAYMENT,
  });
  assert.ok(forced.ok && !forced.K.equals(st.K));
});

test('combine() refuses a repeated holder index', () => {
  const p = honestPartials;
  assert.deepEqual(combineWith(st, [p[0]!, p[1]!, p[1]!]), { ok: false, reason: 'DUPLICATE_INDEX' });
});

test('combine() refuses a holder index without a verification key', () => {
  const stray = { ...honestPartials[2]!, index: 6 };
  const r = combineWith(st, [honestPartials[0]!, honestPartials[1]!, stray]);
  assert.equal(!r.ok && r.reason, 'UNKNOWN_INDEX');
});

test('combine() names the holder whose partial decryption fails its proof', () => {
  const bad = { ...honestPartials[1]!, D: honestPartials[1]!.D.add(G1Point.BASE) };
  assert.deepEqual(combineWith(st, [honestPartials[0]!, bad, honestPartials[2]!]), {
    ok: false,
    reason: 'BAD_PROOF',
    index: 2,
  });
});

test('combine() refuses partials made for another warrant', () => {
  const r = combineWith(st, partialsOf(st, [1, 2, 3], OTHER_WARRANT));
  assert.equal(!r.ok && r.reason, 'BAD_PROOF');
});

test('combine() refuses partials made for another payment under the same warrant', () => {
  const r = combineWith(st, partialsOf(st, [1, 2, 3], WARRANT, OTHER_PAYMENT));
  assert.equal(!r.ok && r.reason, 'BAD_PROOF');
});

test('combine() refuses partials for A when asked to open B, even when B shares A\u2019s E1', () => {
  // (E1, E2') with E2' = K_B + y·E1: the ElGamal encryption of another key under the same s.
  const shared = { ...st, ct: { E1: st.ct.E1, E2: st.ct.E2.add(gK()) } };
  const r = combine({
    ...shared.ct,
    partials: partialsOf(st, [1, 2, 3]),
    threshold: st.regulator.threshold,
    verificationKeys: st.regulator.shares.map((s) => s.verificationKey),
    warrantId: WARRANT,
    paymentId: OTHER_PAYMENT,
  });
  assert.equal(!r.ok && r.reason, 'BAD_PROOF');
});

test('an honest partial decryption verifies', () => {
  for (const p of honestPartials) assert.ok(verifyPartial(st, p), `holder ${p.index}`);
});

test('a partial decryption made with another holder\u2019s share is caught by its proof', () => {
  const [share1, share2] = st.regulator.shares;
  const rng = seededRng('wrong-share');
  // Holder 1 claims index 1 but uses y_2: the DLEQ statement against VK_1 is false.
  const lying = partialDecrypt({ share: { ...share1!, secret: share2!.secret }, ...st.ct, rng, warrantId: WARRANT, paymentId: PAYMENT });
  assert.ok(!verifyPartial(st, lying));
  // Holder 2's honest answer relabelled as holder 1's: VK_1 does not match y_2.
  assert.ok(!verifyPartial(st, { ...honestPartials[1]!, index: 1 }));
  const r = combineWith(st, [lying, honestPartials[1]!, honestPartials[2]!]);
  assert.equal(!r.ok && r.reason, 'BAD_PROOF');
});

test('a partial decryption fails for another warrant, payment, ciphertext, holder index or verification key', () => {
  const p = honestPartials[0]!;
  const other = setup(3, 5, 'other-ciphertext').ct;
  assert.ok(!verifyPartial(st, p, { warrantId: OTHER_WARRANT }));
  assert.ok(!verifyPartial(st, p, { paymentId: OTHER_PAYMENT }));
  assert.ok(!verifyPartial(st, p, { paymentId: PAYMENT.subarray(1) }));
  assert.ok(!verifyPartial(st, { ...p, index: 2 }, { verificationKey: st.regulator.shares[0]!.verificationKey }));
  assert.ok(!verifyPartial(st, p, { E1: other.E1 }));
  assert.ok(!verifyPartial(st, p, { E2: other.E2 }));
  assert.ok(!verifyPartial(st, p, { verificationKey: st.regulator.shares[1]!.verificationKey }));
  assert.ok(!verifyPartial(st, p, { warrantId: new Uint8Array(65) }));
});

test('tampering with D_i or any proof element of a partial decryption is caught', () => {
  const p = honestPartials[0]!;
  assert.ok(!verifyPartial(st, { ...p, D: p.D.add(G1Point.BASE) }));
  p.proof.commitments.forEach((_, j) => {
    const commitments = p.proof.commitments.map((c, i) => (i === j ? c.add(G1Point.BASE) : c));
    assert.ok(!verifyPartial(st, { ...p, proof: { ...p.proof, commitments } }), `commitment ${j}`);
  });
  assert.ok(!verifyPartial(st, { ...p, proof: { ...p.proof, responses: [scalarAdd(p.proof.responses[0]!, 1n)] } }));
  assert.ok(!verifyPartial(st, { ...p, proof: { ...p.proof, responses: [p.proof.responses[0]! + R_ORDER] } }));
  assert.ok(!verifyPartial(st, { ...p, proof: { ...p.proof, responses: [] } }));
});

// ---------------------------------------------------------------------------------------------
// Escrow relations

const ESCROW_LABEL = 'TALLY-V1/test/escrow';
const IDX = { k: 0, s: 1 } as const;
type EscrowPublic = EscrowCiphertext & { Y_reg: G1Point };
const honestPub: EscrowPublic = { ...st.ct, Y_reg: st.regulator.publicKey };

function proveEscrow(pub: EscrowPublic, witnesses: bigint[]): SigmaProof {
  return proveSigma(ESCROW_LABEL, escrowRelations(pub, IDX), witnesses, seededRng('escrow-proof'));
}
const verifyEscrow = (pub: EscrowPublic, proof: SigmaProof) =>
  verifySigma(ESCROW_LABEL, escrowRelations(pub, IDX), 2, proof);
const honestProof = proveEscrow(honestPub, [st.k, st.s]);

test('the escrow relations verify for the honest witness', () => {
  assert.ok(verifyEscrow(honestPub, honestProof));
});

test('the escrow relations do not verify for another device secret k or randomness s', () => {
  assert.ok(!verifyEscrow(honestPub, proveEscrow(honestPub, [scalarAdd(st.k, 1n), st.s])));
  assert.ok(!verifyEscrow(honestPub, proveEscrow(honestPub, [st.k, scalarAdd(st.s, 1n)])));
});

test('an escrow of another key, or under another regulator key, does not verify', () => {
  const otherReg = dealRegulatorKey({ threshold: 1, holders: 1, rng: seededRng('other-reg') }).publicKey;
  const underOther = { ...encryptDeviceKey(st.K, otherReg, st.s), Y_reg: st.regulator.publicKey };
  assert.ok(!verifyEscrow(underOther, proveEscrow(underOther, [st.k, st.s])));
  const ofOther = { ...encryptDeviceKey(gK().mul(7n), st.regulator.publicKey, st.s), Y_reg: st.regulator.publicKey };
  assert.ok(!verifyEscrow(ofOther, proveEscrow(ofOther, [st.k, st.s])));
});

test('changing E1, E2 or Y_reg breaks the honest escrow proof', () => {
  const bump = (P: G1Point) => P.add(G1Point.BASE);
  for (const [name, pub] of [
    ['E1', { ...honestPub, E1: bump(honestPub.E1) }],
    ['E2', { ...honestPub, E2: bump(honestPub.E2) }],
    ['Y_reg', { ...honestPub, Y_reg: bump(honestPub.Y_reg) }],
  ] as const) {
    assert.ok(!verifyEscrow(pub, honestProof), `tampered ${name} still verifies`);
  }
});

test('changing any element of the escrow proof breaks it', () => {
  honestProof.commitments.forEach((_, j) => {
    const commitments = honestProof.commitments.map((c, i) => (i === j ? c.add(G1Point.BASE) : c));
    assert.ok(!verifyEscrow(honestPub, { ...honestProof, commitments }), `commitment ${j}`);
  });
  honestProof.responses.forEach((_, j) => {
    const responses = honestProof.responses.map((z, i) => (i === j ? scalarAdd(z, 1n) : z));
    assert.ok(!verifyEscrow(honestPub, { ...honestProof, responses }), `response ${j}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Encodings

test('escrow ciphertexts and partial decryptions round-trip through bytes', () => {
  const ctBytes = escrowCiphertextToBytes(st.ct);
  assert.equal(ctBytes.length, ESCROW_CIPHERTEXT_BYTES);
  const ct = escrowCiphertextFromBytes(ctBytes);
  assert.ok(ct.E1.equals(st.ct.E1) && ct.E2.equals(st.ct.E2));
  for (const p of honestPartials) {
    const bytes = partialDecryptionToBytes(p);
    assert.equal(bytes.length, PARTIAL_DECRYPTION_BYTES);
    const q = partialDecryptionFromBytes(bytes);
    assert.deepEqual(partialDecryptionToBytes(q), bytes);
    assert.ok(verifyPartial(st, q));
  }
});

test('escrowCiphertextFromBytes() refuses wrong lengths and invalid or identity points', () => {
  const good = escrowCiphertextToBytes(st.ct);
  assert.equal(decodeCode(() => escrowCiphertextFromBytes(good.subarray(1))), 'LENGTH');
  assert.equal(decodeCode(() => escrowCiphertextFromBytes(new Uint8Array([...good, 0]))), 'LENGTH');
  const identity = G1Point.IDENTITY.toBytes();
  const identityE1 = new Uint8Array([...identity, ...good.subarray(G1_BYTES)]);
  const identityE2 = new Uint8Array([...good.subarray(0, G1_BYTES), ...identity]);
  assert.equal(decodeCode(() => escrowCiphertextFromBytes(identityE1)), 'POINT_IS_IDENTITY');
  assert.equal(decodeCode(() => escrowCiphertextFromBytes(identityE2)), 'POINT_IS_IDENTITY');
  const uncompressed = good.slice();
  uncompressed[G1_BYTES] = uncompressed[G1_BYTES]! & 0x7f;
  assert.equal(decodeCode(() => escrowCiphertextFromBytes(uncompressed)), 'POINT_NOT_CANONICAL');
});

test('partialDecryptionFromBytes() refuses a bad length, index 0, bad points and a non-canonical response', () => {
  const good = partialDecryptionToBytes(honestPartials[0]!);
  assert.equal(decodeCode(() => partialDecryptionFromBytes(good.subarray(0, good.length - 1))), 'LENGTH');
  const zeroIndex = good.slice();
  zeroIndex[0] = 0;
  assert.equal(decodeCode(() => partialDecryptionFromBytes(zeroIndex)), 'MALFORMED');
  const identityD = good.slice();
  identityD.set(G1Point.IDENTITY.toBytes(), 1);
  assert.equal(decodeCode(() => partialDecryptionFromBytes(identityD)), 'POINT_IS_IDENTITY');
  const badCommitment = good.slice();
  badCommitment.set(bigintToBytesBE(1n, G1_BYTES), 1 + G1_BYTES);
  badCommitment[1 + G1_BYTES] = 0x80;
  // x = 1 is not on the curve: 1 + 4 is not a square mod p.
  assert.equal(decodeCode(() => partialDecryptionFromBytes(badCommitment)), 'POINT_NOT_ON_CURVE');
  const bigResponse = good.slice();
  bigResponse.set(bigintToBytesBE(R_ORDER, 32), good.length - 32);
  assert.equal(decodeCode(() => partialDecryptionFromBytes(bigResponse)), 'SCALAR_NOT_CANONICAL');
  const response = scalarToBytes(honestPartials[0]!.proof.responses[0]!);
  assert.deepEqual(good.subarray(good.length - 32), response);
});
