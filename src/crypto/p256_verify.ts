// ECDSA P-256 / SHA-256 verification through node:crypto (OpenSSL), the same check noble's
// `p256.verify(sig, msg, key, { lowS: false })` makes, at a fraction of its cost (DESIGN §3 allows
// either). The inputs are Tally's: a 64-byte compact signature (r || s) and a 33-byte compressed
// public key; both S forms verify, r and s must lie in [1, n-1], the key must be a point on the
// curve. Parsed keys are kept in a small map (keys only; every call checks its signature).

import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** DER SubjectPublicKeyInfo header of an id-ecPublicKey on prime256v1 with a 33-byte compressed point. */
const SPKI_COMPRESSED_P256 = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const COMPRESSED_KEY_BYTES = 33;
const SIGNATURE_BYTES = 64;
/** Keys parsed and kept (the CB's, the FIs', the devices' attestation keys); the map is emptied past this. */
const KEY_CACHE_MAX = 4096;

const keys = new Map<string, KeyObject | null>();

function keyObject(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  const known = keys.get(id);
  if (known !== undefined) return known;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_COMPRESSED_P256, publicKey]), format: 'der', type: 'spki' });
  } catch {
    key = null; // not a point on the curve
  }
  if (keys.size >= KEY_CACHE_MAX) keys.clear();
  keys.set(id, key);
  return key;
}

/** True if `sig` (compact r || s) is a valid ECDSA-SHA-256 signature of `message` under the compressed key. Never throws. */
export function verifyP256Signature(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || !(message instanceof Uint8Array) || !(publicKey instanceof Uint8Array)) return false;
  if (sig.length !== SIGNATURE_BYTES || publicKey.length !== COMPRESSED_KEY_BYTES) return false;
  if (publicKey[0] !== 0x02 && publicKey[0] !== 0x03) return false;
  const key = keyObject(publicKey);
  if (key === null) return false;
  try {
    return verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}
