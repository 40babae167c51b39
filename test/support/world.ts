// Test support: the institutions around an SE for tests and benchmarks: a manufacturer CA, a CB
// (policy, revocation lists, issuer-key certificates, BBS issuer key), one FI (vouchers, sync acks)
// and a regulator escrow key, all from one seed; plus the steps that bring an SE from blank to funded.
// Not part of the applet: it holds the institutions' secret keys, which no SE ever sees. The demo
// and the simulator deal their keys with the real ceremony instead (src/ledger/ceremony.ts).

import { G1Point, G2Point } from '../../src/crypto/group.ts';
import { issueBlind, decodeBlindIssuanceRequest, encodeBlindIssuanceResponse } from '../../src/crypto/blind_issuance.ts';
import { randomScalar, seededRng, type Rng } from '../../src/crypto/rng.ts';
import { encodeCounterSet, signCounterSet } from '../../src/crypto/counter_set.ts';
import { DEFAULT_POLICY, limitsFor, type PolicyTable } from '../../src/policy/limits.ts';
import { signPolicy, signRevocationList, type RevocationList } from '../../src/policy/policy_codec.ts';
import type { SeClient } from '../../src/se/client.ts';
import { openIssuanceRequest, signAttestationCert, signIssuerKeyCert, signLoadVoucher, signSyncAck } from '../../src/se/messages.ts';
import { p256KeyPair, type P256KeyPair } from '../../src/se/signed.ts';

/** 2027-01-15T08:00:00Z: a fixed start so epochs are reproducible. */
export const WORLD_START_MS = 1_800_000_000_000n;

export interface World {
  readonly rng: Rng;
  /** The shared fake clock; SEs built by the test read it through `clock`. */
  nowMs: bigint;
  readonly clock: () => bigint;
  readonly manufacturer: P256KeyPair;
  readonly cb: P256KeyPair;
  readonly fi: P256KeyPair;
  readonly fiId: string;
  readonly regulatorKey: Uint8Array;
  readonly issuerSecretKey: bigint;
  readonly issuerPublicKey: G2Point;
  policy: PolicyTable;
}

export function makeWorld(seed: string): World {
  const rng = seededRng(`world/${seed}`);
  const issuerSecretKey = randomScalar(rng);
  const world: World = {
    rng,
    nowMs: WORLD_START_MS,
    clock: () => world.nowMs,
    manufacturer: p256KeyPair(rng),
    cb: p256KeyPair(rng),
    fi: p256KeyPair(rng),
    fiId: 'fi-test',
    regulatorKey: G1Point.BASE.mul(randomScalar(rng)).toBytes(),
    issuerSecretKey,
    issuerPublicKey: G2Point.BASE.mul(issuerSecretKey),
    policy: DEFAULT_POLICY,
  };
  return world;
}

export const signedPolicy = (w: World, policy: PolicyTable = w.policy): Uint8Array => signPolicy(policy, w.cb.secretKey);
export const signedRevocationList = (w: World, list: RevocationList): Uint8Array => signRevocationList(list, w.cb.secretKey);
export const epochNow = (w: World, tier: number): bigint => w.nowMs / limitsFor(w.policy, tier).epochMs;

/** Manufacturer: generate keys inside the SE and certify them; issuer: personalize. */
export async function provisionSe(w: World, se: SeClient, opts: { deviceClass: number; tier: number }) {
  const keys = await se.generateKeys({ deviceClass: opts.deviceClass, manufacturerCaPublicKey: w.manufacturer.publicKey });
  const certificate = signAttestationCert(w.manufacturer.secretKey, {
    deviceId: keys.deviceId,
    publicKey: keys.attestationPublicKey,
    deviceClass: opts.deviceClass,
    manufacturer: 'tally-test-fab',
    issuedAtMs: w.nowMs,
  });
  await se.personalize({
    certificate,
    cbPublicKey: w.cb.publicKey,
    fiId: w.fiId,
    fiPublicKey: w.fi.publicKey,
    regulatorKey: w.regulatorKey,
    tier: opts.tier,
    signedPolicy: signedPolicy(w),
  });
  return keys;
}

/** Issuer's half of blind issuance for a request the SE signed under `nonce` (signature checked). */
export function issuerRespond(w: World, requestBytes: Uint8Array, nonce: Uint8Array, a: { epoch: bigint; tier: number; deviceClass: number }, devicePublicKey: Uint8Array) {
  const opened = openIssuanceRequest(requestBytes, devicePublicKey);
  if (!opened.ok) throw new Error(`issuer refused: request not signed by the device (${opened.reason})`);
  const issued = issueBlind({
    secretKey: w.issuerSecretKey,
    publicKey: w.issuerPublicKey,
    request: decodeBlindIssuanceRequest(opened.value.blindRequest),
    issuerNonce: nonce,
    deviceId: opened.value.deviceId,
    rng: w.rng,
    epoch: a.epoch,
    tier: BigInt(a.tier),
    deviceClass: BigInt(a.deviceClass),
  });
  if (!issued.ok) throw new Error(`issuer refused: ${issued.reason}`);
  return encodeBlindIssuanceResponse(issued.response);
}

export const issuerKeyCert = (w: World, epoch: bigint): Uint8Array =>
  signIssuerKeyCert(w.cb.secretKey, { epoch, publicKey: w.issuerPublicKey.toBytes() });

/** Runs the whole blind issuance for `epoch` through the client. */
export async function issueCredential(w: World, se: SeClient, a: { epoch: bigint; tier: number; deviceClass: number }) {
  const nonce = w.rng(32);
  const cert = issuerKeyCert(w, a.epoch);
  const request = await se.beginIssuance({ issuerNonce: nonce, epoch: a.epoch, tier: a.tier, issuerKeyCert: cert });
  const response = issuerRespond(w, request, nonce, a, (await se.getInfo()).attestationPublicKey!);
  return se.finishIssuance({ epoch: a.epoch, tier: a.tier, issuerKeyCert: cert, response, counterSet: counterSetFor(w, a.tier) });
}

/** The world issuer's counter set for a tier's L (the same key signs every epoch here). */
export function counterSetFor(w: World, tier: number): Uint8Array {
  const L = limitsFor(w.policy, tier).paymentsPerEpoch;
  const key = `${L}`;
  let set = counterSetCache.get(w)?.get(key);
  if (set === undefined) {
    set = L === 0 ? new Uint8Array(0) : encodeCounterSet(signCounterSet(w.issuerSecretKey, w.issuerPublicKey, L));
    const m = counterSetCache.get(w) ?? new Map<string, Uint8Array>();
    m.set(key, set);
    counterSetCache.set(w, m);
  }
  return set;
}
const counterSetCache = new WeakMap<World, Map<string, Uint8Array>>();

export const loadVoucher = (w: World, devicePublicKey: Uint8Array, loadCounter: bigint, amountMinor: bigint): Uint8Array =>
  signLoadVoucher(w.fi.secretKey, { devicePublicKey, loadCounter, amountMinor, fiId: w.fiId });

export const syncAck = (w: World, devicePublicKey: Uint8Array, batchId: bigint): Uint8Array =>
  signSyncAck(w.fi.secretKey, { devicePublicKey, batchId });
