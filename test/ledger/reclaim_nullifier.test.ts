// A reclaimed nullifier goes on the CB's signed revocation list, whose codec and every SE refuse a
// list holding anything but canonical G1 points. An FI's reclaim naming 48 bytes that are no point
// must therefore be refused before it is stored: accepted, it would stop the list (and every
// distribution) for the whole network.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { G1Point } from '../../src/crypto/index.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { Tier } from '../../src/policy/limits.ts';
import { fundFi, openOfflineNet, type OfflineNet } from './offline_world.ts';

let net: OfflineNet;
before(async () => {
  net = await openOfflineNet('sqlite', 'reclaim-nullifier', { verifyWorkers: 0 });
  await fundFi(net, net.fiA, 10_000n, 'fund-a');
});
after(async () => net?.cleanup());

const nullifierRows = async () => (await net.cb.db.query('SELECT nullifier FROM nullifiers')).length;

test('a reclaim whose nullifier is no G1 point is refused BAD_REQUEST, stores nothing, and the list still signs', async () => {
  const before = await nullifierRows();
  let notPoint = randomBytes(48);
  while ((() => { try { G1Point.fromBytes(notPoint); return true; } catch { return false; } })()) notPoint = randomBytes(48);
  await assert.rejects(
    net.cb.reclaimPayment({ fiId: 'fi-a', epoch: 1n, nullifier: notPoint, paymentHash: randomBytes(32), amountMinor: 7n, idempotencyKey: 'reclaim/not-a-point' }),
    (e: unknown) => e instanceof LedgerError && e.code === 'BAD_REQUEST' && /not a G1 point/.test(e.message),
  );
  assert.equal(await nullifierRows(), before);
  const d = await net.cb.distribution(Tier.full);
  assert.ok(d.signedRevocationList.length > 0);
});

test('a reclaim naming a G1 point passes the point check: what stops it here is the empty circulation account', async () => {
  const point = G1Point.BASE.mul(123_456_789n).toBytes();
  await assert.rejects(
    net.cb.reclaimPayment({ fiId: 'fi-a', epoch: 1n, nullifier: point, paymentHash: randomBytes(32), amountMinor: 7n, idempotencyKey: 'reclaim/a-point' }),
    (e: unknown) => e instanceof LedgerError && e.code === 'INSUFFICIENT_FUNDS' && /cb:circulation/.test(e.message),
  );
  await net.cb.distribution(Tier.full);
});
