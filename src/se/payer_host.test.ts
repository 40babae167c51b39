// The payer host's part (payer_host.ts) against a hostile host: with everything the host sees — the
// next token's r_a, the SE's policy and keys, every payment it relayed — it cannot make a payment an
// honest payee accepts without its SE, cannot reuse a counter, and cannot make the SE debit one
// amount while the proof commits to another. What it can do is spoil a payment after the debit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, randomScalar, scalarFromBytes } from '../crypto/index.ts';
import { encodePaymentProof, decodePaymentProof } from '../crypto/payment_codec.ts';
import { finishPayment, precomputeSpendToken, proveAmountRange } from '../crypto/payment.ts';
import { decodeCounterSet } from '../crypto/counter_set.ts';
import { encodeRangeProof } from '../crypto/range_proof.ts';
import { limitsFor } from '../policy/limits.ts';
import { decodePayment, decodePaymentRequest, encodePayment } from '../protocol/messages.ts';
import { deriveSession, paymentContextOf } from '../protocol/session.ts';
import { generateSessionKeyPair } from '../protocol/session_keys.ts';
import { authorizeAsHost } from './payer_host.ts';
import type { AuthorizePaymentRequest } from './payment_commands.ts';
import { paymentParamsFor } from './payment_inputs.ts';
import { SeError, SW, type SwName } from './status.ts';
import { paymentSe, payDirect, type TestSe } from '../../test/support/payments.ts';
import { counterSetFor, epochNow, makeWorld } from '../../test/support/world.ts';

const rejects = async (p: Promise<unknown>, code: SwName): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof SeError && e.code === code && e.sw === SW[code], `expected ${code}`);
};
const balance = async (se: TestSe) => (await se.client.getInfo()).balanceMinor;

/** The host's part for `request`, captured instead of sent. */
async function hostPart(payer: TestSe, request: Uint8Array, amountMinor: bigint, rng: (n: number) => Uint8Array): Promise<AuthorizePaymentRequest> {
  let part: AuthorizePaymentRequest | undefined;
  await authorizeAsHost({
    precomputePayment: () => payer.client.precomputePayment(),
    authorizePaymentCommand: async (r) => ((part = r), { payment: new Uint8Array(0), balanceMinor: 0n, resent: false }),
  }, request, amountMinor, rng);
  return part!;
}

test('a host alone cannot make a payment an honest payee accepts', async () => {
  const w = makeWorld('host-alone');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const seen = await payDirect(payer, payee, 300n); // a genuine payment the host relayed
  // 1. Replay: the relayed payment answers a new request — another context, so its proof fails.
  const fresh = await payee.client.buildPaymentRequest(300n);
  const old = decodePayment(seen.payment);
  const replay = encodePayment({ ...old, requestId: decodePaymentRequest(fresh).requestId });
  await assert.rejects(payee.client.acceptPayment(replay), SeError);
  // 2. Forgery: the host's own token, with everything public it knows (issuer key, policy, the
  //    public counter set, r_a) but a credential signature it cannot have.
  const info = await payer.client.precomputePayment();
  const L = limitsFor(w.policy, 1).paymentsPerEpoch;
  const params = paymentParamsFor(w.issuerPublicKey.toBytes(), w.regulatorKey, limitsFor(w.policy, 1));
  const k = randomScalar(w.rng);
  const fake = { signature: { A: G1Point.BASE.mul(randomScalar(w.rng)), e: randomScalar(w.rng) }, messages: [k, epochNow(w, 1), 1n, 0n, randomScalar(w.rng)] };
  const request = await payee.client.buildPaymentRequest(300n);
  const r = decodePaymentRequest(request);
  const token = precomputeSpendToken({ params, credential: { ...fake, counterSet: decodeCounterSet(counterSetFor(w, 1), L) }, counter: 0, rng: w.rng });
  const { range } = proveAmountRange({ capMinor: info.capMinor, amountMinor: 300n, r_a: scalarFromBytes(info.nextBlinding!), rng: w.rng });
  const keys = generateSessionKeyPair(w.rng);
  const context = paymentContextOf(r, keys.publicKey);
  const forged = finishPayment({ params, token, amountMinor: 300n, range, context });
  const session = deriveSession({ role: 'payer', own: keys, peerPublicKey: r.payeeSessionKey, requestId: r.requestId });
  const payment = encodePayment({
    v: old.v, requestId: r.requestId, payerSessionKey: keys.publicKey, proof: encodePaymentProof(forged.statement, forged.proof),
    sealedOpening: session.seal({ amountMinor: 300n, rA: token.r_a }, context),
  });
  await rejects(payee.client.acceptPayment(payment), 'BAD_PAYMENT_PROOF');
  assert.equal(await balance(payee), 300n, 'only the genuine payment was credited');
});

test('a host cannot reuse a counter: one token per payment, spent tokens are gone', async () => {
  const w = makeWorld('host-counter');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const first = await payee.client.buildPaymentRequest(200n);
  const part = await hostPart(payer, first, 200n, w.rng);
  const paid = await payer.client.authorizePaymentCommand(part);
  // The same host part again for a second request: the token it was made for is spent, so the SE's
  // next C_a (another r_a) differs and it refuses; nothing is debited twice.
  const second = await payee.client.buildPaymentRequest(200n);
  const replayed = { ...part, request: second };
  await rejects(payer.client.authorizePaymentCommand(replayed), 'WRONG_DATA');
  assert.equal(await balance(payer), 4_800n);
  // A genuine second payment has another nullifier.
  const next = await payer.client.authorizePayment(second, 200n);
  const N = (bytes: Uint8Array) => decodePaymentProof(decodePayment(bytes).proof, new Uint8Array(0)).statement.N;
  assert.ok(!N(paid.payment).equals(N(next.payment)));
});

test('a host cannot make the SE debit one amount while the proof commits to another', async () => {
  const w = makeWorld('host-amount');
  const payer = await paymentSe(w, { fundMinor: 5_000n });
  const payee = await paymentSe(w, {});
  const request = await payee.client.buildPaymentRequest(900n);
  const part = await hostPart(payer, request, 900n, w.rng);
  const info = await payer.client.precomputePayment();
  const r_a = scalarFromBytes(info.nextBlinding!);
  // The host proves 1.00 and commits to 1.00, asking the SE to debit 9.00: refused, nothing spent.
  const small = proveAmountRange({ capMinor: info.capMinor, amountMinor: 100n, r_a, rng: w.rng });
  await rejects(payer.client.authorizePaymentCommand({ ...part, amountCommitment: small.C_a.toBytes(), amountRange: encodeRangeProof(small.range) }), 'WRONG_DATA');
  assert.equal(await balance(payer), 5_000n);
  // The right commitment with the range proof of another amount: the SE signs (it does not verify the
  // host's proof), and the honest payee refuses the payment — spoiled after the debit, reclaimable.
  const spoiled = await payer.client.authorizePaymentCommand({ ...part, amountRange: encodeRangeProof(small.range) });
  await rejects(payee.client.acceptPayment(spoiled.payment), 'BAD_PAYMENT_PROOF');
  assert.equal(await balance(payee), 0n, 'the payee credited nothing');
});
