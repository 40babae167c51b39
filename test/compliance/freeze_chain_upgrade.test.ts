// An FI database upgraded from before freezes were chained into the compliance log (schema 018):
// its fi_freeze_log rows have no chained entry, so the chain check reads them as broken until the
// FI's first open after migration 019 chains them, once, in order. After that a later freeze is
// chained as it is written, a second open adds nothing, and an edit of an old row is caught like
// an edit of a new one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, MIGRATIONS } from '../../src/ledger/db/migrations.ts';
import { FiLedger } from '../../src/ledger/fi/book.ts';
import { verifyComplianceLog } from '../../src/ledger/fi/compliance_log.ts';
import { insertCustomer } from '../../src/ledger/fi/customers.ts';
import { ENGINES, freshDb } from '../ledger/engines.ts';

const NOW = 1_800_000_000_000;

for (const engine of ENGINES) {
  test(`freezes written before the chain are chained at the first open after the upgrade, once (${engine})`, async () => {
    const fresh = await freshDb(engine);
    try {
      const db = fresh.db;
      // The database as an FI at schema 018 left it: two customers, a freeze and an unfreeze, unchained.
      await migrate(db, () => NOW, MIGRATIONS.slice(0, 18));
      await db.transaction(async (tx) => {
        for (const id of ['cus-old-1', 'cus-old-2']) await insertCustomer(tx, { id, fiId: 'bank-a', tier: 1, identityJson: '{}', createdMs: NOW });
        await tx.run("INSERT INTO fi_freeze_log (seq, customer_id, frozen, reason, operator_id, at_ms) VALUES (1, 'cus-old-1', 1, 'sanctions hit', 'op-1', $1)", [BigInt(NOW + 1)]);
        await tx.run("INSERT INTO fi_freeze_log (seq, customer_id, frozen, reason, operator_id, at_ms) VALUES (2, 'cus-old-1', 0, 'cleared', 'op-2', $1)", [BigInt(NOW + 2)]);
      });
      // Migrated but not yet opened: the old rows have no entries, and the check says so.
      await migrate(db, () => NOW);
      const before = await verifyComplianceLog(db);
      assert.equal(before.ok, false);
      assert.match(before.broken!.reason, /freeze log row 1 has no entry in the chain/);

      const fi = await FiLedger.open({ db, fiId: 'bank-a' });
      const after = await verifyComplianceLog(db);
      assert.deepEqual([after.ok, after.entries], [true, 2n], JSON.stringify(after.broken));
      const actions = await db.query<{ action: string; alert_id: string }>('SELECT action, alert_id FROM compliance_log ORDER BY seq');
      assert.deepEqual(actions.map((r) => `${r.action} ${r.alert_id}`), ['customer.freeze cus-old-1', 'customer.unfreeze cus-old-1']);

      // A freeze now is chained as it is written; a second open chains nothing again.
      await fi.setFrozen({ customerId: 'cus-old-2', frozen: true, reason: 'court order', operatorId: 'op-3', idempotencyKey: 'freeze-2' });
      await FiLedger.open({ db, fiId: 'bank-a' });
      const later = await verifyComplianceLog(db);
      assert.deepEqual([later.ok, later.entries], [true, 3n], JSON.stringify(later.broken));

      // An old row edited afterwards breaks the check like a new one would.
      await db.run("UPDATE fi_freeze_log SET reason = 'routine review' WHERE seq = 1");
      const edited = await verifyComplianceLog(db);
      assert.equal(edited.ok, false);
      assert.match(edited.broken!.reason, /freeze log row 1 does not match its chained entry/);
    } finally {
      await fresh.cleanup();
    }
  });

  test(`a database made after the upgrade marks no old freezes and chains nothing at open (${engine})`, async () => {
    const fresh = await freshDb(engine);
    try {
      await FiLedger.open({ db: fresh.db, fiId: 'bank-a' });
      const mark = await fresh.db.query<{ through_seq: bigint; done: bigint }>('SELECT through_seq, done FROM fi_freeze_chain_backfill');
      assert.deepEqual(mark.map((r) => [BigInt(r.through_seq), BigInt(r.done)]), [[0n, 1n]]);
      assert.deepEqual((await fresh.db.query('SELECT seq FROM compliance_log')).length, 0);
    } finally {
      await fresh.cleanup();
    }
  });
}
