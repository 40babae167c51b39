// Attacker: a curious CB holding every record of three epochs (finding 2 of the threat model).
// Two honest payers, each paying with counters 0 and 1 in every epoch, to an honest merchant; all
// parties sync each epoch and renew. No counter is ever reused inside an epoch, so no payer may be
// named. With one fixed tag base h_T the same counter in two epochs put both tags on one line and
// the CB named every payment; with per-epoch bases h_T(e) and g_N(e) the lines never meet.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { limitsFor, Tier } from '../../src/policy/limits.ts';
import { nameByTagLines, readEvidence, readKeyRegistry } from './curious_cb.ts';

const EPOCHS = 3;

for (const engine of ENGINES) {
  describe(`curious CB across ${EPOCHS} epochs on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `link-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
    });
    after(async () => net.cleanup());

    test('CB links one device\'s payments across three epochs', async () => {
      const alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
      const bob = await newDevice(net, net.fiA, 'bob', { depositMinor: 50_000n });
      const shop = await newDevice(net, net.fiA, 'shop', { tier: Tier.merchant });
      await load(alice, 20_000n, 'alice-load');
      await load(bob, 20_000n, 'bob-load');
      const epochMs = BigInt(limitsFor(net.world.policy, Tier.basic).epochMs);
      const payers: TestDevice[] = [alice, bob];
      for (let e = 0; e < EPOCHS; e++) {
        if (e > 0) {
          net.world.nowMs += epochMs;
          for (const d of [alice, bob, shop]) {
            await syncDevice(d.client, d.fi, { keyPrefix: `${d.name}-e${e}` });
            const epoch = net.world.nowMs / epochMs;
            assert.ok((await d.client.getInfo()).credentialEpochs.includes(epoch), `${d.name} holds a credential of epoch ${epoch}`);
          }
        }
        for (const payer of payers) {
          await pay(payer, shop, 100n + BigInt(e));
          await pay(payer, shop, 200n + BigInt(e));
        }
        await syncDevice(shop.client, shop.fi, { keyPrefix: `shop-settle-${e}` });
      }

      const evidence = await readEvidence(net.cb.db);
      assert.equal(evidence.length, EPOCHS * payers.length * 2, 'the CB holds every payment');
      assert.equal(new Set(evidence.map((r) => r.epoch)).size, EPOCHS);
      const named = nameByTagLines(evidence, await readKeyRegistry(net.cb.db));
      assert.equal(named.size, 0, `the CB named the payer of ${named.size} honest payments: ${[...new Set(named.values())].join(', ')}`);
      assert.equal((await net.cb.incidents()).length, 0, 'no double spend, no incident');
    });
  });
}
