// Handlers of blind credential issuance (DESIGN §3.1). BEGIN_ISSUANCE commits to the SE's k and a
// fresh blinding s' and keeps s' in NVM; FINISH_ISSUANCE checks the CB's certificate of the
// epoch's issuer key, unblinds, verifies the BBS signature and stores the credential. The
// signature (A, e) and s never leave the SE; the host only learns the epoch, tier and class.

import {
  blindIssuanceRequest,
  decodeBlindIssuanceResponse,
  encodeBlindIssuanceRequest,
  finishBlindIssuance,
} from '../crypto/blind_issuance.ts';
import { CryptoDecodeError, G2Point, scalarFromBytes, scalarToBytes } from '../crypto/group.ts';
import { TIERS, limitsFor } from '../policy/limits.ts';
import { COMMANDS } from './commands.ts';
import { CREDENTIALS_MAX } from './constants.ts';
import { credentialValidUntilMs, refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { openIssuerKeyCert } from './messages.ts';
import type { CredentialRecord } from './state.ts';
import { SW } from './status.ts';

export const beginIssuance = command(COMMANDS.beginIssuance, (ctx: HandlerContext, req) => {
  const k = scalarFromBytes(ctx.tx.get('identity').k);
  const { request, secret } = blindIssuanceRequest({ k, rng: ctx.rng, issuerNonce: req.issuerNonce });
  ctx.tx.set('issuance', {
    pending: { issuerNonce: req.issuerNonce, sPrime: scalarToBytes(secret.sPrime), startedAtMs: ctx.nowMs },
  });
  return { request: encodeBlindIssuanceRequest(request) };
});

function decodeOrRefuse<T>(decode: () => T, sw: typeof SW.WRONG_DATA | typeof SW.BAD_CERTIFICATE, what: string): T {
  try {
    return decode();
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    refuse(sw, `${what}: ${e.message}`);
  }
}

export const finishIssuance = command(COMMANDS.finishIssuance, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const pending = tx.get('issuance').pending;
  if (pending === null) refuse(SW.BAD_STATE, 'no issuance in progress (send BEGIN_ISSUANCE first)');
  if (!(TIERS as readonly number[]).includes(req.tier)) refuse(SW.WRONG_DATA, `unknown tier ${req.tier}`);
  const cert = openIssuerKeyCert(req.issuerKeyCert, tx.get('anchors').cbPublicKey);
  if (!cert.ok) refuse(SW.BAD_CERTIFICATE, `issuer key certificate: ${cert.reason}`);
  if (cert.value.epoch !== req.epoch) refuse(SW.BAD_CERTIFICATE, `issuer key is for epoch ${cert.value.epoch}, not ${req.epoch}`);
  const publicKey = decodeOrRefuse(() => G2Point.fromBytes(cert.value.publicKey), SW.BAD_CERTIFICATE, 'issuer key');
  const response = decodeOrRefuse(() => decodeBlindIssuanceResponse(req.response), SW.WRONG_DATA, 'issuance response');
  const limits = limitsFor(tx.get('policy').table, req.tier);
  if (ctx.nowMs >= credentialValidUntilMs(req.epoch, limits)) {
    refuse(SW.CREDENTIAL_EXPIRED, `a credential for epoch ${req.epoch} would already be expired`);
  }
  const id = tx.get('identity');
  const finished = finishBlindIssuance({
    publicKey,
    secret: { k: scalarFromBytes(id.k), sPrime: scalarFromBytes(pending.sPrime) },
    response,
    epoch: req.epoch,
    tier: BigInt(req.tier),
    deviceClass: BigInt(id.deviceClass),
  });
  if (!finished.ok) refuse(SW.BAD_ISSUANCE_RESPONSE, finished.reason);
  const { credential } = finished;
  const record: CredentialRecord = {
    epoch: req.epoch,
    tier: req.tier,
    deviceClass: id.deviceClass,
    A: credential.A.toBytes(),
    e: scalarToBytes(credential.e),
    s: scalarToBytes(credential.messages[4]),
    issuerPublicKey: cert.value.publicKey,
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
