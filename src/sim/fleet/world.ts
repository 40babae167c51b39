// The state of a running fleet and the services the fault drivers use (the FleetArena of
// arena.ts): the live devices and terminals, the run's record, its invariants, its one source of
// choices, and SE restarts and images. The engine (engine.ts) extends it with the event queue and
// what each event does.

import { cpSync } from 'node:fs';
import path from 'node:path';
import { seededRng, type Rng } from '../../crypto/index.ts';
import { Device, PROFILES } from '../../device/index.ts';
import type { FinancialIntermediary } from '../../ledger/index.ts';
import type { NvmBackend } from '../../se/index.ts';
import type { SimDatabase } from '../node_databases.ts';
import { openDevice, SIM_START_MS, type SimNetwork } from '../network.ts';
import type { FleetArena, Live, PaidOnce } from './arena.ts';
import { faultsOption, type FaultRates } from './fault_rates.ts';
import { FleetInvariantBroken, Invariants } from './invariants.ts';
import type { TerminalKind } from './population.ts';
import { SimRandom } from './random.ts';
import type { FaultRecord, PaymentRecord, RunRecord } from './types.ts';

export const DAY_MS = 86_400_000n;

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

export abstract class FleetWorld implements FleetArena {
  readonly rand: SimRandom;
  protected readonly lives = new Map<string, Live>();
  protected readonly terminals = new Map<TerminalKind, string[]>();
  protected readonly record: RunRecord;
  readonly inv: Invariants;
  readonly seed: string;
  step = 0;
  private readonly counters = new Map<string, number>();
  private snapshots = 0;
  protected readonly endMs: bigint;

  constructor(
    readonly net: SimNetwork,
    protected readonly options: FleetOptions,
    protected readonly faults: FaultRates,
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

  protected fi(fiId: string): FinancialIntermediary {
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

  radioFor(payer: Live, payee: Live): 'nfc' | 'ble' {
    const p = PROFILES[payer.plan.profile].radios;
    const q = PROFILES[payee.plan.profile].radios;
    const both = p.filter((r) => q.includes(r));
    if (both.length === 0) return 'nfc';
    // Machines pay each other over BLE where they can; people tap.
    const m2m = payer.plan.profile === 'vehicle';
    return both.includes(m2m ? 'ble' : 'nfc') ? (m2m ? 'ble' : 'nfc') : both[0]!;
  }

  abstract payOnce(payer: Live, device: Device, payee: Live, amountMinor: bigint, workload: string): Promise<PaidOnce>;
}
