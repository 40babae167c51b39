// Bringing a Device from blank to spendable against a set of institutions (World from
// test/support/world.ts: manufacturer CA, CB, one FI, issuer and regulator keys from one seed):
// the manufacturer generates keys in the SE, sets the receipt-log capacity its profile's storage
// allows, and certifies the key; the FI personalizes; the issuer runs blind issuance; the FI
// funds with a load voucher. The ledger's real services replace World in production; the SE
// commands are the same either way.

import { Tier } from '../../src/policy/limits.ts';
import { signAttestationCert } from '../../src/se/messages.ts';
import { epochNow, issueCredential, loadVoucher, signedPolicy, syncAck, type World } from './world.ts';
import type { Device } from '../../src/device/device.ts';
import { receiptLogCapacityOf } from '../../src/device/profiles.ts';

export interface Provisioned {
  deviceId: Uint8Array;
  attestationPublicKey: Uint8Array;
  receiptLogCapacity: number;
}

/** Manufacture + personalize + first credential (for the current epoch of the profile's tier). */
export async function provisionDevice(w: World, device: Device, opts: { tier?: number } = {}): Promise<Provisioned> {
  const { profile, se } = device;
  const tier = opts.tier ?? profile.tier;
  const keys = await se.generateKeys({ deviceClass: profile.deviceClass, manufacturerCaPublicKey: w.manufacturer.publicKey });
  const receiptLogCapacity = receiptLogCapacityOf(profile);
  await se.configureStorage(receiptLogCapacity);
  const certificate = signAttestationCert(w.manufacturer.secretKey, {
    deviceId: keys.deviceId,
    publicKey: keys.attestationPublicKey,
    deviceClass: profile.deviceClass,
    manufacturer: 'tally-sim-fab',
    issuedAtMs: w.nowMs,
  });
  await se.personalize({
    certificate, cbPublicKey: w.cb.publicKey, fiId: w.fiId, fiPublicKey: w.fi.publicKey,
    regulatorKey: w.regulatorKey, tier, signedPolicy: signedPolicy(w),
  });
  await renewCredential(w, device, tier);
  return { deviceId: keys.deviceId, attestationPublicKey: keys.attestationPublicKey, receiptLogCapacity };
}

/** Blind issuance of the credential for the current epoch (what a sync downloads). */
export async function renewCredential(w: World, device: Device, tier: number = device.profile.tier, epoch?: bigint) {
  return issueCredential(w, device.se, { epoch: epoch ?? epochNow(w, tier), tier, deviceClass: device.profile.deviceClass });
}

/** The FI loads `amountMinor` onto the device (online fund, DESIGN §2). */
export async function fundDevice(w: World, device: Device, amountMinor: bigint): Promise<bigint> {
  const info = await device.info();
  const pub = info.attestationPublicKey!;
  return (await device.se.applyLoadVoucher(loadVoucher(w, pub, info.loadCounter, amountMinor))).balanceMinor;
}

/** The FI acknowledges the device's pending sync batch (after it recorded the batch). */
export async function acknowledgeSync(w: World, device: Device, batchId: bigint) {
  const info = await device.info();
  return device.se.applySyncAck(syncAck(w, info.attestationPublicKey!, batchId));
}

export const isReceiveOnly = (tier: number): boolean => tier === Tier.merchant;
