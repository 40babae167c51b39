// Standalone credential presentations (the payee's proof of being a genuine device).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, G2Point, scalarAdd } from './group.ts';
import { randomScalar, seededRng } from './rng.ts';
import { makeTestIssuer } from './fixtures.ts';
import {
  CREDENTIAL_PROOF_BYTES,
  decodeCredentialProof,
  encodeCredentialProof,
  proveCredential,
  verifyCredential,
  type CredentialProof,
} from './credential_proof.ts';

const rng = seededRng('credential-proof');
const issuer = makeTestIssuer(rng);
const credential = issuer.issue(randomScalar(rng), { epoch: 9n, tier: 3n, deviceClass: 4n });
const context = new TextEncoder().encode('payee-nonce|payee-session-key');
const proof = proveCredential({ issuerKey: issuer.params.issuerKey, credential, context, rng });
const verify = (p: CredentialProof, ctx = context, key = issuer.params.issuerKey) => verifyCredential({ issuerKey: key, proof: p, context: ctx, rng });

test('verifyCredential() accepts an honest presentation and discloses epoch, tier and class', () => {
  assert.ok(verify(proof));
  assert.deepEqual([proof.epoch, proof.tier, proof.deviceClass], [9n, 3, 4]);
  const bytes = encodeCredentialProof(proof);
  assert.equal(bytes.length, CREDENTIAL_PROOF_BYTES);
  assert.ok(verify(decodeCredentialProof(bytes)));
});

test('verifyCredential() rejects each tampered attribute, element, context and issuer key', () => {
  assert.ok(!verify({ ...proof, epoch: 10n }), 'epoch');
  assert.ok(!verify({ ...proof, tier: 2 }), 'tier');
  assert.ok(!verify({ ...proof, deviceClass: 1 }), 'class');
  for (const key of ['Abar', 'Bbar', 'D', 'T1', 'T2'] as const) {
    assert.ok(!verify({ ...proof, commitment: { ...proof.commitment, [key]: proof.commitment[key].add(G1Point.BASE) } }), key);
  }
  for (const key of ['eHat', 'r1Hat', 'r3Hat'] as const) {
    assert.ok(!verify({ ...proof, responses: { ...proof.responses, [key]: scalarAdd(proof.responses[key], 1n) } }), key);
  }
  for (let i = 0; i < 2; i++) {
    const mHat = proof.responses.mHat.map((m, j) => (j === i ? scalarAdd(m, 1n) : m));
    assert.ok(!verify({ ...proof, responses: { ...proof.responses, mHat } }), `mHat[${i}]`);
  }
  assert.ok(!verify(proof, new TextEncoder().encode('another session')), 'context');
  assert.ok(!verify(proof, context, G2Point.BASE.mul(5n)), 'issuer key');
});

test('two presentations of one credential share no element', () => {
  const again = proveCredential({ issuerKey: issuer.params.issuerKey, credential, context, rng });
  for (const key of ['Abar', 'Bbar', 'D', 'T1', 'T2'] as const) assert.ok(!again.commitment[key].equals(proof.commitment[key]));
});

test('decodeCredentialProof() rejects wrong lengths and bad points with CryptoDecodeError', () => {
  const bytes = encodeCredentialProof(proof);
  assert.throws(() => decodeCredentialProof(bytes.subarray(1)), { name: 'CryptoDecodeError' });
  const bad = Uint8Array.from(bytes);
  bad[10] = 0;
  assert.throws(() => decodeCredentialProof(bad), { name: 'CryptoDecodeError' });
});
