// The ledger process (a CB and two FIs) is SIGKILLed at random moments while devices sync to it
// over HTTP, and restarted; every device retries until its batch is acknowledged. Afterwards
// nothing acknowledged is lost (every ack a device applied has its batch in the FI's database),
// nothing is counted twice (one registry row per payment, each receipt once, exact balances),
// unloads interrupted half-way are finished, and the network audit is clean with nothing in flight.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '@noble/hashes/utils.js';
import { seededRng } from '../../src/crypto/rng.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { FiHttpClient } from '../../src/ledger/clients/fi_client.ts';
import { auditNetwork, formatNetworkAudit } from '../../src/ledger/network_audit.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { ENGINES } from './engines.ts';
import { MANUFACTURER, fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from './offline_world.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'offline_node_process.ts');
/** Kills per engine: enough to land in several phases of a sync, few enough to keep the file fast. */
const KILLS_MAX = 3;
const START_TIMEOUT_MS = 30_000;

interface Child {
  proc: ChildProcess;
  url: string;
}

async function start(net: OfflineNet): Promise<Child> {
  const config = { seed: net.seed, nowMs: Number(net.world.nowMs), cb: net.dbs[0]!.spec, fiA: net.dbs[1]!.spec, fiB: net.dbs[2]!.spec, manufacturer: MANUFACTURER };
  const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // a child left running would keep the test process (and npm test) alive
      reject(new Error(`ledger process did not start within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ledger process exited with ${code} before listening: ${stderr}`));
    });
  });
  return { proc, url };
}

function kill(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) return resolve();
    child.proc.once('exit', () => resolve());
    child.proc.kill('SIGKILL');
  });
}

for (const engine of ENGINES) {
  describe(`syncs survive SIGKILL of the ledger process on ${engine}`, () => {
    let net: OfflineNet;
    let child: Child | undefined;
    before(async () => {
      net = await openOfflineNet(engine, `crash-${engine}`);
    });
    after(async () => {
      if (child) await kill(child);
      await net.cleanup();
    });

    test('killed at random moments and restarted: nothing acknowledged lost, nothing counted twice', async (t) => {
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
      const payer = await newDevice(net, net.fiA, 'payer', { depositMinor: 20_000n });
      const shop = await newDevice(net, net.fiA, 'shop');
      const p2 = await newDevice(net, net.fiA, 'p2');
      const p3 = await newDevice(net, net.fiB, 'p3');
      await load(payer, 10_000n, 'load-payer');
      const plan: Array<[TestDevice, bigint]> = [[shop, 700n], [shop, 300n], [p2, 1_100n], [p2, 400n], [p3, 900n]];
      for (const [to, amount] of plan) await pay(payer, to, amount);
      const rng = seededRng(`${net.seed}/kills`);
      child = await start(net);
      let kills = 0;
      const acked: Array<[TestDevice, bigint]> = [];
      for (const d of [shop, p2, p3, payer, shop]) {
        for (let attempt = 0; ; attempt++) {
          assert.ok(attempt < 12, `${d.name}: no progress after ${attempt} attempts`);
          const url = `${child.url}/fi/${d.fi.fiId}`;
          // Syncs of a few payments take ~100–400 ms once the workers are warm: kill within that window.
          const killer = kills < KILLS_MAX ? setTimeout(() => void kill(child!), 5 + (rng(1)[0]! % 150)) : undefined;
          try {
            const r = await syncDevice(d.client, new FiHttpClient(url, fetch, d.client), { defundAll: d === shop, keyPrefix: `${d.name}-${attempt}` });
            clearTimeout(killer);
            for (const round of r.rounds) acked.push([d, round.batchId]);
            break;
          } catch (e) {
            clearTimeout(killer);
            if (e instanceof LedgerError) throw e;
            kills++;
            await kill(child);
            child = await start(net);
          }
        }
      }
      await kill(child);
      child = undefined;
      // What a restart does first: finish any voucher or unload leg a kill interrupted.
      for (const fi of [net.fiA, net.fiB]) await fi.resume();

      for (const [d, batchId] of acked) {
        const rows = await d.fi.db.query('SELECT 1 AS one FROM sync_batches WHERE device_id = $1 AND batch_id = $2', [d.deviceId, batchId]);
        assert.equal(rows.length, 1, `${d.name} batch ${batchId} was acknowledged, so it must be recorded`);
      }
      const registry = await net.cb.db.query('SELECT payment_hash FROM nullifiers');
      assert.equal(registry.length, plan.length, 'one registry row per payment');
      const receipts = [...(await net.fiA.db.query('SELECT payment_hash FROM receipts')), ...(await net.fiB.db.query('SELECT payment_hash FROM receipts'))];
      assert.equal(new Set(receipts.map((r) => bytesToHex(r['payment_hash'] as Uint8Array))).size, plan.length);
      for (const d of [shop, p2, p3, payer]) assert.equal((await d.client.getInfo()).receiptCount, 0, `${d.name} log freed`);
      assert.equal(await net.fiA.ledger.balance(shop.accountId), 1_000n, 'the terminal defunded exactly once');
      assert.equal((await shop.client.getInfo()).balanceMinor, 0n);
      const audit = await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true });
      assert.equal(audit.clean, true, formatNetworkAudit(audit));
      assert.ok(kills >= 1, 'at least one kill landed');
      t.diagnostic(`${kills} kills landed during syncs; ${acked.length} batches acknowledged`);
    });
  });
}
