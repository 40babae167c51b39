// Ledger nodes as separate operating-system processes: a CB and an FI each in its own process
// talk over HTTP, and two CB processes sharing one database race on the same idempotency key and
// the same nullifiers — the database (UNIQUE constraints, SQLite's file lock with busy_timeout,
// PostgreSQL's row locks) must still give exactly one effect and one winner.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, freshDb, spawnNode, type FreshDb, type SpawnedNode } from './engines.ts';
import { bearer, tokenFor } from './credentials.ts';

/** Each node's staff token (made on its database, as `tally operator add` would), by node URL. */
const tokens = new Map<string, string>();
const auth = (url: string) => bearer(tokens.get(url)!);

async function post(url: string, path: string, body: unknown, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key, ...auth(url) }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(url: string, path: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url + path, { headers: auth(url) })).json()) as Record<string, unknown>;
}

for (const engine of ENGINES) {
  describe(`ledger nodes as separate processes on ${engine}`, () => {
    const dbs: FreshDb[] = [];
    const nodes: SpawnedNode[] = [];
    let cb1: string;
    let cb2: string;
    let fi: string;
    before(async () => {
      dbs.push(await freshDb(engine), await freshDb(engine));
      const started = await Promise.all([
        spawnNode({ node: { role: 'cb' }, database: dbs[0]!.spec }),
        spawnNode({ node: { role: 'cb' }, database: dbs[0]!.spec }),
        spawnNode({ node: { role: 'fi', fiId: 'fi-p' }, database: dbs[1]!.spec }),
      ]);
      nodes.push(...started);
      [cb1, cb2, fi] = started.map((n) => n.url) as [string, string, string];
      const cbToken = await tokenFor(dbs[0]!.db, 'cb-operator');
      tokens.set(cb1, cbToken).set(cb2, cbToken).set(fi, await tokenFor(dbs[1]!.db, 'fi-operator'));
    });
    after(async () => {
      for (const n of nodes) await n.stop();
      for (const d of dbs) await d.cleanup();
    });

    test('a CB process and an FI process keep their own books and both audit clean', async () => {
      assert.equal((await post(cb1, '/fis', { fiId: 'fi-p' }, 'reg')).status, 201);
      assert.equal((await post(cb1, '/issue', { fiId: 'fi-p', amountMinor: '4200' }, 'iss')).body['balanceMinor'], '4200');
      assert.equal((await post(fi, '/treasury/credit', { amountMinor: '4200', reference: 'iss' }, 'iss')).body['balanceMinor'], '4200');
      assert.equal((await get(fi, '/accounts/fi:settlement'))['balanceMinor'], '-4200');
      assert.equal((await get(cb2, '/fis/fi-p/reserve'))['balanceMinor'], '4200');
      for (const url of [cb1, fi]) assert.equal((await get(url, '/audit'))['clean'], true);
    });

    test('two CB processes on one database: one effect per key, one winner per nullifier', async () => {
      const issues = await Promise.all(
        Array.from({ length: 8 }, (_, i) => post(i % 2 ? cb1 : cb2, '/issue', { fiId: 'fi-p', amountMinor: '5' }, 'iss-race')),
      );
      for (const r of issues) assert.deepEqual(r, issues[0]);
      assert.equal((await get(cb1, '/issued'))['issuedMinor'], '4205');
      const item = (n: number, p: number) => ({ epoch: '9', nullifier: n.toString(16).padStart(2, '0').repeat(48), paymentHash: p.toString(16).padStart(2, '0').repeat(32) });
      const batches = Array.from({ length: 6 }, (_, i) => ({ items: [1, 2, 3, 4].map((n) => item(n, 10 + i)) }));
      const results = await Promise.all(batches.map((b, i) => post(i % 2 ? cb1 : cb2, '/nullifiers', b, `nul-${i}`)));
      for (let n = 0; n < 4; n++) {
        const outcomes = results.map((r) => (r.body['outcomes'] as string[])[n]);
        assert.equal(outcomes.filter((o) => o === 'inserted').length, 1, `nullifier ${n}: ${outcomes.join(',')}`);
        assert.equal(outcomes.filter((o) => o === 'conflict').length, 5);
      }
      const audit = await get(cb2, '/audit');
      assert.equal(audit['clean'], true);
      assert.equal(audit['nullifiers'], '4');
      assert.equal(audit['nullifierConflicts'], '20');
    });
  });
}
