// The demo network's file, network.json: every institution's public configuration AND, because
// this is a demo/test network, their secret keys (manufacturer CA, CB signing key, issuer master
// secret, each FI's signing key), as the key ceremony (src/ledger/ceremony.ts) dealt them. A real
// network never puts these in one file: each institution generates its own keys in its own HSM and
// publishes only the public halves. The regulator's escrow key is dealt 2-of-3 and each holder's
// share goes to its own file; network.json keeps only the public key. Files are written with mode
// 0600. Version 2 adds the `tls` section: where the network PKI's files are (network_tls.ts).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { G1Point, pedersenG, scalarFromBytes, type RegulatorKey, type RegulatorKeyShare } from '../crypto/index.ts';
import { dealNetwork, isFiId, type EscrowAuthority, type NetworkFi, type NetworkKeys } from '../ledger/index.ts';
import { writePrivateFileAtomic, type P256KeyPair } from '../se/index.ts';
import { CliError } from './args.ts';
import { parseNetworkTls, type NetworkTls } from './network_tls.ts';

export type { NetworkFi } from '../ledger/index.ts';
export const NETWORK_FILE_KIND = 'tally-demo-network';
export const NETWORK_FILE_VERSION = 2;

/** What network.json holds: the ceremony's keys and where the network PKI's files are. */
export interface NetworkConfig extends NetworkKeys {
  /** The PKI's files, relative to network.json's directory. */
  tls: NetworkTls;
}

/** `--fi` as a usage error before the ceremony sees it (the ceremony refuses the same ids, typed). */
function checkFiOption(fiIds: readonly string[]): void {
  if (fiIds.length === 0) throw new CliError('USAGE', '--fi must name at least one FI');
  for (const id of fiIds) if (!isFiId(id)) throw new CliError('USAGE', `--fi must be lower-case letters, digits and '-', got '${id}'`);
  if (new Set(fiIds).size !== fiIds.length) throw new CliError('USAGE', `--fi names must be distinct, got ${fiIds.join(', ')}`);
}

/** The ceremony (keys from the system CSPRNG) plus the file's TLS layout: what `tally network init` writes. */
export function dealNetworkConfig(opts: { fiIds: readonly string[]; allocationMinor: bigint; tls: NetworkTls }): { config: NetworkConfig; regulator: RegulatorKey } {
  checkFiOption(opts.fiIds);
  const { network, regulator } = dealNetwork({ fiIds: opts.fiIds, allocationMinor: opts.allocationMinor });
  return { config: { ...network, tls: opts.tls }, regulator };
}

const keysToJson = (k: P256KeyPair) => ({ publicKey: bytesToHex(k.publicKey), secretKey: bytesToHex(k.secretKey) });

export function networkToJson(c: NetworkConfig): unknown {
  return {
    kind: NETWORK_FILE_KIND,
    version: NETWORK_FILE_VERSION,
    warning: 'DEMO KEY CEREMONY: secret keys of every institution in one file. For tests and demos only; never for real money.',
    manufacturer: { name: c.manufacturer.name, ...keysToJson(c.manufacturer.keys) },
    cb: {
      ...keysToJson(c.cb.signingKey), issuerMaster: bytesToHex(c.cb.issuerMaster), regulatorKey: bytesToHex(c.cb.regulatorKey),
      ...(c.cb.escrowAuthority === undefined ? {} : {
        escrow: { threshold: c.cb.escrowAuthority.threshold, verificationKeys: c.cb.escrowAuthority.verificationKeys.map((k) => bytesToHex(k.toBytes())) },
      }),
    },
    fis: c.fis.map((f) => ({ fiId: f.fiId, ...keysToJson(f.signingKey), allocationMinor: f.allocationMinor.toString() })),
    tls: c.tls,
  };
}

/** Writes `file` atomically with mode 0600 from its creation on (refuses to overwrite unless `force`). */
export function writeSecretJson(file: string, value: unknown, force = false): void {
  if (!force && existsSync(file)) throw new CliError('USAGE', `${file} already exists (remove it or pass --force)`);
  writePrivateFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

function bad(file: string, what: string): CliError {
  return new CliError('USAGE', `${file} is not a Tally network file: ${what}`);
}

function hexOf(file: string, o: Record<string, unknown>, key: string, bytes?: number): Uint8Array {
  const v = o[key];
  if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/.test(v)) throw bad(file, `${key} must be lower-case hex`);
  const b = hexToBytes(v);
  if (bytes !== undefined && b.length !== bytes) throw bad(file, `${key} must be ${bytes} bytes, got ${b.length}`);
  return b;
}

function objOf(file: string, v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(file, `${what} must be an object`);
  return v as Record<string, unknown>;
}

const pairOf = (file: string, o: Record<string, unknown>): P256KeyPair => ({ publicKey: hexOf(file, o, 'publicKey', 33), secretKey: hexOf(file, o, 'secretKey', 32) });

/** The escrow key holders' verification keys and quorum (`cb.escrow`), if the file has them. */
function escrowOf(file: string, cb: Record<string, unknown>): { escrowAuthority?: EscrowAuthority } {
  if (cb['escrow'] === undefined) return {};
  const e = objOf(file, cb['escrow'], 'cb.escrow');
  const keys = e['verificationKeys'];
  const t = e['threshold'];
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 255) throw bad(file, 'cb.escrow.verificationKeys must be a list of 1..255 keys');
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 1 || t > keys.length) throw bad(file, `cb.escrow.threshold must be 1..${keys.length}`);
  const verificationKeys = keys.map((k, i) => {
    try {
      return G1Point.fromBytes(hexOf(file, { k }, 'k', 48));
    } catch (err) {
      if (err instanceof CliError) throw bad(file, `cb.escrow.verificationKeys[${i}] must be 48 bytes of lower-case hex`);
      throw bad(file, `cb.escrow.verificationKeys[${i}] is not a point: ${(err as Error).message}`);
    }
  });
  return { escrowAuthority: { threshold: t, verificationKeys } };
}

export function readNetwork(file: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError('USAGE', `cannot read network file ${file}: ${(e as Error).message}`);
  }
  const o = objOf(file, raw, 'the file');
  if (o['kind'] === NETWORK_FILE_KIND && o['version'] === 1) {
    throw bad(file, 'it is version 1, from before the network had TLS certificates: run `tally network init` again');
  }
  if (o['kind'] !== NETWORK_FILE_KIND || o['version'] !== NETWORK_FILE_VERSION) throw bad(file, `expected kind ${NETWORK_FILE_KIND} version ${NETWORK_FILE_VERSION}`);
  const m = objOf(file, o['manufacturer'], 'manufacturer');
  const cb = objOf(file, o['cb'], 'cb');
  if (typeof m['name'] !== 'string') throw bad(file, 'manufacturer.name must be a string');
  if (!Array.isArray(o['fis'])) throw bad(file, 'fis must be an array');
  const fis = (o['fis'] as unknown[]).map((x, i) => {
    const f = objOf(file, x, `fis[${i}]`);
    if (typeof f['fiId'] !== 'string' || !isFiId(f['fiId'])) throw bad(file, `fis[${i}].fiId is missing or malformed`);
    if (typeof f['allocationMinor'] !== 'string' || !/^\d+$/.test(f['allocationMinor'])) throw bad(file, `fis[${i}].allocationMinor must be a decimal string`);
    return { fiId: f['fiId'], signingKey: pairOf(file, f), allocationMinor: BigInt(f['allocationMinor']) };
  });
  return {
    manufacturer: { name: m['name'], keys: pairOf(file, m) },
    cb: { signingKey: pairOf(file, cb), issuerMaster: hexOf(file, cb, 'issuerMaster', 32), regulatorKey: hexOf(file, cb, 'regulatorKey', 48), ...escrowOf(file, cb) },
    fis,
    tls: parseNetworkTls(file, o['tls'], fis.map((f) => f.fiId)),
  };
}

export function fiOf(c: NetworkConfig, fiId: string, file = 'the network file'): NetworkFi {
  const fi = c.fis.find((f) => f.fiId === fiId);
  if (fi === undefined) throw new CliError('USAGE', `FI '${fiId}' is not in ${file} (it has: ${c.fis.map((f) => f.fiId).join(', ')})`);
  return fi;
}

export const regulatorShareFile = (dir: string, index: number): string => path.join(dir, `regulator-holder-${index}.json`);

export const REGULATOR_SHARE_KIND = 'tally-regulator-share';

/**
 * One key holder's share file (`tally network init` writes DIR/regulator-holder-<i>.json), checked
 * before a holder node serves with it: the secret is a canonical scalar whose y_i·G is the file's
 * VK_i, and VK_i is the network's escrow verification key for index i, so a node never answers
 * warrants with a share the CB would refuse (or with another network's share).
 */
export function readRegulatorShare(file: string, net: NetworkConfig, networkFile = 'the network file'): RegulatorKeyShare {
  const no = (what: string) => new CliError('USAGE', `${file} is not a usable regulator key share: ${what}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError('USAGE', `cannot read share file ${file}: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw no('expected a JSON object');
  const o = raw as Record<string, unknown>;
  if (o['kind'] !== REGULATOR_SHARE_KIND) throw no(`kind must be ${REGULATOR_SHARE_KIND}`);
  const authority = net.cb.escrowAuthority;
  if (authority === undefined) throw new CliError('USAGE', `${networkFile} names no escrow key holders (cb.escrow): it has no warrants to answer`);
  const index = o['index'];
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1 || index > authority.verificationKeys.length) {
    throw no(`index must be 1..${authority.verificationKeys.length} (the network's holders)`);
  }
  const hex = (key: string, bytes: number): Uint8Array => {
    const v = o[key];
    if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/.test(v) || v.length !== 2 * bytes) throw no(`${key} must be ${bytes} bytes of lower-case hex`);
    return hexToBytes(v);
  };
  let secret: bigint;
  try {
    secret = scalarFromBytes(hex('secret', 32));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw no(`secret is not a scalar: ${(e as Error).message}`);
  }
  const vk = hex('verificationKey', 48);
  const derived = pedersenG().mul(secret);
  if (bytesToHex(derived.toBytes()) !== bytesToHex(vk)) throw no('its secret does not match its verificationKey');
  if (bytesToHex(authority.verificationKeys[index - 1]!.toBytes()) !== bytesToHex(vk)) {
    throw no(`its verificationKey is not holder ${index}'s in ${networkFile} (a share of another network, or another holder's index)`);
  }
  return { index, secret, verificationKey: derived };
}
