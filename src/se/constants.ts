// Every bound of the SE applet in one place, with what it costs, and a start-up check of how they
// relate. The SE's memory is the scarce resource: a real SE has tens to hundreds of KiB of NVM,
// so each log and set below is bounded and each refusal to grow it has its own status word.

import { assert } from '../crypto/assert.ts';
import { SIGNED_POLICY_BYTES_MAX, SIGNED_REVOCATION_LIST_BYTES_MAX } from '../policy/policy_codec.ts';
import { EXTENDED_DATA_MAX, EXTENDED_NE_MAX } from './apdu.ts';
import { SIGNED_MESSAGE_BYTES_MAX } from './messages.ts';
import { COUNTER_SET_SIZE_MAX, COUNTER_SIGNATURE_BYTES } from '../crypto/counter_set.ts';

/** Proprietary class byte of every Tally command (ISO 7816-4: CLA 8X = proprietary). */
export const CLA_TALLY = 0x80;

/** Received payments kept until a sync acknowledgement frees them (DESIGN §8: sync of 256 receipts). */
export const RECEIPT_LOG_ENTRIES_MAX = 256;
/** One stored payment message: the payment proof is ≈ 2–2.5 KB (DESIGN §8); 4 KiB leaves room. */
export const RECEIPT_PAYMENT_BYTES_MAX = 4096;
/** Nullifiers the payee remembers to catch a double spend offline: 1024 × (48 + 9) B ≈ 57 KiB. */
export const SEEN_NULLIFIERS_MAX = 1024;
/** Credentials kept at once: the current epoch, the next, and one still in its grace period. */
export const CREDENTIALS_MAX = 3;
/** Receipts one sync batch covers: the whole log, so one batch + ack always empties it. */
export const SYNC_BATCH_ENTRIES_MAX = RECEIPT_LOG_ENTRIES_MAX;
/** Bytes of payment messages per READ_SYNC_ENTRIES response; fits one extended response APDU. */
export const SYNC_PAGE_BYTES_MAX = 60_000;

/** Command data limits (the command table's maximum data length per INS). */
export const SMALL_COMMAND_BYTES_MAX = 512;
export const SIGNED_COMMAND_BYTES_MAX = SIGNED_MESSAGE_BYTES_MAX + 64;
export const PERSONALIZE_BYTES_MAX = SIGNED_MESSAGE_BYTES_MAX + SIGNED_POLICY_BYTES_MAX + 512;
export const POLICY_COMMAND_BYTES_MAX = SIGNED_POLICY_BYTES_MAX + 64;
export const REVOCATION_COMMAND_BYTES_MAX = SIGNED_REVOCATION_LIST_BYTES_MAX + 64;
/** Payment commands (added by the lead) carry one payment message plus framing. */
export const PAYMENT_COMMAND_BYTES_MAX = RECEIPT_PAYMENT_BYTES_MAX + 1024;
/** FINISH_ISSUANCE carries the issuer's answer and the tier's counter set (80 B per counter). */
export const FINISH_ISSUANCE_BYTES_MAX = SIGNED_COMMAND_BYTES_MAX + COUNTER_SET_SIZE_MAX * COUNTER_SIGNATURE_BYTES + 64;
/** Bound of a reassembled chained command: the largest command of the table. */
export const CHAINED_COMMAND_BYTES_MAX = Math.max(PERSONALIZE_BYTES_MAX, REVOCATION_COMMAND_BYTES_MAX, PAYMENT_COMMAND_BYTES_MAX, FINISH_ISSUANCE_BYTES_MAX);

assert(CHAINED_COMMAND_BYTES_MAX <= EXTENDED_DATA_MAX, 'every command must also fit one extended APDU');
assert(SYNC_PAGE_BYTES_MAX + 1024 <= EXTENDED_NE_MAX, 'a sync page must fit one extended response');
assert(SYNC_PAGE_BYTES_MAX >= RECEIPT_PAYMENT_BYTES_MAX, 'a sync page must hold at least one payment');
assert(SYNC_BATCH_ENTRIES_MAX <= RECEIPT_LOG_ENTRIES_MAX, 'a batch cannot cover more than the log holds');
