// Blind issuance of the device credential: round trip over the wire encodings, the issuer never
// sees k, each forged or mismatched request is refused with a reason, a tampered response is
// refused by the holder, and the credential feeds the composable presentation with k shared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EquationBatch } from './batch.ts';
import { G1Point, G2Point, scalarAdd, scalarNeg, scalarToBytes } from './group.ts';
import { gK } from './generators.ts';
import { randomScalar, seededRng } from './rng.ts';
import { Transcript } from './transcript.ts';
import {
  BLIND_REQUEST_BYTES,
  BLIND_RESPONSE_BYTES,
  type BlindIssuanceRequest,
  blindIssuanceRequest,
  decodeBlindIssuanceRequest,
  decodeBlindIssuanceResponse,
  encodeBlindIssuanceRequest,
  encodeBlindIssuanceResponse,
  finishBlindIssuance,
  issueBlind,
} from './blind_issuance.ts';
import { CREDENTIAL_HEADER } from './credential.ts';
import {
  appendBbsCommitment,
  appendBbsStatement,
  bbsPresentationCommit,
  bbsPresentationEquations,
  bbsPresentationRespond,
} from './bbs_presentation.ts';

const rng = seededRng('blind-issuance');
const sk = randomScalar(rng);
const W = G2Point.BASE.mul(sk);
const NONCE = new Uint8Array(32).fill(0x42);
const ATTRS = { epoch: 12n, tier: 2n, deviceClass: 1n };
const DEVICE_ID = new Uint8Array(16).fill(0x07);
const BINDING = { ...ATTRS, deviceId: DEVICE_ID, issuerPublicKey: W };
const request0 = (seed: string, k?: bigint) => blindIssuanceRequest({ k, rng: seededRng(seed), issuerNonce: NONCE, binding: BINDING });

function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function issue(request: BlindIssuanceRequest, nonce = NONCE) {
  return issueBlind({ secretKey: sk, publicKey: W, request, issuerNonce: nonce, deviceId: DEVICE_ID, rng: seededRng('issuer'), ...ATTRS });
}

function fullIssuance(seed: string, k?: bigint) {
  const { request, secret } = request0(seed, k);
  const issued = issue(decodeBlindIssuanceRequest(encodeBlindIssuanceRequest(request)));
  assert.ok(issued.ok);
  const response = decodeBlindIssuanceResponse(encodeBlindIssuanceResponse(issued.response));
  const done = finishBlindIssuance({ publicKey: W, secret, response, ...ATTRS });
  assert.ok(done.ok, `finish refused: ${done.ok ? '' : done.reason}`);
  return { request, secret, response, credential: done.credential };
}

test('blind issuance round-trips through the wire encodings into a valid credential on (k, e, t, c, s)', () => {
  const k = 0x1234n;
  const { secret, response, credential } = fullIssuance('round-trip', k);
  assert.deepEqual(credential.messages, [k, 12n, 2n, 1n, scalarAdd(secret.sPrime, response.sDoublePrime)]);
  assert.equal(encodeBlindIssuanceRequest(fullIssuance('size').request).length, BLIND_REQUEST_BYTES);
  assert.equal(encodeBlindIssuanceResponse(response).length, BLIND_RESPONSE_BYTES);
});

test('the issuer never receives k or the blinding s′', () => {
  const { request, secret } = request0('secret');
  const bytes = encodeBlindIssuanceRequest(request);
  assert.equal(containsBytes(bytes, scalarToBytes(secret.k)), false);
  assert.equal(containsBytes(bytes, scalarToBytes(secret.sPrime)), false);
  assert.equal(request.K.equals(gK().mul(secret.k)), true);
});

test('the issuer refuses a proof made for a different K or a different C', () => {
  const a = request0('a').request;
  const b = request0('b').request;
  assert.deepEqual(issue({ ...a, K: b.K }), { ok: false, reason: 'PROOF_INVALID' });
  assert.deepEqual(issue({ ...a, C: b.C }), { ok: false, reason: 'PROOF_INVALID' });
  assert.deepEqual(issue({ ...a, proof: b.proof }), { ok: false, reason: 'PROOF_INVALID' });
});

test('the issuer refuses a request proved under another nonce, a tampered proof, or identity points', () => {
  const { request } = request0('nonce');
  assert.deepEqual(issue(request, new Uint8Array(32).fill(0x43)), { ok: false, reason: 'PROOF_INVALID' });
  assert.deepEqual(issue(request, new Uint8Array(8)), { ok: false, reason: 'NONCE_LENGTH' });
  for (let n = 0; n < 2; n++) {
    const commitments = request.proof.commitments.map((T, i) => (i === n ? T.add(G1Point.BASE) : T));
    assert.deepEqual(issue({ ...request, proof: { ...request.proof, commitments } }), { ok: false, reason: 'PROOF_INVALID' });
    const responses = request.proof.responses.map((z, i) => (i === n ? scalarAdd(z, 1n) : z));
    assert.deepEqual(issue({ ...request, proof: { ...request.proof, responses } }), { ok: false, reason: 'PROOF_INVALID' });
  }
  assert.deepEqual(issue({ ...request, K: G1Point.IDENTITY }), { ok: false, reason: 'POINT_IS_IDENTITY' });
  const bad = issueBlind({ secretKey: sk, publicKey: W, request, issuerNonce: NONCE, deviceId: DEVICE_ID, rng, ...ATTRS, tier: -1n });
  assert.deepEqual(bad, { ok: false, reason: 'ATTRIBUTE_OUT_OF_RANGE' });
  const noId = issueBlind({ secretKey: sk, publicKey: W, request, issuerNonce: NONCE, deviceId: new Uint8Array(0), rng, ...ATTRS });
  assert.deepEqual(noId, { ok: false, reason: 'DEVICE_ID_LENGTH' });
});

test('issueBlind() refuses a proof bound to another device, epoch, tier, class or issuer key (each field in turn)', () => {
  const { request } = request0('bindings');
  assert.equal(issue(request).ok, true, 'the untouched request verifies');
  const sk2 = scalarAdd(sk, 1n);
  const changed: Array<[string, Parameters<typeof issueBlind>[0]]> = [
    ['device id', { secretKey: sk, publicKey: W, request, issuerNonce: NONCE, rng, ...ATTRS, deviceId: new Uint8Array(16).fill(0x08) }],
    ['epoch', { secretKey: sk, publicKey: W, request, issuerNonce: NONCE, rng, deviceId: DEVICE_ID, ...ATTRS, epoch: 13n }],
    ['tier', { secretKey: sk, publicKey: W, request, issuerNonce: NONCE, rng, deviceId: DEVICE_ID, ...ATTRS, tier: 1n }],
    ['device class', { secretKey: sk, publicKey: W, request, issuerNonce: NONCE, rng, deviceId: DEVICE_ID, ...ATTRS, deviceClass: 2n }],
    ['issuer key', { secretKey: sk2, publicKey: G2Point.BASE.mul(sk2), request, issuerNonce: NONCE, rng, deviceId: DEVICE_ID, ...ATTRS }],
    ['nonce', { secretKey: sk, publicKey: W, request, issuerNonce: new Uint8Array(32).fill(0x43), rng, deviceId: DEVICE_ID, ...ATTRS }],
  ];
  for (const [field, args] of changed) {
    assert.deepEqual(issueBlind(args), { ok: false, reason: 'PROOF_INVALID' }, `${field} changed`);
  }
});

test('the holder refuses a tampered response or one for other attributes', () => {
  const { request, secret } = request0('tamper');
  const issued = issue(request);
  assert.ok(issued.ok);
  const r = issued.response;
  const finish = (response = r, attrs = ATTRS) => finishBlindIssuance({ publicKey: W, secret, response, ...attrs });
  assert.equal(finish().ok, true);
  assert.deepEqual(finish({ ...r, A: r.A.add(G1Point.BASE) }), { ok: false, reason: 'SIGNATURE_INVALID' });
  assert.deepEqual(finish({ ...r, e: scalarAdd(r.e, 1n) }), { ok: false, reason: 'SIGNATURE_INVALID' });
  assert.deepEqual(finish({ ...r, sDoublePrime: scalarAdd(r.sDoublePrime, 1n) }), { ok: false, reason: 'SIGNATURE_INVALID' });
  assert.deepEqual(finish({ ...r, e: 0n }), { ok: false, reason: 'RESPONSE_OUT_OF_RANGE' });
  assert.deepEqual(finish(r, { ...ATTRS, epoch: 13n }), { ok: false, reason: 'SIGNATURE_INVALID' });
  const otherKey = finishBlindIssuance({ publicKey: W.add(G2Point.BASE), secret, response: r, ...ATTRS });
  assert.deepEqual(otherKey, { ok: false, reason: 'SIGNATURE_INVALID' });
});

test('request and response decoders refuse wrong lengths and non-canonical fields with typed errors', () => {
  const { request, response } = fullIssuance('decode');
  const req = encodeBlindIssuanceRequest(request);
  const res = encodeBlindIssuanceResponse(response);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return 'OK';
  };
  assert.equal(code(() => decodeBlindIssuanceRequest(req.subarray(1))), 'LENGTH');
  assert.equal(code(() => decodeBlindIssuanceResponse(new Uint8Array(BLIND_RESPONSE_BYTES + 1))), 'LENGTH');
  const highScalar = req.slice();
  highScalar.fill(0xff, BLIND_REQUEST_BYTES - 32);
  assert.equal(code(() => decodeBlindIssuanceRequest(highScalar)), 'SCALAR_NOT_CANONICAL');
  const identityK = req.slice();
  identityK.set(G1Point.IDENTITY.toBytes(), 0);
  assert.equal(code(() => decodeBlindIssuanceRequest(identityK)), 'POINT_IS_IDENTITY');
  const zeroE = res.slice();
  zeroE.fill(0, 48, 80);
  assert.equal(code(() => decodeBlindIssuanceResponse(zeroE)), 'MALFORMED');
});

test('the issued credential proves possession with k hidden, sharing m^_0 with a K = k·g_K relation', () => {
  const { request, credential } = fullIssuance('present');
  const disclosed = new Map([1, 2, 3].map((i) => [i, credential.messages[i]!] as const));
  const kTilde = randomScalar(seededRng('k-tilde'));
  const { commitment, state } = bbsPresentationCommit({
    publicKey: W,
    signature: credential,
    header: CREDENTIAL_HEADER,
    messages: credential.messages,
    disclosedIndexes: [1, 2, 3],
    rng: seededRng('present-rng'),
    presetMTilde: new Map([[0, kTilde]]),
  });
  const T_K = gK().mul(kTilde); // the other relation's commitment, same k~
  const challengeFor = (st: { header: Uint8Array }) => {
    const t = new Transcript('TALLY-V1/test-credential-presentation');
    appendBbsStatement(t, { publicKey: W, header: st.header, messageCount: 5, disclosed });
    appendBbsCommitment(t, commitment);
    t.appendPoint('K', request.K).appendPoint('T_K', T_K);
    return t.challengeScalar('c');
  };
  const c = challengeFor({ header: CREDENTIAL_HEADER });
  const responses = bbsPresentationRespond(state, c);
  const eqs = bbsPresentationEquations({ publicKey: W, header: CREDENTIAL_HEADER, messageCount: 5, disclosed, commitment, responses, c });
  assert.equal(eqs.structural, true);
  const batch = new EquationBatch();
  eqs.msm.forEach((e) => batch.addMsm(e));
  batch.addPairing(eqs.pairing);
  // K relation with the shared response m^_0: m^_0·g_K − c·K − T_K = 0.
  batch.addMsm([[gK(), responses.mHat[0]!], [request.K, scalarNeg(c)], [T_K, scalarNeg(1n)]]);
  assert.equal(batch.check(seededRng('batch')), true);
  const wrongK = new EquationBatch();
  wrongK.addMsm([[gK(), responses.mHat[0]!], [request.K.add(G1Point.BASE), scalarNeg(c)], [T_K, scalarNeg(1n)]]);
  assert.equal(wrongK.check(seededRng('batch')), false);
});
