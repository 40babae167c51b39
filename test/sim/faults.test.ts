// The fleet simulator's faults and attackers beyond the first set (issue 13): SE power cuts in the
// middle of a payment or a sync, broken SEs spending from extracted secrets, host-level attacks
// around an honest SE, and colluding payees. Small fleets, one or two simulated days, each fault at
// a high rate: every one is injected and the run holds every invariant. A planted weakness (payee
// SEs that take a proof made under any tier's cap) lets a broken IoT SE spend above its cap(t), and
// the broken-SE bound must catch it within a few seeds, the printed seed replaying it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FleetInvariantBroken, runFleet, type FaultRates, type FleetOptions } from '../../src/sim/fleet/index.ts';
import { payeeVerifyTestSeam } from '../../src/se/handlers_payment.ts';
import type { RunRecord } from '../../src/sim/fleet/types.ts';

const NONE: Partial<FaultRates> = { restoredSnapshot: 0, linkLost: 0, powerCut: 0, brokenSe: 0, hostAttack: 0, collusion: 0 };
const results = (r: RunRecord, kind: string): string[] => r.faults.filter((f) => f.kind === kind).map((f) => f.result);
const strip = (r: RunRecord): Omit<RunRecord, 'wallMs'> => {
  const { wallMs: _w, ...rest } = r;
  return rest;
};

test('SE power cuts mid-payment and mid-sync: every payment completes or is reclaimed, syncs resume, value is conserved', async () => {
  const r = await runFleet({ customers: 4, days: 2, seed: 'powercut-1', faults: { ...NONE, powerCut: 0.3 } });
  const cuts = results(r, 'power-cut');
  assert.ok(cuts.some((c) => c === 'sync:resumed'), `no sync was cut: ${cuts.join(', ')}`);
  assert.ok(cuts.some((c) => /^(payer|payee):(rolled-back|completed)$/.test(c)), `no payment was cut: ${cuts.join(', ')}`);
  // A payment cut after the payer's debit and before the payee's credit was claimed back at the end.
  assert.ok(cuts.includes('reclaimed'), `no cut payment was left to reclaim: ${cuts.join(', ')}`);
  assert.ok(!cuts.includes('payer:stranded') && !cuts.includes('payee:stranded'), 'a stranded payment was never reclaimed');
  assert.equal(r.totals.at(-1)!.inFlightMinor, 0n);
});

test('broken SEs, host attacks and colluding payees: refused or identified, never an honest customer, books clean', async () => {
  const opts: FleetOptions = { customers: 4, days: 2, seed: 'attackers-1', faults: { ...NONE, brokenSe: 1.5, hostAttack: 2, collusion: 0.15 } };
  const r = await runFleet(opts);
  // Every replay of a broken SE's counter was pinned on that device and customer.
  const broken = results(r, 'broken-se');
  assert.ok(broken.includes('identified'), `no broken-SE replay was made and identified: ${broken.join(', ')}`);
  assert.ok(!broken.includes('pending'), 'a broken-SE replay was never identified');
  const forged = r.payments.filter((p) => p.workload === 'broken-se');
  assert.ok(forged.length >= 1 && forged.every((p) => p.outcome === 'paid'));
  const host = results(r, 'host-attack');
  for (const kind of ['tampered-amount', 'replayed-payment', 'swapped-payee']) assert.ok(host.includes(`${kind}:refused`), `no ${kind} attack: ${host.join(', ')}`);
  const collusion = results(r, 'colluding-payee');
  assert.ok(collusion.includes('identified'), `no colluding double spend was identified: ${collusion.join(', ')}`);
  assert.ok(r.faults.some((f) => f.kind === 'held-back-sync'), 'the colluding payee never held its receipts back');
  assert.equal(r.totals.at(-1)!.inFlightMinor, 0n);
  // The same seed, the same record.
  assert.deepEqual(strip(await runFleet(opts)).faults, strip(r).faults);
});

test('a planted weakness (payees take proofs under any tier\'s cap) breaks the broken-SE bound within 4 seeds, and its seed replays it', async () => {
  const opts = (seed: string): FleetOptions => ({ customers: 4, days: 1, seed, faults: { ...NONE, brokenSe: 3 } });
  payeeVerifyTestSeam.anyTierCap = true;
  try {
    let found: FleetInvariantBroken | null = null;
    for (let i = 0; i < 4 && found === null; i++) {
      try {
        await runFleet(opts(`bound-${i}`));
      } catch (e) {
        if (!(e instanceof FleetInvariantBroken)) throw e;
        found = e;
      }
    }
    assert.ok(found !== null, 'the simulator did not notice a broken SE spending above its cap');
    assert.equal(found.invariant, 'broken-se-bound', found.message);
    assert.match(found.why, /above-cap/);
    await assert.rejects(runFleet(opts(found.seed)), (e: unknown) => {
      assert.ok(e instanceof FleetInvariantBroken);
      assert.deepEqual([e.invariant, e.step, e.atMs, e.why], [found.invariant, found.step, found.atMs, found.why]);
      return true;
    });
  } finally {
    payeeVerifyTestSeam.anyTierCap = false;
  }
});
