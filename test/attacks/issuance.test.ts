// Named attackers against credential issuance (issue 8, finding 1; DESIGN §3.1), on SQLite and
// PostgreSQL, across several epochs and several devices per customer. The untrusted host builds
// its own request (its own k; the right K with a proof it made), asks twice for one epoch, replays
// an old signed request or another device's; a broken SE enrols a key related to a registered one.
// Each must get nothing: no credential, no value, no state change at the FI or the CB.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { G1Point, R_ORDER, computeNullifier, randomScalar, gK, scalarAdd, scalarFromBytes, scalarToBytes, seededRng, type Credential } from '../../src/crypto/index.ts';
import { DEFAULT_POLICY, DeviceClass, Tier, limitsFor } from '../../src/policy/limits.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { Applet } from '../../src/se/applet.ts';
import { SeClient, transmitTo } from '../../src/se/client.ts';
import { signAttestationCert } from '../../src/se/messages.ts';
import { MemoryBackend, Nvm } from '../../src/se/nvm.ts';
import { SeError } from '../../src/se/status.ts';
import { TEST_COMMANDS } from '../../src/se/test_commands.ts';
import { paymentSe, payDirect, type TestSe } from '../support/payments.ts';
import { signEnvelope, p256KeyPair } from '../../src/se/signed.ts';
import { SeState } from '../../src/se/state.ts';
import { epochNow, issueCredential as issueWorldCredential, loadVoucher, makeWorld, provisionSe, signedPolicy, type World } from '../support/world.ts';
import { ENGINES } from '../ledger/engines.ts';
import { codeOf, fundFi, issueCredential, load, newCustomer, newDevice, openOfflineNet, openSe, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';
import { hostBuiltRequest, hostFinishes, hostPays, type DeviceFacts } from './hostile_host.ts';

const hex = bytesToHex;
const EPOCH_MS = limitsFor(DEFAULT_POLICY, Tier.basic).epochMs;

async function factsOf(net: OfflineNet, d: TestDevice, epoch: bigint): Promise<DeviceFacts> {
  const info = await d.client.getInfo();
  return { deviceId: d.deviceId, epoch, tier: d.tier, deviceClass: info.deviceClass!, issuerPublicKey: await net.cb.issuerPublicKey(epoch) };
}

/** Rows the CB and the FI keep for one device's issuances (what a refused attempt must not add). */
async function issuanceRows(net: OfflineNet, d: TestDevice): Promise<[number, number]> {
  const cb = await net.cb.db.query('SELECT epoch FROM cb_issuances WHERE device_id = $1', [d.deviceId]);
  const fi = await d.fi.db.query('SELECT epoch FROM issuances WHERE device_id = $1', [d.deviceId]);
  return [cb.length, fi.length];
}

/** A body shaped like the SE's signed issuance request, signed by a key the host made up. */
function selfSigned(rng: ReturnType<typeof seededRng>, facts: DeviceFacts, issuerNonce: Uint8Array, blindRequest: Uint8Array, K: Uint8Array) {
  const key = p256KeyPair(rng);
  return signEnvelope(key.secretKey, {
    type: 'tally/issuance-request', v: 1, issuerNonce, deviceId: facts.deviceId, epoch: facts.epoch,
    tier: facts.tier, deviceClass: facts.deviceClass, kPoint: K, blindRequest,
  });
}

/** An SE provisioned and attested as usual, except that the broken chip's k is `k` (set in NVM). */
async function enrolWithKey(net: OfflineNet, name: string, k: bigint, owner: { customerId: string; accountId: string }) {
  const se = openSe(net, name);
  await provisionSe(net.worlds.get('fi-a')!, se.client, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
  const state = new SeState(Nvm.open(se.backend));
  const tx = state.begin();
  tx.set('identity', { ...tx.get('identity'), k: scalarToBytes(k) });
  state.commit(tx);
  const chip = openSe(net, `${name}-broken`, se.backend as MemoryBackend);
  const info = await chip.client.getInfo();
  const challenge = net.fiA.enrolmentChallenge({ ...owner, certificate: info.certificate! });
  const attestation = await chip.client.attest(challenge);
  const enrolled = net.fiA.enrolDevice({ ...owner, certificate: info.certificate!, attestation, tier: Tier.basic, idempotencyKey: `${name}/enrol` });
  return { enrolled, deviceId: info.deviceId!, client: chip.client };
}

/** A funded payer SE outside any ledger whose k is `k` (a broken chip), with a credential for now. */
async function payerWithKey(w: World, k: bigint, seed: string): Promise<TestSe> {
  const backend = new MemoryBackend();
  const open = () => Applet.open({ backend, rng: seededRng(seed), clock: w.clock, commands: TEST_COMMANDS });
  const keys = await new SeClient(transmitTo(open())).generateKeys({ deviceClass: DeviceClass.wallet, manufacturerCaPublicKey: w.manufacturer.publicKey });
  const state = new SeState(Nvm.open(backend));
  const tx = state.begin();
  tx.set('identity', { ...tx.get('identity'), k: scalarToBytes(k) });
  state.commit(tx);
  const applet = open();
  const client = new SeClient(transmitTo(applet));
  const certificate = signAttestationCert(w.manufacturer.secretKey, {
    deviceId: keys.deviceId, publicKey: keys.attestationPublicKey, deviceClass: DeviceClass.wallet, manufacturer: 'test', issuedAtMs: w.nowMs,
  });
  await client.personalize({ certificate, cbPublicKey: w.cb.publicKey, fiId: w.fiId, fiPublicKey: w.fi.publicKey, regulatorKey: w.regulatorKey, tier: Tier.basic, signedPolicy: signedPolicy(w) });
  await issueWorldCredential(w, client, { epoch: epochNow(w, Tier.basic), tier: Tier.basic, deviceClass: DeviceClass.wallet });
  await client.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 0n, 10_000n));
  return { applet, client, backend, attestationPublicKey: keys.attestationPublicKey };
}

test('related keys collide on a nullifier: SEs with k and k + 1 give one N when both may enrol', async () => {
  const w = makeWorld('related-keys');
  const k = randomScalar(seededRng('related-keys/k'));
  const first = await payerWithKey(w, k, 'related-keys/first');
  const second = await payerWithKey(w, scalarAdd(k, 1n), 'related-keys/second');
  const shop = await paymentSe(w, { seed: 'related-keys/shop' });
  await payDirect(first, shop, 100n); // counter 0
  await payDirect(first, shop, 100n); // counter 1: N = g_N(e)·1/(k + 1)
  // The second device's first honest payment (counter 0) has N = g_N(e)·1/((k + 1) + 0): the same.
  const request = await shop.client.buildPaymentRequest(100n);
  const payment = (await second.client.authorizePayment(request, 100n)).payment;
  await assert.rejects(shop.client.acceptPayment(payment), (e: unknown) => e instanceof SeError && e.code === 'NULLIFIER_SEEN');
});

const seK = (d: { backend: MemoryBackend }) => scalarFromBytes(new SeState(Nvm.open(d.backend)).get('identity').k);

for (const engine of ENGINES) {
  describe(`issuance attacks on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `issuance-${engine}`);
      await fundFi(net, net.fiA, 1_000_000n, 'issue-a');
      await fundFi(net, net.fiB, 1_000_000n, 'issue-b');
    });
    after(async () => net.cleanup());

    test('host substitutes its own issuance request', async () => {
      const mallory = await newDevice(net, net.fiA, 'mallory'); // enrolled, one genuine credential, never funded
      const shop = await newDevice(net, net.fiB, 'shop');
      // Honest value in circulation (another customer's funded SE), which the shop's defund draws on.
      const honest = await newDevice(net, net.fiA, 'honest', { depositMinor: 100_000n });
      await load(honest, 100_000n, 'honest/load');
      const rng = seededRng(`${net.seed}/mallory-host`);
      const refusals: string[] = [];
      const stolen: Array<{ credential: Credential; facts: DeviceFacts }> = [];
      const attempt = async (what: string, facts: DeviceFacts, nonce: Uint8Array, request: Uint8Array, secret: Parameters<typeof hostFinishes>[1], viaCb = false) => {
        const call = viaCb
          ? net.cb.issueCredential({
            fiId: 'fi-a', customerId: mallory.customerId, deviceId: mallory.deviceId, tier: facts.tier, deviceClass: facts.deviceClass,
            epoch: facts.epoch, issuerNonce: nonce, request, idempotencyKey: `mallory/${what}`,
          })
          : net.fiA.issueCredential({ deviceId: mallory.deviceId, issuerNonce: nonce, request, idempotencyKey: `mallory/${what}` });
        try {
          const issued = await call;
          stolen.push({ credential: hostFinishes(facts, secret, issued.response, issued.counterSet), facts });
        } catch (e) {
          if (!(e instanceof LedgerError)) throw e;
          refusals.push(`${what}: ${e.code}`);
        }
      };
      // Twice for the current epoch, each with a k of the host's choosing, sent as the bare request.
      for (const i of [0, 1]) {
        const started = await net.fiA.startIssuance({ deviceId: mallory.deviceId });
        const facts = await factsOf(net, mallory, started.epoch);
        const own = hostBuiltRequest(facts, started.issuerNonce, rng);
        await attempt(`own-k-${i}`, facts, started.issuerNonce, own.bytes, own.secret);
      }
      // The same, wrapped as an SE request but signed by a key the host made up; and the right K
      // (read off the enrolment) with a proof the host made for its own k.
      const started = await net.fiA.startIssuance({ deviceId: mallory.deviceId });
      const facts = await factsOf(net, mallory, started.epoch);
      const own = hostBuiltRequest(facts, started.issuerNonce, rng);
      await attempt('self-signed', facts, started.issuerNonce, selfSigned(rng, facts, started.issuerNonce, own.bytes, own.request.K.toBytes()), own.secret);
      const rightK = gK().mul(seK(mallory)).toBytes();
      const spliced = own.bytes.slice();
      spliced.set(rightK, 0);
      await attempt('right-K', facts, started.issuerNonce, selfSigned(rng, facts, started.issuerNonce, spliced, rightK), own.secret);
      // A dishonest FI forwards the host's request straight to the CB.
      await attempt('via-cb', facts, started.issuerNonce, own.bytes, own.secret, true);

      // Whatever the host obtained, it spends: an unfunded device pays the honest shop cap, twice per credential.
      const cap = limitsFor(DEFAULT_POLICY, Tier.basic).capMinor;
      const shopBefore = await net.fiB.ledger.balance(shop.accountId);
      for (const { credential, facts: f } of stolen.slice(0, 2)) {
        for (const counter of [0, 1]) {
          await hostPays({ payee: shop.client, credential, counter, amountMinor: cap, policy: DEFAULT_POLICY, tier: f.tier, issuerPublicKey: f.issuerPublicKey, regulatorKey: net.world.regulatorKey, rng });
        }
      }
      if (stolen.length > 0) await syncDevice(shop.client, shop.fi, { defundAll: true, keyPrefix: 'shop' });
      const minted = (await net.fiB.ledger.balance(shop.accountId)) - shopBefore;
      assert.equal((await mallory.client.getInfo()).balanceMinor, 0n, 'the attacker device was never funded');
      assert.equal(stolen.length, 0, `the host obtained ${stolen.length} credentials outside its SE and minted ${minted} minor units (4 × cap = ${4n * cap})`);
      assert.equal(minted, 0n);
      assert.deepEqual(refusals, ['own-k-0', 'own-k-1', 'self-signed', 'right-K', 'via-cb'].map((w) => `${w}: SIGNATURE_INVALID`));
      assert.deepEqual(await issuanceRows(net, mallory), [1, 1], 'only the genuine credential of enrolment was issued');
    });

    test('host asks twice for one epoch', async () => {
      const phone = await newDevice(net, net.fiA, 'carol-phone');
      const watch = await newDevice(net, net.fiA, 'carol-watch', { customer: phone });
      const epoch = (await phone.client.getInfo()).credentialEpochs.at(-1)!;
      // The host asks again for the epoch it holds: the SE signs a fresh request (new s'), refused.
      const again = await net.fiA.startIssuance({ deviceId: phone.deviceId, epoch });
      const second = await phone.client.beginIssuance(again);
      assert.equal(await codeOf(net.fiA.issueCredential({ deviceId: phone.deviceId, issuerNonce: again.issuerNonce, request: second, idempotencyKey: 'carol/second' })), 'ALREADY_ISSUED');
      // A dishonest FI forwards it to the CB anyway: the CB keeps one issuance per (device, epoch) too.
      const cbCall = net.cb.issueCredential({
        fiId: 'fi-a', customerId: phone.customerId, deviceId: phone.deviceId, tier: phone.tier, deviceClass: DeviceClass.wallet,
        epoch, issuerNonce: again.issuerNonce, request: second, idempotencyKey: 'carol/second-cb',
      });
      assert.equal(await codeOf(cbCall), 'ALREADY_ISSUED');
      assert.deepEqual(await issuanceRows(net, phone), [1, 1]);

      // Next epoch (after a consistent sync, which every renewal needs): an identical retry (lost
      // answer, host crash) gets the first answer back, byte for byte.
      await syncDevice(phone.client, net.fiA, { renew: false, keyPrefix: 'carol-phone-sync' });
      const next = await net.fiA.startIssuance({ deviceId: phone.deviceId, epoch: epoch + 1n });
      assert.deepEqual(await net.fiA.startIssuance({ deviceId: phone.deviceId, epoch: epoch + 1n }), next, 'one nonce per (device, epoch)');
      const request = await phone.client.beginIssuance(next);
      assert.deepEqual(await phone.client.beginIssuance(next), request, 'the SE re-sends its pending request');
      const first = await net.fiA.issueCredential({ deviceId: phone.deviceId, issuerNonce: next.issuerNonce, request, idempotencyKey: 'carol/next' });
      const retry = await net.fiA.issueCredential({ deviceId: phone.deviceId, issuerNonce: next.issuerNonce, request, idempotencyKey: 'carol/next-retry' });
      assert.deepEqual(retry, first);
      await phone.client.finishIssuance({ epoch: first.epoch, tier: first.tier, issuerKeyCert: first.issuerKeyCert, response: first.response, counterSet: first.counterSet });
      const third = await phone.client.beginIssuance(next);
      assert.notDeepEqual(third, request);
      assert.equal(await codeOf(net.fiA.issueCredential({ deviceId: phone.deviceId, issuerNonce: next.issuerNonce, request: third, idempotencyKey: 'carol/third' })), 'ALREADY_ISSUED');
      assert.deepEqual((await phone.client.getInfo()).credentialEpochs, [epoch, epoch + 1n]);

      // The customer's other device is its own (device, epoch): it renews at sync in the next epoch.
      net.world.nowMs += BigInt(EPOCH_MS);
      const synced = await syncDevice(watch.client, net.fiA, { keyPrefix: 'carol-watch' });
      assert.equal(synced.renewedEpoch, epoch + 1n);
      assert.deepEqual(await issuanceRows(net, watch), [2, 2]);
      assert.deepEqual(await issuanceRows(net, phone), [2, 2]);
    });

    test("host replays another device's signed request", async () => {
      const alice = await newDevice(net, net.fiA, 'alice-phone');
      const bob = await newDevice(net, net.fiA, 'bob-phone');
      for (const x of [alice, bob]) await syncDevice(x.client, net.fiA, { renew: false, keyPrefix: `${x.name}-sync` });
      const epoch = (await alice.client.getInfo()).credentialEpochs.at(-1)! + 1n;
      const forAlice = await net.fiA.startIssuance({ deviceId: alice.deviceId, epoch });
      const forBob = await net.fiA.startIssuance({ deviceId: bob.deviceId, epoch });
      const bobRequest = await bob.client.beginIssuance(forBob);
      // Alice's host submits Bob's SE-signed request as Alice's, under either nonce.
      for (const nonce of [forAlice.issuerNonce, forBob.issuerNonce]) {
        const code = await codeOf(net.fiA.issueCredential({ deviceId: alice.deviceId, issuerNonce: nonce, request: bobRequest, idempotencyKey: `alice/bob-${hex(nonce).slice(0, 8)}` }));
        assert.equal(code, nonce === forBob.issuerNonce ? 'BAD_REQUEST' : 'SIGNATURE_INVALID');
      }
      // Alice's own request for this epoch, issued; replayed later for the epoch after under that epoch's nonce.
      const old = await alice.client.beginIssuance(forAlice);
      await issueCredential(alice, 'alice/next', epoch);
      assert.deepEqual((await issuanceRows(net, alice))[0], 2);
      net.world.nowMs += BigInt(EPOCH_MS);
      await syncDevice(alice.client, net.fiA, { renew: false, keyPrefix: 'alice-phone-sync-2' });
      const later = await net.fiA.startIssuance({ deviceId: alice.deviceId, epoch: epoch + 1n });
      assert.equal(await codeOf(net.fiA.issueCredential({ deviceId: alice.deviceId, issuerNonce: later.issuerNonce, request: old, idempotencyKey: 'alice/replay' })), 'ISSUANCE_MISMATCH');
      // Bob's own request still works for Bob: nothing the attacker did touched him.
      await net.fiA.issueCredential({ deviceId: bob.deviceId, issuerNonce: forBob.issuerNonce, request: bobRequest, idempotencyKey: 'bob/next' });
      assert.deepEqual(await issuanceRows(net, alice), [2, 2]);
      assert.deepEqual(await issuanceRows(net, bob), [2, 2]);
    });

    test('related keys collide on a nullifier', async () => {
      // Why the CB must refuse them: N = g_N(e)/(k+n), so k with counter n+1 and k+1 with counter n collide.
      const epoch = 7n;
      const k = randomScalar(seededRng(`${net.seed}/k`));
      for (const delta of [1n, 5n]) {
        assert.ok(computeNullifier(k, 3n + delta, epoch).equals(computeNullifier(scalarAdd(k, delta), 3n, epoch)));
      }
      const dave = await newDevice(net, net.fiA, 'dave-phone');
      const K = gK().mul(seK(dave));
      const owner = await newCustomer(net.fiA, 'erin', Tier.basic);
      const lMax = BigInt(Math.max(...Object.values(DEFAULT_POLICY.tiers).map((l) => l.paymentsPerEpoch)));
      const codes: string[] = [];
      for (const delta of [1n, -1n, lMax - 1n, 1n - lMax, 0n]) {
        const broken = await enrolWithKey(net, `erin-${delta}`, scalarAdd(seK(dave), ((delta % R_ORDER) + R_ORDER) % R_ORDER), owner);
        codes.push(await codeOf(broken.enrolled));
        assert.equal(await codeOf(net.fiA.device(broken.deviceId)), 'UNKNOWN_DEVICE', 'a refused enrolment leaves no device behind');
      }
      assert.deepEqual(codes, Array(5).fill('RELATED_DEVICE_KEY'));
      // Just outside the window the key is unrelated and enrols.
      const far = await enrolWithKey(net, 'erin-far', scalarAdd(seK(dave), lMax), owner);
      assert.equal(await codeOf(far.enrolled), 'ACCEPTED');
      const registered = await net.cb.db.query('SELECT k_point FROM cb_device_keys WHERE device_id = $1', [far.deviceId]);
      assert.ok(G1Point.fromBytes(registered[0]!['k_point'] as Uint8Array).equals(K.add(gK().mul(lMax))));
    });
  });
}
