// What the fault and attacker drivers of the fleet simulator (powercut.ts, attackers.ts) may use of
// a running fleet: the network, the run's one source of choices, the invariants, the live devices
// and a few engine services (restart an SE, image its NVM, record a payment). Kept as an interface
// so the drivers live in their own files and the engine stays the one place that owns the queue.

import { bytesToHex } from '@noble/hashes/utils.js';
import { decodePaymentProof, type Rng } from '../../crypto/index.ts';
import type { Device } from '../../device/index.ts';
import { decodePayment } from '../../protocol/index.ts';
import type { NvmBackend } from '../../se/index.ts';
import type { SimDevice, SimNetwork } from '../network.ts';
import type { Invariants } from './invariants.ts';
import type { PlannedDevice, TerminalKind } from './population.ts';
import type { SimRandom } from './random.ts';
import type { FaultRecord, PaymentRecord } from './types.ts';

export interface Live {
  plan: PlannedDevice;
  sim: SimDevice;
  device: Device;
  /** The SE's clock (the network's, or a skewed one after a clock-skew fault); kept across restarts. */
  seClock: () => bigint;
  /** Ground truth received since the last sync: nullifiers and amounts. */
  pendingNullifiers: string[];
  pendingMinor: bigint;
  lastSyncMs: bigint;
  syncs: number;
  /** Set when something forced a sync (the offline run ended). */
  forced: boolean;
  /** Left offline until something forces a sync. */
  holdout: boolean;
  /** A colluding payee holds its receipts back: its scheduled syncs before this time are skipped. */
  holdUntilMs: bigint;
}

/** One offline payment's outcome as the engine ran it, with the payment bytes when it was paid. */
export interface PaidOnce {
  rec: PaymentRecord;
  payment: Uint8Array | null;
}

export interface FleetArena {
  readonly net: SimNetwork;
  readonly rand: SimRandom;
  readonly inv: Invariants;
  readonly seed: string;
  readonly step: number;
  readonly now: bigint;
  live(name: string): Live;
  /** Every live device, in enrolment order. */
  devices(): Live[];
  terminalsOf(kind: TerminalKind): Live[];
  fault(kind: string, result: string, device?: string): FaultRecord;
  /** Stops the run: the named invariant is broken. */
  broken(invariant: string, why: string): never;
  radioFor(payer: Live, payee: Live): 'nfc' | 'ble';
  /** Restarts `d`'s SE over its NVM directory, or over `backend` (which wraps that directory). */
  restartSe(d: Live, tag: string, backend?: NvmBackend): Device;
  /** Copies `d`'s NVM to a fresh image directory (what an attacker reads or restores). */
  imageOf(d: Live): string;
  /** A second SE over an image directory: the restored or cloned chip. */
  openImage(d: Live, dir: string): Device;
  /** One offline payment between two devices; refusals are recorded, never thrown. */
  payOnce(payer: Live, device: Device, payee: Live, amountMinor: bigint, workload: string): Promise<PaidOnce>;
  recordPayment(rec: PaymentRecord): void;
  /** The payee's SE took a payment (ground truth for the next sync's checks). */
  credited(payee: Live, nullifier: string, amountMinor: bigint): void;
  /** Paid payments of this run that revealed `nullifier` (hex). */
  paidWith(nullifier: string): PaymentRecord[];
  /** How many times `name` was counted before in this run (then counts this one). */
  next(name: string): number;
  /** A randomness stream for an attacker's own proofs and keys, from the run's seed and this step. */
  rng(label: string): Rng;
}

/** Hex of the nullifier a payment's proof reveals. */
export function nullifierOf(payment: Uint8Array): string {
  const wire = decodePayment(payment);
  return bytesToHex(decodePaymentProof(wire.proof, new Uint8Array(0)).statement.N.toBytes());
}
