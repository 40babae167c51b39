// The console's customers list over a real FI on each engine: it pages oldest registration first,
// and each customer shown carries its own accounts and devices whatever the rest of the FI holds
// (a customer with thousands of accounts neither hides another's nor lists more than its bound).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { codeOf, fundFi, newCustomer, newDevice, openOfflineNet, type OfflineNet } from '../../../test/ledger/offline_world.ts';
import { Tier } from '../../policy/limits.ts';
import { rowString } from '../db/adapter.ts';
import { CONSOLE_ITEMS_PER_CUSTOMER, CONSOLE_ROWS_MAX, customersPage, customerView } from './views.ts';

/** Accounts one customer gets straight in the books: more than the old whole-FI read of 500 × 4 rows. */
const MANY_ACCOUNTS = 2_001;

for (const engine of ENGINES) {
  describe(`console customers list on ${engine}`, () => {
    let net: OfflineNet;
    const ids: string[] = [];
    const accountOf = new Map<string, string>();
    let deviceOfFirst = '';

    before(async () => {
      net = await openOfflineNet(engine, `views-${engine}`, { verifyWorkers: 0 });
      await fundFi(net, net.fiA, 100_000n, 'issue-a');
      const first = await newDevice(net, net.fiA, 'ann');
      ids.push(first.customerId);
      accountOf.set(first.customerId, first.accountId);
      deviceOfFirst = Buffer.from(first.deviceId).toString('hex');
      // Registered a second apart, but cy and di in the same millisecond: ties go by customer id.
      const tied: string[] = [];
      for (const [name, step] of [['bo', 1_000n], ['cy', 1_000n], ['di', 0n], ['ed', 1_000n]] as const) {
        net.world.nowMs += step;
        const c = await newCustomer(net.fiA, name, Tier.basic);
        accountOf.set(c.customerId, c.accountId);
        if (name === 'cy' || name === 'di') tied.push(c.customerId);
        else ids.push(...tied.splice(0).sort(), c.customerId);
      }
    });
    after(async () => net?.cleanup());

    test('pages oldest registration first after a customer; more says whether customers follow', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      const mores: boolean[] = [];
      for (;;) {
        const page = await customersPage(net.fiA.db, { limit: 2, after: cursor });
        assert.ok(page.customers.length <= 2);
        for (const c of page.customers) {
          seen.push(c.customerId);
          assert.deepEqual(c.accounts.map((a) => a.accountId), [accountOf.get(c.customerId)]);
        }
        mores.push(page.more);
        if (!page.more) break;
        cursor = page.customers.at(-1)!.customerId;
      }
      assert.deepEqual(seen, ids, 'every customer once, in registration order');
      assert.deepEqual(mores, [true, true, false]);
      const whole = await customersPage(net.fiA.db);
      assert.deepEqual(whole.customers.map((c) => c.customerId), ids);
      assert.equal(whole.more, false);
      assert.deepEqual(whole.customers[0]!.devices.map((d) => d.deviceId), [deviceOfFirst]);
    });

    test('a bad page is refused: a cursor naming no customer, a limit out of 1..CONSOLE_ROWS_MAX', async () => {
      assert.equal(await codeOf(customersPage(net.fiA.db, { after: 'cus-nobody' })), 'NOT_FOUND');
      for (const limit of [0, CONSOLE_ROWS_MAX + 1, 1.5]) assert.equal(await codeOf(customersPage(net.fiA.db, { limit })), 'BAD_REQUEST', `limit ${limit}`);
    });

    test("one customer's thousands of accounts neither hide another customer's nor list past the bound", async () => {
      const crowded = ids.at(-1)!;
      await net.fiA.db.transaction(async (tx) => {
        for (let i = 0; i < MANY_ACCOUNTS; i++) {
          // Ids that sort before every account the FI made, so a read of "the first N accounts" sees only these.
          const id = `acc-0000-${String(i).padStart(6, '0')}`;
          await tx.run("INSERT INTO accounts (id, kind, owner, sign_rule, balance_minor, created_ms) VALUES ($1, 'customer', $2, 'non_negative', 0, 0)", [id, crowded]);
          await tx.run('INSERT INTO customer_accounts (account_id, customer_id) VALUES ($1, $2)', [id, crowded]);
        }
      });
      const firstIds = (await net.fiA.db.query('SELECT id FROM accounts ORDER BY id LIMIT 1')).map((r) => rowString(r, 'id'));
      assert.ok(firstIds[0]!.startsWith('acc-0000-'), 'precondition: the crowded customer owns the first accounts in id order');
      try {
        const page = await customersPage(net.fiA.db);
        const byId = new Map(page.customers.map((c) => [c.customerId, c]));
        for (const id of ids.slice(0, -1)) assert.deepEqual(byId.get(id)!.accounts.map((a) => a.accountId), [accountOf.get(id)], `customer ${id} keeps its account`);
        assert.deepEqual(byId.get(ids[0]!)!.devices.map((d) => d.deviceId), [deviceOfFirst]);
        const c = byId.get(crowded)!;
        assert.equal(c.accounts.length, CONSOLE_ITEMS_PER_CUSTOMER);
        assert.equal(c.accountsNotShown, MANY_ACCOUNTS + 1 - CONSOLE_ITEMS_PER_CUSTOMER);
        assert.equal(c.devicesNotShown, 0);
        const own = await customerView(net.fiA.db, ids[0]!);
        assert.deepEqual(own?.accounts.map((a) => a.accountId), [accountOf.get(ids[0]!)]);
        assert.equal(await customerView(net.fiA.db, 'cus-nobody'), null);
      } finally {
        await net.fiA.db.transaction(async (tx) => {
          await tx.run("DELETE FROM customer_accounts WHERE account_id LIKE 'acc-0000-%'");
          await tx.run("DELETE FROM accounts WHERE id LIKE 'acc-0000-%'");
        });
      }
    });
  });
}
