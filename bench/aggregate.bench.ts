// The CB's per-FI aggregate screen against the FI's history (docs/compliance.md "What a screen
// costs"): the facts the rules read (fiFacts) and one CB defund move with its screen, on SQLite,
// after a sweep of earlier fund and defund moves of two FIs. Flat medians across the sweep are
// the point: the in-flight figure is a running total and the windowed reads use their indexes.

import { sha256 } from '@noble/hashes/sha2.js';
import { timeIt, type Benchmark, type BenchResult } from './harness.ts';
import { DEFAULT_RULES, type RuleSet } from '../src/compliance/index.ts';
import { CentralBank } from '../src/ledger/cb/central_bank.ts';
import { fiFacts } from '../src/ledger/cb/aggregate_rules.ts';
import { countingRng, freshDb } from '../test/ledger/engines.ts';
import { makeWorld } from '../test/support/world.ts';

/** Earlier moves before each measurement: the cost must not grow with them. */
const HISTORY_SWEEP = [1_000, 10_000] as const;
const DAY_MS = 86_400_000;

async function atHistory(moves: number): Promise<BenchResult[]> {
  const fresh = await freshDb('sqlite');
  try {
    const world = makeWorld('bench-aggregate');
    let now = 1_800_000_000_000;
    const open = (rules: RuleSet | null) => CentralBank.open({
      db: fresh.db, clock: { nowMs: () => now }, rng: countingRng(`bench-aggregate/${rules === null}`), rules,
      signingKey: world.cb, issuerMaster: sha256(new TextEncoder().encode('issuer/bench-aggregate')), regulatorKey: world.regulatorKey,
    });
    // The history is written unscreened (rules null) so building it stays linear.
    const quiet = await open(null);
    for (const fiId of ['fi-a', 'fi-b']) {
      await quiet.ledger.registerFi({ fiId, idempotencyKey: `reg-${fiId}` });
      await quiet.ledger.issue({ fiId, amountMinor: 10n ** 12n, idempotencyKey: `issue-${fiId}` });
    }
    for (let i = 0; i < moves; i++) {
      now += 1_000;
      const fiId = i % 2 === 0 ? 'fi-a' : 'fi-b';
      if (i % 4 < 2) await quiet.fundCirculation({ fiId, amountMinor: 1_000n, idempotencyKey: `fund-${i}` });
      else await quiet.defundCirculation({ fiId, amountMinor: 500n, idempotencyKey: `defund-${i}` });
    }
    const cb = await open(DEFAULT_RULES);
    let key = 0;
    return [
      await timeIt(`fiFacts, ${moves} earlier moves`, () => fiFacts(fresh.db, 'fi-a', DAY_MS, now), { n: 200, warmup: 10 }),
      await timeIt(`CB defund + screen, ${moves} earlier`, () => {
        now += 1_000;
        return cb.defundCirculation({ fiId: 'fi-a', amountMinor: 1n, idempotencyKey: `measured-${key++}` });
      }, { n: 100, warmup: 5 }),
    ];
  } finally {
    await fresh.cleanup();
  }
}

export const benchmarks: Benchmark[] = [
  {
    group: 'aggregate',
    async run() {
      const out: BenchResult[] = [];
      for (const moves of HISTORY_SWEEP) out.push(...(await atHistory(moves)));
      return out;
    },
  },
];
