// The fleet simulator (issue 13): short runs for fixed seeds with every invariant held, the same
// seed giving the same RunRecord, and a planted ledger bug (double spends waved through as
// retried duplicates) found within a bounded number of seeds, the printed seed replaying it.
// SIM_SEED=<seed> or SIM_SEED=random adds one more exploring run and prints its seed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FleetInvariantBroken, runFleet, type FleetOptions } from '../../src/sim/fleet/index.ts';
import { EventQueue, SimRandom } from '../../src/sim/fleet/random.ts';
import { fiAllocation, openingDeposit, planPopulation, units } from '../../src/sim/fleet/population.ts';
import { nullifierTestSeam } from '../../src/ledger/cb/nullifiers.ts';
import type { RunRecord } from '../../src/sim/fleet/types.ts';

const SHORT: Omit<FleetOptions, 'seed'> = { customers: 6, days: 2, faults: { restoredSnapshot: 0.15, hostilePeer: 1, fiRestart: 0.5, linkLost: 0.08 } };
const strip = (r: RunRecord): Omit<RunRecord, 'wallMs'> => {
  const { wallMs: _w, ...rest } = r;
  return rest;
};

test('the event queue runs in (time, seq) order and the seeded choices replay', () => {
  const q = new EventQueue<string>();
  q.push(5n, 'c');
  q.push(1n, 'a');
  q.push(5n, 'd');
  q.push(3n, 'b');
  q.push(1n, 'a2');
  const out: string[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.e);
  assert.deepEqual(out, ['a', 'a2', 'b', 'c', 'd']);
  const draws = (s: string) => {
    const r = new SimRandom(s);
    return Array.from({ length: 8 }, () => r.int(0, 1000));
  };
  assert.deepEqual(draws('x'), draws('x'));
  assert.notDeepEqual(draws('x'), draws('y'));
});

test('short fleet runs hold every invariant, and one seed gives one RunRecord', async () => {
  const records: RunRecord[] = [];
  for (const seed of ['fleet-1', 'fleet-2']) {
    const r = await runFleet({ ...SHORT, seed });
    records.push(r);
    const paid = r.payments.filter((p) => p.outcome === 'paid');
    assert.ok(paid.length >= 10, `${seed}: only ${paid.length} payments went through`);
    assert.ok(r.syncs.length >= r.devices.length, `${seed}: fewer syncs than devices`);
    for (const w of ['transit', 'retail', 'm2m'] as const) assert.ok(paid.some((p) => p.workload === w), `${seed}: no ${w} payment`);
    assert.ok(r.faults.some((f) => f.kind === 'hostile-peer' && f.result === 'refused'), `${seed}: no hostile peer was tried`);
    // Every paid payment's nullifier reached the CB through its payee's sync (the final quiescent one at least).
    const uploaded = new Set(r.syncs.flatMap((s) => s.nullifiers));
    for (const p of paid) assert.ok(uploaded.has(p.nullifier), `${seed}: payment at step ${p.step} never synced`);
    // One sample per simulated midnight and one at the end; nothing issued after the start.
    assert.equal(r.totals.length, SHORT.days + 1);
    assert.equal(r.totals.at(-1)!.atMs >= r.endMs, true);
    for (const t of r.totals) assert.equal(t.issuedMinor, 2n * 10_000_000n * 100n);
    // Quiescent at the end, with the double spends' value booked: nothing in flight.
    assert.equal(r.totals.at(-1)!.inFlightMinor, 0n);
  }
  // The double spends of the fixed seeds were made and every one was identified.
  const spends = records.flatMap((r) => r.faults.filter((f) => f.kind === 'restored-snapshot' && f.result !== 'refused-offline'));
  assert.ok(spends.length >= 1, 'no restored-snapshot double spend reached two payees in the fixed seeds');
  for (const f of spends) assert.equal(f.result, 'identified');
  // Links lost after the debit: re-sent at once, or stranded and reclaimed after the settlement window.
  const lost = records.flatMap((r) => r.faults.filter((f) => f.kind === 'link-lost'));
  assert.ok(lost.some((f) => f.result === 'reclaimed'), 'no stranded payment in the fixed seeds');
  for (const f of lost) assert.ok(f.result === 'reclaimed' || f.result === 'recovered', `a lost link ended ${f.result}`);
  const again = await runFleet({ ...SHORT, seed: 'fleet-1' });
  assert.deepEqual(strip(again), strip(records[0]!));
  assert.notDeepEqual(strip(records[1]!).payments, strip(records[0]!).payments);
});

test('devices left offline run until a limit forces a sync, and the run says which', async () => {
  const r = await runFleet({ customers: 3, days: 10, seed: 'holdouts-1', holdouts: 1, faults: { restoredSnapshot: 0, linkLost: 0 } });
  assert.ok(r.offlineRuns.length >= 1, 'no device was forced to sync');
  for (const o of r.offlineRuns) {
    assert.ok(o.days > 0 && o.days <= 10, `${o.device}: offline ${o.days} days`);
    // Every holdout's scheduled syncs were skipped: the first sync of a forced device comes after it was forced.
    assert.ok(r.syncs.some((s) => s.device === o.device), `${o.device} never synced after being forced`);
  }
  assert.ok(r.offlineRuns.some((o) => o.forcedBy === 'epoch-end'), 'a 10-day run of IoT devices crosses their 7-day epoch');
});

test('a planted bug (double spends taken for duplicates at the CB) is found within 4 seeds and its seed replays it', async () => {
  nullifierTestSeam.ignoreConflicts = true;
  try {
    let found: FleetInvariantBroken | null = null;
    for (let i = 0; i < 4 && found === null; i++) {
      try {
        await runFleet({ ...SHORT, seed: `planted-${i}` });
      } catch (e) {
        if (!(e instanceof FleetInvariantBroken)) throw e;
        found = e;
      }
    }
    assert.ok(found !== null, 'the simulator did not notice double spends going unrecorded');
    assert.equal(found.invariant, 'double-spend-identified');
    assert.match(found.message, new RegExp(`seed ${found.seed}`));
    await assert.rejects(runFleet({ ...SHORT, seed: found.seed }), (e: unknown) => {
      assert.ok(e instanceof FleetInvariantBroken);
      assert.deepEqual([e.invariant, e.step, e.atMs, e.why], [found.invariant, found.step, found.atMs, found.why]);
      return true;
    });
  } finally {
    nullifierTestSeam.ignoreConflicts = false;
  }
});

const explore = process.env['SIM_SEED'];
if (explore !== undefined && explore !== '') {
  test('SIM_SEED exploration run', async (t) => {
    const seed = explore === 'random' ? randomBytes(8).toString('hex') : explore;
    t.diagnostic(`SIM_SEED ${seed}`);
    console.log(`fleet simulator exploring seed ${seed} (SIM_SEED=${seed} replays it)`);
    await runFleet({ ...SHORT, seed });
  });
}

test("each FI is issued its customers' opening deposits: a city past 1000 customers opens (it stopped at its first registration past 10 million units)", () => {
  const fiIds = ['bank-a', 'bank-b'];
  for (const customers of [10, 1000, 5000, 100_000]) {
    const plan = planPopulation(new SimRandom(`alloc-${customers}`), customers, fiIds);
    for (const fiId of fiIds) {
      const deposits = plan.customers.filter((c) => c.fiId === fiId).reduce((sum, c) => sum + openingDeposit(c), 0n);
      const issued = fiAllocation(plan, fiId);
      assert.ok(issued >= deposits, `${customers} customers, ${fiId}: issued ${issued} covers the deposits ${deposits}`);
      assert.equal(issued, deposits > units(10_000_000) ? deposits : units(10_000_000), 'never less than what every run up to 1000 customers was issued');
    }
  }
});
