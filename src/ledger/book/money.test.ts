// Money moves through the CB and FI books with exact totals, exactly once per idempotency key
// (retries, duplicates and ten concurrent copies), and refusals come in a fixed check order.
// Runs against SQLite and PostgreSQL alike.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, fundFi, newCustomer, openNetwork, type Network } from '../../../test/ledger/engines.ts';
import { LedgerError } from '../errors.ts';
import { AMOUNT_MAX_MINOR } from '../limits.ts';
import { FI_SETTLEMENT_ACCOUNT, FI_TREASURY_ACCOUNT } from './accounts.ts';
import { transferBetweenFis } from './transfer.ts';
import { reconcileReserves } from './audit.ts';

const code = (c: string) => (err: unknown) => err instanceof LedgerError && err.code === c;

async function journalCount(net: Network, book: 'cb' | 'a' | 'b'): Promise<bigint> {
  const rows = await net.dbs[book].db.query('SELECT CAST(COUNT(*) AS BIGINT) AS n FROM journal_transactions');
  return rows[0]!['n'] as bigint;
}

for (const engine of ENGINES) {
  describe(`money on ${engine}`, () => {
    let net: Network;
    before(async () => {
      net = await openNetwork(engine, `money-${engine}`);
    });
    after(async () => net?.cleanup());

    test('issue, deposit, withdraw and an FI→FI transfer leave exact totals in every book', async () => {
      await fundFi(net, net.fiA, 100_000n, 'fund-a-1');
      await fundFi(net, net.fiB, 5_000n, 'fund-b-1');
      const alice = await newCustomer(net.fiA, 'alice');
      const bob = await newCustomer(net.fiB, 'bob');
      assert.equal((await net.fiA.deposit({ accountId: alice.accountId, amountMinor: 30_000n, idempotencyKey: 'dep-1' })).balanceMinor, 30_000n);
      assert.equal((await net.fiA.withdraw({ accountId: alice.accountId, amountMinor: 5_000n, idempotencyKey: 'wd-1' })).balanceMinor, 25_000n);
      const r = await transferBetweenFis({ cb: net.cb, from: net.fiA, to: net.fiB }, {
        transferId: 't1', fromAccountId: alice.accountId, toAccountId: bob.accountId, amountMinor: 7_000n,
      });
      assert.equal(r.status, 'completed');
      assert.equal(await net.cb.issuedTotal(), 105_000n);
      assert.equal(await net.cb.reserveBalance('fi-a'), 93_000n);
      assert.equal(await net.cb.reserveBalance('fi-b'), 12_000n);
      assert.equal(await net.fiA.balance(alice.accountId), 18_000n);
      assert.equal(await net.fiA.balance(FI_TREASURY_ACCOUNT), 75_000n);
      assert.equal(await net.fiA.balance(FI_SETTLEMENT_ACCOUNT), -93_000n);
      assert.equal(await net.fiB.balance(bob.accountId), 7_000n);
      assert.equal(await net.fiB.balance(FI_SETTLEMENT_ACCOUNT), -12_000n);
      const fis = [{ fiId: 'fi-a', db: net.dbs.a.db }, { fiId: 'fi-b', db: net.dbs.b.db }];
      assert.deepEqual(await reconcileReserves(net.dbs.cb.db, fis), []);
      for (const book of [net.cb, net.fiA, net.fiB]) assert.deepEqual((await book.audit()).violations, []);
    });

    test('redeem destroys money and the issuance account never goes positive', async () => {
      const before = await net.cb.issuedTotal();
      await net.cb.issue({ fiId: 'fi-b', amountMinor: 50n, idempotencyKey: 'iss-r' });
      await net.cb.redeem({ fiId: 'fi-b', amountMinor: 50n, idempotencyKey: 'red-r' });
      assert.equal(await net.cb.issuedTotal(), before);
      await assert.rejects(net.cb.redeem({ fiId: 'fi-b', amountMinor: 10n ** 12n, idempotencyKey: 'red-big' }), code('INSUFFICIENT_FUNDS'));
    });

    test('a transfer to an unknown payee account is reversed at the CB and refunded', async () => {
      const carol = await newCustomer(net.fiA, 'carol');
      await net.fiA.deposit({ accountId: carol.accountId, amountMinor: 1_000n, idempotencyKey: 'dep-carol' });
      const reserveA = await net.cb.reserveBalance('fi-a');
      const ports = { cb: net.cb, from: net.fiA, to: net.fiB };
      const req = { transferId: 't-bad', fromAccountId: carol.accountId, toAccountId: 'acc_nobody', amountMinor: 400n };
      const r = await transferBetweenFis(ports, req);
      assert.equal(r.status, 'reversed');
      assert.equal(r.status === 'reversed' && r.reason.code, 'UNKNOWN_ACCOUNT');
      assert.equal(await net.fiA.balance(carol.accountId), 1_000n);
      assert.equal(await net.cb.reserveBalance('fi-a'), reserveA);
      const again = await transferBetweenFis(ports, req); // resuming changes nothing
      assert.equal(again.status, 'reversed');
      assert.equal(await net.fiA.balance(carol.accountId), 1_000n);
    });

    test('a retry with the same key returns the first answer and moves money once', async () => {
      const dave = await newCustomer(net.fiA, 'dave');
      const first = await net.fiA.deposit({ accountId: dave.accountId, amountMinor: 123n, idempotencyKey: 'dep-dave' });
      const txBefore = await journalCount(net, 'a');
      const second = await net.fiA.deposit({ accountId: dave.accountId, amountMinor: 123n, idempotencyKey: 'dep-dave' });
      assert.deepEqual(second, first);
      assert.equal(await journalCount(net, 'a'), txBefore);
      assert.equal(await net.fiA.balance(dave.accountId), 123n);
      await assert.rejects(
        net.fiA.deposit({ accountId: dave.accountId, amountMinor: 124n, idempotencyKey: 'dep-dave' }),
        code('IDEMPOTENCY_MISMATCH'),
      );
      await assert.rejects(net.fiA.withdraw({ accountId: dave.accountId, amountMinor: 123n, idempotencyKey: 'dep-dave' }), code('IDEMPOTENCY_MISMATCH'));
      // A refusal is an answer too: the retry is refused the same way even after funds arrive.
      await assert.rejects(net.fiA.withdraw({ accountId: dave.accountId, amountMinor: 500n, idempotencyKey: 'wd-dave' }), code('INSUFFICIENT_FUNDS'));
      await net.fiA.deposit({ accountId: dave.accountId, amountMinor: 1_000n, idempotencyKey: 'dep-dave-2' });
      await assert.rejects(net.fiA.withdraw({ accountId: dave.accountId, amountMinor: 500n, idempotencyKey: 'wd-dave' }), code('INSUFFICIENT_FUNDS'));
      assert.equal(await net.fiA.balance(dave.accountId), 1_123n);
    });

    test('ten concurrent copies of one request have exactly one effect and one answer', async () => {
      const issuedBefore = await net.cb.issuedTotal();
      const cbTx = await journalCount(net, 'cb');
      const copies = await Promise.all(
        Array.from({ length: 10 }, () => net.cb.issue({ fiId: 'fi-a', amountMinor: 777n, idempotencyKey: 'iss-concurrent' })),
      );
      for (const c of copies) assert.deepEqual(c, copies[0]);
      assert.equal(await net.cb.issuedTotal(), issuedBefore + 777n);
      assert.equal(await journalCount(net, 'cb'), cbTx + 1n);

      const erin = await newCustomer(net.fiB, 'erin');
      await net.fiB.deposit({ accountId: erin.accountId, amountMinor: 100n, idempotencyKey: 'dep-erin' });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => net.fiB.withdraw({ accountId: erin.accountId, amountMinor: 60n, idempotencyKey: 'wd-erin' })),
      );
      for (const r of results) assert.deepEqual(r, results[0]);
      assert.equal(await net.fiB.balance(erin.accountId), 40n);
    });

    test('concurrent different withdrawals never overdraw an account', async () => {
      const fay = await newCustomer(net.fiB, 'fay');
      await net.fiB.deposit({ accountId: fay.accountId, amountMinor: 250n, idempotencyKey: 'dep-fay' });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => net.fiB.withdraw({ accountId: fay.accountId, amountMinor: 100n, idempotencyKey: `wd-fay-${i}` })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
      for (const r of results) if (r.status === 'rejected') assert.ok(code('INSUFFICIENT_FUNDS')(r.reason));
      assert.equal(await net.fiB.balance(fay.accountId), 50n);
    });

    test('refusals follow the check order: key, amount, account, frozen, funds (one field fixed per row)', async () => {
      const gus = await newCustomer(net.fiA, 'gus');
      const hal = await newCustomer(net.fiA, 'hal');
      await net.fiA.deposit({ accountId: hal.accountId, amountMinor: 10n, idempotencyKey: 'dep-hal' });
      await net.fiA.setFrozen({ customerId: gus.customerId, frozen: true, reason: 'test', idempotencyKey: 'freeze-gus' });
      await net.fiA.deposit({ accountId: gus.accountId, amountMinor: 10n, idempotencyKey: 'dep-gus' }); // credits still land
      const rows: Array<[string, { key: string; amount: bigint; account: string }, string]> = [
        ['all wrong', { key: 'dep-hal', amount: 0n, account: 'acc_missing' }, 'IDEMPOTENCY_MISMATCH'],
        ['fresh key', { key: 'ord-1', amount: 0n, account: 'acc_missing' }, 'AMOUNT_INVALID'],
        ['amount too large', { key: 'ord-2', amount: AMOUNT_MAX_MINOR + 1n, account: 'acc_missing' }, 'AMOUNT_INVALID'],
        ['amount valid', { key: 'ord-3', amount: 50n, account: 'acc_missing' }, 'UNKNOWN_ACCOUNT'],
        ['a system account is not a customer account', { key: 'ord-4', amount: 50n, account: FI_TREASURY_ACCOUNT }, 'UNKNOWN_ACCOUNT'],
        ['account exists but frozen', { key: 'ord-5', amount: 50n, account: gus.accountId }, 'FROZEN'],
        ['account not frozen', { key: 'ord-6', amount: 50n, account: hal.accountId }, 'INSUFFICIENT_FUNDS'],
        ['amount within funds', { key: 'ord-7', amount: 10n, account: hal.accountId }, 'OK'],
      ];
      for (const [name, r, expected] of rows) {
        const attempt = net.fiA.withdraw({ accountId: r.account, amountMinor: r.amount, idempotencyKey: r.key });
        if (expected === 'OK') assert.equal((await attempt).balanceMinor, 0n, name);
        else await assert.rejects(attempt, code(expected), name);
      }
    });

    test('KYC records a tier and identity; bad tiers and a frozen customer\'s new account are refused', async () => {
      const { customerId } = await net.fiB.registerCustomer({ tier: 2, identity: { name: 'Ivy', doc: 'X1' }, idempotencyKey: 'kyc-ivy' });
      const c = await net.fiB.customer(customerId);
      assert.deepEqual({ tier: c.tier, identity: c.identity, frozen: c.frozen, fiId: c.fiId }, { tier: 2, identity: { name: 'Ivy', doc: 'X1' }, frozen: false, fiId: 'fi-b' });
      await assert.rejects(net.fiB.registerCustomer({ tier: 9, identity: {}, idempotencyKey: 'kyc-bad' }), code('BAD_REQUEST'));
      await net.fiB.setFrozen({ customerId, frozen: true, reason: 'test', idempotencyKey: 'frz-ivy' });
      await assert.rejects(net.fiB.openAccount({ customerId, idempotencyKey: 'open-ivy' }), code('FROZEN'));
      await assert.rejects(net.fiB.openAccount({ customerId: 'cus_none', idempotencyKey: 'open-none' }), code('UNKNOWN_ACCOUNT'));
    });
  });
}
