// Handlers of blind credential issuance (DESIGN §3.1). BEGIN_ISSUANCE checks the CB's certificate
// of the epoch's issuer key, commits to the SE's k and a fresh blinding s' with a proof bound to
// the FI nonce, device id, epoch, tier, class and issuer key, signs the whole request with the
// attestation key and keeps s' in NVM; FINISH_ISSUANCE unblinds, verifies the BBS signature and
// stores the credential. The signature (A, e) and s never leave the SE; the host only moves the
// signed request and learns the epoch, tier and class.
//
// Why the SE signs: the FI and the CB accept a request only under the enrolled attestation key,
// so a host cannot substitute a request for a k of its own (issue 8, finding 1). Why a repeated
// BEGIN for the same nonce re-sends the stored request: the FI answers one request per (device,
// epoch), and a host that lost the answer must be able to ask again with the very same bytes.

import {
  blindIssuanceRequest,
  decodeBlindIssuanceResponse,
  encodeBlindIssuanceRequest,
  finishBlindIssuance,
} from '../crypto/blind_issuance.ts';
import { CryptoDecodeError, G2Point, scalarFromBytes, scalarToBytes } from '../crypto/group.ts';
import { decodeCounterSet, verifyCounterSet } from '../crypto/counter_set.ts';
import { TIERS, limitsFor } from '../policy/limits.ts';
import { equalBytes } from './bytes.ts';
import { COMMANDS } from './commands.ts';
import { CREDENTIALS_MAX } from './constants.ts';
import { credentialValidUntilMs, refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { issuanceRequestBody, openIssuerKeyCert } from './messages.ts';
import { signEnvelope } from './signed.ts';
import type { CredentialRecord, StateTx } from './state.ts';
import { SW } from './status.ts';

function decodeOrRefuse<T>(decode: () => T, sw: typeof SW.WRONG_DATA | typeof SW.BAD_CERTIFICATE | typeof SW.BAD_ISSUANCE_RESPONSE, what: string): T {
  try {
    return decode();
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    refuse(sw, `${what}: ${e.message}`);
  }
}

/** The epoch's issuer key from a CB-signed certificate, or a refusal. */
function issuerKeyOf(tx: StateTx, issuerKeyCert: Uint8Array, epoch: bigint): { publicKey: G2Point; bytes: Uint8Array } {
  const cert = openIssuerKeyCert(issuerKeyCert, tx.get('anchors').cbPublicKey);
  if (!cert.ok) refuse(SW.BAD_CERTIFICATE, `issuer key certificate: ${cert.reason}`);
  if (cert.value.epoch !== epoch) refuse(SW.BAD_CERTIFICATE, `issuer key is for epoch ${cert.value.epoch}, not ${epoch}`);
  const publicKey = decodeOrRefuse(() => G2Point.fromBytes(cert.value.publicKey), SW.BAD_CERTIFICATE, 'issuer key');
  return { publicKey, bytes: cert.value.publicKey };
}

export const beginIssuance = command(COMMANDS.beginIssuance, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const pending = tx.get('issuance').pending;
  if (pending !== null && equalBytes(pending.issuerNonce, req.issuerNonce) && pending.epoch === req.epoch && pending.tier === req.tier) {
    return { request: pending.request };
  }
  if (!(TIERS as readonly number[]).includes(req.tier)) refuse(SW.WRONG_DATA, `unknown tier ${req.tier}`);
  const issuerKey = issuerKeyOf(tx, req.issuerKeyCert, req.epoch);
  const id = tx.get('identity');
  const { request, secret } = blindIssuanceRequest({
    k: scalarFromBytes(id.k),
    rng: ctx.rng,
    issuerNonce: req.issuerNonce,
    binding: { deviceId: id.deviceId, epoch: req.epoch, tier: BigInt(req.tier), deviceClass: BigInt(id.deviceClass), issuerPublicKey: issuerKey.publicKey },
  });
  const signed = signEnvelope(id.attestationSecretKey, issuanceRequestBody({
    issuerNonce: req.issuerNonce, deviceId: id.deviceId, epoch: req.epoch, tier: req.tier, deviceClass: id.deviceClass,
    blindRequest: encodeBlindIssuanceRequest(request),
  }));
  tx.set('issuance', {
    pending: {
      issuerNonce: req.issuerNonce, sPrime: scalarToBytes(secret.sPrime), startedAtMs: ctx.nowMs,
      epoch: req.epoch, tier: req.tier, issuerPublicKey: issuerKey.bytes, request: signed,
    },
  });
  return { request: signed };
});

/**
 * The tier's counter set must be exactly L signatures under the epoch's issuer key: without it this
 * SE could not pay, and a wrong one would only show when a payment failed at its payee. One batched
 * pairing check (counter_set.ts), at issuance, never at tap.
 */
function checkCounterSet(bytes: Uint8Array, issuerKey: G2Point, L: number, rng: HandlerContext['rng']): void {
  if (L === 0) {
    if (bytes.length !== 0) refuse(SW.BAD_ISSUANCE_RESPONSE, 'a receive-only tier takes no counter set');
    return;
  }
  const set = decodeOrRefuse(() => decodeCounterSet(bytes, L), SW.BAD_ISSUANCE_RESPONSE, 'counter set');
  if (!verifyCounterSet(issuerKey, L, set, rng)) refuse(SW.BAD_ISSUANCE_RESPONSE, `the counter set for L = ${L} is not signed by the epoch's issuer key`);
}

export const finishIssuance = command(COMMANDS.finishIssuance, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const pending = tx.get('issuance').pending;
  if (pending === null) refuse(SW.BAD_STATE, 'no issuance in progress (send BEGIN_ISSUANCE first)');
  if (!(TIERS as readonly number[]).includes(req.tier)) refuse(SW.WRONG_DATA, `unknown tier ${req.tier}`);
  const issuerKey = issuerKeyOf(tx, req.issuerKeyCert, req.epoch);
  const response = decodeOrRefuse(() => decodeBlindIssuanceResponse(req.response), SW.WRONG_DATA, 'issuance response');
  const limits = limitsFor(tx.get('policy').table, req.tier);
  if (ctx.nowMs >= credentialValidUntilMs(req.epoch, limits)) {
    refuse(SW.CREDENTIAL_EXPIRED, `a credential for epoch ${req.epoch} would already be expired`);
  }
  if (pending.epoch !== req.epoch || pending.tier !== req.tier || !equalBytes(pending.issuerPublicKey, issuerKey.bytes)) {
    refuse(SW.BAD_ISSUANCE_RESPONSE, `response is for epoch ${req.epoch} tier ${req.tier}; the pending request is for epoch ${pending.epoch} tier ${pending.tier}`);
  }
  const id = tx.get('identity');
  const finished = finishBlindIssuance({
    publicKey: issuerKey.publicKey,
    secret: { k: scalarFromBytes(id.k), sPrime: scalarFromBytes(pending.sPrime) },
    response,
    epoch: req.epoch,
    tier: BigInt(req.tier),
    deviceClass: BigInt(id.deviceClass),
  });
  if (!finished.ok) refuse(SW.BAD_ISSUANCE_RESPONSE, finished.reason);
  checkCounterSet(req.counterSet, issuerKey.publicKey, limits.paymentsPerEpoch, ctx.rng);
  const { credential } = finished;
  const record: CredentialRecord = {
    epoch: req.epoch,
    tier: req.tier,
    deviceClass: id.deviceClass,
    A: credential.A.toBytes(),
    e: scalarToBytes(credential.e),
    s: scalarToBytes(credential.messages[4]),
    issuerPublicKey: issuerKey.bytes,
    counterSet: req.counterSet,
  };
  // Keep live credentials of this tier only, newest first, at most CREDENTIALS_MAX.
  const kept = tx
    .get('credentials')
    .credentials.filter((c) => c.tier === req.tier && c.epoch !== req.epoch && ctx.nowMs < credentialValidUntilMs(c.epoch, limits));
  const credentials = [...kept, record].sort((a, b) => (a.epoch < b.epoch ? 1 : -1)).slice(0, CREDENTIALS_MAX);
  tx.set('credentials', { credentials: credentials.reverse() });
  tx.set('issuance', { pending: null });
  tx.set('wallet', { ...tx.get('wallet'), tier: req.tier });
  return { epoch: req.epoch, tier: req.tier, deviceClass: id.deviceClass };
});
