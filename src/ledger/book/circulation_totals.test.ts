// Each FI's running circulation total at the CB (circulation_totals.ts, migration 020), on SQLite
// and PostgreSQL: the journal keeps it as it posts, so after any sequence of fundings, defundings
// and reclaims — through an FI's device or at the CB directly, each replayed under its key, one
// refused — it equals the sum of the FI's reserve legs of those kinds, and the CB's aggregate
// rules read it as the FI's value in flight. Other moves of the reserve (issuance, redemption, FI→FI
// settlement) leave it alone; an FI's own book keeps none. An edited or deleted total is named by
// the audit. A CB database written before migration 020 gets totals equal to its journal at the
// upgrade, and posting keeps them from there.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, countingRng, freshDb } from '../../../test/ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, type OfflineNet } from '../../../test/ledger/offline_world.ts';
import { G1Point } from '../../crypto/index.ts';
import { fiFacts } from '../cb/aggregate_rules.ts';
import { rowBigint, type Queryable, type Tx } from '../db/adapter.ts';
import { migrate, MIGRATIONS } from '../db/migrations.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { auditNetwork } from '../network_audit.ts';
import { AccountKind, CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, CB_ISSUANCE_ACCOUNT, cbReserveAccount } from './accounts.ts';
import { ViolationCode, auditBook } from './audit.ts';
import { readCirculationTotal, type CirculationTotal } from './circulation_totals.ts';
import { ensureAccount } from './journal.ts';
import { postTwoLegMove } from './moves.ts';

const NOW = 1_800_000_000_000;

/** The figure the totals replace: the FI's reserve legs of the circulation kinds, summed over the whole journal. */
async function journalLegs(q: Queryable, fiId: string): Promise<bigint> {
  const rows = await q.query(
    `SELECT CAST(COALESCE(SUM(e.amount_minor), 0) AS BIGINT) AS total FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
     WHERE e.account_id = $1 AND t.kind IN ('cb.fundCirculation', 'cb.defundCirculation', 'cb.reclaim')`,
    [cbReserveAccount(fiId)],
  );
  return rowBigint(rows[0]!, 'total');
}

const total = (fundedMinor: bigint, returnedMinor: bigint): CirculationTotal => ({ fundedMinor, returnedMinor });
const refused = (code: string) => (e: unknown) => e instanceof LedgerError && e.code === code;

for (const engine of ENGINES) {
  describe(`each FI's circulation total at the CB on ${engine}`, () => {
    let net: OfflineNet;
    const check = async (fiId: string, expected: CirculationTotal, step: string) => {
      const got = await readCirculationTotal(net.cb.db, fiId);
      assert.deepEqual(got, expected, `${step}: total of ${fiId}`);
      assert.equal(got.fundedMinor - got.returnedMinor, -(await journalLegs(net.cb.db, fiId)), `${step}: total of ${fiId} against the journal`);
      const facts = await fiFacts(net.cb.db, fiId, 0, Number(net.world.nowMs));
      assert.equal(facts.inFlightMinor, expected.fundedMinor - expected.returnedMinor, `${step}: in flight of ${fiId} as the rules read it`);
    };
    before(async () => {
      net = await openOfflineNet(engine, `circulation-totals-${engine}`, { verifyWorkers: 0 });
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
    });
    after(async () => net.cleanup());

    test('fundings, defundings and reclaims, each replayed, count once; a refused move and other moves of the reserve count nothing', async () => {
      await check('fi-a', total(0n, 0n), 'issued only');
      // Through the FI: a device loads (the voucher's CB leg) and unloads (the unload record's).
      const holder = await newDevice(net, net.fiA, 'holder', { depositMinor: 10_000n });
      await load(holder, 6_000n, 'holder-load');
      await check('fi-a', total(6_000n, 0n), 'device load');
      const unload = await holder.client.makeUnloadRecord(1_000n);
      await net.fiA.applyUnloadRecord(unload.record);
      assert.equal((await net.fiA.applyUnloadRecord(unload.record)).replayed, true);
      await check('fi-a', total(6_000n, 1_000n), 'device unload, applied twice');

      // At the CB directly, each move twice under its key (an FI's retry after a lost answer).
      const reclaim = { epoch: 1n, nullifier: G1Point.BASE.mul(987_654_321n).toBytes(), paymentHash: new Uint8Array(32).fill(7), amountMinor: 500n };
      const steps: [string, () => Promise<unknown>, CirculationTotal, CirculationTotal][] = [
        ['fund a', () => net.cb.fundCirculation({ fiId: 'fi-a', amountMinor: 20_000n, idempotencyKey: 'fund-a' }), total(26_000n, 1_000n), total(0n, 0n)],
        ['fund b', () => net.cb.fundCirculation({ fiId: 'fi-b', amountMinor: 3_000n, idempotencyKey: 'fund-b' }), total(26_000n, 1_000n), total(3_000n, 0n)],
        ['defund a', () => net.cb.defundCirculation({ fiId: 'fi-a', amountMinor: 4_000n, idempotencyKey: 'defund-a' }), total(26_000n, 5_000n), total(3_000n, 0n)],
        ['reclaim a', () => net.cb.reclaimPayment({ fiId: 'fi-a', ...reclaim, idempotencyKey: 'reclaim-a' }), total(26_000n, 5_500n), total(3_000n, 0n)],
        ['defund b beyond what a funded', () => net.cb.defundCirculation({ fiId: 'fi-b', amountMinor: 7_000n, idempotencyKey: 'defund-b' }), total(26_000n, 5_500n), total(3_000n, 7_000n)],
        ['settle a → b', () => net.cb.ledger.settleTransfer({ fromFiId: 'fi-a', toFiId: 'fi-b', amountMinor: 100n, idempotencyKey: 'settle' }), total(26_000n, 5_500n), total(3_000n, 7_000n)],
        ['issue and redeem a', async () => {
          await net.cb.ledger.issue({ fiId: 'fi-a', amountMinor: 50n, idempotencyKey: 'issue-a-2' });
          await net.cb.ledger.redeem({ fiId: 'fi-a', amountMinor: 30n, idempotencyKey: 'redeem-a-2' });
        }, total(26_000n, 5_500n), total(3_000n, 7_000n)],
      ];
      for (const [step, run, a, b] of steps) {
        await run();
        await check('fi-a', a, step);
        await check('fi-b', b, step);
        await run();
        await check('fi-a', a, `${step}, replayed`);
        await check('fi-b', b, `${step}, replayed`);
      }
      assert.deepEqual((await fiFacts(net.cb.db, 'fi-b', 0, Number(net.world.nowMs))).inFlightMinor, -4_000n, 'an FI whose devices received more than it funded is negative');

      // Refused for want of circulation (no open incident): the rolled-back move adds nothing.
      await assert.rejects(net.cb.defundCirculation({ fiId: 'fi-a', amountMinor: 10n ** 9n, idempotencyKey: 'defund-too-much' }), refused(LedgerErrorCode.insufficientFunds));
      await check('fi-a', total(26_000n, 5_500n), 'refused defund');
      assert.equal((await net.fiA.db.query('SELECT fi_id FROM cb_fi_circulation_totals')).length, 0, "an FI's book keeps no totals");
      assert.deepEqual((await net.cb.audit()).violations, []);
    });

    test('the audit names an FI whose total was edited or deleted, in the CB book and the network audit', async () => {
      const db = net.cb.db;
      const kept = await readCirculationTotal(db, 'fi-a');
      const mismatches = async () => (await net.cb.audit()).violations.filter((v) => v.code === ViolationCode.circulationTotalMismatch);
      assert.deepEqual(await mismatches(), []);

      await db.run("UPDATE cb_fi_circulation_totals SET funded_minor = funded_minor + 1 WHERE fi_id = 'fi-a'");
      const [edited] = await mismatches();
      assert.ok(edited, 'an edited total is reported');
      assert.match(edited.message, new RegExp(`fi-a holds funded ${kept.fundedMinor + 1n} / returned ${kept.returnedMinor}, its reserve's journal legs say ${kept.fundedMinor} / ${kept.returnedMinor}`));
      assert.deepEqual(edited.rows.map((r) => r['fi_id']), ['fi-a'], 'only the edited FI');
      const network = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] });
      assert.ok(network.violations.some((v) => v.code === 'BOOK_VIOLATION' && v.node === 'cb' && v.message.startsWith(`${ViolationCode.circulationTotalMismatch}: `)));

      await db.run("DELETE FROM cb_fi_circulation_totals WHERE fi_id = 'fi-a'");
      const [deleted] = await mismatches();
      assert.ok(deleted, 'a deleted total is reported');
      assert.match(deleted.message, new RegExp(`fi-a holds funded 0 / returned 0, its reserve's journal legs say ${kept.fundedMinor} / ${kept.returnedMinor}`));

      await db.run('INSERT INTO cb_fi_circulation_totals (fi_id, funded_minor, returned_minor) VALUES ($1, $2, $3)', ['fi-a', kept.fundedMinor, kept.returnedMinor]);
      assert.deepEqual(await mismatches(), [], 'put back, the audit is clean again');
    });
  });

  test(`a CB database written before migration 020 gets totals equal to its journal at the upgrade (${engine})`, async () => {
    const fresh = await freshDb(engine);
    try {
      const db = fresh.db;
      await migrate(db, () => NOW, MIGRATIONS.slice(0, 19));
      // The CB's book as schema 019 wrote it: the journal's rows and balances, no totals table yet.
      let n = 0;
      const legacyPost = async (tx: Tx, kind: string, entries: [string, bigint][]) => {
        const id = `jtx-old-${++n}`;
        await tx.run('INSERT INTO journal_transactions (id, kind, idempotency_key, created_ms) VALUES ($1, $2, $3, $4)', [id, kind, `old-${n}`, BigInt(NOW + n)]);
        for (const [seq, [accountId, amountMinor]] of entries.entries()) {
          await tx.run('INSERT INTO journal_entries (transaction_id, seq, account_id, amount_minor) VALUES ($1, $2, $3, $4)', [id, BigInt(seq), accountId, amountMinor]);
          await tx.run('UPDATE accounts SET balance_minor = balance_minor + $1 WHERE id = $2', [amountMinor, accountId]);
        }
      };
      const [a, b] = [cbReserveAccount('fi-a'), cbReserveAccount('fi-b')];
      await db.transaction(async (tx) => {
        await ensureAccount(tx, CB_ISSUANCE_ACCOUNT, AccountKind.cbIssuance, 'cb', NOW);
        await ensureAccount(tx, CB_CIRCULATION_ACCOUNT, AccountKind.cbCirculation, 'cb', NOW);
        await ensureAccount(tx, CB_INCIDENT_ACCOUNT, AccountKind.cbIncident, 'cb', NOW);
        await ensureAccount(tx, a, AccountKind.fiReserve, 'fi-a', NOW);
        await ensureAccount(tx, b, AccountKind.fiReserve, 'fi-b', NOW);
        await ensureAccount(tx, cbReserveAccount('fi-c'), AccountKind.fiReserve, 'fi-c', NOW);
        await legacyPost(tx, 'cb.issue', [[CB_ISSUANCE_ACCOUNT, -100_000n], [a, 100_000n]]);
        await legacyPost(tx, 'cb.issue', [[CB_ISSUANCE_ACCOUNT, -50_000n], [b, 50_000n]]);
        await legacyPost(tx, 'cb.fundCirculation', [[a, -30_000n], [CB_CIRCULATION_ACCOUNT, 30_000n]]);
        await legacyPost(tx, 'cb.fundCirculation', [[a, -5_000n], [CB_CIRCULATION_ACCOUNT, 5_000n]]);
        await legacyPost(tx, 'cb.defundCirculation', [[CB_CIRCULATION_ACCOUNT, -7_000n], [a, 7_000n]]);
        await legacyPost(tx, 'cb.reclaim', [[CB_CIRCULATION_ACCOUNT, -2_000n], [a, 2_000n]]);
        await legacyPost(tx, 'cb.fundCirculation', [[b, -9_000n], [CB_CIRCULATION_ACCOUNT, 9_000n]]);
        // A defund of b drawing on cb:incident for a shortfall: three legs, b's is the whole amount.
        await legacyPost(tx, 'cb.defundCirculation', [[CB_INCIDENT_ACCOUNT, -1_000n], [CB_CIRCULATION_ACCOUNT, -9_000n], [b, 10_000n]]);
        await legacyPost(tx, 'cb.settleTransfer', [[a, -1_000n], [b, 1_000n]]);
        await legacyPost(tx, 'cb.redeem', [[b, -500n], [CB_ISSUANCE_ACCOUNT, 500n]]);
      });
      const before = { a: await journalLegs(db, 'fi-a'), b: await journalLegs(db, 'fi-b') };
      assert.deepEqual(before, { a: -26_000n, b: 1_000n });

      assert.deepEqual(await migrate(db, () => NOW), MIGRATIONS.slice(19).map((m) => m.version));
      const rows = await db.query('SELECT fi_id, funded_minor, returned_minor FROM cb_fi_circulation_totals ORDER BY fi_id');
      assert.deepEqual(rows.map((r) => [r['fi_id'], rowBigint(r, 'funded_minor'), rowBigint(r, 'returned_minor')]), [
        ['fi-a', 35_000n, 9_000n],
        ['fi-b', 9_000n, 10_000n],
      ], 'one row per FI with legs of the circulation kinds (fi-c has none)');
      for (const [fiId, legs] of [['fi-a', before.a], ['fi-b', before.b], ['fi-c', 0n]] as const) {
        assert.equal((await fiFacts(db, fiId, 0, NOW + 100)).inFlightMinor, -legs, `${fiId}: the rules read what the journal gives`);
      }
      assert.deepEqual((await auditBook(db, NOW)).violations, []);

      // From here posting keeps them.
      await db.transaction((tx) => postTwoLegMove(tx, countingRng('upgrade'), NOW + 200, { operation: 'cb.fundCirculation', from: a, to: CB_CIRCULATION_ACCOUNT, amountMinor: 1n, journalKey: 'new-1' }));
      assert.deepEqual(await readCirculationTotal(db, 'fi-a'), total(35_001n, 9_000n));
      assert.deepEqual((await auditBook(db, NOW)).violations, []);
    } finally {
      await fresh.cleanup();
    }
  });
}
