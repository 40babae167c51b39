// The host can never read the SE's secrets: the device secret k, the credential signature (A, e)
// and blinding s, the pending issuance blinding s', and the attestation private key. Every
// response of a full device life — and of a sweep over every INS with hostile data — is checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { G1Point, scalarToBytes } from '../crypto/group.ts';
import { randomScalar, seededRng } from '../crypto/rng.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { Applet } from './applet.ts';
import { decodeResponse, encodeCommand } from './apdu.ts';
import { containsBytes } from './bytes.ts';
import { SeClient, type Transmit } from './client.ts';
import { MemoryBackend } from './nvm.ts';
import { SECTIONS } from './state.ts';
import { TEST_COMMANDS, TEST_RECEIVE_SPEC, TEST_SPEND_SPEC } from './test_commands.ts';
import { epochNow, issueCredential, issuerKeyCert, loadVoucher, makeWorld, provisionSe, signedRevocationList, syncAck } from '../../test/support/world.ts';

test('no response ever carries k, the credential signature, s, s\' or the attestation private key', async () => {
  const w = makeWorld('secrets');
  const backend = new MemoryBackend();
  const applet = Applet.open({ backend, rng: seededRng('secrets-se'), clock: w.clock, commands: TEST_COMMANDS });
  const responses: Uint8Array[] = [];
  const transmit: Transmit = async (apdu) => {
    const res = applet.transmit(apdu);
    responses.push(res);
    return res;
  };
  const client = new SeClient(transmit, { extendedLength: false });
  const keys = await provisionSe(w, client, { deviceClass: DeviceClass.wallet, tier: Tier.full });
  const epoch = epochNow(w, Tier.full);
  await issueCredential(w, client, { epoch, tier: Tier.full, deviceClass: DeviceClass.wallet });
  await client.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 0n, 50_000n));
  await client.call(TEST_SPEND_SPEC, { amountMinor: 10_000n });
  await client.call(TEST_RECEIVE_SPEC, { amountMinor: 500n, nullifier: G1Point.BASE.toBytes(), epoch, payment: w.rng(300), blinding: scalarToBytes(randomScalar(w.rng)) });
  await client.makeUnloadRecord(1_000n);
  await client.getLastUnloadRecord();
  await client.installRevocationList(signedRevocationList(w, { version: 1n, epoch, nullifiers: [] }));
  const batch = await client.exportSyncBatch();
  await client.applySyncAck(syncAck(w, keys.attestationPublicKey, batch.batchId));
  await client.beginIssuance({ issuerNonce: w.rng(32), epoch, tier: Tier.full, issuerKeyCert: issuerKeyCert(w, epoch) }); // leaves s' pending in NVM
  await client.attest(w.rng(32));
  await client.getInfo();
  // Hostile sweep: every INS with empty, random and oversized data, P1/P2 variants, short and extended.
  for (let ins = 0; ins < 0x100; ins++) {
    for (const data of [new Uint8Array(0), w.rng(40), w.rng(600)]) {
      for (const [cla, p1] of [[0x80, 0], [0x80, 1], [0x00, 0], [0x90, 0]] as const) {
        try {
          responses.push(applet.transmit(encodeCommand({ cla, ins, p1, p2: 0, data, ne: 65_536 })));
        } catch {
          // reserved INS values cannot even be encoded; nothing was sent
        }
      }
    }
  }
  const id = SECTIONS.identity.decode(backend.cells.get('identity')!);
  const creds = SECTIONS.credentials.decode(backend.cells.get('credentials')!).credentials;
  const pending = SECTIONS.issuance.decode(backend.cells.get('issuance')!).pending;
  assert.equal(creds.length, 1);
  assert.ok(pending !== null);
  const secrets: Array<[string, Uint8Array]> = [
    ['k', id.k], ['attestation private key', id.attestationSecretKey], ['credential A', creds[0]!.A],
    ['credential e', creds[0]!.e], ['credential s', creds[0]!.s], ["issuance s'", pending.sPrime],
  ];
  assert.ok(responses.length > 2500, `only ${responses.length} responses`);
  for (const res of responses) {
    assert.ok(decodeResponse(res).sw !== 0x6f00, 'no internal error on hostile input');
    for (const [name, secret] of secrets) {
      for (const piece of [secret, secret.subarray(0, 16), secret.subarray(16, 32)]) {
        assert.ok(!containsBytes(res, piece), `a response contains (part of) ${name}`);
      }
    }
  }
});
