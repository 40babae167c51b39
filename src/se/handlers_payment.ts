// Handlers of the offline payment (DESIGN §3.2, §4, §5), one SE on each side:
//   BUILD_PAYMENT_REQUEST (payee)  fresh request id, nonce ρ and X25519 session key, all kept in
//                                  NVM until paid; the request carries a credential proof bound to
//                                  every other request field, so a payer knows it pays a genuine
//                                  device and a relay cannot swap the session key;
//   AUTHORIZE_PAYMENT (payer)      spend checks, the next spend token, C_a checked against the host's,
//                                  the tap-time finish of the payment proof (one G1 multiplication),
//                                  debit, counter + 1, token deleted — and the payment kept for re-send.
//                                  The host did the rest: the amount range proof, the session and
//                                  its seal of (a, r_a), and the check of the payee's credential;
//   ACCEPT_PAYMENT (payee)         request match, opening, nullifier / revocation / log / holding,
//                                  proof, credit, log, receipt — idempotent for an identical payment;
//   PRECOMPUTE_PAYMENT (payer, idle) spend tokens for the next counters (payment_tokens.ts);
//   GET_LAST_PAYMENT, CONFIGURE_STORAGE, INSTALL_ISSUER_KEYS.
// Checks come cheapest first and each refusal has its own status word; nothing is staged before
// the last check, and the applet commits all staged writes at once, so a refusal changes nothing.

import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoDecodeError, G1Point, G2Point, scalarToBytes } from '../crypto/group.ts';
import { encodeCredentialProof, proveCredential } from '../crypto/credential_proof.ts';
import { commit } from '../crypto/pedersen.ts';
import { AMOUNT_RANGE_VALUES, finishPayment, paymentRangeBits, verifyPayment, type PaymentProof, type PaymentStatement } from '../crypto/payment.ts';
import { decodeRangeProof, RangeProofError } from '../crypto/range_proof.ts';
import { encodePolicy } from '../policy/policy_codec.ts';
import { assert } from '../crypto/assert.ts';
import { decodePaymentProof, encodePaymentProof } from '../crypto/payment_codec.ts';
import { PAYEE_NONCE_BYTES, PROTOCOL_VERSION, REQUEST_ID_BYTES } from '../protocol/limits.ts';
import {
  decodePayment,
  decodePaymentRequest,
  encodePayment,
  encodePaymentRequest,
  encodeReceipt,
  paymentHash,
  paymentRequestBinding,
  type PaymentRequest,
} from '../protocol/messages.ts';
import { encodePaymentRecord } from '../protocol/payment_record.ts';
import { SessionError, deriveSession, payeeIdentityOf, paymentContext, paymentContextOf, type Session } from '../protocol/session.ts';
import { generateSessionKeyPair, isCanonicalX25519PublicKey } from '../protocol/session_keys.ts';
import { isWireError } from '../protocol/wire_error.ts';
import { equalBytes } from './bytes.ts';
import { activeCredential, checkReceive, checkSpend, epochAt, isDeviceRevoked, recordReceipt, recordSpend, refuse, tierLimits } from './enforce.ts';
import { command, type AnyRegisteredCommand, type HandlerContext } from './handler.ts';
import { PAYMENT_COMMANDS } from './payment_commands.ts';
import { credentialForProof } from './payment_inputs.ts';
import {
  candidateIssuerKeys, epochLive, knownIssuerKeys, peerLimits, pendingRequests, receiptLogCapacity, reserveReceive, signReceipt, withRequest,
} from './payment_peer.ts';
import { fillTokens, takeToken, tokenParams } from './payment_tokens.ts';
import { ISSUER_KEYS_MAX, RECEIPT_LOG_CAPACITY_MIN } from './payment_limits.ts';
import { keepUnconfirmed, keptPaymentFor, newestUnconfirmed } from './handlers_unconfirmed.ts';
import { openIssuerKeyCert } from './messages.ts';
import { receiptCount, type PendingRequest, type StateTx } from './state.ts';
import { SW, SeRefusal, type StatusWord } from './status.ts';

/** Runs a decoder; wire and crypto decode errors become a refusal with `sw`. */
function decoded<T>(decode: () => T, sw: StatusWord, what: string): T {
  try {
    return decode();
  } catch (e) {
    if (isWireError(e) || e instanceof CryptoDecodeError || e instanceof RangeProofError) refuse(sw, `${what}: ${e.message}`);
    throw e;
  }
}

function sessionOrRefuse<T>(make: () => T, sw: StatusWord): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof SessionError) refuse(sw, `session: ${e.message}`);
    throw e;
  }
}

// ---- Payee: BUILD_PAYMENT_REQUEST ----------------------------------------------------------------

export const buildPaymentRequest = command(PAYMENT_COMMANDS.buildPaymentRequest, (ctx: HandlerContext, req) => {
  const { tx, rng } = ctx;
  const credential = activeCredential(tx, ctx.nowMs);
  if (req.amountMinor <= 0n) refuse(SW.WRONG_DATA, `amount must be positive (got ${req.amountMinor})`);
  const keys = generateSessionKeyPair(rng);
  const fields: Omit<PaymentRequest, 'payeeCredentialProof'> = {
    v: PROTOCOL_VERSION,
    amountMinor: req.amountMinor,
    requestId: rng(REQUEST_ID_BYTES),
    payeeNonce: rng(PAYEE_NONCE_BYTES),
    payeeSessionKey: keys.publicKey,
    payeeIdentity: payeeIdentityOf(tx.get('identity').attestationPublicKey),
    policyVersion: tx.get('policy').table.version,
    timeMs: Number(ctx.nowMs),
  };
  // Two requests with one context would let a payer's two spends of a counter share R, which
  // names no one (DESIGN §3.4); fresh 16- and 32-byte randomness never repeats unless the RNG broke.
  assert(
    !pendingRequests(tx).some((p) => equalBytes(p.requestId, fields.requestId) || equalBytes(p.payeeNonce, fields.payeeNonce)),
    'buildPaymentRequest: the RNG repeated a request id or nonce',
  );
  const proof = proveCredential({
    issuerKey: G2Point.fromBytes(credential.issuerPublicKey),
    credential: credentialForProof(credential, tx.get('identity').k),
    context: paymentRequestBinding(fields),
    rng,
  });
  const request = encodePaymentRequest({ ...fields, payeeCredentialProof: encodeCredentialProof(proof) });
  const pending: PendingRequest = {
    requestId: fields.requestId, payeeNonce: fields.payeeNonce, sessionSecretKey: keys.secretKey,
    sessionPublicKey: keys.publicKey, amountMinor: req.amountMinor, timeMs: ctx.nowMs, policyVersion: fields.policyVersion,
    paidHash: null, receipt: null,
  };
  const entries = withRequest(pendingRequests(tx), pending);
  reserveReceive(tx, entries);
  tx.set('payment_requests', { entries });
  return { request };
});

// ---- Payer: AUTHORIZE_PAYMENT --------------------------------------------------------------------

export const authorizePayment = command(PAYMENT_COMMANDS.authorizePayment, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const request = decoded(() => decodePaymentRequest(req.request), SW.WRONG_DATA, 'payment request');
  if (request.amountMinor !== req.amountMinor) {
    refuse(SW.CONDITIONS_NOT_SATISFIED, `request asks ${request.amountMinor}, the host approved ${req.amountMinor}`);
  }
  const requestHash = sha256(req.request);
  const kept = keptPaymentFor(tx, request.requestId, requestHash);
  if (kept !== null) return { payment: kept.payment, balanceMinor: tx.get('wallet').balanceMinor, resent: true };
  const ownPolicy = tx.get('policy').table.version;
  if (request.policyVersion !== ownPolicy) {
    refuse(SW.POLICY_VERSION_MISMATCH, `payee asks under policy version ${request.policyVersion}, this SE holds version ${ownPolicy}`);
  }
  const { credential, counter } = checkSpend(tx, req.amountMinor, ctx.nowMs);
  const token = takeToken(tx, credential);
  if (token === null) refuse(SW.CONDITIONS_NOT_SATISFIED, `no spend token ready for counter ${counter}: the host runs PRECOMPUTE_PAYMENT first`);
  assert(token.counter === Number(counter) && token.epoch === credential.epoch, 'authorizePayment: takeToken returns the next counter');
  const params = tokenParams(tx, credential);
  const hostCommitment = decoded(() => G1Point.fromBytes(req.amountCommitment), SW.WRONG_DATA, 'amount commitment');
  const range = decoded(() => decodeRangeProof(req.amountRange, { m: AMOUNT_RANGE_VALUES, bits: paymentRangeBits(params.capMinor) }), SW.WRONG_DATA, 'amount range proof');
  if (!isCanonicalX25519PublicKey(req.payerSessionKey)) refuse(SW.WRONG_DATA, 'payer session key is not a canonical X25519 public key');
  const context = sessionOrRefuse(() => paymentContextOf(request, req.payerSessionKey), SW.WRONG_DATA);
  const proved = finishPayment({ params, token, amountMinor: req.amountMinor, range, context });
  // The SE's own C_a (from the amount it debits) against the one the host proved the range of.
  if (!proved.statement.C_a.equals(hostCommitment)) refuse(SW.WRONG_DATA, `amount commitment is not for ${req.amountMinor} under this SE's next blinding`);
  const payment = encodePayment({
    v: PROTOCOL_VERSION,
    requestId: request.requestId,
    payerSessionKey: req.payerSessionKey,
    proof: encodePaymentProof(proved.statement, proved.proof),
    sealedOpening: req.sealedOpening,
  });
  const inputs = { epoch: credential.epoch, counter };
  recordSpend(tx, req.amountMinor, inputs.epoch, BigInt(inputs.counter));
  keepUnconfirmed(tx, {
    request, requestHash, payment, amountMinor: req.amountMinor, epoch: inputs.epoch, nullifier: proved.statement.N.toBytes(),
    blinding: scalarToBytes(token.r_a), nowMs: ctx.nowMs,
  });
  return { payment, balanceMinor: tx.get('wallet').balanceMinor, resent: false };
});

// ---- Payee: ACCEPT_PAYMENT -----------------------------------------------------------------------

/** A payment for a request that was already paid: the same bytes get the same receipt back. */
function alreadyPaid(tx: StateTx, pending: PendingRequest, hash: Uint8Array, proofBytes: Uint8Array, context: Uint8Array) {
  if (equalBytes(pending.paidHash!, hash)) {
    return { receipt: pending.receipt!, amountMinor: pending.amountMinor, balanceMinor: tx.get('wallet').balanceMinor, resent: true, requestId: pending.requestId };
  }
  const { statement } = decoded(() => decodePaymentProof(proofBytes, context), SW.WRONG_DATA, 'payment proof');
  const N = statement.N.toBytes();
  if (tx.get('nullifiers').entries.some((e) => equalBytes(e.nullifier, N))) refuse(SW.NULLIFIER_SEEN, 'nullifier already received');
  refuse(SW.REQUEST_ALREADY_PAID, 'request already paid by another payment');
}

/**
 * Set only by test/sim/faults.test.ts: the payee also takes a proof made under any tier's cap, not
 * only under the payer's own cap(t), the planted weakness the fleet simulator's broken-SE bound
 * must catch (an IoT-tier broken SE then spends above its cap).
 */
export const payeeVerifyTestSeam = { anyTierCap: false };

/** Verifies the payer's proof under this SE's policy for the payer's disclosed tier. */
function verifyPayer(ctx: HandlerContext, statement: PaymentStatement, proof: PaymentProof): void {
  const { tx } = ctx;
  const limits = peerLimits(tx, statement.tier);
  if (limits === null || limits.paymentsPerEpoch === 0 || !epochLive(statement.epoch, limits, ctx.nowMs)) {
    refuse(SW.BAD_PAYMENT_PROOF, `payer tier ${statement.tier}, epoch ${statement.epoch} cannot pay now`);
  }
  const regulatorKey = G1Point.fromBytes(tx.get('anchors').regulatorKey);
  const caps = payeeVerifyTestSeam.anyTierCap ? [limits.capMinor, ...Object.values(tx.get('policy').table.tiers).map((t) => t.capMinor)] : [limits.capMinor];
  const ok = candidateIssuerKeys(tx, statement.epoch).some((issuerKey) => caps.some((capMinor) => {
    const params = { issuerKey, regulatorKey, capMinor, paymentsPerEpoch: limits.paymentsPerEpoch };
    return verifyPayment(params, statement, proof, ctx.rng).ok;
  }));
  if (!ok) refuse(SW.BAD_PAYMENT_PROOF, 'payment proof does not verify');
}

export const acceptPayment = command(PAYMENT_COMMANDS.acceptPayment, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const payment = decoded(() => decodePayment(req.payment), SW.WRONG_DATA, 'payment');
  const entries = pendingRequests(tx);
  const index = entries.findIndex((r) => equalBytes(r.requestId, payment.requestId));
  if (index < 0) refuse(SW.UNKNOWN_REQUEST, 'payment answers no request this SE holds');
  const pending = entries[index]!;
  const context = paymentContext({
    version: PROTOCOL_VERSION, requestId: pending.requestId, payeeNonce: pending.payeeNonce,
    payeeIdentity: payeeIdentityOf(tx.get('identity').attestationPublicKey), payeeSessionKey: pending.sessionPublicKey,
    payerSessionKey: payment.payerSessionKey, policyVersion: pending.policyVersion, timeMs: Number(pending.timeMs),
  });
  const hash = paymentHash(req.payment);
  if (pending.paidHash !== null) return alreadyPaid(tx, pending, hash, payment.proof, context);
  const { statement, proof } = decoded(() => decodePaymentProof(payment.proof, context), SW.WRONG_DATA, 'payment proof');
  assert(pending.sessionSecretKey !== null, 'acceptPayment: an unpaid request keeps its session secret');
  const own = { secretKey: pending.sessionSecretKey, publicKey: pending.sessionPublicKey };
  const session = sessionOrRefuse(
    () => deriveSession({ role: 'payee', own, peerPublicKey: payment.payerSessionKey, requestId: pending.requestId }),
    SW.WRONG_DATA,
  );
  const opening = (() => {
    try {
      return session.open(payment.sealedOpening, context);
    } catch (e) {
      if (e instanceof SessionError) refuse(SW.BAD_PAYMENT_OPENING, e.message);
      throw e;
    }
  })();
  if (opening.amountMinor !== pending.amountMinor) refuse(SW.BAD_PAYMENT_OPENING, `opening is ${opening.amountMinor}, request ${pending.amountMinor}`);
  if (!commit(opening.amountMinor, opening.rA).equals(statement.C_a)) refuse(SW.BAD_PAYMENT_OPENING, '(a, r_a) does not open C_a');
  const N = statement.N.toBytes();
  checkReceive(tx, opening.amountMinor, N);
  if (receiptCount(tx) >= receiptLogCapacity(tx)) refuse(SW.LOG_FULL, `this SE's log of ${receiptLogCapacity(tx)} receipts is full`);
  verifyPayer(ctx, statement, proof);

  const entry = {
    payment: encodePaymentRecord({ context, payment: payment.proof }), amountMinor: opening.amountMinor,
    blinding: scalarToBytes(opening.rA), epoch: statement.epoch, nullifier: N, receivedAtMs: ctx.nowMs,
  };
  recordReceipt(tx, entry, epochAt(ctx.nowMs, tierLimits(tx)));
  const id = tx.get('identity');
  const receipt = encodeReceipt({
    v: PROTOCOL_VERSION, paymentHash: hash, payeeSignature: signReceipt(id.attestationSecretKey, hash), payeeAttestationKey: id.attestationPublicKey,
  });
  const paid: PendingRequest = { ...pending, sessionSecretKey: null, paidHash: hash, receipt };
  tx.set('payment_requests', { entries: entries.map((r, i) => (i === index ? paid : r)) });
  return { receipt, amountMinor: opening.amountMinor, balanceMinor: tx.get('wallet').balanceMinor, resent: false, requestId: pending.requestId };
});

// ---- Small commands ------------------------------------------------------------------------------

export const getLastPayment = command(PAYMENT_COMMANDS.getLastPayment, (ctx) => {
  const last = newestUnconfirmed(ctx.tx);
  return { payment: last?.payment ?? null, requestId: last?.requestId ?? null };
});

/**
 * Host calls this when idle (and before a payment, when it is cheap because tokens are ready): fills
 * the spend-token pool and tells the host what its part of the next payment needs.
 */
export const precomputePaymentCommand = command(PAYMENT_COMMANDS.precomputePayment, (ctx, req) => {
  const { tx } = ctx;
  const limits = tierLimits(tx);
  if (req.tokens < 1) refuse(SW.WRONG_DATA, 'ask for at least one token');
  // A revoked device makes no tokens: it cannot pay, and a token it made would only burn a counter's work.
  const canPay = limits.paymentsPerEpoch > 0 && tx.get('credentials').credentials.length > 0 && !isDeviceRevoked(tx);
  const filled = canPay ? fillTokensIfLive(tx, ctx.rng, ctx.nowMs, req.tokens) : { ready: 0, made: 0, nextBlinding: null };
  return {
    ...filled, capMinor: limits.capMinor, nowMs: ctx.nowMs, policy: encodePolicy(tx.get('policy').table), issuerKeys: knownIssuerKeys(tx),
  };
});

/** fillTokens, or nothing when no credential is live now (an expired SE can still answer the host). */
function fillTokensIfLive(tx: StateTx, rng: HandlerContext['rng'], nowMs: bigint, target: number) {
  try {
    return fillTokens(tx, rng, nowMs, target);
  } catch (e) {
    if (e instanceof SeRefusal) return { ready: 0, made: 0, nextBlinding: null };
    throw e;
  }
}

/** Manufacturer, before personalization: the receipt log this SE's NVM can hold. */
export const configureStorage = command(PAYMENT_COMMANDS.configureStorage, (ctx, req) => {
  if (req.receiptLogCapacity < RECEIPT_LOG_CAPACITY_MIN) refuse(SW.WRONG_DATA, `capacity must be at least ${RECEIPT_LOG_CAPACITY_MIN}`);
  ctx.tx.set('storage', { receiptLogCapacity: req.receiptLogCapacity });
  return {};
});

/** Sync: CB-certified issuer keys of other epochs (other tiers), kept newest first up to the bound. */
export const installIssuerKeys = command(PAYMENT_COMMANDS.installIssuerKeys, (ctx, req) => {
  const { tx } = ctx;
  let entries = tx.has('issuer_keys') ? [...tx.get('issuer_keys').entries] : [];
  for (const [i, cert] of req.certs.entries()) {
    const opened = openIssuerKeyCert(cert, tx.get('anchors').cbPublicKey);
    if (!opened.ok) refuse(SW.BAD_CERTIFICATE, `issuer key certificate ${i}: ${opened.reason}`);
    const { epoch, publicKey } = opened.value;
    decoded(() => G2Point.fromBytes(publicKey), SW.BAD_CERTIFICATE, `issuer key ${i}`);
    const same = entries.find((e) => e.epoch === epoch);
    if (same && !equalBytes(same.publicKey, publicKey)) refuse(SW.BAD_CERTIFICATE, `a second, different key for epoch ${epoch}`);
    if (!same) entries.push({ epoch, publicKey });
  }
  entries = entries.sort((a, b) => (a.epoch < b.epoch ? 1 : a.epoch > b.epoch ? -1 : 0)).slice(0, ISSUER_KEYS_MAX);
  tx.set('issuer_keys', { entries });
  return { epochs: entries.map((e) => e.epoch) };
});

export const PAYMENT_HANDLERS: readonly AnyRegisteredCommand[] = [
  buildPaymentRequest, authorizePayment, acceptPayment, getLastPayment, precomputePaymentCommand, configureStorage, installIssuerKeys,
];
