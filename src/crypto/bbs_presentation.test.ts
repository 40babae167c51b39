// Composable BBS presentation: an honest presentation verifies through EquationBatch under a
// Tally transcript challenge; every commitment point, response, disclosed message, the header and
// the issuer key are each load-bearing; a preset m~ yields the shared response m^ = m~ + c·m.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EquationBatch } from './batch.ts';
import { G1Point, G2Point, R_ORDER, scalarAdd, scalarMul } from './group.ts';
import { randomScalar, seededRng } from './rng.ts';
import { Transcript } from './transcript.ts';
import { coreSign, createGenerators } from './bbs_core.ts';
import {
  type BbsCommitment,
  type BbsResponses,
  appendBbsCommitment,
  appendBbsStatement,
  bbsCommitmentFromBytes,
  bbsCommitmentToBytes,
  bbsPresentationCommit,
  bbsPresentationEquations,
  bbsPresentationRespond,
  bbsResponsesFromBytes,
  bbsResponsesToBytes,
} from './bbs_presentation.ts';

const LABEL = 'TALLY-V1/test-bbs-presentation';
const rng = seededRng('bbs-presentation');
const sk = randomScalar(rng);
const W = G2Point.BASE.mul(sk);
const HEADER = new TextEncoder().encode('TALLY-V1/test-credential');
const messages = [randomScalar(rng), 7n, 2n, 3n]; // (k, e, t, c)
const DISCLOSED = [1, 2, 3];
const signature = coreSign(sk, W, createGenerators(messages.length + 1), HEADER, messages);
const disclosedMap = () => new Map(DISCLOSED.map((i) => [i, messages[i]!] as const));

interface Statement {
  publicKey: G2Point;
  header: Uint8Array;
  messageCount: number;
  disclosed: Map<number, bigint>;
}

const statement = (): Statement => ({ publicKey: W, header: HEADER, messageCount: messages.length, disclosed: disclosedMap() });

function challenge(st: Statement, commitment: BbsCommitment): bigint {
  const t = new Transcript(LABEL);
  appendBbsStatement(t, st);
  appendBbsCommitment(t, commitment);
  return t.challengeScalar('c');
}

function present(seed: string, presetMTilde?: Map<number, bigint>) {
  const { commitment, state } = bbsPresentationCommit({
    publicKey: W,
    signature,
    header: HEADER,
    messages,
    disclosedIndexes: DISCLOSED,
    rng: seededRng(seed),
    presetMTilde,
  });
  const c = challenge(statement(), commitment);
  return { commitment, responses: bbsPresentationRespond(state, c), c };
}

/** The verifier: recompute c from its own statement, then check every equation in one batch. */
function verifies(st: Statement, commitment: BbsCommitment, responses: BbsResponses, cOverride?: bigint): boolean {
  const c = cOverride ?? challenge(st, commitment);
  const eqs = bbsPresentationEquations({ ...st, commitment, responses, c });
  if (!eqs.structural) return false;
  const batch = new EquationBatch();
  eqs.msm.forEach((e) => batch.addMsm(e));
  batch.addPairing(eqs.pairing);
  return batch.check(seededRng('batch'));
}

test('an honest presentation verifies through EquationBatch', () => {
  const { commitment, responses } = present('p1');
  assert.equal(verifies(statement(), commitment, responses), true);
});

test('changing any commitment point makes the presentation fail, with or without the honest c', () => {
  const { commitment, responses, c } = present('p2');
  for (const key of ['Abar', 'Bbar', 'D', 'T1', 'T2'] as const) {
    const bad = { ...commitment, [key]: commitment[key].add(G1Point.BASE) };
    assert.equal(verifies(statement(), bad, responses), false, key);
    assert.equal(verifies(statement(), bad, responses, c), false, `${key} with honest c`);
  }
});

test('changing any response makes the presentation fail', () => {
  const { commitment, responses } = present('p3');
  for (const key of ['eHat', 'r1Hat', 'r3Hat'] as const) {
    assert.equal(verifies(statement(), commitment, { ...responses, [key]: scalarAdd(responses[key], 1n) }), false, key);
  }
  const mHat = [scalarAdd(responses.mHat[0]!, 1n)];
  assert.equal(verifies(statement(), commitment, { ...responses, mHat }), false, 'mHat[0]');
});

test('changing a disclosed message, the header or the issuer key makes the presentation fail', () => {
  const { commitment, responses, c } = present('p4');
  for (const i of DISCLOSED) {
    const st = statement();
    st.disclosed.set(i, messages[i]! + 1n);
    assert.equal(verifies(st, commitment, responses), false, `message ${i}`);
    assert.equal(verifies(st, commitment, responses, c), false, `message ${i} with honest c`);
  }
  const otherHeader = { ...statement(), header: Uint8Array.of(1) };
  assert.equal(verifies(otherHeader, commitment, responses), false, 'header');
  assert.equal(verifies(otherHeader, commitment, responses, c), false, 'header with honest c');
  const otherKey = { ...statement(), publicKey: W.add(G2Point.BASE) };
  assert.equal(verifies(otherKey, commitment, responses), false, 'public key');
  assert.equal(verifies(otherKey, commitment, responses, c), false, 'public key with honest c');
  const hideOne = { ...statement(), disclosed: new Map([[1, messages[1]!], [2, messages[2]!]]) };
  assert.equal(verifies(hideOne, commitment, responses), false, 'fewer disclosed messages');
});

test('a preset m~ for index 0 yields m^_0 = m~ + c·k, whatever the scalars', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: R_ORDER - 1n }), fc.integer(), (mTilde, seed) => {
      const { commitment, responses, c } = present(`p5-${seed}`, new Map([[0, mTilde]]));
      assert.equal(responses.mHat[0], scalarAdd(mTilde, scalarMul(c, messages[0]!)));
      return verifies(statement(), commitment, responses);
    }),
    { numRuns: 3 },
  );
});

test('identity points, wrong counts and out-of-range scalars are refused as not structural', () => {
  const { commitment, responses, c } = present('p6');
  const eq = (com: BbsCommitment, r: BbsResponses, cc = c) => bbsPresentationEquations({ ...statement(), commitment: com, responses: r, c: cc }).structural;
  assert.equal(eq(commitment, responses), true);
  for (const key of ['Abar', 'Bbar', 'D'] as const) assert.equal(eq({ ...commitment, [key]: G1Point.IDENTITY }, responses), false, key);
  assert.equal(eq(commitment, { ...responses, mHat: [] }), false);
  assert.equal(eq(commitment, { ...responses, mHat: [...responses.mHat, 1n] }), false);
  assert.equal(eq(commitment, { ...responses, eHat: R_ORDER }), false);
  assert.equal(eq(commitment, responses, 0n), false);
  // A hostile identity Abar can be absorbed without throwing; the structural check refuses it.
  assert.equal(verifies(statement(), { ...commitment, Abar: G1Point.IDENTITY, Bbar: G1Point.IDENTITY }, responses), false);
});

test('a presentation state refuses to respond twice', () => {
  const { state } = bbsPresentationCommit({ publicKey: W, signature, header: HEADER, messages, disclosedIndexes: DISCLOSED, rng: seededRng('p7') });
  bbsPresentationRespond(state, 5n);
  assert.throws(() => bbsPresentationRespond(state, 6n), /already used/);
});

test('two presentations verify in one batch, and one bad presentation spoils the batch', () => {
  const a = present('p8');
  const b = present('p9');
  const batchOf = (items: Array<{ commitment: BbsCommitment; responses: BbsResponses; c: bigint }>) => {
    const batch = new EquationBatch();
    for (const it of items) {
      const eqs = bbsPresentationEquations({ ...statement(), ...it });
      eqs.msm.forEach((e) => batch.addMsm(e));
      batch.addPairing(eqs.pairing);
    }
    return batch.check(seededRng('batch2'));
  };
  assert.equal(batchOf([a, b]), true);
  assert.equal(batchOf([a, { ...b, responses: { ...b.responses, r3Hat: scalarAdd(b.responses.r3Hat, 1n) } }]), false);
});

test('commitment and response encodings round-trip and decode strictly', () => {
  const { commitment, responses } = present('p10');
  const cb = bbsCommitmentToBytes(commitment);
  const back = bbsCommitmentFromBytes(cb);
  assert.deepEqual(bbsCommitmentToBytes(back), cb);
  assert.throws(() => bbsCommitmentFromBytes(cb.subarray(1)), { name: 'CryptoDecodeError' });
  const withIdentity = cb.slice();
  withIdentity.set(G1Point.IDENTITY.toBytes(), 0);
  assert.throws(() => bbsCommitmentFromBytes(withIdentity), { name: 'CryptoDecodeError' });
  const rb = bbsResponsesToBytes(responses);
  assert.deepEqual(bbsResponsesFromBytes(rb, 1), responses);
  assert.throws(() => bbsResponsesFromBytes(rb, 2), { name: 'CryptoDecodeError' });
  const high = rb.slice();
  high.fill(0xff, 0, 32);
  assert.throws(() => bbsResponsesFromBytes(high, 1), { name: 'CryptoDecodeError' });
});
