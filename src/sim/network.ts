// The whole Tally network in one process, for the end-to-end scenario and the simulator: a CB and
// any number of FIs, each on its own SQLite file under one data directory or its own database on a
// PostgreSQL server (node_databases.ts), the institutions' keys
// dealt by the same ceremony as `tally network init` (src/ledger/ceremony.ts: manufacturer CA, CB,
// FIs, a 2-of-3 regulator escrow key), one fake clock, and devices — real simulated SEs with
// file-backed NVM — that are manufactured, personalised, attested, enrolled, credentialed and
// funded through the ledger's own APIs and pay each other over NFC or BLE framings on an in-memory
// radio link. Everything random comes from the run's seed (the ceremony too, which only the
// simulator may do), so a run can be replayed exactly.

import type { RuleSet } from '../compliance/index.ts';
import path from 'node:path';
import { seededRng, type RegulatorKey } from '../crypto/index.ts';
import { Device, type DeviceProfile } from '../device/index.ts';
import {
  CentralBank, FinancialIntermediary, dealNetwork, installDistribution, type Clock, type Db, type NetworkKeys,
} from '../ledger/index.ts';
import { memoryLinkPair, type MessageTransport } from '../protocol/index.ts';
import { makePrivateDir, signAttestationCert } from '../se/index.ts';
import type { SeClient } from '../se/client.ts';
import { prepareNodeDatabases, type NodeDatabases, type SimDatabase } from './node_databases.ts';

/** 2027-01-15T08:00:00Z: the simulated network's clock starts here, so epochs are reproducible. */
export const SIM_START_MS = 1_800_000_000_000n;

/** The network's one fake clock: the ledger and every SE read it; only the run moves `nowMs`. */
export class SimClock {
  nowMs: bigint;
  /** What an SE reads. */
  readonly se = (): bigint => this.nowMs;
  /** What a ledger node reads. */
  readonly ledger: Clock = { nowMs: () => Number(this.nowMs) };
  constructor(startMs: bigint) {
    this.nowMs = startMs;
  }
}

export interface SimNetwork {
  seed: string;
  dataDir: string;
  /** The shared clock (advance `clock.nowMs` to move time). */
  clock: SimClock;
  /** Every institution's keys, as the ceremony dealt them. */
  network: NetworkKeys;
  /** The regulator key holders' shares, from the same dealing. */
  regulator: RegulatorKey;
  cb: CentralBank;
  cbDb: Db;
  fis: Map<string, FinancialIntermediary>;
  /** Where the nodes keep their books. */
  databases: NodeDatabases;
  /** Crash and restart of one FI node: closes it and its database, then opens both again (same keys, state from disk). */
  reopenFi(fiId: string, rngLabel: string): Promise<FinancialIntermediary>;
  close(): Promise<void>;
}

export interface SimDevice {
  name: string;
  device: Device;
  fi: FinancialIntermediary;
  deviceId: Uint8Array;
  customerId: string;
  accountId: string;
  tier: number;
  nvmDir: string;
}

type SimNetworkOptions = {
  dataDir: string; seed: string; fiIds: readonly string[]; verifyWorkers?: number; database?: SimDatabase;
  /** AML/CFT rules of every FI and of the CB (its aggregate kinds); default DEFAULT_RULES. */
  rules?: RuleSet;
};

export async function openSimNetwork(opts: SimNetworkOptions): Promise<SimNetwork> {
  makePrivateDir(opts.dataDir);
  const databases = await prepareNodeDatabases(opts.database ?? { engine: 'sqlite' }, { seed: opts.seed, dataDir: opts.dataDir, nodes: ['cb', ...opts.fiIds] });
  try {
    return await openNodes(opts, databases);
  } catch (e) {
    // A node that failed to open leaves no database behind on the server (DROP … WITH (FORCE) ends its connections).
    await databases.release().catch(() => {});
    throw e;
  }
}

async function openNodes(opts: SimNetworkOptions, databases: NodeDatabases): Promise<SimNetwork> {
  // The scenario's first step issues to each FI itself, so the dealing allocates nothing.
  const { network, regulator } = dealNetwork({ fiIds: opts.fiIds, allocationMinor: 0n, rng: seededRng(`${opts.seed}/ceremony`) });
  const clock = new SimClock(SIM_START_MS);
  const cbDb = databases.open('cb');
  const cb = await CentralBank.open({
    db: cbDb,
    clock: clock.ledger,
    rng: seededRng(`${opts.seed}/cb`),
    signingKey: network.cb.signingKey,
    issuerMaster: network.cb.issuerMaster,
    regulatorKey: network.cb.regulatorKey,
    ...(opts.rules === undefined ? {} : { rules: opts.rules }),
  });
  const fis = new Map<string, FinancialIntermediary>();
  const openFi = async (f: NetworkKeys['fis'][number], rngLabel: string) => {
    const fi = await FinancialIntermediary.open({
      db: databases.open(f.fiId),
      clock: clock.ledger,
      rng: seededRng(`${opts.seed}/${rngLabel}`),
      fiId: f.fiId,
      signingKey: f.signingKey,
      manufacturers: { [network.manufacturer.name]: network.manufacturer.keys.publicKey },
      cb,
      verifyWorkers: opts.verifyWorkers,
      ...(opts.rules === undefined ? {} : { rules: opts.rules }),
    });
    await fi.warmUp();
    return fi;
  };
  for (const f of network.fis) {
    const fi = await openFi(f, f.fiId);
    await cb.ledger.registerFi({ fiId: f.fiId, idempotencyKey: `register/${f.fiId}` });
    fis.set(f.fiId, fi);
  }
  return {
    seed: opts.seed,
    dataDir: opts.dataDir,
    clock,
    network,
    regulator,
    cb,
    cbDb,
    fis,
    databases,
    reopenFi: async (fiId, rngLabel) => {
      const keys = network.fis.find((f) => f.fiId === fiId);
      const old = fis.get(fiId);
      if (keys === undefined || old === undefined) throw new RangeError(`no FI ${fiId} in this network`);
      await old.close();
      await old.db.close();
      fis.delete(fiId);
      const fi = await openFi(keys, rngLabel);
      fis.set(fiId, fi);
      return fi;
    },
    close: async () => {
      for (const fi of fis.values()) {
        await fi.close();
        await fi.db.close();
      }
      await cbDb.close();
      await databases.release();
    },
  };
}

/** The CB issues money to an FI's reserve and the FI credits its treasury (allocation). */
export async function issueToFi(net: SimNetwork, fi: FinancialIntermediary, amountMinor: bigint, key: string): Promise<void> {
  await net.cb.ledger.issue({ fiId: fi.fiId, amountMinor, idempotencyKey: `${key}/issue` });
  await fi.ledger.creditTreasury({ amountMinor, reference: `allocation ${key}`, idempotencyKey: `${key}/treasury` });
}

export async function registerCustomer(
  fi: FinancialIntermediary,
  name: string,
  tier: number,
  depositMinor = 0n,
): Promise<{ customerId: string; accountId: string }> {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const { customerId } = await fi.ledger.registerCustomer({ tier, identity: { name }, idempotencyKey: `${slug}/kyc` });
  const { accountId } = await fi.ledger.openAccount({ customerId, idempotencyKey: `${slug}/open` });
  if (depositMinor > 0n) await fi.ledger.deposit({ accountId, amountMinor: depositMinor, idempotencyKey: `${slug}/deposit` });
  return { customerId, accountId };
}

/** Opens a device's SE over its NVM directory (a copy of another's directory is a restored snapshot). */
export function openDevice(net: SimNetwork, name: string, profile: DeviceProfile, nvmDir: string): Device {
  // Seeded by the directory's place under the data directory, not its absolute path, so a run in
  // another temporary directory is the same run.
  const where = path.relative(net.dataDir, nvmDir);
  return new Device({ profile, name, nvm: { kind: 'file', dir: nvmDir }, rng: seededRng(`${net.seed}/se/${name}/${where}`), clock: net.clock.se });
}

/**
 * The manufacturer's and the personaliser's steps: keys generated inside the SE, its attestation
 * key certified by the network's manufacturer CA, then the trust anchors (the CB, the FI), the
 * regulator key and the CB's signed policy from its distribution, as `tally device init` does.
 */
export async function manufactureAndPersonalize(net: SimNetwork, fi: FinancialIntermediary, se: SeClient, opts: { tier: number; deviceClass: number }): Promise<void> {
  const { manufacturer, cb } = net.network;
  const keys = await se.generateKeys({ deviceClass: opts.deviceClass, manufacturerCaPublicKey: manufacturer.keys.publicKey });
  const certificate = signAttestationCert(manufacturer.keys.secretKey, {
    deviceId: keys.deviceId, publicKey: keys.attestationPublicKey, deviceClass: opts.deviceClass,
    manufacturer: manufacturer.name, issuedAtMs: net.clock.nowMs,
  });
  const { signedPolicy } = await net.cb.distribution(opts.tier);
  await se.personalize({
    certificate, cbPublicKey: cb.signingKey.publicKey, fiId: fi.fiId, fiPublicKey: fi.publicKey,
    regulatorKey: cb.regulatorKey, tier: opts.tier, signedPolicy,
  });
}

/**
 * Attested enrolment at the FI of a manufactured and personalised SE, for any host holding an
 * SeClient, for a KYC'd owner. Returns the FI's device id.
 */
export async function enrolSe(
  fi: FinancialIntermediary,
  se: SeClient,
  opts: { owner: { customerId: string; accountId: string }; tier: number; key: string },
): Promise<Uint8Array> {
  const info = await se.getInfo();
  const challenge = fi.enrolmentChallenge({ ...opts.owner, certificate: info.certificate! });
  const attestation = await se.attest(challenge);
  const enrolled = await fi.enrolDevice({ ...opts.owner, certificate: info.certificate!, attestation, tier: opts.tier, idempotencyKey: opts.key });
  return enrolled.deviceId;
}

/**
 * Blind issuance through the FI (KYC, freeze, pinned K, one per device and epoch) and the CB (BBS
 * key of the epoch): the SE builds and signs the request, the host only carries it.
 */
export async function issueCredentialTo(fi: FinancialIntermediary, deviceId: Uint8Array, se: SeClient, key: string, epoch?: bigint) {
  const started = await fi.startIssuance({ deviceId, epoch });
  const request = await se.beginIssuance(started);
  const issued = await fi.issueCredential({ deviceId, issuerNonce: started.issuerNonce, request, idempotencyKey: key });
  return se.finishIssuance({ epoch: issued.epoch, tier: issued.tier, issuerKeyCert: issued.issuerKeyCert, response: issued.response, counterSet: issued.counterSet });
}

/** Online funding: the FI debits the owner's account and signs a voucher the SE applies exactly once. */
export async function loadSe(fi: FinancialIntermediary, deviceId: Uint8Array, se: SeClient, amountMinor: bigint, key: string) {
  const v = await fi.createLoadVoucher({ deviceId, amountMinor, idempotencyKey: key });
  await se.applyLoadVoucher(v.voucher);
  return v;
}

/** Manufacturing, KYC'd owner, attested enrolment at the FI and a credential for the current epoch. */
export async function enrolDevice(
  net: SimNetwork,
  fi: FinancialIntermediary,
  opts: { name: string; profile: DeviceProfile; owner: { customerId: string; accountId: string }; tier?: number },
): Promise<SimDevice> {
  const tier = opts.tier ?? opts.profile.tier;
  const nvmDir = path.join(net.dataDir, 'devices', opts.name);
  makePrivateDir(nvmDir);
  const device = openDevice(net, opts.name, opts.profile, nvmDir);
  await manufactureAndPersonalize(net, fi, device.se, { tier, deviceClass: opts.profile.deviceClass });
  const deviceId = await enrolSe(fi, device.se, { owner: opts.owner, tier, key: `${opts.name}/enrol` });
  const d: SimDevice = { name: opts.name, device, fi, deviceId, ...opts.owner, tier, nvmDir };
  await issueCredential(d, `${opts.name}/credential`);
  // Policy, revocation list and every tier's issuer keys, as at any sync.
  await installDistribution(device.se, await net.cb.distribution(tier));
  return d;
}

export const issueCredential = (d: SimDevice, key: string, epoch?: bigint) => issueCredentialTo(d.fi, d.deviceId, d.device.se, key, epoch);

export async function fundOnline(d: SimDevice, amountMinor: bigint, key: string): Promise<bigint> {
  await loadSe(d.fi, d.deviceId, d.device.se, amountMinor, key);
  return d.device.balanceMinor();
}

export interface OfflinePayment {
  payment: Uint8Array;
  receipt: Uint8Array;
  elapsedMs: number;
  messageBytes: number;
}

/** `t`, recording the length of every message it sends into `sizes` (the bytes a payment puts on the link). */
export function countingTransport(t: MessageTransport, sizes: number[]): MessageTransport {
  return {
    send: async (m) => {
      sizes.push(m.length);
      return t.send(m);
    },
    receive: (ms) => t.receive(ms),
    keepAlive: () => t.keepAlive(),
    close: () => t.close(),
  };
}

/**
 * One offline payment: the payee requests `amountMinor`, the payer's SE authorizes it, the payee's
 * SE accepts it — all over one radio framing on an in-memory link, no network anywhere.
 */
export async function payOffline(payer: Device, payee: Device, amountMinor: bigint, radio: 'nfc' | 'ble'): Promise<OfflinePayment> {
  const [a, b] = memoryLinkPair();
  const sizes: number[] = [];
  const payerT = countingTransport(payer.transport(a, radio, payee.profile.bleMtu), sizes);
  const payeeT = countingTransport(payee.transport(b, radio, payer.profile.bleMtu), sizes);
  const t0 = performance.now();
  try {
    const [paid, received] = await Promise.all([payer.pay(payerT, { maxAmountMinor: amountMinor }), payee.receive(payeeT, amountMinor)]);
    if (received.amountMinor !== amountMinor) throw new Error(`payee credited ${received.amountMinor}, expected ${amountMinor}`);
    return { payment: paid.payment, receipt: received.receipt, elapsedMs: performance.now() - t0, messageBytes: sizes.reduce((x, y) => x + y, 0) };
  } finally {
    payerT.close();
    payeeT.close();
  }
}
