// What must hold throughout a fleet run, and when it is checked (issue 13):
//
// After every sync (cheap: the CB's incident list and the run's ground truth):
//   - no honest customer is ever identified: every incident names a customer the run made cheat;
//   - every double spend is detected and its customer identified, as soon as both payees of the
//     spent nullifier have synced after the second payment;
//   - no honest device's defund is refused (honest-defund): every unload record an FI applied for
//     a customer who never cheated has its CB leg done, even while a double spend's value is not
//     booked yet and circulation is short of it (the CB draws on the incident's exposure,
//     src/ledger/cb/incident_draws.ts).
// At every simulated midnight and at the end (the full network audit, src/ledger/network_audit.ts):
//   - conservation per FI and for the network: each book balances, reserves mirror the FI books,
//     issued + booked double-spend value = accounts + SE balances + in flight;
//   - no nullifier settled twice: no payment settled by two FIs, every settled receipt registered
//     at the CB, every nullifier seen with two payments has an incident;
//   - no voucher or unload left with its CB leg pending;
//   - no receipt lost: every payment a payee took is registered at the CB once the payee synced.
// At the end, every stranded payment (link lost after the payer's debit, never re-sent) must be
// reclaimed by its payer's first sync after the settlement window. After every device synced twice, the audit runs quiescent: in flight must be
// exactly the value the double spends created and the CB has not drawn yet, and the run books each
// incident's value (the sum of its double spends, once per incident: the CB counts what it drew
// against the incident and moves only the rest); then the books must be clean and in flight zero
// (every stranded payment was reclaimed or settled).
// Where a fault is injected (powercut.ts, attackers.ts), at once: a power cut leaves the payment
// whole or reclaimable (power-cut-atomic); a host attack is refused with no state change
// (host-attack-refused); a broken SE takes nothing above cap(t) or past L, and its loss and live
// credentials stay within the printed bound (broken-se-bound). A double spend whose spending device
// is known (a broken SE, a colluding payer) must have an incident naming that very device.
// The first broken invariant throws FleetInvariantBroken: seed, simulated time, step, which, why.

import { bytesToHex } from '@noble/hashes/utils.js';
import { auditNetwork, formatNetworkAudit } from '../../ledger/index.ts';
import type { SimNetwork } from '../network.ts';
import type { FaultRecord, PaymentRecord, TotalsSample } from './types.ts';

export class FleetInvariantBroken extends Error {
  constructor(
    readonly seed: string,
    readonly atMs: number,
    readonly step: number,
    readonly invariant: string,
    readonly why: string,
  ) {
    super(`invariant ${invariant} broken at step ${step}, simulated ${new Date(atMs).toISOString()} (seed ${seed}; tally sim --seed ${seed} replays it): ${why}`);
    this.name = 'FleetInvariantBroken';
  }
}

interface DoubleSpend {
  customerId: string;
  nullifier: string;
  amountMinor: bigint;
  atMs: bigint;
  payees: string[];
  fault: FaultRecord;
  identified: boolean;
  /** The device the incident must name, when the run knows which one spent (a broken SE, a colluding payer). */
  deviceId?: Uint8Array;
}

export class Invariants {
  /** customer id → the run's name for the customer. */
  readonly customerOf = new Map<string, string>();
  private readonly cheaters = new Set<string>();
  private readonly doubleSpends: DoubleSpend[] = [];
  private readonly lastSync = new Map<string, bigint>();
  /** Nullifiers of receipts handed to an FI at a sync (ground truth), not yet seen at the CB. */
  private readonly uploaded = new Set<string>();

  constructor(
    private readonly net: SimNetwork,
    private readonly seed: string,
  ) {}

  private readonly strandedList: { device: string; amountMinor: bigint; fault: FaultRecord }[] = [];

  stranded(device: string, amountMinor: bigint, fault: FaultRecord): void {
    this.strandedList.push({ device, amountMinor, fault });
  }

  strandedPayers(): string[] {
    return [...new Set(this.strandedList.map((s) => s.device))];
  }

  reclaimed(): void {
    for (const s of this.strandedList) s.fault.result = 'reclaimed';
  }

  isCheater(customerId: string): boolean {
    return this.cheaters.has(customerId);
  }

  doubleSpent(customerId: string, first: PaymentRecord, second: PaymentRecord, payees: string[], fault: FaultRecord, deviceId?: Uint8Array): void {
    this.cheaters.add(customerId);
    this.doubleSpends.push({
      customerId, nullifier: first.nullifier, amountMinor: second.amountMinor, atMs: BigInt(second.atMs), payees, fault, identified: false,
      ...(deviceId === undefined ? {} : { deviceId }),
    });
  }

  synced(device: string, atMs: bigint, nullifiers: readonly string[]): void {
    this.lastSync.set(device, atMs);
    for (const n of nullifiers) this.uploaded.add(n);
  }

  private broken(step: number, atMs: bigint, invariant: string, why: string): never {
    throw new FleetInvariantBroken(this.seed, Number(atMs), step, invariant, why);
  }

  async afterSync(step: number, atMs: bigint): Promise<void> {
    const incidents = await this.net.cb.incidents();
    const named = new Set<string>();
    const devices = new Map<string, string | null>();
    for (const i of incidents) {
      if (i.customerId === null) continue;
      if (!this.cheaters.has(i.customerId)) {
        this.broken(step, atMs, 'no-honest-device-identified', `incident ${i.id} names customer ${this.customerOf.get(i.customerId) ?? i.customerId}, who never double spent`);
      }
      named.add(`${i.customerId}/${bytesToHex(i.nullifier)}`);
      devices.set(bytesToHex(i.nullifier), i.deviceId === null ? null : bytesToHex(i.deviceId));
    }
    await this.honestDefunds(step, atMs);
    for (const ds of this.doubleSpends) {
      if (ds.identified) continue;
      if (named.has(`${ds.customerId}/${ds.nullifier}`)) {
        const device = devices.get(ds.nullifier);
        if (ds.deviceId !== undefined && device !== bytesToHex(ds.deviceId)) {
          this.broken(step, atMs, 'double-spend-identified', `the incident for nullifier ${ds.nullifier.slice(0, 16)}… names device ${device ?? 'none'}, not the spending device ${bytesToHex(ds.deviceId).slice(0, 16)}…`);
        }
        ds.identified = true;
        ds.fault.result = 'identified';
        continue;
      }
      const due = ds.payees.every((p) => (this.lastSync.get(p) ?? -1n) > ds.atMs);
      if (due) {
        this.broken(step, atMs, 'double-spend-identified', `customer ${this.customerOf.get(ds.customerId)} spent nullifier ${ds.nullifier.slice(0, 16)}… twice; both payees (${ds.payees.join(', ')}) synced and no incident names them`);
      }
    }
  }

  /** Every unload an FI applied for an honest customer reached the CB (see the file comment). */
  private async honestDefunds(step: number, atMs: bigint): Promise<void> {
    for (const fi of this.net.fis.values()) {
      const rows = await fi.db.query(
        'SELECT u.device_id, u.unload_counter, u.amount_minor, d.customer_id FROM unload_records u JOIN devices d ON d.device_id = u.device_id WHERE u.cb_done = 0',
      );
      for (const r of rows) {
        const customerId = String(r['customer_id']);
        if (this.cheaters.has(customerId)) continue;
        this.broken(step, atMs, 'honest-defund', `${fi.fiId}: the defund of ${String(r['amount_minor'])} (unload ${String(r['unload_counter'])}) by customer ${this.customerOf.get(customerId) ?? customerId}, who never double spent, was not taken by the CB`);
      }
    }
  }

  /** The full network audit (and receipts against the CB registry); quiescent at the end of a run. */
  async full(step: number, atMs: bigint, quiescent: boolean): Promise<Omit<TotalsSample, 'atMs'>> {
    const nodes = { cb: this.net.cb, fis: [...this.net.fis.values()] };
    await this.afterSync(step, atMs);
    const registered = new Set<string>();
    for (const r of await this.net.cbDb.query<{ nullifier: Uint8Array }>('SELECT nullifier FROM nullifiers')) registered.add(bytesToHex(r.nullifier));
    for (const n of this.uploaded) {
      if (!registered.has(n)) this.broken(step, atMs, 'no-receipt-lost', `a receipt for nullifier ${n.slice(0, 16)}… was synced to its FI and is not registered at the CB`);
    }
    if (quiescent) {
      // Value the double spends created (ground truth amounts), booked once per incident: the CB
      // counts what it already drew against the incident to cover defunds and moves only the rest.
      const incidents = await this.net.cb.incidents();
      const values = new Map<string, bigint>();
      for (const ds of this.doubleSpends) {
        const i = incidents.find((x) => x.customerId === ds.customerId && bytesToHex(x.nullifier) === ds.nullifier);
        if (i === undefined) this.broken(step, atMs, 'double-spend-identified', `customer ${this.customerOf.get(ds.customerId)}'s double spend has no incident after every device synced`);
        values.set(i.id, (values.get(i.id) ?? 0n) + ds.amountMinor);
      }
      for (const [id, amountMinor] of values) await this.net.cb.bookIncidentValue({ amountMinor, reference: id, idempotencyKey: `sim/book/${id}` });
    }
    const audit = await auditNetwork(nodes, { nowMs: Number(atMs), expectQuiescent: quiescent });
    if (audit.violations.length > 0 || (quiescent && audit.alarms.length > 0)) {
      this.broken(step, atMs, quiescent ? 'quiescent-audit' : 'conservation-and-nullifiers', formatNetworkAudit(audit));
    }
    const t = audit.totals;
    return { issuedMinor: t.issuedMinor, accountsMinor: t.accountsMinor, seBalancesMinor: t.seBalancesMinor, inFlightMinor: t.inFlightMinor };
  }
}
