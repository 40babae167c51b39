// The payer host's part of an offline payment (DESIGN §3.2 "What runs when", the hybrid SE–TEE split):
// what the phone's application processor, a car's head unit, or — for a passive ring or card — the
// reader that drives its APDUs does around AUTHORIZE_PAYMENT, so the SE at tap time does only what
// touches its secrets.
//
//   1. PRECOMPUTE_PAYMENT: the SE makes spend tokens if none are ready (idle work; instant when the
//      pool is full) and tells the host the next token's amount blinding r_a, the tier's cap, its
//      clock, policy and issuer keys;
//   2. the host checks the payee's credential proof (a genuine, live device signed these request
//      fields) — a pairing and an MSM, the heaviest check, now off the SE;
//   3. the host makes the amount range proof over C_a = a·G + r_a·H, its X25519 session key, and
//      seals (a, r_a) for the payee under the payment context;
//   4. AUTHORIZE_PAYMENT: the SE recomputes C_a from the amount it debits and refuses any other,
//      finishes the proof, debits and returns the whole Payment.
//
// What the host learns: a (its user approved it), r_a (the payee learns it too), its own session
// key, and the public parts of the payment it relays. Never k, K, n, w, u, the credential, or any
// proof nonce. What a hostile host can do: withhold or garble the payment (the SE has debited; the
// payer re-sends it, or reclaims it after the settlement window) — not pay twice with one counter,
// not make the SE debit one amount while C_a commits to another, not make a payment an honest payee
// accepts without its SE (test/attacks/hostile_host.ts, src/se/payer_host.test.ts).

import { verifyCredential, decodeCredentialProof } from '../crypto/credential_proof.ts';
import { G1Point, G2Point, scalarFromBytes } from '../crypto/group.ts';
import { proveAmountRange } from '../crypto/payment.ts';
import { encodeRangeProof, type RangeProofNonces } from '../crypto/range_proof.ts';
import { systemRng, type Rng } from '../crypto/rng.ts';
import { TIERS, limitsFor } from '../policy/limits.ts';
import { decodePolicy } from '../policy/policy_codec.ts';
import { decodePaymentRequest, paymentRequestBinding, type PaymentRequest } from '../protocol/messages.ts';
import { SessionError, deriveSession, paymentContextOf } from '../protocol/session.ts';
import { generateSessionKeyPair } from '../protocol/session_keys.ts';
import { isWireError } from '../protocol/wire_error.ts';
import type { AuthorizePaymentRequest, PrecomputeResponse } from './payment_commands.ts';
import { SW, SeError } from './status.ts';

/** What the host's part needs from its SE (SeClient implements it). */
export interface PayerHostSe {
  precomputePayment(tokens?: number): Promise<PrecomputeResponse>;
  /** Range-proof nonces the host made while idle for this cap (host RAM, single use), if any. */
  takeRangeNonces?(capMinor: bigint): RangeProofNonces | undefined;
  authorizePaymentCommand(req: AuthorizePaymentRequest): Promise<{ payment: Uint8Array; balanceMinor: bigint; resent: boolean }>;
}

/**
 * The payee must be a genuine device with a live credential of a tier this SE's policy knows, and its
 * proof must bind every other request field (so a relay cannot swap the session key or the amount).
 * Refuses with BAD_PAYEE_CREDENTIAL, as the SE did when it made this check itself.
 */
export function checkPayee(request: PaymentRequest, info: PrecomputeResponse, rng: Rng): void {
  let proof;
  try {
    proof = decodeCredentialProof(request.payeeCredentialProof);
  } catch (e) {
    throw new SeError(SW.WRONG_DATA, `host: payee credential proof: ${(e as Error).message}`);
  }
  const policy = decodePolicy(info.policy);
  if (!(TIERS as readonly number[]).includes(proof.tier)) throw new SeError(SW.BAD_PAYEE_CREDENTIAL, `host: payee tier ${proof.tier} is unknown`);
  const limits = limitsFor(policy, proof.tier);
  const live = proof.epoch * limits.epochMs <= info.nowMs && info.nowMs < (proof.epoch + 1n) * limits.epochMs + limits.graceMs;
  if (!live) throw new SeError(SW.BAD_PAYEE_CREDENTIAL, `host: payee credential of tier ${proof.tier}, epoch ${proof.epoch} is not live`);
  const exact = info.issuerKeys.filter((k) => k.epoch === proof.epoch);
  const keys = (exact.length > 0 ? exact : info.issuerKeys).map((k) => G2Point.fromBytes(k.publicKey));
  const { payeeCredentialProof: _, ...fields } = request;
  const context = paymentRequestBinding(fields);
  if (!keys.some((issuerKey) => verifyCredential({ issuerKey, proof, context, rng }))) {
    throw new SeError(SW.BAD_PAYEE_CREDENTIAL, 'host: payee credential proof does not verify: not a genuine device, or the request was altered');
  }
}

/** Steps 1–4 above. Throws SeError (the SE's refusals and the host's own checks). */
export async function authorizeAsHost(
  se: PayerHostSe,
  requestBytes: Uint8Array,
  amountMinor: bigint,
  rng: Rng = systemRng,
  /** checkPayee: false only for tests that reach the SE's own refusals behind the host's check. */
  opts: { checkPayee?: boolean } = {},
) {
  let request: PaymentRequest;
  try {
    request = decodePaymentRequest(requestBytes);
  } catch (e) {
    if (isWireError(e)) throw new SeError(SW.WRONG_DATA, `host: payment request: ${e.message}`);
    throw e;
  }
  // One token is enough now (none is made when the idle pool has it); the rest is idle work.
  const info = await se.precomputePayment(1);
  // Nothing to prove without a token or outside the cap: the host sends placeholders and the SE's
  // own refusal (limits, credential, no token) says why; it refuses before it reads them.
  const provable = info.nextBlinding !== null && amountMinor >= 0n && amountMinor <= info.capMinor;
  if (provable && opts.checkPayee !== false) checkPayee(request, info, rng);
  const r_a = provable ? scalarFromBytes(info.nextBlinding!) : 0n;
  const proved = provable
    ? proveAmountRange({ capMinor: info.capMinor, amountMinor, r_a, rng, nonces: se.takeRangeNonces?.(info.capMinor) })
    : null;
  const keys = generateSessionKeyPair(rng);
  let session;
  try {
    session = deriveSession({ role: 'payer', own: keys, peerPublicKey: request.payeeSessionKey, requestId: request.requestId });
  } catch (e) {
    if (e instanceof SessionError) throw new SeError(SW.WRONG_DATA, `host: session: ${e.message}`);
    throw e;
  }
  const context = paymentContextOf(request, keys.publicKey);
  return se.authorizePaymentCommand({
    request: requestBytes,
    amountMinor,
    amountCommitment: (proved?.C_a ?? G1Point.BASE).toBytes(),
    amountRange: proved === null ? new Uint8Array(1) : encodeRangeProof(proved.range),
    payerSessionKey: keys.publicKey,
    sealedOpening: session.seal({ amountMinor: provable ? amountMinor : 1n, rA: r_a }, context),
  });
}
