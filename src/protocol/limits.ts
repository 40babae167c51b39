// Every bound of the wire format, the session and the transports, in one place (DESIGN §5, STYLE
// "Put a limit on everything"). Each constant says what it costs: the RAM a device must reserve,
// the airtime a payment spends, or what an attacker can make us do. The message maxima are derived
// from the field sizes (not guessed), and `checkProtocolLimits()` runs at import time so a change
// that breaks a relation fails at start-up, not in the field.

import { assert } from '../crypto/assert.ts';

// ---- Versions and fixed field sizes -------------------------------------------------------------

/** Wire version carried in every message (key 0). A decoder refuses every other value. */
export const PROTOCOL_VERSION = 1;
/** Random request id chosen by the payee: 128 bits make a collision between two live requests negligible. */
export const REQUEST_ID_BYTES = 16;
/** Payee nonce ρ: 256 bits, fresh per request, hashed into R so every payment has its own tag. */
export const PAYEE_NONCE_BYTES = 32;
/** Payee identity: SHA-256 of the payee SE's attestation public key (payeeIdentityOf in session.ts). */
export const PAYEE_IDENTITY_BYTES = 32;
/** X25519 public key (RFC 7748 u-coordinate). */
export const SESSION_KEY_BYTES = 32;
/** Blinding r_a of the amount commitment: a BLS12-381 scalar, 32 bytes big-endian. */
export const OPENING_BLINDING_BYTES = 32;
/** Amount inside the sealed opening: fixed 8-byte big-endian so the ciphertext length never depends on it. */
export const OPENING_AMOUNT_BYTES = 8;
/** ChaCha20-Poly1305 tag. */
export const AEAD_TAG_BYTES = 16;
/** Sealed opening = AEAD(amount ‖ r_a): always 56 bytes, so an eavesdropper learns nothing from its size. */
export const SEALED_OPENING_BYTES = OPENING_AMOUNT_BYTES + OPENING_BLINDING_BYTES + AEAD_TAG_BYTES;
/** SHA-256 output: payment hash carried in the receipt. */
export const PAYMENT_HASH_BYTES = 32;
/** ECDSA P-256 signature as r ‖ s (64 bytes), what real SEs produce after stripping DER. */
export const RECEIPT_SIGNATURE_BYTES = 64;
/** Compressed SEC1 P-256 public key (0x02/0x03 ‖ x). */
export const ATTESTATION_KEY_BYTES = 33;

// ---- Value bounds --------------------------------------------------------------------------------

/** Smallest payable amount. A zero payment moves nothing and would only burn a counter. */
export const AMOUNT_MINOR_MIN = 1n;
/** Largest amount the range proof can show (a ∈ [0, 2^32)); every tier cap in DESIGN §7 is far below. */
export const AMOUNT_MINOR_MAX = (1n << 32n) - 1n;
/** Policy table versions only increase; 2^32 − 1 outlasts any plausible publication rate. */
export const POLICY_VERSION_MAX = (1n << 32n) - 1n;
/** Time in ms since the Unix epoch. Kept within a JS safe integer so it never silently rounds. */
export const TIME_MS_MAX = Number.MAX_SAFE_INTEGER;

// ---- Opaque proof sizes (decoded by the crypto layer) --------------------------------------------

/**
 * Largest payment proof the wire accepts. The proof of DESIGN §3.2 is ≈ 2 KB; 2560 leaves room for
 * the public inputs it carries. Cost: a payee reserves this much RAM per payment in flight, and at
 * NFC 424 kbit/s each extra KiB adds ≈ 25 ms of airtime.
 */
export const PAYMENT_PROOF_BYTES_MAX = 2560;
/**
 * Largest payee credential proof (BBS proof of a genuine device, one hidden message ≈ 300–400 bytes
 * plus the disclosed messages). 1 KiB: a payer holds it while it proves its own payment.
 */
export const CREDENTIAL_PROOF_BYTES_MAX = 1024;
/** A proof of 0 bytes is never valid; refusing it at the wire keeps the crypto layer simpler. */
export const PROOF_BYTES_MIN = 1;

// ---- Message sizes (derived from the fields above) -----------------------------------------------

/** Bytes of a CBOR head (major type + argument) for argument n, RFC 8949 §3. */
export function cborHeadBytes(n: number | bigint): number {
  const x = BigInt(n);
  assert(x >= 0n && x < 1n << 64n, `cborHeadBytes: argument out of range: ${x}`);
  if (x < 24n) return 1;
  if (x < 256n) return 2;
  if (x < 65_536n) return 3;
  if (x < 1n << 32n) return 5;
  return 9;
}
const byteField = (len: number): number => cborHeadBytes(len) + len;
/** Map header + one small integer key per field (keys are 0..n−1, each one byte). */
const mapOverhead = (fields: number): number => cborHeadBytes(fields) + fields;

/** Largest encoded PaymentRequest: 10 fields, proof at its maximum. */
export const PAYMENT_REQUEST_BYTES_MAX =
  mapOverhead(10) +
  cborHeadBytes(PROTOCOL_VERSION) +
  1 + // message type
  cborHeadBytes(AMOUNT_MINOR_MAX) +
  byteField(REQUEST_ID_BYTES) +
  byteField(PAYEE_NONCE_BYTES) +
  byteField(PAYEE_IDENTITY_BYTES) +
  byteField(SESSION_KEY_BYTES) +
  byteField(CREDENTIAL_PROOF_BYTES_MAX) +
  cborHeadBytes(POLICY_VERSION_MAX) +
  cborHeadBytes(TIME_MS_MAX);
/** Largest encoded Payment: 6 fields, proof at its maximum. */
export const PAYMENT_BYTES_MAX =
  mapOverhead(6) +
  cborHeadBytes(PROTOCOL_VERSION) +
  1 +
  byteField(REQUEST_ID_BYTES) +
  byteField(SESSION_KEY_BYTES) +
  byteField(PAYMENT_PROOF_BYTES_MAX) +
  byteField(SEALED_OPENING_BYTES);
/** Encoded Receipt: every field has a fixed size, so this is also its exact size. */
export const RECEIPT_BYTES_MAX =
  mapOverhead(5) +
  cborHeadBytes(PROTOCOL_VERSION) +
  1 +
  byteField(PAYMENT_HASH_BYTES) +
  byteField(RECEIPT_SIGNATURE_BYTES) +
  byteField(ATTESTATION_KEY_BYTES);

/**
 * Largest message any decoder or transport accepts (3 KiB). It is the reassembly buffer every
 * device reserves per link, so it is the RAM cost of a connection; checked before any parsing.
 */
export const MESSAGE_BYTES_MAX = 3072;
/** Nesting depth the CBOR decoder follows. Our messages are flat maps (depth 1); 4 leaves slack. */
export const CBOR_DEPTH_MAX = 4;
/** Items (keys, values, elements) the CBOR decoder walks: bounds work per message at ~1 µs each. */
export const CBOR_ITEMS_MAX = 64;

// ---- Transports ----------------------------------------------------------------------------------

/** ISO 7816-4 short APDU data field / ISO-DEP chunk: each chained I-block carries ≤ 255 bytes. */
export const NFC_CHUNK_BYTES = 255;
/** ISO-DEP I-block = PCB byte + chunk. */
export const NFC_FRAME_BYTES_MAX = 1 + NFC_CHUNK_BYTES;
/** Frames one NFC message may take; a peer that chains longer is cut off (bounds loop work). */
export const NFC_FRAMES_PER_MESSAGE_MAX = Math.ceil(MESSAGE_BYTES_MAX / NFC_CHUNK_BYTES) + 1;
/** BLE ATT_MTU range: 23 is the Bluetooth Core default, 247 fills one LE Data Length Extension PDU. */
export const BLE_MTU_MIN = 23;
export const BLE_MTU_MAX = 247;
/** ATT header of a Write Command (opcode 1 + handle 2): payload per write is MTU − 3. */
export const BLE_ATT_HEADER_BYTES = 3;
/** Length prefix in the first BLE write of each message (u16 big-endian; messages are ≤ 3 KiB). */
export const BLE_LENGTH_PREFIX_BYTES = 2;
/** A BLE write of exactly this 2-byte prefix and nothing else is a keep-alive (no message is that long). */
export const BLE_KEEPALIVE_PREFIX = 0xffff;
/** A TCP frame whose prefix is this value and which has no body is a keep-alive. */
export const TCP_KEEPALIVE_PREFIX = 0xffff_ffff;
/** TCP frames: 4-byte big-endian length prefix, then the message. */
export const TCP_LENGTH_PREFIX_BYTES = 4;
/** Largest TCP frame body: one message. A prefix above this closes the connection unread. */
export const TCP_FRAME_BYTES_MAX = MESSAGE_BYTES_MAX;
/**
 * Complete messages a transport queues before it stops reading (TCP: socket paused; memory link:
 * sender waits). Cost: up to this many × MESSAGE_BYTES_MAX of RAM per connection (24 KiB).
 */
export const TRANSPORT_QUEUE_MESSAGES_MAX = 8;
/** Frames the in-memory link queues before its sender waits (≥ one 3 KiB message at MTU 23). */
export const MEMORY_LINK_QUEUE_FRAMES_MAX = 256;
/** TCP connections a listener queues before refusing more. */
export const TCP_ACCEPT_QUEUE_MAX = 16;

// ---- Time and retries ----------------------------------------------------------------------------

/**
 * Longest silence on a link: no frame and no keep-alive for this long and the receive fails with
 * TIMEOUT. A peer that is computing says so with keep-alives (below), so this bounds only how long
 * a silent or dead peer can hold a device's only link, not how long an honest slow peer may prove.
 */
export const RECEIVE_TIMEOUT_MS = 5_000;
/**
 * Interval of the keep-alive frames the side whose SE is working sends (NFC S(WTX), BLE and TCP
 * marker frames, see framing_*.ts). A fifth of the silence bound: four may be lost or late before
 * the peer gives up. Cost: one 2–4 byte frame per second of SE work.
 */
export const KEEPALIVE_INTERVAL_MS = 1_000;
/**
 * Ceiling on the total deadline of one receive, however slow the device classes involved are: what
 * a hostile peer that only sends keep-alives can hold a link for. The device layer derives each
 * wait from the cost model (src/device/link_timing.ts) and clamps it here; 2 minutes is over three
 * times the slowest class's modelled payment before issue 9's restructuring (36.5 s on a Cortex-M33).
 */
export const RECEIVE_DEADLINE_MS_MAX = 120_000;
/**
 * Keep-alives one receive accepts before it cuts the peer off (DEADLINE): an honest peer sends one
 * per KEEPALIVE_INTERVAL_MS, so this is the deadline ceiling's worth, twice over. Bounds the work a
 * peer flooding keep-alives can make a receiver do.
 */
export const KEEPALIVES_PER_RECEIVE_MAX = 2 * Math.ceil(RECEIVE_DEADLINE_MS_MAX / KEEPALIVE_INTERVAL_MS);
/** TCP connect timeout on loopback / LAN. */
export const TCP_CONNECT_TIMEOUT_MS = 5_000;
/** Retransmissions of one frame before the link model declares it failed (ISO-DEP and BLE LL both retry). */
export const LINK_RETRANSMISSIONS_MAX = 3;

/** Start-up check: the relations the code relies on. Runs at import; a failure is a build error. */
export function checkProtocolLimits(): void {
  assert(SEALED_OPENING_BYTES === 56, 'sealed opening is amount(8) ‖ r_a(32) ‖ tag(16)');
  assert(AMOUNT_MINOR_MIN >= 1n && AMOUNT_MINOR_MIN <= AMOUNT_MINOR_MAX, 'amount bounds are ordered');
  assert(AMOUNT_MINOR_MAX < 1n << 32n, 'amounts fit the 32-bit range proof');
  assert(AMOUNT_MINOR_MAX < 1n << BigInt(8 * OPENING_AMOUNT_BYTES), 'amounts fit the opening field');
  assert(PROOF_BYTES_MIN <= CREDENTIAL_PROOF_BYTES_MAX, 'credential proof bounds are ordered');
  assert(PROOF_BYTES_MIN <= PAYMENT_PROOF_BYTES_MAX, 'payment proof bounds are ordered');
  assert(MESSAGE_BYTES_MAX >= PAYMENT_REQUEST_BYTES_MAX, 'a largest PaymentRequest fits a message');
  assert(MESSAGE_BYTES_MAX >= PAYMENT_BYTES_MAX, 'a largest Payment fits a message');
  assert(MESSAGE_BYTES_MAX >= RECEIPT_BYTES_MAX, 'a Receipt fits a message');
  assert(CBOR_ITEMS_MAX >= 2 * 9 + 1, 'the item budget covers the largest message map');
  assert(MESSAGE_BYTES_MAX < 1 << (8 * BLE_LENGTH_PREFIX_BYTES), 'BLE length prefix holds any message');
  assert(TCP_FRAME_BYTES_MAX >= MESSAGE_BYTES_MAX, 'a TCP frame holds any message');
  assert(TCP_FRAME_BYTES_MAX < 2 ** (8 * TCP_LENGTH_PREFIX_BYTES), 'TCP prefix holds the frame maximum');
  assert(BLE_MTU_MIN - BLE_ATT_HEADER_BYTES > BLE_LENGTH_PREFIX_BYTES, 'the first BLE write carries data');
  assert(BLE_MTU_MIN <= BLE_MTU_MAX, 'BLE MTU range is ordered');
  assert(NFC_FRAMES_PER_MESSAGE_MAX * NFC_CHUNK_BYTES >= MESSAGE_BYTES_MAX, 'NFC frame budget covers a message');
  const bleWritesMax = Math.ceil((MESSAGE_BYTES_MAX + BLE_LENGTH_PREFIX_BYTES) / (BLE_MTU_MIN - BLE_ATT_HEADER_BYTES));
  assert(MEMORY_LINK_QUEUE_FRAMES_MAX >= bleWritesMax, 'memory link queues one whole message at the smallest MTU');
  assert(RECEIVE_TIMEOUT_MS > 0 && TCP_CONNECT_TIMEOUT_MS > 0, 'timeouts are positive');
  assert(KEEPALIVE_INTERVAL_MS > 0 && 2 * KEEPALIVE_INTERVAL_MS <= RECEIVE_TIMEOUT_MS, 'a keep-alive arrives well within the silence bound');
  assert(RECEIVE_DEADLINE_MS_MAX >= RECEIVE_TIMEOUT_MS, 'the total deadline ceiling is at least one silence bound');
  assert(KEEPALIVES_PER_RECEIVE_MAX * KEEPALIVE_INTERVAL_MS >= RECEIVE_DEADLINE_MS_MAX, 'an honest peer reaches the deadline before the keep-alive count');
  assert(MESSAGE_BYTES_MAX < BLE_KEEPALIVE_PREFIX && TCP_FRAME_BYTES_MAX < TCP_KEEPALIVE_PREFIX, 'no message length equals a keep-alive marker');
  assert(LINK_RETRANSMISSIONS_MAX >= 0, 'retransmission bound is non-negative');
}

checkProtocolLimits();
