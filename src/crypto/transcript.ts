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
//
// Why this shape (verifier speed, same bytes): a batch verifier absorbs ~150 frames and draws 10
// challenges per payment, and each hash update and each small allocation costs more than the
// SHA-256 compression it feeds. So frames are written into one buffer that is hashed in one update
// when a challenge is drawn (SHA-256 is a stream: the digest is the same however the input is
// split), label prefixes are encoded once per label, scalars are written straight into the buffer,
// point encodings come from point_bytes.ts, and expand_message_xmd runs here with its padding block
// hashed once per process. transcript.test.ts pins the challenges to known answers and the
// expansion to group.ts's hashToScalar.

import { sha256 } from '@noble/hashes/sha2.js';
import { assert } from './assert.ts';
import { G1Point, G2Point, R_ORDER, mod } from './group.ts';
import { g1Bytes, g2Bytes } from './point_bytes.ts';

export const TRANSCRIPT_DST = 'TALLY-V1/transcript/challenge';

const FRAME_PROTOCOL = 0x01;
const FRAME_BYTES = 0x02;
const FRAME_SCALAR = 0x03;
const FRAME_G1 = 0x04;
const FRAME_G2 = 0x05;
const FRAME_U64 = 0x06;
const FRAME_CHALLENGE = 0x07;

/**
 * Bytes buffered before a hash update. A payment's first challenge follows ~5 KB of frames; a
 * larger buffer only moves the update, a smaller one adds updates. Data longer than this is hashed
 * in place after a flush.
 */
const TRANSCRIPT_BUFFER_BYTES = 4096;
/** Distinct labels whose encoded prefix is kept (labels are program constants; indexed ones repeat). */
const LABEL_CACHE_MAX = 1024;
const SCALAR_BYTES = 32;
/** expand_message_xmd output length: 48 bytes keep the bias of the reduction below 2^-128. */
const CHALLENGE_EXPAND_BYTES = 48;

const utf8 = new TextEncoder();

/** `len(label)(4) | label` per label. */
const labelPrefixes = new Map<string, Uint8Array>();
function labelPrefix(label: string): Uint8Array {
  let p = labelPrefixes.get(label);
  if (p === undefined) {
    const l = utf8.encode(label);
    p = new Uint8Array(4 + l.length);
    new DataView(p.buffer).setUint32(0, l.length);
    p.set(l, 4);
    if (labelPrefixes.size >= LABEL_CACHE_MAX) labelPrefixes.clear();
    labelPrefixes.set(label, p);
  }
  return p;
}

// expand_message_xmd(SHA-256, DST = TRANSCRIPT_DST, len_in_bytes = 48), RFC 9380 §5.3.1, for a
// 32-byte message (a transcript digest): b_0 = H(Z_pad || msg || I2OSP(48, 2) || I2OSP(0, 1) ||
// DST'), b_1 = H(b_0 || I2OSP(1, 1) || DST'), b_2 = H((b_0 ⊕ b_1) || I2OSP(2, 1) || DST'), output
// the first 48 bytes of b_1 || b_2. The DST is under 256 bytes, so DST' = DST || I2OSP(len(DST), 1).
const DST_PRIME = (() => {
  const d = utf8.encode(TRANSCRIPT_DST);
  assert(d.length < 256, 'TRANSCRIPT_DST must be shorter than 256 bytes');
  const out = new Uint8Array(d.length + 1);
  out.set(d);
  out[d.length] = d.length;
  return out;
})();
const AFTER_Z_PAD = sha256.create().update(new Uint8Array(64));
const B0_SUFFIX = Uint8Array.of(0, CHALLENGE_EXPAND_BYTES, 0, ...DST_PRIME);
const B1_SUFFIX = Uint8Array.of(1, ...DST_PRIME);
const B2_SUFFIX = Uint8Array.of(2, ...DST_PRIME);

/** hashToScalar(digest, TRANSCRIPT_DST) of group.ts, for a 32-byte digest. */
function challengeFromDigest(digest: Uint8Array): bigint {
  assert(digest.length === 32, 'challengeFromDigest: digest must be 32 bytes');
  const b0 = AFTER_Z_PAD.clone().update(digest).update(B0_SUFFIX).digest();
  const b1 = sha256.create().update(b0).update(B1_SUFFIX).digest();
  for (let i = 0; i < 32; i++) b0[i]! ^= b1[i]!;
  const b2 = sha256.create().update(b0).update(B2_SUFFIX).digest();
  return mod(BigInt('0x' + hex(b1, 32) + hex(b2, 16)));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex(b: Uint8Array, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[b[i]!]!;
  return s;
}

export class Transcript {
  private readonly hasher = sha256.create();
  private readonly buf = new Uint8Array(TRANSCRIPT_BUFFER_BYTES);
  private readonly view = new DataView(this.buf.buffer);
  private len = 0;
  private challenges = 0;

  /** `protocol` must name the protocol and its version, e.g. `TALLY-V1/payment`. */
  constructor(protocol: string) {
    assert(/\/V?\d|V\d/.test(protocol), `Transcript label must be versioned, got '${protocol}'`);
    this.frame(FRAME_PROTOCOL, 'protocol', utf8.encode(protocol));
  }

  private flush(): void {
    if (this.len > 0) this.hasher.update(this.buf.subarray(0, this.len));
    this.len = 0;
  }

  /** Writes `type | len(label) | label | len(data)` and makes room for `room` more bytes, if they fit. */
  private head(type: number, label: string, dataLength: number, room: number): void {
    const prefix = labelPrefix(label);
    if (this.len + 1 + prefix.length + 4 + room > this.buf.length) this.flush();
    if (1 + prefix.length + 4 > this.buf.length) {
      this.hasher.update(Uint8Array.of(type)).update(prefix);
      this.hasher.update(u32(dataLength));
      return;
    }
    this.buf[this.len] = type;
    this.buf.set(prefix, this.len + 1);
    this.len += 1 + prefix.length;
    this.view.setUint32(this.len, dataLength);
    this.len += 4;
  }

  private frame(type: number, label: string, data: Uint8Array): void {
    const fits = data.length <= this.buf.length >> 1;
    this.head(type, label, data.length, fits ? data.length : 0);
    if (fits) {
      this.buf.set(data, this.len);
      this.len += data.length;
    } else {
      this.flush();
      this.hasher.update(data);
    }
  }

  appendBytes(label: string, data: Uint8Array): this {
    this.frame(FRAME_BYTES, label, data);
    return this;
  }

  appendScalar(label: string, x: bigint): this {
    this.scalarFrame(FRAME_SCALAR, label, x);
    return this;
  }

  /** A 32-byte big-endian, zero-padded scalar frame: the bytes scalarToBytes(x) would give. */
  private scalarFrame(type: number, label: string, x: bigint): void {
    assert(x >= 0n && x < R_ORDER, `Transcript: scalar '${label}' out of range`);
    this.head(type, label, SCALAR_BYTES, SCALAR_BYTES);
    const h = x.toString(16);
    let o = this.len + SCALAR_BYTES - 1;
    for (let i = h.length; i > 0; i -= 2) this.buf[o--] = (i >= 2 ? nibble(h.charCodeAt(i - 2)) << 4 : 0) | nibble(h.charCodeAt(i - 1));
    while (o >= this.len) this.buf[o--] = 0;
    this.len += SCALAR_BYTES;
  }

  appendU64(label: string, n: bigint | number): this {
    const v = BigInt(n);
    assert(v >= 0n && v < 1n << 64n, `appendU64: ${label} out of range`);
    this.head(FRAME_U64, label, 8, 8);
    this.view.setBigUint64(this.len, v);
    this.len += 8;
    return this;
  }

  appendPoint(label: string, p: G1Point, options: { allowIdentity?: boolean } = {}): this {
    assert(options.allowIdentity || !p.isIdentity(), `Transcript: point '${label}' is the identity`);
    this.frame(FRAME_G1, label, g1Bytes(p));
    return this;
  }

  appendPoints(label: string, ps: readonly G1Point[]): this {
    this.appendU64(`${label}.length`, ps.length);
    ps.forEach((p, i) => this.appendPoint(`${label}[${i}]`, p, { allowIdentity: true }));
    return this;
  }

  appendG2(label: string, p: G2Point): this {
    assert(!p.isIdentity(), `Transcript: G2 point '${label}' is the identity`);
    this.frame(FRAME_G2, label, g2Bytes(p));
    return this;
  }

  /** A challenge scalar; never zero (a zero challenge would void soundness of some relations). */
  challengeScalar(label: string): bigint {
    for (;;) {
      this.flush();
      const fork = this.hasher.clone();
      fork.update(Uint8Array.of(FRAME_CHALLENGE)).update(labelPrefix(label)).update(u32(this.challenges++));
      const c = challengeFromDigest(fork.digest());
      this.scalarFrame(FRAME_CHALLENGE, label, c);
      if (c !== 0n) return c;
    }
  }
}

/** Value of a lower-case hex digit's char code. */
const nibble = (c: number): number => (c <= 57 ? c - 48 : c - 87);

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
