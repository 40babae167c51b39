// The time series behind the console's circulation chart: each network audit the console runs
// leaves one sample of the totals, kept in memory in a ring of bounded size (the chart shows the
// node's recent history since it started; the books themselves are the durable record, so losing
// the samples on a restart loses nothing the ledger needs).

import assert from 'node:assert/strict';
import type { NetworkTotals } from '../network_audit.ts';

/** Samples kept; each is 5 bigints and a time, so the ring costs well under 1 MB at this size. */
export const CIRCULATION_SAMPLES_MAX = 2000;

export interface CirculationSample {
  atMs: number;
  issuedMinor: bigint;
  accountsMinor: bigint;
  seBalancesMinor: bigint;
  inFlightMinor: bigint;
  reservesMinor: bigint;
}

export class CirculationSamples {
  private readonly ring: CirculationSample[] = [];

  constructor(private readonly capacity = CIRCULATION_SAMPLES_MAX) {
    assert(Number.isInteger(capacity) && capacity > 0, `sample capacity must be a positive integer, got ${capacity}`);
  }

  /** Records the totals of one audit; the oldest sample goes when the ring is full. */
  add(atMs: number, t: NetworkTotals): void {
    const last = this.ring[this.ring.length - 1];
    // A clock that steps back would draw a line backwards: keep the series ordered.
    const at = last === undefined ? atMs : Math.max(atMs, last.atMs);
    this.ring.push({ atMs: at, issuedMinor: t.issuedMinor, accountsMinor: t.accountsMinor, seBalancesMinor: t.seBalancesMinor, inFlightMinor: t.inFlightMinor, reservesMinor: t.reservesMinor });
    if (this.ring.length > this.capacity) this.ring.shift();
    assert(this.ring.length <= this.capacity, 'sample ring over capacity');
  }

  list(): readonly CirculationSample[] {
    return this.ring;
  }
}
