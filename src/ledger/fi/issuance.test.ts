// FinancialIntermediary.issueCredential walks its check order (issuance.ts): starting from a
// request wrong in every way, each row fixes one thing and the refusal moves down the order —
// nonce, SE signature, signed fields, pinned K, one per (device, epoch) — and no refused row leaves
// an issuance behind at the FI or the CB. The same for the CB's own checks, which a dishonest FI
// cannot skip. On SQLite and PostgreSQL.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomScalar, scalarToBytes, seededRng } from '../../crypto/index.ts';
import { DeviceClass, Tier } from '../../policy/limits.ts';
import { Nvm } from '../../se/nvm.ts';
import { SeState } from '../../se/state.ts';
import { ENGINES } from '../../../test/ledger/engines.ts';
import { codeOf, newDevice, openOfflineNet, openSe, type OfflineNet, type TestDevice } from '../../../test/ledger/offline_world.ts';
import { syncDevice } from '../clients/device_sync.ts';
import { LedgerError } from '../errors.ts';


async function rows(net: OfflineNet, d: TestDevice): Promise<[number, number]> {
  const cb = await net.cb.db.query('SELECT 1 AS one FROM cb_issuances WHERE device_id = $1', [d.deviceId]);
  const fi = await d.fi.db.query('SELECT 1 AS one FROM issuances WHERE device_id = $1', [d.deviceId]);
  return [cb.length, fi.length];
}

/** The same SE with its k rewritten in NVM (a broken chip that changes key after enrolment). */
function withNewK(net: OfflineNet, d: TestDevice, name: string) {
  const state = new SeState(Nvm.open(d.backend));
  const tx = state.begin();
  tx.set('identity', { ...tx.get('identity'), k: scalarToBytes(randomScalar(seededRng(name))) });
  tx.set('issuance', { pending: null });
  state.commit(tx);
  return openSe(net, name, d.backend).client;
}

for (const engine of ENGINES) {
  describe(`issueCredential check order on ${engine}`, () => {
    let net: OfflineNet;
    before(async () => {
      net = await openOfflineNet(engine, `fi-issuance-${engine}`);
    });
    after(async () => net.cleanup());

    test('issueCredential() refuses in check order: nonce, signature, signed fields, pinned K, one per epoch', async () => {
      const d = await newDevice(net, net.fiA, 'walker');
      const other = await newDevice(net, net.fiA, 'walker-other');
      // A renewal comes only after a consistent sync (renewal_gate.ts): both devices sync first.
      for (const x of [d, other]) await syncDevice(x.client, net.fiA, { renew: false, keyPrefix: `${x.name}-sync` });
      const epoch = (await d.client.getInfo()).credentialEpochs.at(-1)! + 1n;
      const start = await net.fiA.startIssuance({ deviceId: d.deviceId, epoch });
      const issue = (issuerNonce: Uint8Array, request: Uint8Array, key: string) =>
        codeOf(net.fiA.issueCredential({ deviceId: d.deviceId, issuerNonce, request, idempotencyKey: `walker/${key}` }));
      const foreign = await other.client.beginIssuance(await net.fiA.startIssuance({ deviceId: other.deviceId, epoch }));
      const table: Array<[string, () => Promise<Uint8Array>, Uint8Array, string]> = [
        ['all wrong: unknown nonce, another SE', async () => foreign, new Uint8Array(32), 'BAD_REQUEST'],
        ['nonce fixed: signed by another SE', async () => foreign, start.issuerNonce, 'SIGNATURE_INVALID'],
        ['signed by this SE, for another tier', () => d.client.beginIssuance({ ...start, tier: Tier.full }), start.issuerNonce, 'ISSUANCE_MISMATCH'],
        ['for another nonce', () => d.client.beginIssuance({ ...start, issuerNonce: new Uint8Array(32).fill(9) }), start.issuerNonce, 'ISSUANCE_MISMATCH'],
        ['for another epoch', async () => d.client.beginIssuance(await net.fiA.startIssuance({ deviceId: d.deviceId, epoch: epoch - 1n })), start.issuerNonce, 'ISSUANCE_MISMATCH'],
      ];
      for (const [i, [what, make, nonce, expected]] of table.entries()) {
        assert.equal(await issue(nonce, await make(), `row-${i}`), expected, what);
        assert.deepEqual(await rows(net, d), [1, 1], `${what}: nothing recorded`);
      }
      // A broken chip whose k changed after enrolment signs a correct request for another K.
      const request = await d.client.beginIssuance(start);
      const rekeyed = withNewK(net, d, 'walker-rekeyed');
      assert.equal(await issue(start.issuerNonce, await rekeyed.beginIssuance(start), 'rekeyed'), 'DEVICE_KEY_MISMATCH');
      // The CB refuses the same on its own when a dishonest FI forwards it.
      const viaCb = (req: Uint8Array, key: string) => codeOf(net.cb.issueCredential({
        fiId: 'fi-a', customerId: d.customerId, deviceId: d.deviceId, tier: d.tier, deviceClass: DeviceClass.wallet, epoch,
        issuerNonce: start.issuerNonce, request: req, idempotencyKey: `walker/cb-${key}`,
      }));
      assert.equal(await viaCb(foreign, 'foreign'), 'SIGNATURE_INVALID');
      assert.equal(await viaCb(await rekeyed.beginIssuance(start), 'rekeyed'), 'DEVICE_KEY_MISMATCH');
      assert.equal(await codeOf(net.cb.issueCredential({
        fiId: 'fi-b', customerId: d.customerId, deviceId: d.deviceId, tier: d.tier, deviceClass: DeviceClass.wallet, epoch,
        issuerNonce: start.issuerNonce, request, idempotencyKey: 'walker/cb-other-fi',
      })), 'UNKNOWN_DEVICE');
      assert.deepEqual(await rows(net, d), [1, 1]);
      // All fixed: issued once; the same request again (any idempotency key) gets the same answer.
      const first = await net.fiA.issueCredential({ deviceId: d.deviceId, issuerNonce: start.issuerNonce, request, idempotencyKey: 'walker/ok' });
      assert.deepEqual(await net.fiA.issueCredential({ deviceId: d.deviceId, issuerNonce: start.issuerNonce, request, idempotencyKey: 'walker/ok-again' }), first);
      assert.deepEqual(await rows(net, d), [2, 2]);
      // Any other request for this (device, epoch) — here the rekeyed chip's, at the CB — is refused.
      assert.equal(await viaCb(await rekeyed.beginIssuance(start), 'rekeyed-after'), 'DEVICE_KEY_MISMATCH');
    });
  });
}
