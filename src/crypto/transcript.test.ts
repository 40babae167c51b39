// The transcript's bytes are the protocol: every prover and verifier, now and in stored records,
// must draw the same challenges. Known answers pin them, and a reference written the plain way
// (one hash update per frame field, noble's expand_message_xmd through hashToScalar) must agree with
// the buffered transcript on any sequence of appends, including frames longer than its buffer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { G1Point, G2Point, R_ORDER, hashToScalar, scalarToBytes } from './group.ts';
import { generator, pedersenG, pedersenH } from './generators.ts';
import { decodeG1, g1Bytes } from './point_bytes.ts';
import { TRANSCRIPT_DST, Transcript } from './transcript.ts';

const utf8 = new TextEncoder();

/** The construction of the file comment, one update per field. */
class ReferenceTranscript {
  private hasher = sha256.create();
  private challenges = 0;
  constructor(protocol: string) {
    this.frame(0x01, 'protocol', utf8.encode(protocol));
  }
  frame(type: number, label: string, data: Uint8Array): void {
    const l = utf8.encode(label);
    this.hasher.update(Uint8Array.of(type)).update(u32(l.length)).update(l).update(u32(data.length)).update(data);
  }
  challenge(label: string): bigint {
    for (;;) {
      const l = utf8.encode(label);
      const fork = this.hasher.clone().update(Uint8Array.of(0x07)).update(u32(l.length)).update(l).update(u32(this.challenges++));
      const c = hashToScalar(fork.digest(), TRANSCRIPT_DST);
      this.frame(0x07, label, scalarToBytes(c));
      if (c !== 0n) return c;
    }
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

test('Transcript challenges match pinned known answers', () => {
  const t = new Transcript('TALLY-V1/test/transcript');
  t.appendBytes('ctx', utf8.encode('known answer'));
  t.appendScalar('x', 12345678901234567890n);
  t.appendU64('n', 64);
  t.appendPoint('G', pedersenG());
  t.appendPoints('V', [pedersenH(), G1Point.IDENTITY]);
  t.appendG2('W', G2Point.BASE);
  const c1 = t.challengeScalar('c1');
  t.appendBytes('empty', new Uint8Array(0));
  const c2 = t.challengeScalar('c2');
  const c3 = t.challengeScalar('c2');
  assert.equal(c1.toString(16), '3845ad9e400ee729043a82cbb3e0e6ca363d4e1cf2cfbd9acea4014d59316ddd');
  assert.equal(c2.toString(16), '1fbe2ba6405e4c2f043d5cd3855aabfc82078d8f1ff75193ecdf9b806fa092e2');
  assert.equal(c3.toString(16), '4473b62f5748b3b1cb29daa4af4e0c9f98264b19dd4da60731f067400ab11063');
});

type Op =
  | { kind: 'bytes'; label: string; data: Uint8Array }
  | { kind: 'scalar'; label: string; x: bigint }
  | { kind: 'u64'; label: string; n: bigint }
  | { kind: 'point'; label: string; i: number }
  | { kind: 'challenge'; label: string };

const label = fc.string({ maxLength: 12 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), label, data: fc.uint8Array({ maxLength: 64 }) }),
  // Longer than the transcript's buffer: the frame is hashed in place.
  fc.record({ kind: fc.constant('bytes' as const), label, data: fc.uint8Array({ minLength: 2000, maxLength: 9000 }) }),
  fc.record({ kind: fc.constant('scalar' as const), label, x: fc.oneof(fc.constantFrom(0n, 1n, 15n, 16n, R_ORDER - 1n), fc.bigInt({ min: 0n, max: R_ORDER - 1n })) }),
  fc.record({ kind: fc.constant('u64' as const), label, n: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ kind: fc.constant('point' as const), label, i: fc.nat({ max: 3 }) }),
  fc.record({ kind: fc.constant('challenge' as const), label }),
);

test('Transcript draws the same challenges as the plain construction for any sequence of appends', () => {
  const points = [0, 1, 2, 3].map((i) => generator('TEST-TRANSCRIPT', i));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), label, (ops, last) => {
      const t = new Transcript('TALLY-V1/test/transcript-ref');
      const r = new ReferenceTranscript('TALLY-V1/test/transcript-ref');
      for (const o of ops) {
        if (o.kind === 'bytes') (t.appendBytes(o.label, o.data), r.frame(0x02, o.label, o.data));
        if (o.kind === 'scalar') (t.appendScalar(o.label, o.x), r.frame(0x03, o.label, scalarToBytes(o.x)));
        if (o.kind === 'u64') {
          t.appendU64(o.label, o.n);
          const b = new Uint8Array(8);
          new DataView(b.buffer).setBigUint64(0, o.n);
          r.frame(0x06, o.label, b);
        }
        if (o.kind === 'point') (t.appendPoint(o.label, points[o.i]!), r.frame(0x04, o.label, points[o.i]!.toBytes()));
        if (o.kind === 'challenge') assert.equal(t.challengeScalar(o.label), r.challenge(o.label));
      }
      assert.equal(t.challengeScalar(last), r.challenge(last));
    }),
    { numRuns: 60 },
  );
});

test('Transcript refuses an out-of-range scalar and an unexpected identity', () => {
  const t = new Transcript('TALLY-V1/test/transcript');
  assert.throws(() => t.appendScalar('x', R_ORDER), /out of range/);
  assert.throws(() => t.appendScalar('x', -1n), /out of range/);
  assert.throws(() => t.appendPoint('P', G1Point.IDENTITY), /identity/);
  assert.throws(() => t.appendU64('n', 1n << 64n), /out of range/);
});

test('a decoded point hashes as its own bytes even after the caller reuses its buffer', () => {
  const buf = pedersenH().toBytes().slice();
  const p = decodeG1(buf);
  buf.set(pedersenG().toBytes());
  assert.deepEqual(g1Bytes(p), pedersenH().toBytes());
});
