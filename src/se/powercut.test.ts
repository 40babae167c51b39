// Atomicity under power loss: a device life of every state-changing command is run once on a
// file-backed NVM, recording each command's APDUs and persistent writes. Then, for each command
// and each of its writes i, the command is replayed from the state before it with power cut
// after write i — whole or torn — and the SE restarted from the files. The state must be exactly
// the one before or the one after the command, and the device's total value must be unchanged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { G1Point, scalarToBytes } from '../crypto/group.ts';
import { randomScalar, seededRng } from '../crypto/rng.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { Applet } from './applet.ts';
import { SeClient, type Transmit } from './client.ts';
import { FaultInjector, FileBackend, Nvm, PowerCut, type NvmBackend } from './nvm.ts';
import { SECTIONS } from './state.ts';
import { TEST_COMMANDS, TEST_RECEIVE_SPEC, TEST_SPEND_SPEC } from './test_commands.ts';
import {
  counterSetFor, epochNow, issuerKeyCert, issuerRespond, loadVoucher, makeWorld, signedPolicy, signedRevocationList, syncAck,
} from '../../test/support/world.ts';
import { COMMANDS } from './commands.ts';
import { paymentSe, type TestSe } from '../../test/support/payments.ts';
import { signPaymentOutcomes, signReclaimRefusal } from './reclaim_messages.ts';
import { paymentHash } from '../protocol/messages.ts';

const VOUCHERS = [20_000n, 1_000n]; // by load counter
const UNLOADS = [2_000n, 700n]; // by unload counter (the second: APPLY_RECLAIM_REFUSAL reversing a reclaimed credit)
const PAY_IN = 1_100n; // ACCEPT_PAYMENT (receipt seq 1)
const PAY_OUT = 900n; // AUTHORIZE_PAYMENT (spending counter 1)
const PAY_OUT_2 = 400n; // AUTHORIZE_PAYMENT #2 (spending counter 2), dropped by APPLY_PAYMENT_OUTCOMES
const SPENDS = [3_000n, PAY_OUT, PAY_OUT_2]; // by spending counter (one epoch)
const RECEIPTS = [700n, PAY_IN]; // by receipt sequence number
const TOTAL = VOUCHERS.reduce((a, b) => a + b);

type Dump = Map<string, string>;
const dump = (dir: string): Dump =>
  new Map([...Nvm.open(new FileBackend(dir)).snapshot()].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
const same = (a: Dump, b: Dump): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/** Value the device accounts for: held, still loadable, unloaded to the FI, paid out, minus received. */
function totalValue(dir: string): bigint {
  const nvm = Nvm.open(new FileBackend(dir));
  const cell = nvm.get('wallet');
  if (!cell) return TOTAL; // not personalized yet: every voucher is still outstanding
  const w = SECTIONS.wallet.decode(cell);
  const spending = SECTIONS.spending.decode(nvm.get('spending')!);
  const receipts = SECTIONS.receipts.decode(nvm.get('receipts')!);
  const sum = (xs: bigint[], n: bigint) => xs.slice(0, Number(n)).reduce((a, b) => a + b, 0n);
  const outstanding = VOUCHERS.slice(Number(w.loadCounter)).reduce((a, b) => a + b, 0n);
  return w.balanceMinor + outstanding + sum(UNLOADS, w.unloadCounter) + sum(SPENDS, spending.counter) - sum(RECEIPTS, receipts.nextSeq);
}

interface Step { name: string; dirBefore: string; apdus: Uint8Array[]; writes: number; seed: string; before: Dump; after: Dump }

test('a power cut after any persistent write of any command leaves the state before or after, value unchanged', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-powercut-'));
  try {
    const w = makeWorld('powercut');
    const live = path.join(root, 'live');
    const steps: Step[] = [];
    const nullifier = G1Point.BASE.mul(7n).toBytes();
    // Counterpart SEs for the payment commands (not under test: only this device's APDUs are replayed).
    const other: { payer?: TestSe; payee?: TestSe } = {};
    const counterpart = async () => {
      other.payer ??= await paymentSe(w, { fundMinor: 5_000n, seed: 'counterpart-payer' });
      other.payee ??= await paymentSe(w, { seed: 'counterpart-payee' });
      return other as Required<typeof other>;
    };
    // One device life; each entry is one state-changing command (plus any reads it needs).
    const life: Array<[string, (c: SeClient, ctx: Record<string, unknown>) => Promise<void>]> = [
      ['GENERATE_KEYS', async (c, x) => void (x.keys = await c.generateKeys({ deviceClass: DeviceClass.wallet, manufacturerCaPublicKey: w.manufacturer.publicKey }))],
      ['PERSONALIZE', async (c, x) => void (x.keys = await provisionRest(c, x))],
      ['APPLY_LOAD_VOUCHER', async (c, x) => void (await c.applyLoadVoucher(loadVoucher(w, pub(x), 0n, VOUCHERS[0]!)))],
      ['BEGIN_ISSUANCE', async (c, x) => {
        x.nonce = w.rng(32);
        const epoch = epochNow(w, Tier.basic);
        x.request = await c.beginIssuance({ issuerNonce: x.nonce as Uint8Array, epoch, tier: Tier.basic, issuerKeyCert: issuerKeyCert(w, epoch) });
      }],
      ['FINISH_ISSUANCE', async (c, x) => {
        const a = { epoch: epochNow(w, Tier.basic), tier: Tier.basic, deviceClass: DeviceClass.wallet };
        const response = issuerRespond(w, x.request as Uint8Array, x.nonce as Uint8Array, a, pub(x));
        await c.finishIssuance({ epoch: a.epoch, tier: a.tier, issuerKeyCert: issuerKeyCert(w, a.epoch), response, counterSet: counterSetFor(w, a.tier) });
      }],
      ['TEST_SPEND', async (c) => void (await c.call(TEST_SPEND_SPEC, { amountMinor: SPENDS[0]! }))],
      ['TEST_RECEIVE', async (c) => void (await c.call(TEST_RECEIVE_SPEC, { amountMinor: RECEIPTS[0]!, nullifier, epoch: 1n, payment: w.rng(2000), blinding: scalarToBytes(randomScalar(w.rng)) }))],
      ['BUILD_PAYMENT_REQUEST', async (c, x) => void (x.request = await c.buildPaymentRequest(PAY_IN))],
      ['ACCEPT_PAYMENT', async (c, x) => {
        const { payer } = await counterpart();
        await c.acceptPayment((await payer.client.authorizePayment(x.request as Uint8Array, PAY_IN)).payment);
      }],
      // Idle: spend tokens written to NVM for the next counters; then the tap uses one of them.
      ['PRECOMPUTE_PAYMENT', async (c) => void (await c.precomputePayment())],
      ['AUTHORIZE_PAYMENT', async (c, x) => {
        const { payee } = await counterpart();
        x.payment = (await c.authorizePayment(await payee.client.buildPaymentRequest(PAY_OUT), PAY_OUT)).payment;
      }],
      ['CONFIRM_PAYMENT', async (c, x) => {
        const { payee } = await counterpart();
        const { dropped } = await c.confirmPayment((await payee.client.acceptPayment(x.payment as Uint8Array)).receipt);
        assert.equal(dropped, true);
      }],
      ['AUTHORIZE_PAYMENT #2', async (c, x) => {
        const { payee } = await counterpart();
        x.payment2 = (await c.authorizePayment(await payee.client.buildPaymentRequest(PAY_OUT_2), PAY_OUT_2)).payment;
      }],
      ['APPLY_PAYMENT_OUTCOMES', async (c, x) => {
        const outcomes = signPaymentOutcomes(w.fi.secretKey, { devicePublicKey: pub(x), done: [paymentHash(x.payment2 as Uint8Array)] });
        assert.equal((await c.applyPaymentOutcomes(outcomes)).dropped, 1);
      }],
      ['MAKE_UNLOAD_RECORD', async (c) => void (await c.makeUnloadRecord(UNLOADS[0]!))],
      ['APPLY_RECLAIM_REFUSAL', async (c, x) => {
        const deviceId = (x.keys as { deviceId: Uint8Array }).deviceId;
        const refusal = signReclaimRefusal(w.cb.secretKey, { deviceId, epoch: 1n, nullifier, amountMinor: UNLOADS[1]! });
        assert.equal((await c.applyReclaimRefusal(refusal)).reversedMinor, UNLOADS[1]!);
      }],
      ['INSTALL_POLICY', async (c) => void (await c.installPolicy(signedPolicy(w, { ...w.policy, version: 2n })))],
      ['INSTALL_REVOCATION_LIST', async (c) => void (await c.installRevocationList(signedRevocationList(w, { version: 1n, epoch: 1n, nullifiers: [G1Point.BASE.toBytes()] })))],
      ['EXPORT_SYNC_BATCH', async (c, x) => void (x.batch = (await c.exportSyncBatch()).batchId)],
      ['APPLY_SYNC_ACK', async (c, x) => void (await c.applySyncAck(syncAck(w, pub(x), x.batch as bigint)))],
      ['SIGN_REQUEST', async (c) => void (await c.signRequest(new Uint8Array(32).fill(7)))],
      ['APPLY_LOAD_VOUCHER #2', async (c, x) => void (await c.applyLoadVoucher(loadVoucher(w, pub(x), 1n, VOUCHERS[1]!)))],
    ];
    const pub = (x: Record<string, unknown>) => (x.keys as { attestationPublicKey: Uint8Array }).attestationPublicKey;
    async function provisionRest(c: SeClient, x: Record<string, unknown>) {
      const keys = x.keys as { deviceId: Uint8Array; attestationPublicKey: Uint8Array };
      const { signAttestationCert } = await import('./messages.ts');
      const certificate = signAttestationCert(w.manufacturer.secretKey, { deviceId: keys.deviceId, publicKey: keys.attestationPublicKey, deviceClass: DeviceClass.wallet, manufacturer: 'm', issuedAtMs: 0n });
      await c.personalize({ certificate, cbPublicKey: w.cb.publicKey, fiId: w.fiId, fiPublicKey: w.fi.publicKey, regulatorKey: w.regulatorKey, tier: Tier.basic, signedPolicy: signedPolicy(w) });
      return keys;
    }

    // Reference run: the SE is reopened from its files before every command (a restart each time).
    const ctx: Record<string, unknown> = {};
    fs.mkdirSync(live);
    for (const [i, [name, run]] of life.entries()) {
      const dirBefore = path.join(root, `before-${i}`);
      fs.cpSync(live, dirBefore, { recursive: true });
      const counter = new FaultInjector(new FileBackend(live));
      const seed = `se/${i}`;
      const applet = Applet.open({ backend: counter, rng: seededRng(seed), clock: w.clock, commands: TEST_COMMANDS });
      const apdus: Uint8Array[] = [];
      const transmit: Transmit = async (apdu) => (apdus.push(apdu), applet.transmit(apdu));
      await run(new SeClient(transmit), ctx);
      assert.ok(counter.writes >= 3, `${name} made ${counter.writes} persistent writes`);
      steps.push({ name, dirBefore, apdus, writes: counter.writes, seed, before: dump(dirBefore), after: dump(live) });
      assert.equal(totalValue(live), TOTAL, `${name}: reference run conserves value`);
    }

    // Fault runs: every command, every write, whole and torn.
    let cuts = 0;
    for (const step of steps) {
      for (let cut = 1; cut <= step.writes; cut++) {
        for (const torn of [false, true]) {
          const dir = path.join(root, 'cut');
          fs.rmSync(dir, { recursive: true, force: true });
          fs.cpSync(step.dirBefore, dir, { recursive: true });
          const backend: NvmBackend = new FaultInjector(new FileBackend(dir), { cutAfterWrite: cut, torn });
          const applet = Applet.open({ backend, rng: seededRng(step.seed), clock: w.clock, commands: TEST_COMMANDS });
          assert.throws(() => step.apdus.forEach((apdu) => applet.transmit(apdu)), PowerCut, `${step.name} cut ${cut}`);
          // Restart from the files.
          const restarted = Applet.open({ backend: new FileBackend(dir), rng: seededRng('restart'), clock: w.clock });
          const state = dump(dir);
          const label = `${step.name}: cut after write ${cut}/${step.writes}${torn ? ' (torn)' : ''}`;
          assert.ok(same(state, step.before) || same(state, step.after), `${label}: state is neither before nor after`);
          if (cut === 1 && torn) assert.ok(same(state, step.before), `${label}: a torn journal must undo`);
          if (cut > 1) assert.ok(same(state, step.after), `${label}: past the journal write the command must complete`);
          assert.equal(totalValue(dir), TOTAL, `${label}: value changed`);
          const info = await new SeClient(async (b) => restarted.transmit(b)).call(COMMANDS.getInfo, {});
          assert.ok(info.phase >= 0);
          cuts++;
        }
      }
    }
    assert.ok(cuts >= 2 * 3 * life.length);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
