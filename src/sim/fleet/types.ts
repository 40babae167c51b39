// The fleet simulator's shared vocabulary (issue 13): what the run records as it goes, which the
// analysis (figures per device class, the linking attack, the report) reads. The engine
// (src/sim/fleet/) fills a RunRecord; src/sim/analysis/ turns it into a FleetReport. Everything is
// plain data (bigint for money, simulated milliseconds for time), so a report is a pure function
// of the record and the same seed gives the same bytes.

import type { ProfileName } from '../../device/profiles.ts';

/** One offline payment as the simulator saw it (ground truth, for checks and the privacy score). */
export interface PaymentRecord {
  /** Step number of the run at which it happened. */
  step: number;
  atMs: number;
  payerDevice: string;
  payeeDevice: string;
  payerProfile: ProfileName;
  payeeProfile: ProfileName;
  amountMinor: bigint;
  epoch: number;
  /** Hex of the nullifier the proof revealed. */
  nullifier: string;
  /** Link the payment ran over, and its framing's MTU (BLE) or frame size (NFC). */
  link: 'nfc' | 'ble';
  mtu: number;
  /** Bytes each way on the link. */
  bytesPayerToPayee: number;
  bytesPayeeToPayer: number;
  /** How it ended: paid, or why not (a fault, a refusal). */
  outcome: 'paid' | 'refused' | 'interrupted';
  /** Workload that produced it: transit, retail, ev, vending, m2m. */
  workload: string;
}

/** One device sync as the ledger saw it: what the FI and the CB learn (the privacy adversaries' view). */
export interface SyncRecord {
  step: number;
  atMs: number;
  device: string;
  profile: ProfileName;
  fiId: string;
  /** Receipts uploaded in the batch, with the nullifiers the CB registers. */
  receipts: number;
  nullifiers: string[];
  /** Σ received in the batch as the FI sees it. */
  receivedMinor: bigint;
  /** The device's reported balance after the sync. */
  balanceMinor: bigint;
  /** Why the device synced: link appeared, receipt log full, offline spend limit, L used up, epoch end, holding limit. */
  reason: 'link' | 'receipt-log-full' | 'offline-spend-limit' | 'counter-limit' | 'epoch-end' | 'holding-limit' | 'scheduled';
}

/** Network totals at one moment (conservation: issued = accounts + SE balances + in flight). */
export interface TotalsSample {
  atMs: number;
  issuedMinor: bigint;
  accountsMinor: bigint;
  seBalancesMinor: bigint;
  inFlightMinor: bigint;
}

/** A fault or attack the run injected, and what the system did about it. */
export interface FaultRecord {
  step: number;
  atMs: number;
  kind: string;
  device?: string;
  /** e.g. 'detected', 'identified', 'refused', 'recovered', 'reclaimed'. */
  result: string;
}

/** Per device: its profile and the first thing that forced it to sync when left offline. */
export interface OfflineRun {
  device: string;
  profile: ProfileName;
  workload: string;
  /** Simulated days it stayed offline before something forced a sync. */
  days: number;
  forcedBy: SyncRecord['reason'];
}

export interface RunRecord {
  seed: string;
  /**
   * What the run was given. `faults`: the fault rates set for this run (`tally sim --fault
   * NAME=RATE`, FleetOptions.faults), by name; absent when none was, every rate its default.
   */
  options: { customers: number; days: number; db: 'sqlite' | 'postgres'; faults?: Record<string, number> };
  startMs: number;
  endMs: number;
  /** device id → profile and owner (ground truth; never shown to the adversaries). */
  devices: { id: string; profile: ProfileName; owner: string; fiId: string }[];
  payments: PaymentRecord[];
  syncs: SyncRecord[];
  totals: TotalsSample[];
  faults: FaultRecord[];
  offlineRuns: OfflineRun[];
  /** Wall-clock milliseconds per phase of the run (for "where the time goes"); not part of the deterministic report. */
  wallMs?: Record<string, number>;
}
