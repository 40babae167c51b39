// BBS octet interface against every fixture the draft publishes (test/vectors/bbs, read at
// test time), then the draft's intermediate values, then strictness of the verifiers on hostile
// bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { G1Point, G2Point, bigintToBytesBE, hashToScalar, scalarToBytes } from './group.ts';
import type { Rng } from './rng.ts';
import { seededRng } from './rng.ts';
import { BbsError, deriveProof, keyGen, sign, skToPk, verify, verifyProof } from './bbs.ts';
import {
  API_ID_STRING,
  bbsP1,
  calculateDomain,
  createGenerators,
  messagesToScalars,
  seededRandomScalars,
} from './bbs_core.ts';
import {
  proofChallengeCalculate,
  proofInit,
  proofVerifyInit,
  splitRandomScalars,
  undisclosedIndexes,
} from './bbs_proof_core.ts';
import { octetsToProof, octetsToSignature } from './bbs_encoding.ts';

// The draft's published fixtures are kept in the repository (test/vectors/bbs/README.md says where from).
const here = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = path.resolve(here, '../../test/vectors/bbs/bls12-381-sha-256');
const load = (rel: string) => JSON.parse(readFileSync(path.join(VECTORS, rel), 'utf8'));
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const scalarHex = (x: bigint) => toHex(scalarToBytes(x));
const listJson = (dir: string) => readdirSync(path.join(VECTORS, dir)).filter((f) => f.endsWith('.json')).sort();

/** get_random that replays given scalars: 48 bytes whose value mod r is the scalar. */
function replayRng(scalars: readonly bigint[]): Rng {
  let n = 0;
  return (len) => {
    assert.equal(len, 48);
    const s = scalars[n++];
    assert.ok(s !== undefined, 'replayRng: ran out of mocked scalars');
    return bigintToBytesBE(s, 48);
  };
}

test('create_generators and P1 match generators.json', () => {
  const f = load('generators.json');
  assert.equal(bbsP1().toHex(), f.P1);
  const gens = createGenerators(f.MsgGenerators.length + 1);
  assert.equal(gens[0]!.toHex(), f.Q1);
  assert.deepEqual(gens.slice(1).map((g) => g.toHex()), f.MsgGenerators);
  // A shorter request reads the same prefix of the cached stream.
  assert.deepEqual(createGenerators(3).map((g) => g.toHex()), [f.Q1, ...f.MsgGenerators.slice(0, 2)]);
});

test('keyGen and skToPk reproduce keypair.json', () => {
  const f = load('keypair.json');
  const sk = keyGen({ keyMaterial: hex(f.keyMaterial), keyInfo: hex(f.keyInfo), keyDst: hex(f.keyDst) });
  assert.equal(toHex(sk), f.keyPair.secretKey);
  assert.equal(toHex(skToPk(sk)), f.keyPair.publicKey);
  // The fixture's key_dst is the default one.
  assert.equal(toHex(keyGen({ keyMaterial: hex(f.keyMaterial), keyInfo: hex(f.keyInfo) })), f.keyPair.secretKey);
});

test('keyGen refuses key material shorter than 32 bytes with a typed error', () => {
  assert.throws(() => keyGen({ keyMaterial: new Uint8Array(31) }), (e) => e instanceof BbsError && e.code === 'KEY_MATERIAL_TOO_SHORT');
});

test('hash_to_scalar matches h2s.json', () => {
  const f = load('h2s.json');
  assert.equal(scalarHex(hashToScalar(hex(f.message), hex(f.dst))), f.scalar);
});

test('messages_to_scalars matches MapMessageToScalarAsHash.json', () => {
  const f = load('MapMessageToScalarAsHash.json');
  assert.equal(Buffer.from(hex(f.dst)).toString(), `${API_ID_STRING}MAP_MSG_TO_SCALAR_AS_HASH_`);
  const got = messagesToScalars(f.cases.map((c: { message: string }) => hex(c.message)));
  assert.deepEqual(got.map(scalarHex), f.cases.map((c: { scalar: string }) => c.scalar));
});

test('seeded_random_scalars matches mockedRng.json', () => {
  const f = load('mockedRng.json');
  const got = seededRandomScalars(hex(f.seed), hex(f.dst), f.count);
  assert.deepEqual(got.map(scalarHex), f.mockedScalars);
});

for (const file of listJson('signature')) {
  const f = load(`signature/${file}`);
  test(`signature fixture ${file}: ${f.caseName}`, () => {
    const pk = hex(f.signerKeyPair.publicKey);
    const header = hex(f.header);
    const messages = f.messages.map(hex);
    assert.equal(verify({ publicKey: pk, signature: hex(f.signature), header, messages }), f.result.valid);
    if (f.result.valid) {
      const sig = sign({ secretKey: hex(f.signerKeyPair.secretKey), publicKey: pk, header, messages });
      assert.equal(toHex(sig), f.signature);
      const gens = createGenerators(messages.length + 1);
      const domain = calculateDomain(pk, gens[0]!, gens.slice(1), header);
      assert.equal(scalarHex(domain), f.trace.domain);
    }
  });
}

for (const file of listJson('proof')) {
  const f = load(`proof/${file}`);
  test(`proof fixture ${file}: ${f.caseName}`, () => {
    const publicKey = hex(f.signerPublicKey);
    const header = hex(f.header);
    const presentationHeader = hex(f.presentationHeader);
    const messages: Uint8Array[] = f.messages.map(hex);
    const idx: number[] = f.disclosedIndexes;
    const disclosedMessages = idx.map((i) => messages[i]!);
    const ok = verifyProof({ publicKey, proof: hex(f.proof), header, presentationHeader, disclosedMessages, disclosedMessageIndexes: idx });
    assert.equal(ok, f.result.valid);
    if (!f.result.valid) return;
    const rs = f.trace.random_scalars;
    const random = [rs.r1, rs.r2, rs.e_tilde, rs.r1_tilde, rs.r3_tilde, ...rs.m_tilde_scalars].map((s: string) => BigInt(`0x${s}`));
    const proof = deriveProof({
      publicKey,
      signature: hex(f.signature),
      header,
      presentationHeader,
      messages,
      disclosedMessageIndexes: idx,
      rng: replayRng(random),
    });
    assert.equal(toHex(proof), f.proof);
    checkProofTrace(f, random);
  });
}

/** The draft's intermediates, from the prover side (ProofInit) and the verifier side (ProofVerifyInit). */
function checkProofTrace(f: any, random: bigint[]): void {
  const W = G2Point.fromBytes(hex(f.signerPublicKey));
  const messages = messagesToScalars(f.messages.map(hex));
  const idx: number[] = f.disclosedIndexes;
  const gens = createGenerators(messages.length + 1);
  const undisclosed = undisclosedIndexes(messages.length, idx)!;
  const sig = octetsToSignature(hex(f.signature));
  const init = proofInit(W, sig, gens, splitRandomScalars(random), hex(f.header), messages, undisclosed);
  const t = f.trace;
  assert.deepEqual(
    [init.Abar, init.Bbar, init.D, init.T1, init.T2].map((p) => p.toHex()),
    [t.A_bar, t.B_bar, t.D, t.T1, t.T2],
  );
  assert.equal(scalarHex(init.domain), t.domain);
  const disclosed = idx.map((i) => messages[i]!);
  assert.equal(scalarHex(proofChallengeCalculate(init, disclosed, idx, hex(f.presentationHeader))), t.challenge);
  const vinit = proofVerifyInit(W, octetsToProof(hex(f.proof)), gens, hex(f.header), disclosed, idx)!;
  assert.equal(vinit.T1.toHex(), t.T1);
  assert.equal(vinit.T2.toHex(), t.T2);
}

// ---------------------------------------------------------------------------------------------
// Round trips and hostile input

const KEY = load('keypair.json').keyPair;
const SK = hex(KEY.secretKey);
const PK = hex(KEY.publicKey);
const MSGS = ['a', 'b', 'c', 'd'].map((s) => new TextEncoder().encode(s));
const HEADER = Uint8Array.of(1, 2, 3);

test('a fresh proof with one disclosed message verifies, and only for its own inputs', () => {
  const signature = sign({ secretKey: SK, publicKey: PK, header: HEADER, messages: MSGS });
  const presentationHeader = Uint8Array.of(9);
  const proof = deriveProof({ publicKey: PK, signature, header: HEADER, presentationHeader, messages: MSGS, disclosedMessageIndexes: [2], rng: seededRng('bbs-1') });
  const base = { publicKey: PK, proof, header: HEADER, presentationHeader, disclosedMessages: [MSGS[2]!], disclosedMessageIndexes: [2] };
  assert.equal(verifyProof(base), true);
  assert.equal(verifyProof({ ...base, header: Uint8Array.of(1, 2) }), false);
  assert.equal(verifyProof({ ...base, presentationHeader: Uint8Array.of(8) }), false);
  assert.equal(verifyProof({ ...base, disclosedMessages: [MSGS[1]!] }), false);
  assert.equal(verifyProof({ ...base, disclosedMessageIndexes: [1] }), false);
  assert.equal(verifyProof({ ...base, publicKey: skToPk(scalarToBytes(7n)) }), false);
});

test('verifyProof answers false, never throws, on each corrupted proof element', () => {
  const signature = sign({ secretKey: SK, publicKey: PK, header: HEADER, messages: MSGS });
  const proof = deriveProof({ publicKey: PK, signature, header: HEADER, messages: MSGS, disclosedMessageIndexes: [0], rng: seededRng('bbs-2') });
  const base = { publicKey: PK, proof, header: HEADER, disclosedMessages: [MSGS[0]!], disclosedMessageIndexes: [0] };
  assert.equal(verifyProof(base), true);
  // One flipped bit inside each 48-byte point and each 32-byte scalar: 3 points + 3 + 3 + 1 scalars.
  const offsets = [0, 48, 96, ...Array.from({ length: 7 }, (_, n) => 144 + 32 * n)];
  for (const o of offsets) {
    const bad = proof.slice();
    bad[o + 20]! ^= 1;
    assert.equal(verifyProof({ ...base, proof: bad }), false, `bit flip at ${o}`);
  }
  assert.equal(verifyProof({ ...base, proof: proof.subarray(0, proof.length - 1) }), false);
  assert.equal(verifyProof({ ...base, proof: new Uint8Array(proof.length) }), false);
  const identity = proof.slice();
  identity.set(G1Point.IDENTITY.toBytes(), 0);
  assert.equal(verifyProof({ ...base, proof: identity }), false);
  const zeroScalar = proof.slice();
  zeroScalar.fill(0, 144, 176);
  assert.equal(verifyProof({ ...base, proof: zeroScalar }), false);
  assert.equal(verifyProof({ ...base, publicKey: new Uint8Array(96) }), false);
  assert.equal(verifyProof({ ...base, disclosedMessageIndexes: [0, 0], disclosedMessages: [MSGS[0]!, MSGS[0]!] }), false);
});

test('verify answers false on malformed signatures and keys', () => {
  const signature = sign({ secretKey: SK, publicKey: PK, header: HEADER, messages: MSGS });
  const base = { publicKey: PK, signature, header: HEADER, messages: MSGS };
  assert.equal(verify(base), true);
  const zeroE = signature.slice();
  zeroE.fill(0, 48);
  assert.equal(verify({ ...base, signature: zeroE }), false);
  const highE = signature.slice();
  highE.fill(0xff, 48);
  assert.equal(verify({ ...base, signature: highE }), false);
  assert.equal(verify({ ...base, signature: signature.subarray(1) }), false);
  const flipped = signature.slice();
  flipped[10]! ^= 4;
  assert.equal(verify({ ...base, signature: flipped }), false);
  assert.equal(verify({ ...base, publicKey: PK.subarray(0, 95) }), false);
  assert.equal(verify({ ...base, publicKey: G2Point.IDENTITY.toBytes() }), false);
});

test('sign refuses a public key that is not its secret key’s, and deriveProof refuses bad indexes', () => {
  const other = skToPk(scalarToBytes(5n));
  assert.throws(() => sign({ secretKey: SK, publicKey: other, messages: MSGS }), (e) => e instanceof BbsError && e.code === 'KEY_MISMATCH');
  const signature = sign({ secretKey: SK, publicKey: PK, messages: MSGS });
  for (const bad of [[2, 1], [0, 0], [4], [-1]]) {
    assert.throws(
      () => deriveProof({ publicKey: PK, signature, messages: MSGS, disclosedMessageIndexes: bad }),
      (e) => e instanceof BbsError && e.code === 'INVALID_INDEXES',
    );
  }
});

test('any messages and any disclosed subset: sign verifies and the derived proof verifies', () => {
  const msgArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(msgArb, fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.integer(), (msgs, pick, seed) => {
      const signature = sign({ secretKey: SK, publicKey: PK, header: HEADER, messages: msgs });
      assert.equal(verify({ publicKey: PK, signature, header: HEADER, messages: msgs }), true);
      const idx = msgs.map((_, i) => i).filter((i) => pick[i]);
      const proof = deriveProof({ publicKey: PK, signature, header: HEADER, messages: msgs, disclosedMessageIndexes: idx, rng: seededRng(seed) });
      const disclosedMessages = idx.map((i) => msgs[i]!);
      return verifyProof({ publicKey: PK, proof, header: HEADER, disclosedMessages, disclosedMessageIndexes: idx });
    }),
    { numRuns: 8 },
  );
});
