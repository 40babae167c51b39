// What an untrusted host can do around its own SE, written as the attacker would: build a blind
// issuance request of its own (a k it chose, outside any SE), finish issuance itself with the
// answer, and pay an honest payee SE with the resulting credential through the crypto layer and
// the protocol encoders — never through its SE, which it bypasses entirely. Test support only.

import {
  G2Point,
  blindIssuanceRequest,
  decodeBlindIssuanceResponse,
  encodeBlindIssuanceRequest,
  encodePaymentProof,
  finishBlindIssuance,
  provePayment,
  randomScalar,
  type BlindIssuanceSecret,
  type Credential,
  type Rng,
} from '../../src/crypto/index.ts';
import { limitsFor, type PolicyTable } from '../../src/policy/limits.ts';
import { PROTOCOL_VERSION, decodePaymentRequest, deriveSession, encodePayment, generateSessionKeyPair, paymentContextOf } from '../../src/protocol/index.ts';
import type { SeClient } from '../../src/se/client.ts';
import { COUNTER_SIGNATURE_BYTES, decodeCounterSet } from '../../src/crypto/counter_set.ts';
import { paymentParamsFor } from '../../src/se/payment_inputs.ts';

/** The public facts about a device any host knows (or reads from GET_INFO). */
export interface DeviceFacts {
  deviceId: Uint8Array;
  epoch: bigint;
  tier: number;
  deviceClass: number;
  issuerPublicKey: Uint8Array;
}

/** A blind request for a k the host chose, bound as the honest SE would bind it. */
export function hostBuiltRequest(facts: DeviceFacts, issuerNonce: Uint8Array, rng: Rng, k = randomScalar(rng)) {
  const { request, secret } = blindIssuanceRequest({
    k,
    rng,
    issuerNonce,
    binding: {
      deviceId: facts.deviceId,
      epoch: facts.epoch,
      tier: BigInt(facts.tier),
      deviceClass: BigInt(facts.deviceClass),
      issuerPublicKey: G2Point.fromBytes(facts.issuerPublicKey),
    },
  });
  return { request, bytes: encodeBlindIssuanceRequest(request), secret };
}

/** The host unblinds the issuer's answer itself: a credential that never entered an SE. */
export function hostFinishes(facts: DeviceFacts, secret: BlindIssuanceSecret, response: Uint8Array, counterSet: Uint8Array): Credential {
  const finished = finishBlindIssuance({
    publicKey: G2Point.fromBytes(facts.issuerPublicKey),
    secret,
    response: decodeBlindIssuanceResponse(response),
    epoch: facts.epoch,
    tier: BigInt(facts.tier),
    deviceClass: BigInt(facts.deviceClass),
  });
  if (!finished.ok) throw new Error(`host could not finish issuance: ${finished.reason}`);
  // The counter set is public: whoever relays the issuance answer holds it.
  const L = counterSet.length / COUNTER_SIGNATURE_BYTES;
  return { signature: { A: finished.credential.A, e: finished.credential.e }, messages: finished.credential.messages, counterSet: L === 0 ? [] : decodeCounterSet(counterSet, L) };
}

/**
 * Pays `amountMinor` to an honest payee SE with a host-held credential at spending counter
 * `counter`: the payee's request, a session, the proof, the sealed opening, ACCEPT_PAYMENT.
 */
export async function hostPays(args: {
  payee: SeClient;
  credential: Credential;
  counter: number;
  amountMinor: bigint;
  policy: PolicyTable;
  tier: number;
  issuerPublicKey: Uint8Array;
  regulatorKey: Uint8Array;
  rng: Rng;
}) {
  const requestBytes = await args.payee.buildPaymentRequest(args.amountMinor);
  const request = decodePaymentRequest(requestBytes);
  const keys = generateSessionKeyPair(args.rng);
  const session = deriveSession({ role: 'payer', own: keys, peerPublicKey: request.payeeSessionKey, requestId: request.requestId });
  const context = paymentContextOf(request, keys.publicKey);
  const params = paymentParamsFor(args.issuerPublicKey, args.regulatorKey, limitsFor(args.policy, args.tier));
  const proved = provePayment({ params, credential: args.credential, counter: args.counter, amountMinor: args.amountMinor, context, rng: args.rng });
  const payment = encodePayment({
    v: PROTOCOL_VERSION,
    requestId: request.requestId,
    payerSessionKey: keys.publicKey,
    proof: encodePaymentProof(proved.statement, proved.proof),
    sealedOpening: session.seal({ amountMinor: args.amountMinor, rA: proved.opening.r_a }, context),
  });
  return args.payee.acceptPayment(payment);
}
