// Handlers of the life-cycle commands: GET_INFO (any phase, public values only), GENERATE_KEYS
// (manufacturer: keys are made inside the SE and never leave it), PERSONALIZE (issuer: installs
// the attestation certificate, the trust anchors, the tier and the first signed policy) and
// ATTEST (a challenge signed with the attestation key, with the SE's public counters and its device
// key K = k·g_K, which the FI and the CB pin at enrolment).

import { sha256 } from '@noble/hashes/sha2.js';
import { gK } from '../crypto/generators.ts';
import { CryptoDecodeError, G1Point, scalarFromBytes, scalarToBytes } from '../crypto/group.ts';
import { randomScalar } from '../crypto/rng.ts';
import { DeviceClass, TIERS } from '../policy/limits.ts';
import { verifyPolicy } from '../policy/policy_codec.ts';
import { concat, equalBytes } from './bytes.ts';
import { COMMANDS, type InfoResponse } from './commands.ts';
import { refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { DEVICE_ID_BYTES, attestationBody, openAttestationCert } from './messages.ts';
import { isP256PublicKey, p256KeyPair, signEnvelope } from './signed.ts';
import { Phase, appletPhase, receiptCount, type StateTx } from './state.ts';
import { SW } from './status.ts';

const DEVICE_ID_DST = new TextEncoder().encode('TALLY-V1/se/device-id');
const DEVICE_CLASSES: readonly number[] = Object.values(DeviceClass);

/** Every value here is public: a test checks no response ever carries a secret. */
function info(tx: StateTx): InfoResponse {
  const phase = appletPhase(tx);
  const id = tx.has('identity') ? tx.get('identity') : null;
  const operational = phase === Phase.operational;
  const wallet = operational ? tx.get('wallet') : null;
  const spending = operational ? tx.get('spending') : null;
  const pending = operational ? tx.get('sync').pending : null;
  return {
    phase,
    deviceId: id?.deviceId ?? null,
    deviceClass: id?.deviceClass ?? null,
    attestationPublicKey: id?.attestationPublicKey ?? null,
    certificate: operational ? tx.get('anchors').certificate : null,
    tier: wallet?.tier ?? null,
    balanceMinor: wallet?.balanceMinor ?? 0n,
    loadCounter: wallet?.loadCounter ?? 0n,
    unloadCounter: wallet?.unloadCounter ?? 0n,
    spentSinceSyncMinor: wallet?.spentSinceSyncMinor ?? 0n,
    spendingEpoch: spending?.epoch ?? 0n,
    paymentCounter: spending?.counter ?? 0n,
    policyVersion: operational ? tx.get('policy').table.version : 0n,
    revocationVersion: tx.has('revocation') ? tx.get('revocation').version : 0n,
    credentialEpochs: operational ? tx.get('credentials').credentials.map((c) => c.epoch) : [],
    receiptCount: operational ? receiptCount(tx) : 0,
    pendingBatchId: pending?.batchId ?? null,
    issuancePending: operational ? tx.get('issuance').pending !== null : false,
    deviceRevoked: tx.has('revocation') && tx.get('revocation').deviceRevoked,
  };
}

export const getInfo = command(COMMANDS.getInfo, (ctx) => info(ctx.tx));

export const generateKeys = command(COMMANDS.generateKeys, (ctx: HandlerContext, req) => {
  if (!DEVICE_CLASSES.includes(req.deviceClass)) refuse(SW.WRONG_DATA, `unknown device class ${req.deviceClass}`);
  if (!isP256PublicKey(req.manufacturerCaPublicKey)) refuse(SW.WRONG_DATA, 'manufacturer CA key is not a P-256 point');
  const attestation = p256KeyPair(ctx.rng);
  const deviceId = sha256(concat(DEVICE_ID_DST, attestation.publicKey)).slice(0, DEVICE_ID_BYTES);
  ctx.tx.set('identity', {
    deviceId,
    deviceClass: req.deviceClass,
    attestationSecretKey: attestation.secretKey,
    attestationPublicKey: attestation.publicKey,
    k: scalarToBytes(randomScalar(ctx.rng)),
    manufacturerCaPublicKey: req.manufacturerCaPublicKey,
  });
  ctx.tx.set('applet', { phase: Phase.keyed });
  return { deviceId, attestationPublicKey: attestation.publicKey };
});

/** A fresh signed statement for a verifier's challenge: proves the key lives in this SE now. */
export const attest = command(COMMANDS.attest, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const id = tx.get('identity');
  const wallet = tx.get('wallet');
  const attestation = signEnvelope(
    id.attestationSecretKey,
    attestationBody({
      deviceId: id.deviceId,
      challenge: req.challenge,
      kPoint: gK().mul(scalarFromBytes(id.k)).toBytes(),
      balanceMinor: wallet.balanceMinor,
      loadCounter: wallet.loadCounter,
      unloadCounter: wallet.unloadCounter,
      policyVersion: tx.get('policy').table.version,
      timeMs: ctx.nowMs,
    }),
  );
  return { attestation };
});

function checkRegulatorKey(bytes: Uint8Array): void {
  try {
    G1Point.fromBytes(bytes);
  } catch (e) {
    if (!(e instanceof CryptoDecodeError)) throw e;
    refuse(SW.WRONG_DATA, `regulator key: ${e.message}`);
  }
}

export const personalize = command(COMMANDS.personalize, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const id = tx.get('identity');
  const cert = openAttestationCert(req.certificate, id.manufacturerCaPublicKey);
  if (!cert.ok) refuse(SW.BAD_CERTIFICATE, `attestation certificate: ${cert.reason}`);
  const c = cert.value;
  if (!equalBytes(c.publicKey, id.attestationPublicKey) || !equalBytes(c.deviceId, id.deviceId) || c.deviceClass !== id.deviceClass) {
    refuse(SW.BAD_CERTIFICATE, 'attestation certificate names another device');
  }
  if (!isP256PublicKey(req.cbPublicKey) || !isP256PublicKey(req.fiPublicKey)) refuse(SW.WRONG_DATA, 'CB or FI key is not a P-256 point');
  checkRegulatorKey(req.regulatorKey);
  if (!(TIERS as readonly number[]).includes(req.tier)) refuse(SW.WRONG_DATA, `unknown tier ${req.tier}`);
  const policy = verifyPolicy(req.signedPolicy, req.cbPublicKey);
  if (!policy.ok) refuse(policy.reason === 'SIGNATURE' ? SW.BAD_POLICY_SIGNATURE : SW.WRONG_DATA, `policy: ${policy.reason}`);
  tx.set('anchors', {
    certificate: req.certificate,
    cbPublicKey: req.cbPublicKey,
    fiId: req.fiId,
    fiPublicKey: req.fiPublicKey,
    regulatorKey: req.regulatorKey,
  });
  tx.set('policy', { table: policy.value });
  tx.set('wallet', {
    tier: req.tier, balanceMinor: 0n, loadCounter: 0n, unloadCounter: 0n, spentSinceSyncMinor: 0n,
    loadedTotalMinor: 0n, receivedTotalMinor: 0n, spentTotalMinor: 0n, unloadedTotalMinor: 0n, lastUnloadRecord: null,
  });
  tx.set('spending', { epoch: 0n, counter: 0n });
  tx.set('requests', { lastCounter: 0n });
  tx.set('credentials', { credentials: [] });
  tx.set('issuance', { pending: null });
  tx.set('receipts', { firstSeq: 0n, nextSeq: 0n });
  tx.set('nullifiers', { entries: [] });
  tx.set('sync', { nextBatchId: 1n, pending: null });
  tx.set('applet', { phase: Phase.operational });
  return {};
});
