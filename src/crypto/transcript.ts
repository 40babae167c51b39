// The one Fiat–Shamir transcript. Every challenge in Tally comes from here; no proof hashes bytes
// on its own. A transcript starts from a versioned protocol label and absorbs typed, labelled,
// length-framed items, so two different sequences of appends can never produce the same hash
// input. Points are checked on append: the identity is refused unless the caller says it is
// allowed, because a prover message that is the identity usually means a broken prover.
//
// Construction: a running SHA-256 over frames `type(1) | len(label)(4) | label | len(data)(4) |
// data`. A challenge clones the state, absorbs a challenge frame with a counter, and expands the
// digest to 48 bytes with expand_message_xmd before reducing mod r; the challenge is then absorbed
// back, so later challenges depend on earlier ones.

import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from './assert.ts';
import { G1Point, G2Point, hashToScalar, scalarToBytes } from './group.ts';

export const TRANSCRIPT_DST = 'TALLY-V1/transcript/challenge';

const FRAME_PROTOCOL = 0x01;
const FRAME_BYTES = 0x02;
const FRAME_SCALAR = 0x03;
const FRAME_G1 = 0x04;
const FRAME_G2 = 0x05;
const FRAME_U64 = 0x06;
const FRAME_CHALLENGE = 0x07;

const utf8 = new TextEncoder();

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

export class Transcript {
  private hasher = sha256.create();
  private challenges = 0;

  /** `protocol` must name the protocol and its version, e.g. `TALLY-V1/payment`. */
  constructor(protocol: string) {
    assert(/\/V?\d|V\d/.test(protocol), `Transcript label must be versioned, got '${protocol}'`);
    this.frame(FRAME_PROTOCOL, 'protocol', utf8.encode(protocol));
  }

  private frame(type: number, label: string, data: Uint8Array): void {
    const l = utf8.encode(label);
    this.hasher.update(Uint8Array.of(type));
    this.hasher.update(u32(l.length));
    this.hasher.update(l);
    this.hasher.update(u32(data.length));
    this.hasher.update(data);
  }

  appendBytes(label: string, data: Uint8Array): this {
    this.frame(FRAME_BYTES, label, data);
    return this;
  }

  appendScalar(label: string, x: bigint): this {
    this.frame(FRAME_SCALAR, label, scalarToBytes(x));
    return this;
  }

  appendU64(label: string, n: bigint | number): this {
    const v = BigInt(n);
    assert(v >= 0n && v < 1n << 64n, `appendU64: ${label} out of range`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v);
    this.frame(FRAME_U64, label, b);
    return this;
  }

  appendPoint(label: string, p: G1Point, options: { allowIdentity?: boolean } = {}): this {
    assert(options.allowIdentity || !p.isIdentity(), `Transcript: point '${label}' is the identity`);
    this.frame(FRAME_G1, label, p.toBytes());
    return this;
  }

  appendPoints(label: string, ps: readonly G1Point[]): this {
    this.appendU64(`${label}.length`, ps.length);
    ps.forEach((p, i) => this.appendPoint(`${label}[${i}]`, p, { allowIdentity: true }));
    return this;
  }

  appendG2(label: string, p: G2Point): this {
    assert(!p.isIdentity(), `Transcript: G2 point '${label}' is the identity`);
    this.frame(FRAME_G2, label, p.toBytes());
    return this;
  }

  /** A challenge scalar; never zero (a zero challenge would void soundness of some relations). */
  challengeScalar(label: string): bigint {
    for (;;) {
      const fork = this.hasher.clone();
      const l = utf8.encode(label);
      fork.update(Uint8Array.of(FRAME_CHALLENGE));
      fork.update(u32(l.length));
      fork.update(l);
      fork.update(u32(this.challenges++));
      const c = hashToScalar(fork.digest(), TRANSCRIPT_DST);
      this.frame(FRAME_CHALLENGE, label, scalarToBytes(c));
      if (c !== 0n) return c;
    }
  }
}
