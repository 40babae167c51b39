// What an SE signs when its host calls the FI for it (SIGN_REQUEST): the host hashes the HTTP
// request (ledger/access/device_requests.ts says how) to a 32-byte digest, and the SE signs, with its
// attestation key, the message
//
//   "tally/device-request/v1" || device id (16 bytes) || counter (u64, big-endian) || digest
//
// under ECDSA P-256 (SHA-256, compact r || s). The counter is the SE's own request counter, one
// more than the last it signed, kept in NVM with the rest of its state: the FI refuses any counter
// not above the last one it accepted, so a recorded request cannot be replayed or reordered.
//
// Why a fixed-layout message and not a CBOR envelope: the FI rebuilds the message from the request
// it received and never parses anything the device sent before the signature holds; the tag keeps
// these signatures apart from every envelope the same key signs (the envelopes are CBOR maps, whose
// first byte is never the tag's 't').

import { p256 } from '@noble/curves/nist.js';
import { assert } from '../crypto/assert.ts';
import { concat } from './bytes.ts';
import { DEVICE_ID_BYTES } from './messages.ts';
import { P256_SIGNATURE_BYTES, verifyP256 } from './signed.ts';

export const DEVICE_REQUEST_TAG = new TextEncoder().encode('tally/device-request/v1');
export const REQUEST_DIGEST_BYTES = 32;
/** The counter is a u64 on the wire and in the message. */
export const REQUEST_COUNTER_MAX = (1n << 64n) - 1n;

function u64(n: bigint): Uint8Array {
  assert(n >= 0n && n <= REQUEST_COUNTER_MAX, `request counter ${n} is outside u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

/** The exact bytes an SE signs for request `digest` under `counter`. */
export function deviceRequestMessage(deviceId: Uint8Array, counter: bigint, digest: Uint8Array): Uint8Array {
  assert(deviceId.length === DEVICE_ID_BYTES, `deviceRequestMessage: device id must be ${DEVICE_ID_BYTES} bytes, got ${deviceId.length}`);
  assert(digest.length === REQUEST_DIGEST_BYTES, `deviceRequestMessage: digest must be ${REQUEST_DIGEST_BYTES} bytes, got ${digest.length}`);
  return concat(DEVICE_REQUEST_TAG, deviceId, u64(counter), digest);
}

/** Signs a request message (inside the SE only: it takes the attestation secret key). */
export function signDeviceRequest(secretKey: Uint8Array, deviceId: Uint8Array, counter: bigint, digest: Uint8Array): Uint8Array {
  const sig = p256.sign(deviceRequestMessage(deviceId, counter, digest), secretKey);
  assert(sig.length === P256_SIGNATURE_BYTES, 'signDeviceRequest: compact signature expected');
  return sig;
}

/** True if `sig` is the device's signature of `digest` under `counter`; false on any bad input. */
export function verifyDeviceRequest(publicKey: Uint8Array, deviceId: Uint8Array, counter: bigint, digest: Uint8Array, sig: Uint8Array): boolean {
  if (deviceId.length !== DEVICE_ID_BYTES || digest.length !== REQUEST_DIGEST_BYTES || counter < 0n || counter > REQUEST_COUNTER_MAX) return false;
  return verifyP256(sig, deviceRequestMessage(deviceId, counter, digest), publicKey);
}
