// The fleet simulator's engine (issue 13): one seed, one process, the real network of
// src/sim/network.ts (CB and FIs on SQLite, real SEs over APDUs, real proofs), a simulated clock
// driven by an event queue ordered by (time, seq), and a RunRecord of everything that happened.
//
// A run: plan the city (population.ts), enrol and fund every device, then each simulated day
// schedule each payer's payments (per its spending policy) and each device's syncs (link model:
// phones daily, rural phones every third day, wearables when their owner's phone syncs, cars
// every other day, meters and terminals daily), and play the queue. Faults are drawn with their
// rates as the queue plays (FaultRates names them; powercut.ts and attackers.ts drive the SE power
// cuts, broken SEs, host attacks and colluding payees through the FleetArena of arena.ts,
// which world.ts implements). Invariants (invariants.ts) are checked after
// every sync (the cheap ones) and at every simulated midnight and at the end (the full network
// audit); the first broken one throws FleetInvariantBroken with the seed, time and step.

import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Device, PROFILES } from '../../device/index.ts';
import { LedgerError, syncDevice } from '../../ledger/index.ts';
import { settlementWindowEndMs } from '../../policy/settlement.ts';
import { Tier } from '../../policy/limits.ts';
import { SeError } from '../../se/status.ts';
import { enrolDevice, issueToFi, loadSe, openDevice, openSimNetwork, registerCustomer, SIM_START_MS, type SimNetwork } from '../network.ts';
import { nullifierOf, type Live, type PaidOnce } from './arena.ts';
import { brokenSeAttack, colludingDoubleSpend, hostAttack } from './attackers.ts';
import { DEFAULT_FAULTS, givenFaults, type FaultRates } from './fault_rates.ts';
import { hostilePeer } from './hostile_peer.ts';
import { FleetInvariantBroken } from './invariants.ts';
import { payLinkLost } from './link_lost.ts';
import { FORCING, codeOf, payOffline } from './offline_pay.ts';
import { fiAllocation, openingDeposit, planPopulation, type SpendRule } from './population.ts';
import { payWithPowerCut, syncWithPowerCut } from './powercut.ts';
import { EventQueue } from './random.ts';
import { scratchRoot } from './scratch.ts';
import type { PaymentRecord, RunRecord, SyncRecord } from './types.ts';
import { DAY_MS, FleetWorld, type FleetOptions } from './world.ts';

const HOUR_MS = 3_600_000n;

type Ev =
  | { kind: 'day'; day: number }
  | { kind: 'pay'; device: string; rule: SpendRule }
  | { kind: 'sync'; device: string; reason: SyncRecord['reason'] }
  | { kind: 'hostile'; terminal: string }
  | { kind: 'restart'; fiId: string }
  | { kind: 'skew'; device: string }
  | { kind: 'broken-se'; device: string }
  | { kind: 'host-attack'; device: string };

/** The fleet's FIs (with the CB, the ledger nodes of a run). */
export const FLEET_FI_IDS: readonly string[] = ['bank-a', 'bank-b'];

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

class Engine extends FleetWorld {
  private readonly queue = new EventQueue<Ev>();
  private restarts = 0;

  constructor(
    net: SimNetwork,
    options: FleetOptions,
    faults: FaultRates,
    private readonly timed: <T>(phase: string, f: () => Promise<T>) => Promise<T>,
  ) {
    super(net, options, faults);
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
    for (const fiId of net.fis.keys()) await issueToFi(net, this.fi(fiId), fiAllocation(plan, fiId), `alloc/${fiId}`);
    const owners = new Map<string, { customerId: string; accountId: string }>();
    for (const c of plan.customers) {
      const owner = await registerCustomer(this.fi(c.fiId), c.name, c.merchant ? Tier.merchant : Tier.full, openingDeposit(c));
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
        return this.timed('fault', () => hostilePeer(this, this.lives.get(e.terminal)!));
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
    if (image === null && this.rand.chance(this.faults.linkLost)) return payLinkLost(this, this.faults.resendAfterLoss, payer, payee, amount, rule.workload);
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
