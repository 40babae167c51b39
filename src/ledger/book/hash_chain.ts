// The hash of one entry of an append-only, hash-chained log (the admin log, the compliance log):
// SHA-256 over a domain label, the previous entry's hash and the entry's fields as strings, each
// part length-prefixed (u32 big-endian) so no two field lists encode alike. The first entry's
// predecessor is ZERO_HASH. One helper, so every log chains the same way and one test covers it.

import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

export const ZERO_HASH = new Uint8Array(32);

function lengthPrefixed(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    new DataView(out.buffer).setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** The entry's hash given its predecessor's; `domain` names the log and its version. */
export function chainHash(domain: string, prevHash: Uint8Array, fields: readonly string[]): Uint8Array {
  return sha256(lengthPrefixed([utf8ToBytes(domain), prevHash, ...fields.map((f) => utf8ToBytes(f))]));
}
