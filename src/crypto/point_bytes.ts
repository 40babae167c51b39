// Compressed encodings of points, computed once per point object. Points are immutable (group.ts),
// so an encoding never goes stale; verifiers absorb the same generators, keys and decoded proof
// elements into transcripts over and over, and each `toBytes()` is a round trip into the curve
// engine (normalise, serialise, copy out). A decoder that has just checked that the bytes it was
// given are the point's canonical encoding records a copy of them, so a decoded proof element is
// never serialised again at all.
//
// The arrays handed out are shared: callers copy from them and never write into them.

import { G1Point, G2Point, type DecodePointOptions } from './group.ts';

const g1Encodings = new WeakMap<G1Point, Uint8Array>();
const g2Encodings = new WeakMap<G2Point, Uint8Array>();

/** p.toBytes(), cached per point object. Read-only. */
export function g1Bytes(p: G1Point): Uint8Array {
  let b = g1Encodings.get(p);
  if (b === undefined) {
    b = p.toBytes();
    g1Encodings.set(p, b);
  }
  return b;
}

/** p.toBytes(), cached per point object. Read-only. */
export function g2Bytes(p: G2Point): Uint8Array {
  let b = g2Encodings.get(p);
  if (b === undefined) {
    b = p.toBytes();
    g2Encodings.set(p, b);
  }
  return b;
}

/**
 * G1Point.fromBytes, remembering a copy of the input as the point's encoding: fromBytes accepts
 * only the canonical encoding, so the bytes are exactly what toBytes() would return. A copy, so a
 * caller that later reuses its buffer cannot change what the point hashes as.
 */
export function decodeG1(bytes: Uint8Array, options: DecodePointOptions = {}): G1Point {
  const p = G1Point.fromBytes(bytes, options);
  g1Encodings.set(p, bytes.slice());
  return p;
}
