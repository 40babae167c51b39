// Key-holder operators on both engines: migration 017 rebuilds the operators table with every
// existing operator's token still valid; a key-holder token names exactly one holder index
// 1..255 and no other role names one; the token authenticates as that holder.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { addOperator, authenticateToken } from '../../src/ledger/access/operators.ts';
import { migrate, MIGRATIONS } from '../../src/ledger/db/migrations.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { ENGINES, freshDb } from '../ledger/engines.ts';

const SECRET = 'A'.repeat(43);

for (const engine of ENGINES) {
  describe(`key-holder operators on ${engine}`, () => {
    test('migration 017 keeps every operator and its token; key holders name exactly one index', async () => {
      const f = await freshDb(engine);
      try {
        const before017 = MIGRATIONS.filter((m) => m.version < 17);
        await migrate(f.db, () => 1, before017);
        await f.db.run(
          'INSERT INTO operators (operator_id, name, role, customer_id, token_hash, created_ms, revoked_ms) VALUES ($1, $2, $3, NULL, $4, $5, NULL)',
          ['op-00112233445566aa', 'Old auditor', 'auditor', sha256(new TextEncoder().encode(SECRET)), 5n],
        );
        assert.deepEqual(await migrate(f.db, () => 2), MIGRATIONS.filter((m) => m.version >= 17).map((m) => m.version));
        const old = await authenticateToken(f.db, `tly1.op-00112233445566aa.${SECRET}`);
        assert.deepEqual(old, { kind: 'operator', operatorId: 'op-00112233445566aa', name: 'Old auditor', role: 'auditor', customerId: null, holderIndex: null });

        const holder = await addOperator(f.db, { name: 'Holder 2', role: 'key-holder', holderIndex: 2 });
        assert.equal((await authenticateToken(f.db, holder.token))?.holderIndex, 2);
        const refused = async (input: Parameters<typeof addOperator>[1], message: RegExp) =>
          assert.rejects(addOperator(f.db, input), (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST' && message.test(e.message));
        await refused({ name: 'No index', role: 'key-holder' }, /must name its holder index/);
        await refused({ name: 'Regulator with index', role: 'regulator', holderIndex: 1 }, /names no holder index/);
        await refused({ name: 'Zero', role: 'key-holder', holderIndex: 0 }, /1\.\.255/);
        await refused({ name: 'Too big', role: 'key-holder', holderIndex: 256 }, /1\.\.255/);
        // The schema holds the same rule against a direct write.
        await assert.rejects(f.db.run("UPDATE operators SET holder_index = NULL WHERE role = 'key-holder'"));
        await assert.rejects(f.db.run("UPDATE operators SET holder_index = 3 WHERE role = 'auditor'"));
        const rows = await f.db.query('SELECT COUNT(*) AS n FROM operators');
        assert.equal(Number(rows[0]!['n']), 2);
      } finally {
        await f.cleanup();
      }
    });
  });
}
