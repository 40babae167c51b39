// `tally device init`: a blank SE becomes a spendable device of a running network, every step
// through the same APIs a production host would use. Manufacturer: keys generated inside the SE,
// receipt-log size set from the profile's storage, attestation key certified by the demo CA.
// Personalisation: the CB's and FI's public keys, the regulator key, the CB-signed policy (fetched
// through the FI). Then over HTTP at the FI: KYC (idempotent per name and tier, so a second device
// of the same customer reuses the customer and account), an optional deposit, attested enrolment,
// blind issuance of the current epoch's credential, and the issuer keys of every tier.

import { existsSync, readdirSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { receiptLogCapacityOf, type Device, type DeviceProfile } from '../device/index.ts';
import { FiHttpClient, distributionFromWire } from '../ledger/index.ts';
import { Tier } from '../policy/limits.ts';
import { assert } from '../crypto/assert.ts';
import { makePrivateDir, signAttestationCert } from '../se/index.ts';
import { CliError } from './args.ts';
import { DEVICE_FILE_KIND, fiGet, fiPost, fiStaffPost, hostFetch, installIssuerKeys, openDeviceAt, seDir, writeDeviceFile, type DeviceFile } from './device_host.ts';
import { fiOf, type NetworkConfig } from './network_config.ts';

export interface InitRequest {
  dir: string;
  profile: DeviceProfile;
  net: NetworkConfig;
  networkFile: string;
  fiUrl: string;
  customer: string;
  tier: number;
  depositMinor: bigint;
  /** An FI operator's token: KYC, the account, the deposit and the enrolment are the bank's acts. */
  token: string;
}

/** Refuses a directory that already holds a device or anything else. */
export function checkFreshDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new CliError('USAGE', `${dir} is not empty (a device directory is created by \`device init\`; pick a new one)`);
  }
}

/** The KYC tier a customer needs to own a device of `tier` (IoT devices belong to a full-KYC owner). */
export const customerTierFor = (tier: number): number => (tier === Tier.iot ? Tier.full : tier);

async function manufactureAndPersonalize(device: Device, r: InitRequest, fiId: string): Promise<{ deviceId: Uint8Array; certificate: Uint8Array }> {
  const { se, profile } = device;
  const keys = await se.generateKeys({ deviceClass: profile.deviceClass, manufacturerCaPublicKey: r.net.manufacturer.keys.publicKey });
  await se.configureStorage(receiptLogCapacityOf(profile));
  const certificate = signAttestationCert(r.net.manufacturer.keys.secretKey, {
    deviceId: keys.deviceId, publicKey: keys.attestationPublicKey, deviceClass: profile.deviceClass,
    manufacturer: r.net.manufacturer.name, issuedAtMs: BigInt(Date.now()),
  });
  const distribution = distributionFromWire(await fiGet(r.fiUrl, `/distribution/${r.tier}`));
  await se.personalize({
    certificate, cbPublicKey: r.net.cb.signingKey.publicKey, fiId, fiPublicKey: fiOf(r.net, fiId, r.networkFile).signingKey.publicKey,
    regulatorKey: r.net.cb.regulatorKey, tier: r.tier, signedPolicy: distribution.signedPolicy,
  });
  return { deviceId: keys.deviceId, certificate };
}

async function knowYourCustomer(r: InitRequest, deviceHex: string): Promise<{ customerId: string; accountId: string }> {
  const tier = customerTierFor(r.tier);
  const slug = r.customer.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const c = await fiStaffPost(r.fiUrl, '/customers', { tier, identity: { name: r.customer } }, `kyc/${slug}/tier-${tier}`, r.token);
  const customerId = c.str('customerId');
  const a = await fiStaffPost(r.fiUrl, `/customers/${encodeURIComponent(customerId)}/accounts`, {}, `account/${customerId}`, r.token);
  const accountId = a.str('accountId');
  if (r.depositMinor > 0n) await fiStaffPost(r.fiUrl, `/accounts/${encodeURIComponent(accountId)}/deposit`, { amountMinor: r.depositMinor.toString() }, `deposit/${deviceHex}`, r.token);
  return { customerId, accountId };
}

async function enrolAndIssue(device: Device, r: InitRequest, owner: { customerId: string; accountId: string }, certificate: Uint8Array, deviceHex: string) {
  const challenge = (await fiStaffPost(r.fiUrl, '/enrolment-challenge', { ...owner, certificate: bytesToHex(certificate) }, `challenge/${deviceHex}`, r.token)).bytes('challenge');
  const attestation = await device.se.attest(challenge);
  await fiStaffPost(r.fiUrl, '/devices', { ...owner, certificate: bytesToHex(certificate), attestation: bytesToHex(attestation), tier: r.tier }, `enrol/${deviceHex}`, r.token);
  const started = await fiPost(r.fiUrl, `/devices/${deviceHex}/issuance`, {}, `issuance/${deviceHex}`, device.se);
  const issuerNonce = started.bytes('issuerNonce');
  const request = await device.se.beginIssuance({
    issuerNonce, epoch: started.big('epoch'), tier: started.int('tier'), issuerKeyCert: started.bytes('issuerKeyCert'),
  });
  const issued = await new FiHttpClient(r.fiUrl, hostFetch, device.se).issueCredential({ deviceId: hexToBytes(deviceHex), issuerNonce, request, idempotencyKey: `credential/${deviceHex}/${started.str('epoch')}` });
  await device.se.finishIssuance({ epoch: issued.epoch, tier: issued.tier, issuerKeyCert: issued.issuerKeyCert, response: issued.response, counterSet: issued.counterSet });
  return issued.epoch;
}

export async function initDevice(r: InitRequest): Promise<{ file: DeviceFile; epoch: bigint; issuerEpochs: bigint[] }> {
  checkFreshDir(r.dir);
  const notFi = (why: string) => new CliError('FAILED', `${r.fiUrl} is not the root of an FI node (GET /health ${why}); expected e.g. http://127.0.0.1:8081/fi/bank-a`);
  const health = await fiGet(r.fiUrl, '/health').catch((e: unknown) => {
    if (e instanceof CliError) throw e;
    throw notFi(`failed: ${(e as Error).message}`);
  });
  let fiId: string;
  try {
    if (health.str('node') !== 'fi') throw new Error('not an FI');
    fiId = health.str('fiId');
  } catch {
    throw notFi('answered, but not as an FI node');
  }
  fiOf(r.net, fiId, r.networkFile);
  makePrivateDir(seDir(r.dir));
  const device = openDeviceAt(r.dir, r.profile);
  const { deviceId, certificate } = await manufactureAndPersonalize(device, r, fiId);
  const deviceHex = bytesToHex(deviceId);
  const owner = await knowYourCustomer(r, deviceHex);
  const epoch = await enrolAndIssue(device, r, owner, certificate, deviceHex);
  const issuerEpochs = await installIssuerKeys(device.se, r.fiUrl);
  const info = await device.info();
  assert(info.credentialEpochs.includes(epoch) && info.tier === r.tier, `device init: SE holds epochs ${info.credentialEpochs.join(',')} tier ${info.tier} after issuance of ${epoch} tier ${r.tier}`);
  const file: DeviceFile = { kind: DEVICE_FILE_KIND, profile: r.profile.name, deviceId: deviceHex, fiId, fiUrl: r.fiUrl, customer: r.customer, ...owner, tier: r.tier };
  writeDeviceFile(r.dir, file);
  return { file, epoch, issuerEpochs };
}
