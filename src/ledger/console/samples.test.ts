// The console's circulation series: bounded, ordered in time, one sample per audit.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CirculationSamples } from './samples.ts';
import type { NetworkTotals } from '../network_audit.ts';

const totals = (issuedMinor: bigint): NetworkTotals => ({
  issuedMinor, incidentValueMinor: 0n, reservesMinor: issuedMinor, accountsMinor: issuedMinor, circulationMinor: 0n, seBalancesMinor: 0n, inFlightMinor: 0n,
});

describe('CirculationSamples', () => {
  test('keeps the newest samples up to its capacity, dropping the oldest first', () => {
    const s = new CirculationSamples(3);
    for (let i = 1; i <= 5; i++) s.add(i * 1000, totals(BigInt(i)));
    assert.deepEqual(s.list().map((x) => [x.atMs, x.issuedMinor]), [[3000, 3n], [4000, 4n], [5000, 5n]]);
  });

  test('a clock that steps back does not take the series back in time', () => {
    const s = new CirculationSamples();
    s.add(5000, totals(1n));
    s.add(4000, totals(2n));
    assert.deepEqual(s.list().map((x) => x.atMs), [5000, 5000]);
  });

  test('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new CirculationSamples(0), /positive integer/);
    assert.throws(() => new CirculationSamples(1.5), /positive integer/);
  });
});
