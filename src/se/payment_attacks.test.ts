// Named attackers against the payment commands: a payer that restores an old SE snapshot and pays
// twice (refused by every payee that saw the nullifier, and identified by the two tags); replays
// of a payment to the same payee in a new session and to another payee; and a property-based
// fuzzer of hostile command bytes that must be refused without a crash and without a state change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { gK } from '../crypto/generators.ts';
import { scalarFromBytes } from '../crypto/group.ts';
import { contextScalar, recoverDeviceKey } from '../crypto/nullifier.ts';
import { seededRng } from '../crypto/rng.ts';
import { decodePayment, decodePaymentRequest, encodePayment } from '../protocol/messages.ts';
import { decodePaymentRecordFull } from '../protocol/payment_record.ts';
import { deriveSession, paymentContextOf } from '../protocol/session.ts';
import { generateSessionKeyPair } from '../protocol/session_keys.ts';
import { encodeCommand, decodeResponse } from './apdu.ts';
import { Applet } from './applet.ts';
import { SeClient, transmitTo } from './client.ts';
import { CLA_TALLY } from './constants.ts';
import { FileBackend, MemoryBackend, Nvm } from './nvm.ts';
import { PAYMENT_COMMANDS, type AuthorizePaymentRequest } from './payment_commands.ts';
import { authorizeAsHost } from './payer_host.ts';
import { SeState } from './state.ts';
import { SeError, SW, type SwName } from './status.ts';
import { paymentSe, payDirect, type TestSe } from '../../test/support/payments.ts';
import { makeWorld } from '../../test/support/world.ts';

const rejects = async (p: Promise<unknown>, code: SwName): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof SeError && e.code === code, `expected ${code}`);
};
const balance = async (se: TestSe) => (await se.client.getInfo()).balanceMinor;

test('payer restores an SE snapshot and pays twice: refused where the nullifier was seen, and identified', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-snapshot-'));
  try {
    const w = makeWorld('snapshot');
    const live = path.join(root, 'live');
    const payer = await paymentSe(w, { fundMinor: 10_000n, backend: new FileBackend(live) });
    const snapshot = path.join(root, 'snapshot');
    fs.cpSync(live, snapshot, { recursive: true }); // the attacker copies the SE's NVM
    const shopA = await paymentSe(w, {});
    const shopB = await paymentSe(w, {});
    const first = await payDirect(payer, shopA, 1_000n);
    const restored = (name: string): TestSe => {
      const dir = path.join(root, name);
      fs.cpSync(snapshot, dir, { recursive: true });
      const applet = Applet.open({ backend: new FileBackend(dir), rng: seededRng(name), clock: w.clock });
      return { applet, client: new SeClient(transmitTo(applet)), backend: new FileBackend(dir), attestationPublicKey: payer.attestationPublicKey };
    };
    // The restored SE pays the very request again: a different payment for a paid request, same N.
    const twin = (await restored('copy-0').client.authorizePayment(first.request, 1_000n)).payment;
    assert.notDeepEqual(twin, first.payment);
    await rejects(shopA.client.acceptPayment(twin), 'NULLIFIER_SEEN');
    // Same counter again: shop A already saw the nullifier.
    const again = restored('copy-1');
    const replayed = (await again.client.authorizePayment(await shopA.client.buildPaymentRequest(1_000n), 1_000n)).payment;
    await rejects(shopA.client.acceptPayment(replayed), 'NULLIFIER_SEEN');
    // Shop B has not seen it and accepts; once it has, it refuses the next copy too.
    await payDirect(restored('copy-2'), shopB, 2_000n);
    const third = (await restored('copy-3').client.authorizePayment(await shopB.client.buildPaymentRequest(500n), 500n)).payment;
    await rejects(shopB.client.acceptPayment(third), 'NULLIFIER_SEEN');
    assert.deepEqual([await balance(shopA), await balance(shopB)], [1_000n, 2_000n]);
    // The two accepted payments share N with different contexts: K = k·g_K falls out.
    const record = async (shop: TestSe) => decodePaymentRecordFull((await shop.client.exportSyncBatch()).payments[0]!).statement;
    const [a, b] = [await record(shopA), await record(shopB)];
    assert.ok(a.N.equals(b.N));
    const K = recoverDeviceKey({ T: a.T, R: contextScalar(a.context) }, { T: b.T, R: contextScalar(b.context) });
    const k = scalarFromBytes(new SeState(Nvm.open(new FileBackend(live))).get('identity').k);
    assert.ok(K.ok && K.K.equals(gK().mul(k)), 'the recovered key is the payer SE key');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a payment replayed to the same payee in a new session, or to another payee, is refused', async () => {
  const w = makeWorld('replay');
  const payer = await paymentSe(w, { fundMinor: 10_000n });
  const shop = await paymentSe(w, {});
  const other = await paymentSe(w, {});
  const paid = await payDirect(payer, shop, 800n);
  const payment = decodePayment(paid.payment);
  // Identical bytes to the payee that accepted them: the same receipt, nothing credited.
  assert.equal((await shop.client.acceptPayment(paid.payment)).resent, true);
  // Another payee holds no request with this id.
  await rejects(other.client.acceptPayment(paid.payment), 'UNKNOWN_REQUEST');
  // Re-addressed to a fresh request (same payee, then another payee): the sealed opening fails.
  for (const target of [shop, other]) {
    const fresh = decodePaymentRequest(await target.client.buildPaymentRequest(800n));
    await rejects(target.client.acceptPayment(encodePayment({ ...payment, requestId: fresh.requestId })), 'BAD_PAYMENT_OPENING');
  }
  // The payee itself knows (a, r_a) and re-seals them for a new session: the proof's context is wrong.
  const rA = scalarFromBytes(new SeState(Nvm.open(shop.backend)).receipt(0n)!.blinding);
  const fresh = decodePaymentRequest(await other.client.buildPaymentRequest(800n));
  const keys = generateSessionKeyPair(seededRng('attacker'));
  const context = paymentContextOf(fresh, keys.publicKey);
  const session = deriveSession({ role: 'payer', own: keys, peerPublicKey: fresh.payeeSessionKey, requestId: fresh.requestId });
  const resealed = encodePayment({
    ...payment, requestId: fresh.requestId, payerSessionKey: keys.publicKey, sealedOpening: session.seal({ amountMinor: 800n, rA }, context),
  });
  await rejects(other.client.acceptPayment(resealed), 'BAD_PAYMENT_PROOF');
  assert.deepEqual([await balance(shop), await balance(other)], [800n, 0n]);
});

test('hostile payment-command bytes are refused without a crash and without a state change', async () => {
  const w = makeWorld('fuzz');
  const payer = await paymentSe(w, { fundMinor: 10_000n });
  const payee = await paymentSe(w, {});
  const request = await payee.client.buildPaymentRequest(400n);
  const payment = (await payer.client.authorizePayment(await payee.client.buildPaymentRequest(300n), 300n)).payment;
  const image = (se: TestSe) => JSON.stringify([...(se.backend as MemoryBackend).cells].map(([k, v]) => [k, Buffer.from(v).toString('hex')]).sort());
  // The host's part done for real, the command captured instead of sent.
  let hostPart: AuthorizePaymentRequest | undefined;
  await authorizeAsHost({ precomputePayment: () => payer.client.precomputePayment(), authorizePaymentCommand: async (r) => ((hostPart = r), { payment: new Uint8Array(0), balanceMinor: 0n, resent: false }) }, request, 400n, w.rng);
  const before = [image(payer), image(payee)];
  const apdu = (ins: number, data: Uint8Array) => encodeCommand({ cla: CLA_TALLY, ins, p1: 0, p2: 0, data, ne: 65_536 });
  const authorizeData = PAYMENT_COMMANDS.authorizePayment.request.encode(hostPart!);
  // The SE signs for the host's range proof without checking it (a garbled one fails at the payee and
  // the payment is reclaimed, like one the host never delivered): mutations there are not refusals.
  // The same holds for the request's fields (the host checked the payee's proof over them), the host's
  // session key and its sealed opening. What the SE checks against its own state is the amount
  // commitment (and the whole command's shape): flips there, and any truncation, must be refused.
  const commitmentAt = Buffer.from(authorizeData).indexOf(Buffer.from(hostPart!.amountCommitment));
  const acceptData = PAYMENT_COMMANDS.acceptPayment.request.encode({ payment });
  const mutate = (bytes: Uint8Array, edits: Array<[number, number]>, cut: number) => {
    const out = bytes.slice(0, Math.max(1, bytes.length - cut));
    for (const [at, value] of edits) out[at % out.length] = out[at % out.length]! ^ value;
    return out;
  };
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 });
  const cut = fc.oneof(fc.constant(0), fc.nat({ max: 64 }));
  const refusedWithoutChange = (se: TestSe, bytes: Uint8Array, what: string) => {
    const res = decodeResponse(se.applet.transmit(bytes));
    assert.notEqual(res.sw, SW.OK, `${what}: accepted`);
    assert.notEqual(res.sw, SW.INTERNAL_ERROR, `${what}: internal error ${String(se.applet.lastInternalError)}`);
  };
  const target = (which: number) => (which === 0 ? payer : payee);
  const INS = [0x40, 0x42, 0x44];
  // Random data for each payment command, on both SEs.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3_000 }), fc.nat({ max: 2 }), fc.nat({ max: 1 }), (data, i, who) => {
    refusedWithoutChange(target(who), apdu(INS[i]!, data), `random data to INS ${INS[i]}`);
  }), { numRuns: 150, seed: 1 });
  // Mutated (bit-flipped, truncated) valid command data: the payer's request and the payee's payment.
  fc.assert(fc.property(edits, cut, (e, c) => {
    const aimed = e.map(([at, v]) => [commitmentAt + (at % 48), v] as [number, number]);
    refusedWithoutChange(payer, apdu(0x42, c > 0 ? mutate(authorizeData, e, c) : mutate(authorizeData, aimed, 0)), 'mutated AUTHORIZE');
  }), { numRuns: 30, seed: 2 });
  fc.assert(fc.property(edits, cut, (e, c) => refusedWithoutChange(payee, apdu(0x44, mutate(acceptData, e, c)), 'mutated ACCEPT')), { numRuns: 30, seed: 3 });
  // Mutated whole APDUs (header, length fields, data). Left alone: the chaining bit of CLA (a chain
  // part is answered 9000 and waits for more) and Le (it only says how much answer to send).
  const whole = apdu(0x44, acceptData);
  fc.assert(fc.property(edits, (e) => {
    const kept = e
      .map(([at, v]) => [at % (whole.length - 2), at % (whole.length - 2) === 0 ? v & ~0x10 : v] as [number, number])
      .filter(([, v]) => v !== 0);
    fc.pre(kept.length > 0);
    refusedWithoutChange(payee, mutate(whole, kept, 0), 'mutated APDU');
  }), { numRuns: 40, seed: 4 });
  assert.deepEqual([image(payer), image(payee)], before, 'no hostile frame changed either SE');
  // Both SEs still work: reset any half chain, then the genuine payment is accepted.
  payee.applet.transmit(encodeCommand({ cla: CLA_TALLY, ins: 0x10, p1: 0, p2: 0, data: new Uint8Array(0), ne: 256 }));
  assert.equal((await payee.client.acceptPayment(payment)).amountMinor, 300n);
});
