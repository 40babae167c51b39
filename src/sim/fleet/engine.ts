// The fleet simulator's engine (issue 13): one seed, one process, the real network of
// src/sim/network.ts (CB and FIs on SQLite, real SEs over APDUs, real proofs), a simulated clock
// driven by an event queue ordered by (time, seq), and a RunRecord of everything that happened.
//
// A run: plan the city (population.ts), enrol and fund every device, then each simulated day
// schedule each payer's payments (per its spending policy) and each device's syncs (link model:
// phones daily, rural phones every third day, wearables when their owner's phone syncs, cars
// every other day, meters and terminals daily), and play the queue. Faults are drawn with their
// rates as the queue plays (FaultRates names them; powercut.ts and attackers.ts drive the SE power
// cuts, broken SEs, host attacks and colluding payees through the FleetArena of arena.ts). Invariants (invariants.ts) are checked after
// every sync (the cheap ones) and at every simulated midnight and at the end (the full network
// audit); the first broken one throws FleetInvariantBroken with the seed, time and step.

import { accessSync, constants, cpSync, mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { seededRng, type Rng } from '../../crypto/index.ts';
import { Device, PROFILES } from '../../device/index.ts';
import { LedgerError, syncDevice, type FinancialIntermediary } from '../../ledger/index.ts';
import { PayeeReady, PayerLinkLost, decodePayment, memoryLinkPair, type MessageTransport } from '../../protocol/index.ts';
import { settlementWindowEndMs } from '../../policy/settlement.ts';
import { SeError } from '../../se/status.ts';
import type { SimDatabase } from '../node_databases.ts';
import { countingTransport, enrolDevice, issueToFi, loadSe, openDevice, openSimNetwork, registerCustomer, SIM_START_MS, type SimDevice, type SimNetwork } from '../network.ts';
import { planPopulation, units, type PlannedDevice, type SpendRule, type TerminalKind } from './population.ts';
import { EventQueue, SimRandom } from './random.ts';
import { FleetInvariantBroken, Invariants } from './invariants.ts';
import type { FaultRecord, PaymentRecord, RunRecord, SyncRecord } from './types.ts';
import { nullifierOf, type FleetArena, type Live, type PaidOnce } from './arena.ts';
import { brokenSeAttack, colludingDoubleSpend, hostAttack } from './attackers.ts';
import { payWithPowerCut, syncWithPowerCut } from './powercut.ts';
import type { NvmBackend } from '../../se/index.ts';
import { Tier } from '../../policy/limits.ts';

export const DAY_MS = 86_400_000n;
const HOUR_MS = 3_600_000n;

/** Rates of the faults and attacks the run injects (per opportunity unless named per day). */
export interface FaultRates {
  /** Per wallet payment: the owner images the SE before paying and spends the same counter again from the restored image at another terminal. */
  restoredSnapshot: number;
  /** Per simulated day: a hostile peer sends a terminal fuzzed frames in place of a payment. */
  hostilePeer: number;
  /** Per sync: the same sync is sent again (a lost answer, a retry). */
  duplicateSync: number;
  /** Per scheduled sync: it is delayed 6–30 h, so syncs arrive late and out of order. */
  lateSync: number;
  /** Per simulated day: one FI node crashes and restarts from its SQLite file. */
  fiRestart: number;
  /** Per simulated day: one payer device's SE clock drifts by up to ±30 minutes for the rest of the run. */
  clockSkew: number;
  /** Per payment: the link drops after the payer's debit, before the payee's SE sees the payment. */
  linkLost: number;
  /** Of those, the share the payer re-sends at once over a new link; the rest stay stranded until reclaimed. */
  resendAfterLoss: number;
  /** Per payment and per sync: power fails in the middle of one of its SE commands (an NVM write torn or cut), then the SE restarts. */
  powerCut: number;
  /** Per simulated day, on average: an attacker extracts a payer SE's secrets and spends from the cloned state beyond the SE's limits. */
  brokenSe: number;
  /** Per simulated day, on average: an untrusted host around an honest wallet SE tries a tampered amount, a replayed payment or a swapped payee. */
  hostAttack: number;
  /** Per wallet payment: the payer and a payee collude on a double spend (the payee takes it knowingly and holds its receipts back). */
  collusion: number;
}

export const DEFAULT_FAULTS: FaultRates = { restoredSnapshot: 0.004, hostilePeer: 0.5, duplicateSync: 0.05, lateSync: 0.1, fiRestart: 0.3, linkLost: 0.01, resendAfterLoss: 0.7, clockSkew: 0.3, powerCut: 0.005, brokenSe: 0.05, hostAttack: 0.3, collusion: 0.002 };

/** Every fault rate's name, in FaultRates' order (`tally sim --fault NAME=RATE`). */
export const FAULT_NAMES: readonly (keyof FaultRates)[] = Object.keys(DEFAULT_FAULTS) as (keyof FaultRates)[];

/**
 * The rates a run was given, checked (a known name, a finite number ≥ 0; RangeError naming it
 * otherwise) and sorted by name: what RunRecord.options.faults records.
 */
export function givenFaults(faults: Partial<FaultRates> | undefined): Partial<FaultRates> {
  const given: Partial<FaultRates> = {};
  for (const name of Object.keys(faults ?? {}).sort()) {
    const rate = (faults as Record<string, unknown>)[name];
    if (rate === undefined) continue;
    if (!(FAULT_NAMES as readonly string[]).includes(name)) throw new RangeError(`unknown fault '${name}' (known: ${FAULT_NAMES.join(', ')})`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) throw new RangeError(`fault ${name}: the rate must be a finite number ≥ 0, got ${String(rate)}`);
    given[name as keyof FaultRates] = rate;
  }
  return given;
}

export interface FleetOptions {
  customers: number;
  days: number;
  seed: string;
  /** Directory for the databases and SE memories (default: a fresh one under /dev/shm, else the OS temporary directory, removed after). */
  dataDir?: string;
  /** Where the ledger nodes keep their books (default: SQLite files in dataDir). */
  database?: SimDatabase;
  faults?: Partial<FaultRates>;
  /** Called after each step with the steps done and the current estimate of all steps. */
  onProgress?: (done: number, total: number, payments: number) => void;
  /**
   * Share of payer devices left offline on purpose (default 0.1): they skip their scheduled syncs
   * and run until a limit forces a sync (offlineRuns says which and after how many days).
   */
  holdouts?: number;
  /** SHA/ECDSA verify threads per FI (default 1). */
  verifyWorkers?: number;
}

type Ev =
  | { kind: 'day'; day: number }
  | { kind: 'pay'; device: string; rule: SpendRule }
  | { kind: 'sync'; device: string; reason: SyncRecord['reason'] }
  | { kind: 'hostile'; terminal: string }
  | { kind: 'restart'; fiId: string }
  | { kind: 'skew'; device: string }
  | { kind: 'broken-se'; device: string }
  | { kind: 'host-attack'; device: string };

const FORCING: Partial<Record<string, SyncRecord['reason']>> = {
  LOG_FULL: 'receipt-log-full',
  OFFLINE_SPEND_SYNC_REQUIRED: 'offline-spend-limit',
  EPOCH_PAYMENTS_EXHAUSTED: 'counter-limit',
  CREDENTIAL_EXPIRED: 'epoch-end',
  NO_CREDENTIAL: 'epoch-end',
  HOLDING_LIMIT: 'holding-limit',
};

const codeOf = (e: unknown): string => (e instanceof SeError ? e.code : e instanceof LedgerError ? e.code : (e as Error).message);

/** The fleet's FIs (with the CB, the ledger nodes of a run). */
export const FLEET_FI_IDS: readonly string[] = ['bank-a', 'bank-b'];

/**
 * Where a run's own data directory goes: a RAM-backed tmpfs (/dev/shm) where the machine has one,
 * else the OS temporary directory. Every SE memory cell and SQLite page is still written, fsynced
 * and read back as on disk; on tmpfs an fsync costs nothing, and it was a tenth of a run's time.
 */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    // A container's /dev/shm is often 64 MiB: a large run would fill it, so only one with room.
    const fs = statfsSync('/dev/shm');
    if (statSync('/dev/shm').isDirectory() && BigInt(fs.bavail) * BigInt(fs.bsize) >= SCRATCH_TMPFS_MIN_BYTES) return '/dev/shm';
  } catch {
    // no tmpfs here
  }
  return os.tmpdir();
}

/** The free space /dev/shm must have to hold a run's data (a 100-customer week uses well under this). */
const SCRATCH_TMPFS_MIN_BYTES = 2n * 1024n ** 3n;

export async function runFleet(options: FleetOptions): Promise<RunRecord> {
  const faults: FaultRates = { ...DEFAULT_FAULTS, ...givenFaults(options.faults) };
  if (!Number.isInteger(options.days) || options.days < 1) throw new RangeError('--days must be a positive integer');
  const own = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(scratchRoot(), 'tally-sim-'));
  const wall: Record<string, number> = {};
  const timed = async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      wall[phase] = (wall[phase] ?? 0) + (performance.now() - t0);
    }
  };
  const net = await timed('open', () => openSimNetwork({ dataDir, seed: options.seed, fiIds: FLEET_FI_IDS, verifyWorkers: options.verifyWorkers ?? 1, database: options.database }));
  try {
    const engine = new Engine(net, options, faults, timed);
    const record = await engine.run();
    record.wallMs = Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, Math.round(v)]));
    return record;
  } finally {
    await net.close();
    if (own) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** RunRecord.options.faults: the rates given, or nothing (so a run on the defaults records what it always did). */
function faultsOption(faults: Partial<FaultRates> | undefined): { faults?: Record<string, number> } {
  const given = givenFaults(faults);
  return Object.keys(given).length === 0 ? {} : { faults: given as Record<string, number> };
}

class Engine implements FleetArena {
  readonly rand: SimRandom;
  private readonly queue = new EventQueue<Ev>();
  private readonly lives = new Map<string, Live>();
  private readonly terminals = new Map<TerminalKind, string[]>();
  private readonly record: RunRecord;
  readonly inv: Invariants;
  readonly seed: string;
  step = 0;
  private restarts = 0;
  private readonly counters = new Map<string, number>();
  private snapshots = 0;
  private readonly endMs: bigint;

  constructor(
    readonly net: SimNetwork,
    private readonly options: FleetOptions,
    private readonly faults: FaultRates,
    private readonly timed: <T>(phase: string, f: () => Promise<T>) => Promise<T>,
  ) {
    this.rand = new SimRandom(`${options.seed}/fleet`);
    this.seed = options.seed;
    this.endMs = SIM_START_MS + BigInt(options.days) * DAY_MS;
    this.record = {
      seed: options.seed,
      options: { customers: options.customers, days: options.days, db: options.database?.engine ?? 'sqlite', ...faultsOption(options.faults) },
      startMs: Number(SIM_START_MS),
      endMs: Number(this.endMs),
      devices: [], payments: [], syncs: [], totals: [], faults: [], offlineRuns: [],
    };
    this.inv = new Invariants(net, options.seed);
  }

  private fi(fiId: string): FinancialIntermediary {
    return this.net.fis.get(fiId)!;
  }

  get now(): bigint {
    return this.net.clock.nowMs;
  }

  live(name: string): Live {
    const d = this.lives.get(name);
    if (d === undefined) throw new RangeError(`no device ${name} in this fleet`);
    return d;
  }

  devices(): Live[] {
    return [...this.lives.values()];
  }

  terminalsOf(kind: TerminalKind): Live[] {
    return (this.terminals.get(kind) ?? []).map((n) => this.live(n));
  }

  broken(invariant: string, why: string): never {
    throw new FleetInvariantBroken(this.options.seed, Number(this.now), this.step, invariant, why);
  }

  restartSe(d: Live, tag: string, backend?: NvmBackend): Device {
    const where = path.relative(this.net.dataDir, d.sim.nvmDir);
    const nvm = backend === undefined ? { kind: 'file' as const, dir: d.sim.nvmDir } : { kind: 'backend' as const, backend };
    d.device = new Device({ profile: PROFILES[d.plan.profile], name: d.plan.name, nvm, rng: seededRng(`${this.options.seed}/se/${d.plan.name}/${where}/${tag}-${this.step}`), clock: d.seClock });
    d.sim = { ...d.sim, device: d.device };
    return d.device;
  }

  imageOf(d: Live): string {
    const image = path.join(this.net.dataDir, 'devices', `${d.plan.name}-image-${this.snapshots++}`);
    cpSync(d.sim.nvmDir, image, { recursive: true });
    return image;
  }

  openImage(d: Live, dir: string): Device {
    return openDevice(this.net, `${d.plan.name}-clone`, PROFILES[d.plan.profile], dir);
  }

  recordPayment(rec: PaymentRecord): void {
    this.record.payments.push(rec);
  }

  paidWith(nullifier: string): PaymentRecord[] {
    return this.record.payments.filter((p) => p.outcome === 'paid' && p.nullifier === nullifier);
  }

  next(name: string): number {
    const n = this.counters.get(name) ?? 0;
    this.counters.set(name, n + 1);
    return n;
  }

  rng(label: string): Rng {
    return seededRng(`${this.options.seed}/attacker/${label}/${this.step}`);
  }

  credited(payee: Live, nullifier: string, amountMinor: bigint): void {
    payee.pendingNullifiers.push(nullifier);
    payee.pendingMinor += amountMinor;
  }

  fault(kind: string, result: string, device?: string): FaultRecord {
    const f: FaultRecord = { step: this.step, atMs: Number(this.now), kind, result, ...(device === undefined ? {} : { device }) };
    this.record.faults.push(f);
    return f;
  }

  async run(): Promise<RunRecord> {
    await this.timed('enrol', () => this.populate());
    this.queue.push(SIM_START_MS, { kind: 'day', day: 0 });
    for (;;) {
      const next = this.queue.pop();
      if (next === undefined || next.t >= this.endMs) break;
      this.net.clock.nowMs = next.t;
      this.step++;
      try {
        await this.handle(next.e);
      } catch (e) {
        if (e instanceof FleetInvariantBroken) throw e;
        throw new FleetInvariantBroken(this.options.seed, Number(this.now), this.step, 'step-failed', `${next.e.kind}: ${(e as Error).stack ?? String(e)}`);
      }
      this.options.onProgress?.(this.step, this.estimateSteps(), this.record.payments.length);
    }
    this.net.clock.nowMs = this.endMs;
    await this.timed('final', () => this.quiesce());
    return this.record;
  }

  private estimateSteps(): number {
    const perDay = this.step / Math.max(1, Number((this.now - SIM_START_MS) / DAY_MS) + 1);
    return Math.max(this.step, Math.round(perDay * this.options.days));
  }

  private async populate(): Promise<void> {
    const { net } = this;
    const plan = planPopulation(this.rand, this.options.customers, [...net.fis.keys()]);
    for (const fiId of net.fis.keys()) await issueToFi(net, this.fi(fiId), units(10_000_000), `alloc/${fiId}`);
    const owners = new Map<string, { customerId: string; accountId: string }>();
    for (const c of plan.customers) {
      const owner = await registerCustomer(this.fi(c.fiId), c.name, c.merchant ? Tier.merchant : Tier.full, c.merchant ? 0n : units(20_000));
      owners.set(c.name, owner);
      this.inv.customerOf.set(owner.customerId, c.name);
    }
    for (const d of plan.devices) {
      const owner = owners.get(d.owner)!;
      const sim = await enrolDevice(net, this.fi(d.fiId), { name: d.name, profile: PROFILES[d.profile], owner });
      const holdout = d.role === 'payer' && this.rand.chance(this.options.holdouts ?? 0.1);
      const live: Live = { plan: d, sim, device: sim.device, seClock: net.clock.se, pendingNullifiers: [], pendingMinor: 0n, lastSyncMs: this.now, syncs: 0, forced: false, holdout, holdUntilMs: 0n };
      this.lives.set(d.name, live);
      this.record.devices.push({ id: d.name, profile: d.profile, owner: d.owner, fiId: d.fiId });
      if (d.terminal !== undefined) this.terminals.set(d.terminal, [...(this.terminals.get(d.terminal) ?? []), d.name]);
      if (d.policy !== undefined) await this.topUp(live, 'fund');
    }
  }

  private async topUp(d: Live, key: string): Promise<void> {
    const policy = d.plan.policy;
    if (policy === undefined) return;
    const balance = await d.device.balanceMinor();
    if (balance * 2n >= policy.topUpToMinor) return;
    const fi = this.fi(d.plan.fiId);
    try {
      await loadSe(fi, d.sim.deviceId, d.device.se, policy.topUpToMinor - balance, `${d.plan.name}/${key}/load-${d.syncs}`);
    } catch (e) {
      // A frozen owner (a double spender) is refused its load: that is the system working.
      if (!this.inv.isCheater(d.sim.customerId)) throw e;
      this.fault('load-refused', codeOf(e), d.plan.name);
    }
  }

  private async handle(e: Ev): Promise<void> {
    switch (e.kind) {
      case 'day':
        return this.timed('check', () => this.newDay(e.day));
      case 'pay':
        return this.timed('pay', () => this.pay(this.lives.get(e.device)!, e.rule));
      case 'sync':
        return this.timed('sync', () => this.syncOne(this.lives.get(e.device)!, e.reason));
      case 'hostile':
        return this.timed('fault', () => this.hostilePeer(this.lives.get(e.terminal)!));
      case 'restart':
        return this.timed('fault', () => this.restartFi(e.fiId));
      case 'skew':
        return this.timed('fault', () => this.skewClock(this.lives.get(e.device)!));
      case 'broken-se': {
        // The attacker prefers a chip that has spent in this run: it has counters to replay.
        const spent = new Set(this.record.payments.filter((p) => p.outcome === 'paid').map((p) => p.payerDevice));
        const ready = [...this.lives.values()].filter((d) => spent.has(d.plan.name) && d.plan.role === 'payer' && d.plan.syncEveryDays !== null && !this.inv.isCheater(d.sim.customerId));
        return this.timed('fault', () => brokenSeAttack(this, ready.length > 0 ? this.rand.pick(ready) : this.live(e.device)));
      }
      case 'host-attack':
        return this.timed('fault', () => hostAttack(this, this.live(e.device)));
    }
  }

  private async newDay(day: number): Promise<void> {
    const t0 = SIM_START_MS + BigInt(day) * DAY_MS;
    const sample = await this.inv.full(this.step, this.now, false);
    this.record.totals.push({ atMs: Number(this.now), ...sample });
    const at = (fromH: number, toH: number) => t0 + BigInt(this.rand.int(fromH * 60, toH * 60 - 1)) * 60_000n;
    for (const d of this.lives.values()) {
      for (const rule of d.plan.policy?.rules ?? []) {
        const n = this.draw(rule.perDay);
        for (let i = 0; i < n; i++) this.queue.push(at(7, 22), { kind: 'pay', device: d.plan.name, rule });
      }
      const every = d.plan.syncEveryDays;
      if (every !== null && !d.holdout && day % every === (every > 1 ? this.phase(d.plan.name, every) : 0)) {
        let t = d.plan.role === 'terminal' ? at(1, 4) : at(18, 23);
        if (this.rand.chance(this.faults.lateSync)) {
          t += BigInt(this.rand.int(6, 30)) * HOUR_MS;
          this.fault('late-sync', 'scheduled', d.plan.name);
        }
        this.queue.push(t, { kind: 'sync', device: d.plan.name, reason: 'scheduled' });
      }
    }
    if (this.rand.chance(this.faults.hostilePeer)) {
      this.queue.push(at(0, 24), { kind: 'hostile', terminal: this.rand.pick([...this.terminals.values()].flat()) });
    }
    if (this.rand.chance(this.faults.clockSkew)) {
      const payers = [...this.lives.values()].filter((d) => d.plan.role === 'payer').map((d) => d.plan.name);
      this.queue.push(at(0, 24), { kind: 'skew', device: this.rand.pick(payers) });
    }
    const wallets = () => [...this.lives.values()].filter((d) => d.plan.profile === 'wallet' && !this.inv.isCheater(d.sim.customerId)).map((d) => d.plan.name);
    // Drawn only when enabled, so runs without these faults replay as before they existed.
    // A broken SE: any payer with its own link (a wallet, a car, a meter), so every tier's cap is tried.
    const linked = [...this.lives.values()].filter((d) => d.plan.role === 'payer' && d.plan.syncEveryDays !== null && !this.inv.isCheater(d.sim.customerId)).map((d) => d.plan.name);
    for (let i = this.faults.brokenSe > 0 && linked.length > 0 ? this.draw(this.faults.brokenSe) : 0; i > 0; i--) this.queue.push(at(8, 22), { kind: 'broken-se', device: this.rand.pick(linked) });
    for (let i = this.faults.hostAttack > 0 && wallets().length > 0 ? this.draw(this.faults.hostAttack) : 0; i > 0; i--) this.queue.push(at(8, 22), { kind: 'host-attack', device: this.rand.pick(wallets()) });
    if (this.rand.chance(this.faults.fiRestart)) this.queue.push(at(0, 24), { kind: 'restart', fiId: this.rand.pick([...this.net.fis.keys()]) });
    this.queue.push(t0 + DAY_MS, { kind: 'day', day: day + 1 });
  }

  /** Payments of one rule in one day: perDay on average, at most twice as many. */
  private draw(perDay: number): number {
    let n = 0;
    const max = Math.max(1, Math.ceil(2 * perDay));
    for (let i = 0; i < max; i++) if (this.rand.chance(perDay / max)) n++;
    return n;
  }

  /** Which day of its cycle a device that syncs every few days syncs on (from its name, stable). */
  private phase(name: string, every: number): number {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return h % every;
  }

  radioFor(payer: Live, payee: Live): 'nfc' | 'ble' {
    const p = PROFILES[payer.plan.profile].radios;
    const q = PROFILES[payee.plan.profile].radios;
    const both = p.filter((r) => q.includes(r));
    if (both.length === 0) return 'nfc';
    // Machines pay each other over BLE where they can; people tap.
    const m2m = payer.plan.profile === 'vehicle';
    return both.includes(m2m ? 'ble' : 'nfc') ? (m2m ? 'ble' : 'nfc') : both[0]!;
  }

  private amount(rule: SpendRule, max: bigint): bigint {
    const span = Number(rule.maxMinor - rule.minMinor);
    const a = rule.minMinor + BigInt(Math.floor(this.rand.float() * (span + 1)));
    return a > max ? max : a;
  }

  private async pay(payer: Live, rule: SpendRule): Promise<void> {
    const payee = this.lives.get(this.rand.pick(this.terminals.get(rule.payee)!))!;
    const amount = this.amount(rule, payer.plan.policy!.maxPaymentMinor);
    const cheat = payer.plan.profile === 'wallet' && !this.inv.isCheater(payer.sim.customerId) && this.rand.chance(this.faults.restoredSnapshot);
    let image: string | null = null;
    if (cheat) {
      image = this.imageOf(payer);
    }
    if (image === null && this.rand.chance(this.faults.linkLost)) return this.payLinkLost(payer, payee, amount, rule.workload);
    if (image === null && this.faults.powerCut > 0 && this.rand.chance(this.faults.powerCut)) return payWithPowerCut(this, payer, payee, amount, rule.workload);
    const collude = image === null && payer.plan.profile === 'wallet' && !this.inv.isCheater(payer.sim.customerId) && this.faults.collusion > 0 && this.rand.chance(this.faults.collusion);
    if (collude) return colludingDoubleSpend(this, payer, rule.payee, amount, rule.workload);
    const { rec } = await this.payOnce(payer, payer.device, payee, amount, rule.workload);
    if (image === null || rec.outcome !== 'paid') return;
    // The restored image spends the same counter again, at another terminal of the same kind if
    // there is one (the first terminal refuses it offline: it has seen the nullifier).
    const others = this.terminals.get(rule.payee)!.filter((t) => t !== payee.plan.name);
    const second = this.lives.get(others.length > 0 ? this.rand.pick(others) : payee.plan.name)!;
    const clone = openDevice(this.net, `${payer.plan.name}-clone`, PROFILES.wallet, image);
    const { rec: again } = await this.payOnce(payer, clone, second, amount, rule.workload);
    const f = this.fault('restored-snapshot', again.outcome === 'paid' ? 'pending' : `refused-offline`, payer.plan.name);
    if (again.outcome === 'paid') this.inv.doubleSpent(payer.sim.customerId, rec, again, [payee.plan.name, second.plan.name], f);
  }

  /**
   * The link drops after the payer's SE debited and before the payee's SE saw the payment. The
   * payer re-sends over a new link (the payee credits once), or the payment stays stranded: the
   * payer's SE keeps it and every sync files a reclaim claim, credited after the settlement window.
   */
  private async payLinkLost(payer: Live, payee: Live, amount: bigint, workload: string): Promise<void> {
    const radio = this.radioFor(payer, payee);
    const mtu = radio === 'ble' ? Math.min(PROFILES[payer.plan.profile].bleMtu, PROFILES[payee.plan.profile].bleMtu) : 0;
    const epoch = Number((await payer.device.info()).spendingEpoch);
    const [a, b] = memoryLinkPair();
    const payeeSide = payee.device.transport(b, radio, PROFILES[payer.plan.profile].bleMtu);
    const paying = payer.device.pay(payer.device.transport(a, radio, PROFILES[payee.plan.profile].bleMtu), { maxAmountMinor: amount });
    const ready = new PayeeReady({ buildRequest: (x) => payee.device.se.buildPaymentRequest(x), accept: (x) => payee.device.se.acceptPayment(x) }, payeeSide);
    try {
      await ready.sendRequest(amount);
      await payeeSide.receive();
    } catch {
      // The payer refused before paying (a limit): nothing was debited.
    } finally {
      payeeSide.close();
    }
    const lost = await paying.then(() => null, (e: unknown) => e);
    const base = { step: this.step, atMs: Number(this.now), payerDevice: payer.plan.name, payeeDevice: payee.plan.name, payerProfile: payer.plan.profile, payeeProfile: payee.plan.profile, amountMinor: amount, epoch, link: radio, mtu, workload } as const;
    if (!(lost instanceof PayerLinkLost)) {
      this.record.payments.push({ ...base, nullifier: '', bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'refused' });
      return;
    }
    const kept = await payer.device.se.getUnconfirmedPayments();
    const mine = kept.at(-1)!;
    if (!this.rand.chance(this.faults.resendAfterLoss)) {
      this.record.payments.push({ ...base, nullifier: '', bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'interrupted' });
      this.inv.stranded(payer.plan.name, amount, this.fault('link-lost', 'stranded', payer.plan.name));
      return;
    }
    const [c, d] = memoryLinkPair();
    const [out, got] = await Promise.all([
      payer.device.resend(payer.device.transport(c, radio, PROFILES[payee.plan.profile].bleMtu), { requestId: mine.requestId }),
      payee.device.receive(payee.device.transport(d, radio, PROFILES[payer.plan.profile].bleMtu), amount),
    ]);
    if (got.amountMinor !== amount) throw new Error(`re-sent payment credited ${got.amountMinor}, expected ${amount}`);
    const nullifier = nullifierOf(out.payment);
    this.record.payments.push({ ...base, nullifier, bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'paid' });
    payee.pendingNullifiers.push(nullifier);
    payee.pendingMinor += amount;
    this.fault('link-lost', 'recovered', payer.plan.name);
  }

  async payOnce(payer: Live, device: Device, payee: Live, amount: bigint, workload: string): Promise<PaidOnce> {
    const radio = this.radioFor(payer, payee);
    const mtu = radio === 'ble' ? Math.min(PROFILES[payer.plan.profile].bleMtu, PROFILES[payee.plan.profile].bleMtu) : 0;
    const r = await payOffline(device, payee.device, amount, radio);
    const nullifier = r.payment === null ? '' : nullifierOf(r.payment);
    const rec: PaymentRecord = {
      step: this.step, atMs: Number(this.now), payerDevice: payer.plan.name, payeeDevice: payee.plan.name,
      payerProfile: payer.plan.profile, payeeProfile: payee.plan.profile, amountMinor: amount, epoch: r.epoch,
      nullifier, link: radio, mtu, bytesPayerToPayee: r.bytesOut, bytesPayeeToPayer: r.bytesIn,
      outcome: r.error === null ? 'paid' : 'refused', workload,
    };
    this.record.payments.push(rec);
    if (r.error === null) {
      this.credited(payee, nullifier, amount);
      return { rec, payment: r.payment };
    }
    const reason = FORCING[r.error];
    // The device that must sync is the one whose limit was hit: the payee for a full log or holding limit, else the payer.
    const stuck = r.error === 'HOLDING_LIMIT' || (r.error === 'LOG_FULL' && r.side === 'payee') ? payee : payer;
    if (reason !== undefined && !stuck.forced && device === payer.device) {
      stuck.forced = true;
      this.record.offlineRuns.push({
        device: stuck.plan.name, profile: stuck.plan.profile, workload,
        days: Number(this.now - stuck.lastSyncMs) / Number(DAY_MS), forcedBy: reason,
      });
      // A phone, a car or a meter finds a link within the hour; a wearable waits for its phone
      // (unless left offline on purpose: then its owner syncs it on its own within the hour).
      if (stuck.plan.syncEveryDays !== null || stuck.holdout) this.queue.push(this.now + HOUR_MS, { kind: 'sync', device: stuck.plan.name, reason });
    }
    return { rec, payment: null };
  }

  private async syncOne(d: Live, reason: SyncRecord['reason']): Promise<void> {
    if (d.plan.via !== undefined) return this.syncDevice(d, reason);
    await this.syncDevice(d, reason);
    // Wearables sync through their owner's phone while it has a link.
    for (const w of this.lives.values()) if (w.plan.via === d.plan.name && (!w.holdout || w.forced)) await this.syncDevice(w, 'link');
  }

  private async syncDevice(d: Live, reason: SyncRecord['reason']): Promise<void> {
    const fi = this.fi(d.plan.fiId);
    const key = `${d.plan.name}/sync-${d.syncs}`;
    const terminal = d.plan.role === 'terminal';
    if (reason === 'scheduled' && this.now < d.holdUntilMs) return void this.fault('held-back-sync', 'skipped', d.plan.name);
    const receiptsBefore = (await d.device.se.getInfo()).receiptCount;
    try {
      if (this.faults.powerCut > 0 && this.rand.chance(this.faults.powerCut)) await syncWithPowerCut(this, d, () => syncDevice(d.device.se, fi, { defundAll: terminal, keyPrefix: key }));
      else await syncDevice(d.device.se, fi, { defundAll: terminal, keyPrefix: key });
      if (this.rand.chance(this.faults.duplicateSync)) {
        await syncDevice(d.device.se, fi, { defundAll: terminal, keyPrefix: key });
        this.fault('duplicate-sync', 'absorbed', d.plan.name);
      }
    } catch (e) {
      if (!this.inv.isCheater(d.sim.customerId)) {
        // The ledger refusing an honest device (a defund short of circulation, a sync it should take)
        // is an invariant broken, named with the seed and step, not a crash of the run.
        if (e instanceof LedgerError || e instanceof SeError) this.broken('honest-sync', `${d.plan.name} (customer ${d.sim.customerId}, who never cheated) was refused at sync: ${codeOf(e)}: ${(e as Error).message}`);
        throw e;
      }
      this.fault('sync-refused', codeOf(e), d.plan.name);
    }
    const info = await d.device.se.getInfo();
    const rec: SyncRecord = {
      step: this.step, atMs: Number(this.now), device: d.plan.name, profile: d.plan.profile, fiId: d.plan.fiId,
      receipts: receiptsBefore, nullifiers: d.pendingNullifiers, receivedMinor: d.pendingMinor, balanceMinor: info.balanceMinor, reason,
    };
    this.record.syncs.push(rec);
    this.inv.synced(d.plan.name, this.now, d.pendingNullifiers);
    d.pendingNullifiers = [];
    d.pendingMinor = 0n;
    d.lastSyncMs = this.now;
    d.forced = false;
    d.syncs++;
    await this.topUp(d, 'sync');
    await this.inv.afterSync(this.step, this.now);
  }

  /** A hostile peer answers a terminal's payment request with random frames: refused, nothing changes. */
  private async hostilePeer(t: Live): Promise<void> {
    const before = await t.device.se.getInfo();
    const [a, b] = memoryLinkPair();
    const payee = t.device.transport(b, 'nfc', PROFILES[t.plan.profile].bleMtu);
    const fuzz = (async () => {
      await a.receiveFrame(2_000).catch(() => undefined);
      for (let i = 0; i < this.rand.int(1, 4); i++) {
        const n = this.rand.int(1, 64);
        const frame = new Uint8Array(n);
        for (let j = 0; j < n; j++) frame[j] = this.rand.int(0, 255);
        await a.sendFrame(frame).catch(() => undefined);
      }
      a.close();
    })();
    let refused = false;
    try {
      await t.device.receive(payee, units(5), { timeoutMs: 2_000 });
    } catch {
      refused = true;
    } finally {
      payee.close();
      await fuzz;
    }
    const after = await t.device.se.getInfo();
    if (!refused || after.balanceMinor !== before.balanceMinor || after.receiptCount !== before.receiptCount) {
      throw new FleetInvariantBroken(this.options.seed, Number(this.now), this.step, 'hostile-peer-refused', `terminal ${t.plan.name} accepted fuzzed frames or changed state`);
    }
    this.fault('hostile-peer', 'refused', t.plan.name);
  }

  /** The device's host restarts its SE over the same NVM with a clock that runs ahead or behind. */
  private async skewClock(d: Live): Promise<void> {
    const skewMs = BigInt(this.rand.int(-30, 30)) * 60_000n;
    const clock = this.net.clock;
    d.seClock = () => clock.nowMs + skewMs;
    this.restartSe(d, 'skew');
    this.fault('clock-skew', `${skewMs / 60_000n} min`, d.plan.name);
  }

  private async restartFi(fiId: string): Promise<void> {
    await this.net.reopenFi(fiId, `${fiId}/restart-${this.restarts++}`);
    this.fault('fi-restart', 'recovered');
  }

  /** End of the run: every device syncs (twice, so reclaims and defunds settle), then the quiescent audit. */
  private async quiesce(): Promise<void> {
    this.step++;
    // Colluding payees hold nothing back at the end: every receipt reaches the ledger.
    for (const d of this.lives.values()) d.holdUntilMs = 0n;
    for (let round = 0; round < 2; round++) {
      for (const d of this.lives.values()) if (d.plan.via === undefined) await this.syncOne(d, 'scheduled');
      // Wearables left offline on purpose come home too.
      for (const d of this.lives.values()) if (d.plan.via !== undefined && d.holdout) await this.syncDevice(d, 'scheduled');
    }
    // Stranded payments: past their settlement window, the payer's next sync reclaims them.
    const stranded = this.inv.strandedPayers();
    if (stranded.length > 0) {
      const policy = await this.net.cb.currentPolicy();
      let end = this.now;
      for (const name of stranded) {
        const d = this.lives.get(name)!;
        for (const k of await d.device.se.getUnconfirmedPayments()) {
          const w = settlementWindowEndMs(policy, d.sim.tier, k.epoch);
          if (w >= end) end = w + HOUR_MS;
        }
      }
      this.net.clock.nowMs = end;
      for (const name of stranded) {
        const d = this.lives.get(name)!;
        await this.syncDevice(d, 'scheduled');
        if ((await d.device.se.getUnconfirmedPayments()).length > 0) {
          throw new FleetInvariantBroken(this.options.seed, Number(this.now), this.step, 'stranded-reclaimable', `${name} still holds a stranded payment after its settlement window and a sync`);
        }
      }
      this.inv.reclaimed();
    }
    const sample = await this.inv.full(this.step, this.now, true);
    this.record.totals.push({ atMs: Number(this.now), ...sample });
  }
}


interface PayResult {
  payment: Uint8Array | null;
  epoch: number;
  bytesOut: number;
  bytesIn: number;
  /** The refusing side's status name, or null when paid. */
  error: string | null;
  side: 'payer' | 'payee' | null;
}

/**
 * One offline payment over an in-memory link (as network.ts payOffline), but it never throws for a
 * refusal: it waits for both sides, so no half of the exchange is left running, and names who refused.
 */
async function payOffline(payer: Device, payee: Device, amountMinor: bigint, radio: 'nfc' | 'ble'): Promise<PayResult> {
  const [a, b] = memoryLinkPair();
  const out: number[] = [];
  const inn: number[] = [];
  const payerT = countingTransport(payer.transport(a, radio, payee.profile.bleMtu), out);
  const payeeT = countingTransport(payee.transport(b, radio, payer.profile.bleMtu), inn);
  const epoch = Number((await payer.info()).spendingEpoch);
  const paying = payer.pay(payerT, { maxAmountMinor: amountMinor }).finally(() => payerT.close());
  const receiving = payee.receive(payeeT, amountMinor).finally(() => payeeT.close());
  const [p, r] = await Promise.allSettled([paying, receiving]);
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  if (p.status === 'fulfilled' && r.status === 'fulfilled') {
    return { payment: p.value.payment, epoch, bytesOut: sum(out), bytesIn: sum(inn), error: null, side: null };
  }
  // The side that refused with a status word is the one to name; the other only lost its link.
  const se = [p, r].map((x) => (x.status === 'rejected' && x.reason instanceof SeError ? x.reason.code : null));
  const side = se[0] !== null ? 'payer' : se[1] !== null ? 'payee' : p.status === 'rejected' ? 'payer' : 'payee';
  const reason = se[0] ?? se[1] ?? codeOf(p.status === 'rejected' ? p.reason : (r as PromiseRejectedResult).reason);
  return { payment: null, epoch, bytesOut: sum(out), bytesIn: sum(inn), error: reason, side };
}

export { FleetInvariantBroken };
