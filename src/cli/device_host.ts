// What a device host keeps and how it reaches its FI: DEV/device.json (profile, device id, FI
// address, customer and account), the SE over its file NVM in DEV/se, and JSON calls to the FI's
// routes. A network failure becomes CliError UNREACHABLE; an error answer from the FI arrives as
// the LedgerError it sent (callJson), so the CLI prints its stable code. A call to a device route
// passes the SE, which signs the request (ledger/access/device_requests.ts).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Device, profileNamed, type DeviceProfile } from '../device/index.ts';
import { callDevice, callJson, distributionFromWire, type WireObject } from '../ledger/index.ts';
import { TIERS } from '../policy/limits.ts';
import type { SeClient } from '../se/client.ts';
import { writePrivateFileAtomic } from '../se/index.ts';
import { CliError, requireString, type OptionSpec, type Parsed } from './args.ts';

export const DEVICE_FILE_KIND = 'tally-device';

export interface DeviceFile {
  kind: typeof DEVICE_FILE_KIND;
  profile: string;
  deviceId: string;
  fiId: string;
  fiUrl: string;
  customer: string;
  customerId: string;
  accountId: string;
  tier: number;
}

export const deviceFilePath = (dir: string): string => path.join(dir, 'device.json');
export const seDir = (dir: string): string => path.join(dir, 'se');

export function readDeviceFile(dir: string): DeviceFile {
  const file = deviceFilePath(dir);
  if (!existsSync(file)) throw new CliError('USAGE', `${dir} holds no device (no ${file}); run \`tally device init --dir ${dir} ...\` first`);
  let o: Partial<DeviceFile>;
  try {
    o = JSON.parse(readFileSync(file, 'utf8')) as Partial<DeviceFile>;
  } catch (e) {
    throw new CliError('USAGE', `cannot read ${file}: ${(e as Error).message}`);
  }
  const strings = ['profile', 'deviceId', 'fiId', 'fiUrl', 'customer', 'customerId', 'accountId'] as const;
  const missing = strings.filter((k) => typeof o[k] !== 'string');
  if (o.kind !== DEVICE_FILE_KIND || missing.length > 0 || typeof o.tier !== 'number') {
    throw new CliError('USAGE', `${file} is not a Tally device file${missing.length ? ` (missing ${missing.join(', ')})` : ''}`);
  }
  return o as DeviceFile;
}

export function writeDeviceFile(dir: string, d: DeviceFile): void {
  writePrivateFileAtomic(deviceFilePath(dir), `${JSON.stringify(d, null, 2)}\n`);
}

export function profileOf(name: string): DeviceProfile {
  try {
    return profileNamed(name);
  } catch (e) {
    throw new CliError('USAGE', (e as Error).message);
  }
}

/** The device's SE over DEV/se (system randomness and clock: this is a real host, not a replay). */
export function openDeviceAt(dir: string, profile: DeviceProfile): Device {
  return new Device({ profile, name: path.basename(path.resolve(dir)), nvm: { kind: 'file', dir: seDir(dir) } });
}

export const normalizeUrl = (url: string): string => url.replace(/\/+$/, '');

/** fetch, with "nothing answered" turned into a clear UNREACHABLE error. */
export const hostFetch: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new CliError('UNREACHABLE', `cannot reach ${String(input)}${cause ? ` (${cause})` : ''}: is the FI running?`);
  }
};

/** A GET at the FI; with `se`, a device request the SE signs. */
export function fiGet(fiUrl: string, route: string, se?: SeClient): Promise<WireObject> {
  return callDevice(hostFetch, se, `${fiUrl}${route}`);
}

/** A POST at the FI; with `se`, a device request the SE signs. */
export function fiPost(fiUrl: string, route: string, payload: unknown, key: string, se?: SeClient): Promise<WireObject> {
  return callDevice(hostFetch, se, `${fiUrl}${route}`, payload, key);
}

/** A POST at the FI as its staff (KYC, accounts, deposits, enrolment): the operator's bearer token. */
export function fiStaffPost(fiUrl: string, route: string, payload: unknown, key: string, token: string): Promise<WireObject> {
  return callJson(hostFetch, `${fiUrl}${route}`, payload, key, { authorization: `Bearer ${token}` });
}

/** Installs the CB-signed issuer keys of every tier (current and next epoch), fetched through the FI. */
export async function installIssuerKeys(se: SeClient, fiUrl: string): Promise<bigint[]> {
  const certs = new Map<bigint, Uint8Array>();
  for (const tier of TIERS) for (const k of distributionFromWire(await fiGet(fiUrl, `/distribution/${tier}`)).issuerKeys) certs.set(k.epoch, k.cert);
  return se.installIssuerKeys([...certs.values()]);
}

/** The owner's account balance, read by the device itself (the FI lets a device read the account it is enrolled on). */
export async function accountBalance(d: DeviceFile, se: SeClient, fiUrl = d.fiUrl): Promise<bigint> {
  const o = await fiGet(fiUrl, `/accounts/${encodeURIComponent(d.accountId)}`, se);
  return o.big('balanceMinor');
}

export const DIR_OPTION: OptionSpec = { name: 'dir', value: true, help: 'the device directory (device.json and the SE memory in se/)' };

/** The device of `--dir`: its file and its SE. */
export function openHost(p: Parsed) {
  const dir = requireString(p, 'dir');
  const file = readDeviceFile(dir);
  return { dir, file, device: openDeviceAt(dir, profileOf(file.profile)) };
}

export function noPositionals(p: Parsed): void {
  if (p.positionals.length > 0) throw new CliError('USAGE', `unexpected argument '${p.positionals[0]}'`);
}
