// Test support for the offline ledger: a CB and two FIs (`fi-a`, `fi-b`) on fresh databases of
// one engine, with the institutions' keys from test/support/world.ts (manufacturer CA, CB, FI A)
// plus a key for FI B, all on one fake clock shared by the ledger and every SE; and real SEs
// (simulated applets with the payment commands) provisioned, attested, enrolled, credentialed
// and funded through the ledger's own APIs. Payments go through both SEs' APDU interfaces.

import type { RuleSet } from '../../src/compliance/index.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { seededRng } from '../../src/crypto/rng.ts';
import type { RegulatorKey } from '../../src/crypto/escrow.ts';
import { DeviceClass, Tier } from '../../src/policy/limits.ts';
import { Applet } from '../../src/se/applet.ts';
import { SeClient, transmitTo } from '../../src/se/client.ts';
import { MemoryBackend } from '../../src/se/nvm.ts';
import { TEST_COMMANDS } from '../../src/se/test_commands.ts';
import { p256KeyPair } from '../../src/se/signed.ts';
import { makeWorld, provisionSe, type World } from '../support/world.ts';
import { enrolSe, issueCredentialTo, loadSe } from '../../src/sim/network.ts';
import { payDirect } from '../support/payments.ts';
import { CentralBank } from '../../src/ledger/cb/central_bank.ts';
import { FinancialIntermediary } from '../../src/ledger/fi/financial_intermediary.ts';
import type { Clock } from '../../src/ledger/context.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { countingRng, freshDb, type Engine, type FreshDb } from './engines.ts';

export const MANUFACTURER = 'tally-test-fab';

export interface OfflineNet {
  world: World;
  cb: CentralBank;
  fiA: FinancialIntermediary;
  fiB: FinancialIntermediary;
  /** The world each FI's devices are provisioned in (its FI id and key, shared CB and CA). */
  worlds: Map<string, World>;
  clock: Clock;
  dbs: FreshDb[];
  seed: string;
  cleanup(): Promise<void>;
}

export async function openOfflineNet(
  engine: Engine,
  seed: string,
  opts: { verifyWorkers?: number; nullifierPartitions?: number; rules?: RuleSet | null; cbRules?: RuleSet | null; regulator?: RegulatorKey } = {},
): Promise<OfflineNet> {
  // With a dealt regulator key, SEs escrow under it and the CB knows its holders' verification keys.
  const regulator = opts.regulator;
  const world: World = regulator === undefined ? makeWorld(seed) : { ...makeWorld(seed), regulatorKey: regulator.publicKey.toBytes() };
  const clock: Clock = { nowMs: () => Number(world.nowMs) };
  const dbs = await Promise.all([freshDb(engine), freshDb(engine), freshDb(engine)]);
  const cb = await CentralBank.open({
    db: dbs[0]!.db, clock, rng: countingRng(`${seed}/cb`),
    signingKey: world.cb, issuerMaster: sha256(new TextEncoder().encode(`issuer/${seed}`)), regulatorKey: world.regulatorKey,
    nullifierPartitions: opts.nullifierPartitions, ...(opts.cbRules === undefined ? {} : { rules: opts.cbRules }),
    ...(regulator === undefined ? {} : { escrowAuthority: { threshold: regulator.threshold, verificationKeys: regulator.shares.map((x) => x.verificationKey) } }),
  });
  const keyB = p256KeyPair(seededRng(`${seed}/fi-b`));
  const manufacturers = { [MANUFACTURER]: world.manufacturer.publicKey };
  const common = { clock, manufacturers, cb, verifyWorkers: opts.verifyWorkers ?? 2, verifySeed: `${seed}/verify`, ...(opts.rules === undefined ? {} : { rules: opts.rules }) };
  const fiA = await FinancialIntermediary.open({ ...common, db: dbs[1]!.db, rng: countingRng(`${seed}/a`), fiId: 'fi-a', signingKey: world.fi });
  const fiB = await FinancialIntermediary.open({ ...common, db: dbs[2]!.db, rng: countingRng(`${seed}/b`), fiId: 'fi-b', signingKey: keyB });
  const worlds = new Map<string, World>([
    ['fi-a', { ...world, fiId: 'fi-a' } as World],
    ['fi-b', { ...world, fiId: 'fi-b', fi: keyB } as World],
  ]);
  for (const fi of [fiA, fiB]) {
    await cb.ledger.registerFi({ fiId: fi.fiId, idempotencyKey: `reg-${fi.fiId}` });
  }
  return {
    world, cb, fiA, fiB, worlds, clock, dbs, seed,
    cleanup: async () => {
      await fiA.close();
      await fiB.close();
      for (const d of dbs) await d.cleanup();
    },
  };
}

/** Issues `amountMinor` to an FI and credits its treasury. */
export async function fundFi(net: OfflineNet, fi: FinancialIntermediary, amountMinor: bigint, key: string): Promise<void> {
  await net.cb.ledger.issue({ fiId: fi.fiId, amountMinor, idempotencyKey: `${key}/issue` });
  await fi.ledger.creditTreasury({ amountMinor, reference: `issue ${key}`, idempotencyKey: `${key}/treasury` });
}

export interface TestDevice {
  name: string;
  fi: FinancialIntermediary;
  client: SeClient;
  applet: Applet;
  backend: MemoryBackend;
  deviceId: Uint8Array;
  customerId: string;
  accountId: string;
  tier: number;
}

/** Opens an SE over `backend` (a copy of another SE's NVM makes a restored snapshot). */
export function openSe(net: OfflineNet, name: string, backend = new MemoryBackend(), testCommands = false): { applet: Applet; client: SeClient; backend: MemoryBackend } {
  const commands = testCommands ? TEST_COMMANDS : [];
  const applet = Applet.open({ backend, rng: seededRng(`${net.seed}/se/${name}/${backend.cells.size}`), clock: net.world.clock, commands });
  return { applet, client: new SeClient(transmitTo(applet)), backend };
}

/** A copy of an SE's whole NVM: what an attacker who can image and restore the chip holds. */
export function snapshot(backend: MemoryBackend): MemoryBackend {
  const copy = new MemoryBackend();
  for (const [k, v] of backend.cells) copy.cells.set(k, v.slice());
  return copy;
}

/** KYC, account, SE provisioning, attested enrolment and a credential for the current epoch. */
export async function newDevice(
  net: OfflineNet,
  fi: FinancialIntermediary,
  name: string,
  opts: { tier?: number; deviceClass?: number; depositMinor?: bigint; customer?: { customerId: string; accountId: string }; testCommands?: boolean } = {},
): Promise<TestDevice> {
  const tier = opts.tier ?? Tier.basic;
  const customer = opts.customer ? { customerId: opts.customer.customerId, accountId: opts.customer.accountId } : await newCustomer(fi, name, tier);
  if (opts.depositMinor !== undefined) {
    await fi.ledger.deposit({ accountId: customer.accountId, amountMinor: opts.depositMinor, idempotencyKey: `${name}/deposit` });
  }
  const se = openSe(net, name, new MemoryBackend(), opts.testCommands);
  await provisionSe(net.worlds.get(fi.fiId)!, se.client, { deviceClass: opts.deviceClass ?? DeviceClass.wallet, tier });
  const deviceId = await enrolSe(fi, se.client, { owner: customer, tier, key: `${name}/enrol` });
  const device: TestDevice = { name, fi, ...se, deviceId, ...customer, tier };
  await issueCredential(device, `${name}/cred0`);
  return device;
}

export async function newCustomer(fi: FinancialIntermediary, name: string, tier: number): Promise<{ customerId: string; accountId: string }> {
  const { customerId } = await fi.ledger.registerCustomer({ tier, identity: { name }, idempotencyKey: `${name}/kyc` });
  const { accountId } = await fi.ledger.openAccount({ customerId, idempotencyKey: `${name}/open` });
  return { customerId, accountId };
}

/** The whole blind issuance through the FI and the CB for the device's current epoch. */
export const issueCredential = (d: TestDevice, key: string, epoch?: bigint) => issueCredentialTo(d.fi, d.deviceId, d.client, key, epoch);

/** Debits the device's account and loads the SE with the voucher. */
export const load = (d: TestDevice, amountMinor: bigint, key: string) => loadSe(d.fi, d.deviceId, d.client, amountMinor, key);

/** One offline payment between two SEs (request, payment with proof, receipt). */
export function pay(payer: TestDevice, payee: TestDevice, amountMinor: bigint) {
  return payDirect({ client: payer.client } as never, { client: payee.client } as never, amountMinor);
}

/** The LedgerError code a call ends with, or 'ACCEPTED': lets a table of requests read as one list of codes. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (e) {
    if (e instanceof LedgerError) return e.code;
    throw e;
  }
}
