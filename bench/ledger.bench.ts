// Ledger benchmarks on SQLite with synchronous=FULL (every commit is fsynced, as in production):
// `ledger.nullifier.insert.per_s` — nullifier registry inserts per second, batches of
// NULLIFIER_BATCH_MAX in one transaction each, against a registry that already holds earlier
// batches (target ≥ 50 000, DESIGN §8); the same at smaller batch sizes, to show what batching
// buys; and the latency of one idempotent FI deposit (key row + journal + balances + Σ check).
// Group `ledger-offline`: an FI settling one device's 256 receipts, `ledger.settle.per_s.w1/.w2/.w3`
// with 1, 2 and 3 verification workers (median of SETTLE_RUNS fresh ledgers each;
// `ledger.settle.per_s` is the 2-worker figure DESIGN §8 budgets), and one sync end to end by stage.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { timeIt, type Benchmark, type BenchResult } from './harness.ts';
import { randomBatch } from '../test/ledger/nullifier_records.ts';
import { openSqlite } from '../src/ledger/db/sqlite.ts';
import { migrate } from '../src/ledger/db/migrations.ts';
import { insertNullifiers } from '../src/ledger/cb/nullifiers.ts';
import { NULLIFIER_BATCH_MAX } from '../src/ledger/limits.ts';
import { CbLedger } from '../src/ledger/cb/book.ts';
import { FiLedger } from '../src/ledger/fi/book.ts';

/** Rows inserted per measured configuration: enough to amortise fsyncs, ~2 s at the target. */
const INSERTS_PER_RUN = 100_000;

const batchOf = randomBatch;

async function nullifierRate(batchSize: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-bench-'));
  const db = openSqlite({ filename: path.join(dir, 'cb.sqlite') });
  try {
    await migrate(db, () => Date.now());
    await insertNullifiers(db, 0, batchOf(batchSize, 0n)); // warm-up: statements prepared, file grown
    const batches = Array.from({ length: Math.ceil(INSERTS_PER_RUN / batchSize) }, (_, i) => batchOf(batchSize, BigInt(1 + (i % 4))));
    const t0 = performance.now();
    let inserted = 0;
    for (const b of batches) inserted += (await insertNullifiers(db, 0, b)).inserted;
    const seconds = (performance.now() - t0) / 1000;
    if (inserted !== batches.length * batchSize) throw new Error(`expected every nullifier new, ${inserted} inserted`);
    return Math.round(inserted / seconds);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function depositLatency(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-bench-'));
  const db = openSqlite({ filename: path.join(dir, 'fi.sqlite') });
  const cbDb = openSqlite({ filename: path.join(dir, 'cb.sqlite') });
  try {
    const cb = await CbLedger.open({ db: cbDb });
    await cb.registerFi({ fiId: 'fi-a', idempotencyKey: 'reg' });
    const fi = await FiLedger.open({ db, fiId: 'fi-a' });
    await fi.creditTreasury({ amountMinor: 10n ** 12n, idempotencyKey: 'fund' });
    const { customerId } = await fi.registerCustomer({ tier: 1, identity: { name: 'bench' }, idempotencyKey: 'kyc' });
    const { accountId } = await fi.openAccount({ customerId, idempotencyKey: 'open' });
    let i = 0;
    return await timeIt('ledger.fi.deposit', () => fi.deposit({ accountId, amountMinor: 1n, idempotencyKey: `dep-${i++}` }), { n: 300, warmup: 20 });
  } finally {
    await db.close();
    await cbDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Receipts per benchmarked sync: the SE's whole log. */
const SYNC_RECEIPTS = 256;

/** Fresh ledgers settled per worker count; the median is reported (one settle is ~2 s of noise-prone work). */
const SETTLE_RUNS = 3;
/** Verification worker counts swept: fewer than, as many as and more than the target's 2 cores. */
const SETTLE_WORKERS = [1, 2, 3] as const;

async function offlineSetup(tag: string, verifyWorkers = 2) {
  const { openOfflineNet, newDevice, newCustomer } = await import('../test/ledger/offline_world.ts');
  const { limitsFor, Tier, DeviceClass } = await import('../src/policy/limits.ts');
  const { paymentPool } = await import('./ledger_pool.ts');
  const { sha256 } = await import('@noble/hashes/sha2.js');
  const { TEST_RECEIVE_SPEC } = await import('../src/se/test_commands.ts');
  const net = await openOfflineNet('sqlite', 'bench-offline', { verifyWorkers });
  const policy = await net.cb.currentPolicy();
  const limits = limitsFor(policy, Tier.basic);
  const epoch = net.world.nowMs / limits.epochMs;
  const shop = await newDevice(net, net.fiA, `shop-${tag}`, {
    tier: Tier.merchant, deviceClass: DeviceClass.pos, customer: await newCustomer(net.fiA, `shop-co-${tag}`, Tier.merchant), testCommands: true,
  });
  const { payeeIdentityOf } = await import('../src/protocol/session.ts');
  const pool = await paymentPool({
    issuerMaster: sha256(new TextEncoder().encode('issuer/bench-offline')), regulatorKey: net.world.regulatorKey,
    epoch, tier: Tier.basic, capMinor: limits.capMinor, paymentsPerEpoch: limits.paymentsPerEpoch,
    payeeIdentity: payeeIdentityOf((await net.fiA.device(shop.deviceId)).publicKey), policyVersion: policy.version,
  }, SYNC_RECEIPTS / limits.paymentsPerEpoch, limits.paymentsPerEpoch);
  for (const p of pool) {
    await shop.client.call(TEST_RECEIVE_SPEC, { amountMinor: p.amountMinor, nullifier: p.nullifier, epoch: p.epoch, payment: p.record, blinding: p.blinding });
  }
  await net.fiA.warmUp();
  return { net, shop };
}

/** Payments per second of one FI sync of SYNC_RECEIPTS receipts (verify, register at the CB, commit). */
async function settleOnce(verifyWorkers: number): Promise<number> {
  const { net, shop } = await offlineSetup('settle', verifyWorkers);
  try {
    const batch = await shop.client.exportSyncBatch();
    const t0 = performance.now();
    const r = await net.fiA.sync({ report: batch.report, payments: batch.payments });
    const seconds = (performance.now() - t0) / 1000;
    if (r.outcomes.filter((o) => o === 'inserted').length !== SYNC_RECEIPTS) throw new Error('every payment must settle as new');
    return SYNC_RECEIPTS / seconds;
  } finally {
    await net.cleanup();
  }
}

async function settleRates(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const workers of SETTLE_WORKERS) {
    const rates: number[] = [];
    for (let i = 0; i < SETTLE_RUNS; i++) rates.push(await settleOnce(workers));
    rates.sort((a, b) => a - b);
    results.push({ name: `ledger.settle.per_s.w${workers}`, value: Math.round(rates[rates.length >> 1]!), unit: 'payments/s' });
  }
  const two = results.find((r) => r.name === 'ledger.settle.per_s.w2')!;
  return [{ ...two, name: 'ledger.settle.per_s' }, ...results];
}

/** One device syncing its whole log end to end, as syncDevice does it, with the time split by stage. */
async function sync256(): Promise<BenchResult[]> {
  const { net, shop } = await offlineSetup('sync');
  const { installDistribution } = await import('../src/ledger/clients/device_sync.ts');
  try {
    const t0 = performance.now();
    const batch = await shop.client.exportSyncBatch();
    const t1 = performance.now();
    const r = await net.fiA.sync({ report: batch.report, payments: batch.payments });
    const t2 = performance.now();
    await shop.client.applySyncAck(r.ack);
    await installDistribution(shop.client, r.distribution);
    const t3 = performance.now();
    if (r.receiptCount !== SYNC_RECEIPTS || (await shop.client.getInfo()).receiptCount !== 0) throw new Error('the whole log must be settled and freed');
    return [
      { name: 'ledger.sync.256.ms', value: Math.round(t3 - t0), unit: 'ms' },
      { name: 'ledger.sync.256.se_export.ms', value: Math.round(t1 - t0), unit: 'ms' },
      { name: 'ledger.sync.256.fi_settle.ms', value: Math.round(t2 - t1), unit: 'ms' },
      { name: 'ledger.sync.256.se_ack.ms', value: Math.round(t3 - t2), unit: 'ms' },
    ];
  } finally {
    await net.cleanup();
  }
}

/**
 * The same 256-receipt sync as a device host makes it over the network, every request signed by
 * the SE (device_requests.ts): `http` — the one-process network on plain HTTP (loopback);
 * `https` — the FI served over TLS and reaching its CB over mutual TLS in another app, the device
 * host trusting the network CA. Beside `ledger.sync.256.ms` (in process) it shows what the wire,
 * the signatures and TLS cost.
 */
async function sync256Over(kind: 'http' | 'https'): Promise<BenchResult> {
  const { net, shop } = await offlineSetup(`sync-${kind}`);
  const { createOfflineEmbeddedApp, createOfflineFiApp } = await import('../src/ledger/http/apps.ts');
  const { CbHttpClient } = await import('../src/ledger/clients/cb_client.ts');
  const { FiHttpClient } = await import('../src/ledger/clients/fi_client.ts');
  const { syncDevice } = await import('../src/ledger/clients/device_sync.ts');
  const { FinancialIntermediary } = await import('../src/ledger/fi/financial_intermediary.ts');
  const tls = await import('../src/ledger/tls/index.ts');
  const closers: Array<() => Promise<void> | void> = [];
  try {
    let client: InstanceType<typeof FiHttpClient>;
    if (kind === 'http') {
      const app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA] });
      closers.push(() => app.close());
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      client = new FiHttpClient(`${base}/fi/fi-a`, fetch, shop.client);
    } else {
      const ca = await tls.createNetworkCa();
      const [cbCert, fiCert] = [await tls.issueNodeCertificate(ca, { role: 'cb' }), await tls.issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-a' })];
      const dir = mkdtempSync(path.join(tmpdir(), 'tally-bench-tls-'));
      closers.push(() => rmSync(dir, { recursive: true, force: true }));
      tls.writeRevokedFile(path.join(dir, 'revoked.json'), []);
      const revoked = tls.RevokedSerials.open(path.join(dir, 'revoked.json'));
      closers.push(() => revoked.close());
      const cbApp = await createOfflineEmbeddedApp({ cb: net.cb, fis: [] }, { https: tls.httpsServerOptions({ key: cbCert.key, cert: cbCert.cert, ca: ca.cert }), cbCallers: { institution: tls.institutionFrom(revoked) } });
      closers.push(() => cbApp.close());
      const cbUrl = `${await cbApp.listen({ host: '127.0.0.1', port: 0 })}/cb`.replace('127.0.0.1', 'localhost');
      const cbFetch = tls.tlsFetch({ ca: ca.cert, cert: fiCert.cert, key: fiCert.key });
      closers.push(() => cbFetch.close());
      // The same FI book, now reaching its CB over mutual TLS (the in-process FI stays idle).
      const fi = await FinancialIntermediary.open({
        db: net.dbs[1]!.db, fiId: 'fi-a', signingKey: net.world.fi, manufacturers: { 'tally-test-fab': net.world.manufacturer.publicKey },
        cb: await CbHttpClient.connect(cbUrl, cbFetch), clock: net.clock, verifyWorkers: 2,
      });
      await fi.warmUp();
      const fiApp = await createOfflineFiApp(fi, { https: tls.httpsServerOptions({ key: fiCert.key, cert: fiCert.cert, ca: ca.cert }) });
      closers.push(async () => {
        await fiApp.close();
        await fi.close();
      });
      const fiUrl = `${await fiApp.listen({ host: '127.0.0.1', port: 0 })}/fi/fi-a`.replace('127.0.0.1', 'localhost');
      const deviceFetch = tls.caFetch(ca.cert);
      closers.push(() => deviceFetch.close());
      client = new FiHttpClient(fiUrl, deviceFetch, shop.client);
    }
    const t0 = performance.now();
    // No renewal: the in-process figure does not renew either (a renewal adds a blind issuance).
    const r = await syncDevice(shop.client, client, { keyPrefix: `bench-${kind}`, renew: false });
    const ms = performance.now() - t0;
    if (r.rounds.reduce((n, x) => n + x.receiptCount, 0) !== SYNC_RECEIPTS) throw new Error('the whole log must be settled');
    return { name: `ledger.${kind}.sync.256.ms`, value: Math.round(ms), unit: 'ms' };
  } finally {
    for (const c of closers.reverse()) await c();
    await net.cleanup();
  }
}

/** One FI deposit as a teller makes it: an HTTP(S) POST with a bearer token (checked, logged) to a book-only FI node. */
async function depositOver(kind: 'http' | 'https'): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-bench-'));
  const db = openSqlite({ filename: path.join(dir, 'fi.sqlite') });
  const { createFiApp } = await import('../src/ledger/http/apps.ts');
  const { addOperator } = await import('../src/ledger/access/operators.ts');
  const tls = await import('../src/ledger/tls/index.ts');
  try {
    let https;
    let fetchFn: typeof fetch = fetch;
    if (kind === 'https') {
      const ca = await tls.createNetworkCa();
      const cert = await tls.issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-a' });
      https = tls.httpsServerOptions({ key: cert.key, cert: cert.cert, ca: ca.cert });
      fetchFn = tls.caFetch(ca.cert);
    }
    const { app, fi } = await createFiApp({ db, fiId: 'fi-a', https });
    const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('127.0.0.1', 'localhost');
    await fi.creditTreasury({ amountMinor: 10n ** 12n, idempotencyKey: 'fund' });
    const { customerId } = await fi.registerCustomer({ tier: 1, identity: { name: 'bench' }, idempotencyKey: 'kyc' });
    const { accountId } = await fi.openAccount({ customerId, idempotencyKey: 'open' });
    const { token } = await addOperator(db, { name: 'bench teller', role: 'fi-operator' });
    let i = 0;
    const deposit = async () => {
      const res = await fetchFn(`${base}/accounts/${accountId}/deposit`, {
        method: 'POST', body: '{"amountMinor":"1"}',
        headers: { 'content-type': 'application/json', 'idempotency-key': `dep-${i++}`, authorization: `Bearer ${token}` },
      });
      if (res.status !== 200) throw new Error(`deposit answered ${res.status}`);
      await res.arrayBuffer();
    };
    const r = await timeIt(`ledger.${kind}.fi.deposit`, deposit, { n: 300, warmup: 20 });
    await app.close();
    if ('close' in fetchFn) (fetchFn as { close(): void }).close();
    return r;
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmarks: Benchmark[] = [
  {
    group: 'ledger-http',
    async run(): Promise<BenchResult[]> {
      return [await sync256Over('http'), await sync256Over('https'), await depositOver('http'), await depositOver('https')];
    },
  },
  {
    group: 'ledger-offline',
    async run(): Promise<BenchResult[]> {
      return [...(await settleRates()), ...(await sync256())];
    },
  },
  {
    group: 'ledger',
    async run(): Promise<BenchResult[]> {
      const results: BenchResult[] = [
        { name: 'ledger.nullifier.insert.per_s', value: await nullifierRate(NULLIFIER_BATCH_MAX), unit: 'inserts/s' },
      ];
      for (const size of [64, 512]) {
        results.push({ name: `ledger.nullifier.insert.b${size}.per_s`, value: await nullifierRate(size), unit: 'inserts/s' });
      }
      results.push(await depositLatency());
      return results;
    },
  },
];
