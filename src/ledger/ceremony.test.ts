// The key ceremony: every institution's keys are distinct and consistent with one another (public
// halves of the secret halves, the CB's regulator key the dealing's, one share per holder), the
// system CSPRNG deals a new network each time, a seeded rng replays one, and malformed FI lists
// are refused with a typed error before any key is made.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { pedersenG, seededRng } from '../crypto/index.ts';
import { p256PublicKey } from '../se/signed.ts';
import { DEMO_MANUFACTURER, ISSUER_MASTER_BYTES, REGULATOR_HOLDERS, REGULATOR_THRESHOLD, dealNetwork, type DealtNetwork } from './ceremony.ts';
import { LedgerError, LedgerErrorCode } from './errors.ts';

const secretsOf = ({ network: n, regulator: r }: DealtNetwork): string[] => [
  bytesToHex(n.manufacturer.keys.secretKey),
  bytesToHex(n.cb.signingKey.secretKey),
  bytesToHex(n.cb.issuerMaster),
  ...n.fis.map((f) => bytesToHex(f.signingKey.secretKey)),
  ...r.shares.map((s) => s.secret.toString(16)),
];

test('dealNetwork() deals consistent keys: public halves match, the CB holds the dealt regulator key', () => {
  const dealt = dealNetwork({ fiIds: ['bank-a', 'bank-b'], allocationMinor: 1_000n });
  const { network: n, regulator } = dealt;
  assert.equal(n.manufacturer.name, DEMO_MANUFACTURER);
  assert.deepEqual(n.fis.map((f) => [f.fiId, f.allocationMinor]), [['bank-a', 1_000n], ['bank-b', 1_000n]]);
  for (const k of [n.manufacturer.keys, n.cb.signingKey, ...n.fis.map((f) => f.signingKey)]) {
    assert.deepEqual(k.publicKey, p256PublicKey(k.secretKey));
  }
  assert.equal(n.cb.issuerMaster.length, ISSUER_MASTER_BYTES);
  assert.deepEqual(n.cb.regulatorKey, regulator.publicKey.toBytes());
  assert.equal(regulator.threshold, REGULATOR_THRESHOLD);
  assert.equal(regulator.shares.length, REGULATOR_HOLDERS);
  regulator.shares.forEach((s) => assert.ok(pedersenG().mul(s.secret).equals(s.verificationKey)));
  const secrets = secretsOf(dealt);
  assert.equal(new Set(secrets).size, secrets.length, 'two institutions were dealt the same secret');
});

test('dealNetwork() from the system CSPRNG never deals the same secret twice; a seeded rng replays its network', () => {
  const a = secretsOf(dealNetwork({ fiIds: ['bank-a'], allocationMinor: 0n }));
  const b = secretsOf(dealNetwork({ fiIds: ['bank-a'], allocationMinor: 0n }));
  a.forEach((x, i) => assert.notEqual(x, b[i], `secret ${i} repeated across two ceremonies`));
  const seeded = () => secretsOf(dealNetwork({ fiIds: ['bank-a'], allocationMinor: 0n, rng: seededRng('ceremony-test') }));
  assert.deepEqual(seeded(), seeded());
  assert.notDeepEqual(seeded(), a);
});

test('dealNetwork() refuses malformed, repeated or missing FI ids and a negative allocation', () => {
  const refused = (fiIds: string[], code: string, allocationMinor = 0n) =>
    assert.throws(() => dealNetwork({ fiIds, allocationMinor }), (e: unknown) => e instanceof LedgerError && e.code === code);
  refused([], LedgerErrorCode.badRequest);
  refused(['Bank A'], LedgerErrorCode.badRequest);
  refused(['-bank'], LedgerErrorCode.badRequest);
  refused(['x'.repeat(33)], LedgerErrorCode.badRequest);
  refused(['bank-a', 'bank-a'], LedgerErrorCode.badRequest);
  refused(['bank-a'], LedgerErrorCode.amountInvalid, -1n);
  assert.equal(dealNetwork({ fiIds: ['x'.repeat(32)], allocationMinor: 0n }).network.fis.length, 1);
});
