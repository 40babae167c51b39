// `tally device show`'s lines for unconfirmed payments: age and status from the SE's settlement window.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeUnconfirmed, formatAge, printUnconfirmed } from './cmd_device_unconfirmed.ts';

const kept = {
  requestId: new Uint8Array(16).fill(0xab), paymentHash: new Uint8Array(32), payment: new Uint8Array(10), amountMinor: 1_234n, epoch: 7n,
  payeeIdentity: new Uint8Array(32).fill(0x01), paidAtMs: 1_000_000n, reclaimableAtMs: 5_000_000n,
};

test('describeUnconfirmed() says awaiting receipt before the window ends and reclaimable from its end', () => {
  const [before] = describeUnconfirmed([kept], 4_999_999n);
  assert.deepEqual([before!.status, before!.ageMs, before!.amount, before!.requestId], ['awaiting-receipt', 3_999_999n, '12.34', 'ab'.repeat(16)]);
  assert.equal(describeUnconfirmed([kept], 5_000_000n)[0]!.status, 'reclaimable');
  assert.equal(describeUnconfirmed([kept], 0n)[0]!.ageMs, 0n, 'a clock behind the SE shows age 0, never negative');
  const out: string[] = [];
  printUnconfirmed({ out: (l: string) => out.push(l), err: () => {} } as never, describeUnconfirmed([kept], 2_000_000n));
  assert.match(out.join('\n'), /unconfirmed payments {2}1\n.*abab.*12\.34.*16 min ago.*--resend abab/);
});

test('formatAge() picks the unit by size', () => {
  assert.deepEqual([formatAge(59_999n), formatAge(60_000n), formatAge(3_600_000n + 120_000n), formatAge(86_400_000n * 3n + 3_600_000n)], ['59 s', '1 min', '1 h 2 min', '3 d 1 h']);
});
