// Pins every status word value: a changed value is a wire-format break, so it must fail a test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SW, SeError, swMessage, swName, type SwName } from './status.ts';

const PINNED: Record<SwName, number> = {
  OK: 0x9000,
  BYTES_REMAINING: 0x6100,
  WRONG_LENGTH: 0x6700,
  CHAIN_ERROR: 0x6883,
  SECURITY_STATUS: 0x6982,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  BAD_STATE: 0x6986,
  WRONG_DATA: 0x6a80,
  NOT_ENOUGH_MEMORY: 0x6a84,
  WRONG_P1P2: 0x6a86,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  INTERNAL_ERROR: 0x6f00,
  EPOCH_PAYMENTS_EXHAUSTED: 0x63c0,
  CAP_EXCEEDED: 0x69a1,
  HOLDING_LIMIT: 0x69a2,
  OFFLINE_SPEND_SYNC_REQUIRED: 0x69a3,
  CREDENTIAL_EXPIRED: 0x69a4,
  NO_CREDENTIAL: 0x69a5,
  INSUFFICIENT_BALANCE: 0x69a6,
  RECEIVE_ONLY: 0x69a7,
  DEVICE_REVOKED: 0x69a8,
  NULLIFIER_SEEN: 0x69b1,
  NULLIFIER_REVOKED: 0x69b2,
  BAD_VOUCHER_SIGNATURE: 0x69c1,
  BAD_POLICY_SIGNATURE: 0x69c2,
  BAD_REVOCATION_SIGNATURE: 0x69c3,
  BAD_ACK_SIGNATURE: 0x69c4,
  BAD_CERTIFICATE: 0x69c5,
  BAD_ISSUANCE_RESPONSE: 0x69c6,
  BAD_PAYMENT_PROOF: 0x69c7,
  BAD_PAYMENT_OPENING: 0x69c8,
  BAD_PAYEE_CREDENTIAL: 0x69c9,
  BAD_RECEIPT: 0x69ca,
  VOUCHER_REPLAY: 0x69d1,
  VOUCHER_OUT_OF_ORDER: 0x69d2,
  VOUCHER_WRONG_DEVICE: 0x69d3,
  STALE_POLICY: 0x69d4,
  STALE_REVOCATION_LIST: 0x69d5,
  UNKNOWN_BATCH: 0x69d6,
  REQUEST_ALREADY_PAID: 0x69d7,
  UNKNOWN_REQUEST: 0x69d8,
  POLICY_VERSION_MISMATCH: 0x69e1,
  LOG_FULL: 0x6a90,
  NULLIFIER_SET_FULL: 0x6a91,
  UNCONFIRMED_PAYMENTS_FULL: 0x6a92,
};

test('every status word has its pinned value', () => {
  assert.deepEqual({ ...SW }, PINNED);
});

test('status words are distinct and each has its own host message', () => {
  const values = Object.values(SW);
  assert.equal(new Set(values).size, values.length);
  const messages = values.map((sw) => swMessage(sw));
  assert.equal(new Set(messages).size, messages.length);
  for (const [name, sw] of Object.entries(SW)) {
    assert.equal(swName(sw), name);
    assert.match(swMessage(sw), new RegExp(`SW ${sw.toString(16).toUpperCase().padStart(4, '0')}`));
  }
});

test('SeError carries the code and a message naming the refusal', () => {
  const e = new SeError(SW.HOLDING_LIMIT);
  assert.equal(e.code, 'HOLDING_LIMIT');
  assert.match(e.message, /holding limit.*69A2/);
  assert.equal(new SeError(0x6142).code, 'BYTES_REMAINING');
  assert.equal(new SeError(0x6c10).code, 'UNKNOWN');
});
