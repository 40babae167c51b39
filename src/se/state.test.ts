// Every persistent section and every command codec round-trips a sample value exactly, so a
// field added to a type but not to its schema (or the reverse) fails here instead of being
// dropped silently; decoders refuse extra keys, wrong types and non-canonical bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'cborg';
import { SPEND_TOKEN_BYTES } from '../crypto/spend_token.ts';
import { DEFAULT_POLICY } from '../policy/limits.ts';
import { SeDecodeError } from './cbor.ts';
import { COMMANDS } from './commands.ts';
import { MemoryBackend, Nvm } from './nvm.ts';
import { SECTIONS, SeState, receiptCodec, type Sections } from './state.ts';

const b = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

const SAMPLES: Sections = {
  applet: { phase: 2 },
  identity: { deviceId: b(16), deviceClass: 3, attestationSecretKey: b(32, 2), attestationPublicKey: b(33, 3), k: b(32, 4), manufacturerCaPublicKey: b(33, 5) },
  anchors: { certificate: b(150), cbPublicKey: b(33), fiId: 'fi-1', fiPublicKey: b(33, 9), regulatorKey: b(48) },
  wallet: { tier: 1, balanceMinor: 5n, loadCounter: 2n, unloadCounter: 1n, spentSinceSyncMinor: 3n, loadedTotalMinor: 9n, receivedTotalMinor: 1n, spentTotalMinor: 3n, unloadedTotalMinor: 2n, lastUnloadRecord: null },
  spending: { epoch: 2900n, counter: 4n },
  requests: { lastCounter: 41n },
  policy: { table: DEFAULT_POLICY },
  revocation: { version: 3n, epoch: 7n, nullifiers: [b(48, 1), b(48, 2)], deviceRevoked: true },
  credentials: { credentials: [{ epoch: 1n, tier: 1, deviceClass: 0, A: b(48), e: b(32), s: b(32), issuerPublicKey: b(96), counterSet: b(160) }] },
  issuance: { pending: { issuerNonce: b(32), sPrime: b(32), startedAtMs: 1n, epoch: 3n, tier: 1, issuerPublicKey: b(96), request: b(600) } },
  receipts: { firstSeq: 3n, nextSeq: 9n },
  nullifiers: { entries: [{ epoch: 1n, nullifier: b(48) }] },
  sync: { nextBatchId: 4n, pending: { batchId: 3n, firstSeq: 0n, endSeq: 3n, report: b(200), spentSinceSyncMinor: 9n } },
  payment_requests: { entries: [
    { requestId: b(16), payeeNonce: b(32), sessionSecretKey: b(32), sessionPublicKey: b(32), amountMinor: 5n, timeMs: 1n, policyVersion: 1n, paidHash: null, receipt: null },
    { requestId: b(16, 2), payeeNonce: b(32), sessionSecretKey: null, sessionPublicKey: b(32), amountMinor: 6n, timeMs: 2n, policyVersion: 2n, paidHash: b(32), receipt: b(143) },
  ] },
  payer: { paidRequestIds: [b(16), b(16, 3)] },
  unconfirmed_0: { seq: 3n, entry: { requestId: b(16), requestHash: b(32), payment: b(2200), paymentHash: b(32, 4), context: b(187), amountMinor: 7n, blinding: b(32), epoch: 3n, nullifier: b(48), payeeIdentity: b(32, 5), paidAtMs: 9n } },
  unconfirmed_1: { seq: 0n, entry: null },
  unconfirmed_2: { seq: 0n, entry: null },
  unconfirmed_3: { seq: 0n, entry: null },
  unconfirmed_4: { seq: 0n, entry: null },
  unconfirmed_5: { seq: 0n, entry: null },
  unconfirmed_6: { seq: 0n, entry: null },
  unconfirmed_7: { seq: 0n, entry: null },
  reclaim_refusals: { applied: [{ epoch: 4n, nullifier: b(48, 6) }] },
  issuer_keys: { entries: [{ epoch: 7n, publicKey: b(96, 7) }] },
  storage: { receiptLogCapacity: 16 },
  spend_token_0: { token: b(SPEND_TOKEN_BYTES, 7) },
  spend_token_1: { token: null },
  spend_token_2: { token: null },
  spend_token_3: { token: null },
};

test('every state section round-trips its sample exactly', () => {
  for (const name of Object.keys(SECTIONS) as Array<keyof Sections>) {
    const codec = SECTIONS[name];
    const bytes = codec.encode(SAMPLES[name] as never);
    assert.deepEqual(codec.decode(bytes), SAMPLES[name], name);
  }
  const entry = { payment: b(100), amountMinor: 7n, blinding: b(32), epoch: 1n, nullifier: b(48), receivedAtMs: 5n };
  assert.deepEqual(receiptCodec.decode(receiptCodec.encode(entry)), entry);
});

test('SeState commits staged sections and receipts in one transaction and reloads them', () => {
  const backend = new MemoryBackend();
  const state = new SeState(Nvm.open(backend));
  const tx = state.begin();
  for (const name of Object.keys(SECTIONS) as Array<keyof Sections>) tx.set(name, SAMPLES[name] as never);
  tx.set('receipts', { firstSeq: 0n, nextSeq: 0n });
  tx.appendReceipt({ payment: b(10), amountMinor: 1n, blinding: b(32), epoch: 1n, nullifier: b(48), receivedAtMs: 0n });
  state.commit(tx);
  const reloaded = new SeState(Nvm.open(backend));
  assert.deepEqual(reloaded.get('wallet'), SAMPLES.wallet);
  assert.equal(reloaded.receipt(0n)?.amountMinor, 1n);
  const tx2 = reloaded.begin();
  assert.equal(tx2.freeReceiptsBefore(1n), 1);
  reloaded.commit(tx2);
  assert.equal(new SeState(Nvm.open(backend)).receipt(0n), null);
});

test('section decoders refuse extra keys, wrong types and non-canonical bytes', () => {
  const isDecodeError = (e: unknown) => e instanceof SeDecodeError;
  assert.deepEqual(SECTIONS.spending.decode(Uint8Array.of(0xa2, 0x65, ...Buffer.from('epoch'), 0x01, 0x67, ...Buffer.from('counter'), 0x02)), { epoch: 1n, counter: 2n });
  assert.throws(() => SECTIONS.spending.decode(encode({ counter: 1, epoch: 1, extra: 1 })), isDecodeError);
  assert.throws(() => SECTIONS.spending.decode(encode({ counter: 'x', epoch: 1 })), isDecodeError);
  assert.throws(() => SECTIONS.spending.decode(encode({ counter: -1, epoch: 1 })), isDecodeError);
  assert.throws(() => SECTIONS.spending.decode(Uint8Array.of(0xa2, 0x67, ...Buffer.from('counter'), 0x01, 0x65, ...Buffer.from('epoch'), 0x01)), isDecodeError);
  assert.throws(() => SECTIONS.wallet.decode(new Uint8Array(5000)), isDecodeError);
});

test('command codecs round-trip and are bounded by the table', () => {
  const info = {
    phase: 2, deviceId: b(16), deviceClass: 1, attestationPublicKey: b(33), certificate: b(100), tier: 0, balanceMinor: 1n,
    loadCounter: 1n, unloadCounter: 0n, spentSinceSyncMinor: 0n, spendingEpoch: 3n, paymentCounter: 2n, policyVersion: 1n,
    revocationVersion: 0n, credentialEpochs: [3n], receiptCount: 0, pendingBatchId: null, issuancePending: false, deviceRevoked: false,
  };
  assert.deepEqual(COMMANDS.getInfo.response.decode(COMMANDS.getInfo.response.encode(info)), info);
  for (const spec of Object.values(COMMANDS)) {
    assert.ok(spec.request.maxBytes <= Math.max(spec.maxDataBytes, 0) || spec.maxDataBytes === 0, spec.name);
  }
});
