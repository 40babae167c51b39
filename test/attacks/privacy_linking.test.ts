// Statistical privacy: can anyone holding the records link one device's payments? A merchant holds
// 50 payments from one device and 500 from fifty others, and the CB holds every record of three
// epochs plus its K registry. The records are the real public input of each payment
// (paymentStatement: exactly what provePayment puts on the wire besides the zero-knowledge proof),
// with every device of the same tier and class and amounts from one distribution, so the
// disclosed attributes carry nothing. The adversary is the strongest one this design invites: for
// the target's registered K it computes S = (T − K)/R for every record, which is w·h_T(e) for each
// of the target's records, and groups equal values — a counter the target used in two epochs lands
// twice on one slope under a fixed tag base. It then plays the distinguishing game: shown one of
// the target's records and one of another device's, say which is the target's. Its advantage
// 2·P(correct) − 1 is measured over many rounds and must be indistinguishable from chance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { G1Point, contextScalar, gK, paymentStatement, randomScalar, scalarInv, seededRng, type PaymentStatement } from '../../src/crypto/index.ts';
import { DeviceClass, Tier } from '../../src/policy/limits.ts';
import { paymentContext } from '../../src/protocol/session.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/limits.ts';

const EPOCHS = [2_930n, 2_931n, 2_932n];
const TARGET_PAYMENTS = 50;
const OTHER_DEVICES = 50;
const PAYMENTS_PER_OTHER = 10;
const GAME_ROUNDS = 2_000;
/** Three standard deviations of a fair game's advantage over GAME_ROUNDS rounds is 3/√2000 ≈ 0.067. */
const ADVANTAGE_BOUND = 0.1;

interface Held {
  statement: PaymentStatement;
  target: boolean;
}

function device(rng: (n: number) => Uint8Array) {
  const k = randomScalar(rng);
  return { k, K: gK().mul(k) };
}

/** Counters as a device uses them: 0, 1, 2, … in every epoch, `count` payments spread over the epochs. */
function schedule(count: number): Array<{ epoch: bigint; counter: number }> {
  const out = [];
  for (let i = 0; i < count; i++) out.push({ epoch: EPOCHS[i % EPOCHS.length]!, counter: Math.floor(i / EPOCHS.length) });
  return out;
}

function records(rng: (n: number) => Uint8Array, regulatorKey: G1Point): { held: Held[]; targetK: G1Point } {
  const merchant = rng(32);
  const pay = (k: bigint, epoch: bigint, counter: number, target: boolean): Held => {
    const context = paymentContext({
      version: PROTOCOL_VERSION, requestId: rng(16), payeeNonce: rng(32), payeeIdentity: merchant, payeeSessionKey: rng(32).map((b, i) => (i === 31 ? b & 0x3f : b)),
      payerSessionKey: rng(32).map((b, i) => (i === 31 ? b & 0x3f : b)), policyVersion: 1n, timeMs: 1_772_000_000_000 + counter,
    });
    const amountMinor = 100n + (BigInt(rng(2)[0]!) * 20n);
    const messages = [k, epoch, BigInt(Tier.basic), BigInt(DeviceClass.wallet), randomScalar(rng)];
    return { statement: paymentStatement({ messages, counter, amountMinor, context, regulatorKey, rng }).statement, target };
  };
  const target = device(rng);
  const held = schedule(TARGET_PAYMENTS).map((s) => pay(target.k, s.epoch, s.counter, true));
  for (let d = 0; d < OTHER_DEVICES; d++) {
    const other = device(rng);
    for (const s of schedule(PAYMENTS_PER_OTHER)) held.push(pay(other.k, s.epoch, s.counter, false));
  }
  return { held, targetK: target.K };
}

/** The adversary's mark: records whose slope (T − K)/R under the target's K repeats. */
function slopeMarks(held: readonly Held[], K: G1Point): boolean[] {
  const slopes = held.map((h) => bytesToHex(h.statement.T.sub(K).mul(scalarInv(contextScalar(h.statement.context))).toBytes()));
  const counts = new Map<string, number>();
  for (const s of slopes) counts.set(s, (counts.get(s) ?? 0) + 1);
  return slopes.map((s) => counts.get(s)! > 1);
}

test('a merchant and a CB holding three epochs of records link one device\'s payments no better than chance', (t) => {
  const rng = seededRng('privacy-linking');
  const regulatorKey = G1Point.BASE.mul(randomScalar(rng));
  const { held, targetK } = records(rng, regulatorKey);
  assert.equal(held.length, TARGET_PAYMENTS + OTHER_DEVICES * PAYMENTS_PER_OTHER);
  assert.equal(new Set(held.map((h) => h.statement.epoch)).size, EPOCHS.length);
  const marks = slopeMarks(held, targetK);
  const targets = held.flatMap((h, i) => (h.target ? [i] : []));
  const others = held.flatMap((h, i) => (h.target ? [] : [i]));
  const tpr = targets.filter((i) => marks[i]).length / targets.length;
  const fpr = others.filter((i) => marks[i]).length / others.length;

  const coin = seededRng('privacy-linking/game');
  let correct = 0;
  for (let round = 0; round < GAME_ROUNDS; round++) {
    const [a, b] = coin(4);
    const tIndex = targets[(a! << 8 | b!) % targets.length]!;
    const [c, d, flip] = coin(3);
    const oIndex = others[(c! << 8 | d!) % others.length]!;
    // The adversary answers from the marks; when they do not tell the two apart it guesses.
    const guessTarget = marks[tIndex] !== marks[oIndex] ? (marks[tIndex] ? tIndex : oIndex) : (flip! & 1) === 0 ? tIndex : oIndex;
    if (guessTarget === tIndex) correct++;
  }
  const advantage = (2 * correct) / GAME_ROUNDS - 1;
  t.diagnostic(`tag-slope adversary: TPR ${tpr.toFixed(3)}, FPR ${fpr.toFixed(3)}, game advantage ${advantage.toFixed(3)} over ${GAME_ROUNDS} rounds`);
  assert.ok(tpr - fpr <= ADVANTAGE_BOUND, `the adversary marks ${(tpr * 100).toFixed(0)}% of the target's payments and ${(fpr * 100).toFixed(0)}% of others`);
  assert.ok(Math.abs(advantage) <= ADVANTAGE_BOUND, `distinguishing advantage ${advantage.toFixed(3)} is above ${ADVANTAGE_BOUND}`);
});
