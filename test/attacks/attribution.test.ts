// Attackers who try to make a double spend name no one (finding 3 of the threat model). The CB
// must identify the payer of a reused counter whatever was recorded first for that nullifier:
//   - a policy change between the two payments (old proofs must verify under the version they
//     were made under, which the payment context names);
//   - a first conflict that cannot name anyone: a broken payer and a colluding broken payee make
//     two payments of one counter under ONE context (R1 = R2, no second equation), then the payer
//     reuses the counter once more with an honest payee. Every new record for a known N retries
//     recovery against every earlier verified record, so the third payment names the payer, and
//     the same-context pair names the payee that uploaded it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { randomBytes } from 'node:crypto';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import type { Incident } from '../../src/ledger/cb/incidents.ts';
import { DEFAULT_POLICY, Tier, limitsFor } from '../../src/policy/limits.ts';
import { payeeIdentityOf, paymentContext } from '../../src/protocol/session.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/limits.ts';
import { ENGINES } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, openSe, pay, snapshot, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';
import { extractSe, forgePayment, forgetNullifier, plantReceipt } from './broken_se.ts';

const hex = (b: Uint8Array | null): string => (b === null ? 'null' : bytesToHex(b));
const incidentOf = async (net: OfflineNet, N: Uint8Array): Promise<Incident | undefined> =>
  (await net.cb.incidents()).find((i) => hex(i.nullifier) === hex(N));

for (const engine of ENGINES) {
  describe(`attribution that cannot be suppressed on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `attr-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
    });
    after(async () => net.cleanup());

    test('a same-context first conflict does not hide a later genuine reuse of the counter', async () => {
      const payer = await newDevice(net, net.fiA, 'ctx-payer', { depositMinor: 20_000n });
      let accomplice = await newDevice(net, net.fiB, 'ctx-accomplice', { tier: Tier.merchant, testCommands: true });
      const honest = await newDevice(net, net.fiA, 'ctx-honest', { tier: Tier.merchant });
      await load(payer, 10_000n, 'ctx-load');
      const secrets = extractSe(payer.backend);
      const epoch = secrets.credentials.at(-1)!.epoch;
      // One context, built by the accomplice's host, for two payments of counter 0.
      const context = paymentContext({
        version: PROTOCOL_VERSION, requestId: randomBytes(16), payeeNonce: randomBytes(32),
        payeeIdentity: payeeIdentityOf(extractSe(accomplice.backend).attestationPublicKey), policyVersion: secrets.policy.version,
        payeeSessionKey: randomBytes(32).fill(9, 31), payerSessionKey: randomBytes(32).fill(7, 31), timeMs: Number(net.world.nowMs),
      });
      const forged = [1_000n, 1_500n].map((amountMinor, i) => forgePayment(secrets, { epoch, counter: 0, amountMinor, context, seed: `ctx-${engine}-${i}` }));
      const N = forged[0]!.proved.statement.N.toBytes();
      for (const [i, f] of forged.entries()) {
        if (i > 0) accomplice = forgetNullifier(accomplice, net, N);
        await plantReceipt(accomplice.client, { record: f.record, amountMinor: f.proved.opening.amountMinor, blinding: f.proved.opening.r_a, nullifier: N, epoch });
      }
      const first = await syncDevice(accomplice.client, accomplice.fi, { keyPrefix: 'ctx-accomplice' });
      assert.deepEqual(first.rounds[0]!.outcomes, ['inserted', 'conflict']);
      const sameContext = await incidentOf(net, N);
      assert.ok(sameContext, 'the same-context pair opens an incident');
      assert.equal(sameContext.customerId, null, 'one context gives one equation: the payer cannot be named from it');

      await pay(payer, honest, 2_000n); // the SE's counter 0 again, to an honest payee
      const later = await syncDevice(honest.client, honest.fi, { keyPrefix: 'ctx-honest' });
      assert.deepEqual(later.rounds[0]!.outcomes, ['conflict']);
      const incident = await incidentOf(net, N);
      assert.equal(incident?.customerId, payer.customerId, 'the genuine reuse names the payer');
      assert.equal(hex(incident!.deviceId), hex(payer.deviceId));
      assert.equal(hex(incident!.uploaderDeviceId), hex(accomplice.deviceId), 'the same-context pair names the payee that uploaded it');
      await assertBlocked(net, payer);
    });

    test('a policy change between two spends of one counter does not hide the payer', async () => {
      const payer = await newDevice(net, net.fiA, 'pol-payer', { depositMinor: 20_000n });
      const shopA = await newDevice(net, net.fiA, 'pol-shop-a', { tier: Tier.merchant });
      const shopB = await newDevice(net, net.fiB, 'pol-shop-b', { tier: Tier.merchant });
      await load(payer, 10_000n, 'pol-load');
      const image = snapshot(payer.backend);
      await pay(payer, shopA, 3_000n);
      await syncDevice(shopA.client, shopA.fi, { keyPrefix: 'pol-shop-a' });
      // The CB lowers tier 1's cap: the first payment was made, and is valid, under version 1.
      const basic = limitsFor(DEFAULT_POLICY, Tier.basic);
      await net.cb.setPolicy({
        policy: { version: 2n, tiers: { ...DEFAULT_POLICY.tiers, [Tier.basic]: { ...basic, capMinor: basic.capMinor / 2n } } },
        idempotencyKey: 'policy-v2',
      });
      const restored: TestDevice = { ...payer, ...openSe(net, 'pol-payer-restored', image) };
      await pay(restored, shopB, 3_000n); // shop B has not synced since: both still run version 1
      const r = await syncDevice(shopB.client, shopB.fi, { keyPrefix: 'pol-shop-b' });
      assert.deepEqual(r.rounds[0]!.outcomes, ['conflict'], 'the honest payee settles under the version it was paid under');
      const incident = (await net.cb.incidents()).find((i) => i.id === r.rounds[0]!.incidentIds[0]);
      assert.equal(incident?.customerId, payer.customerId, 'the double spender is named');
      assert.equal(hex(incident!.deviceId), hex(payer.deviceId));
    });
  });
}

async function assertBlocked(net: OfflineNet, d: TestDevice): Promise<void> {
  assert.equal(await net.cb.isBlocked(d.fi.fiId, d.customerId), true, `${d.name}'s customer gets no new credential`);
}
