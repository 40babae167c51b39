// TEST-ONLY commands that drive the SE's spend and receive rules (enforce.ts) without a payment
// proof, so the limits and the receipt log can be tested before the payment commands exist.
// They are registered only by tests (`Applet.open({ …, commands: TEST_COMMANDS })`), never by
// BASE_COMMANDS, and use INS values outside the Tally range. They also show the shape of a
// payment handler: check with enforce.ts (each refusal its own word), then stage state in ctx.tx.

import { G1_BYTES, R_ORDER, bytesToBigintBE } from '../crypto/group.ts';
import { RECEIPT_PAYMENT_BYTES_MAX, SMALL_COMMAND_BYTES_MAX } from './constants.ts';
import type { CommandSpec } from './commands.ts';
import { checkReceive, checkSpend, epochAt, recordReceipt, recordSpend, refuse, tierLimits } from './enforce.ts';
import { SW } from './status.ts';
import { command, type HandlerContext } from './handler.ts';
import { big, bytes, recordCodec } from './schema.ts';
import { Phase } from './state.ts';

export const TEST_INS = { SPEND: 0x7a, RECEIVE: 0x7c } as const;

export interface TestSpendRequest { amountMinor: bigint }
export interface TestSpendResponse { epoch: bigint; counter: bigint; balanceMinor: bigint }
export interface TestReceiveRequest { amountMinor: bigint; nullifier: Uint8Array; epoch: bigint; payment: Uint8Array; blinding: Uint8Array }
export interface TestReceiveResponse { seq: bigint; balanceMinor: bigint }

export const TEST_SPEND_SPEC: CommandSpec<TestSpendRequest, TestSpendResponse> = {
  ins: TEST_INS.SPEND,
  name: 'TEST_SPEND',
  maxDataBytes: SMALL_COMMAND_BYTES_MAX,
  phases: [Phase.operational],
  request: recordCodec('test spend', { amountMinor: big() }, SMALL_COMMAND_BYTES_MAX),
  response: recordCodec('test spend response', { epoch: big(), counter: big(), balanceMinor: big() }, 128),
};

export const TEST_RECEIVE_SPEC: CommandSpec<TestReceiveRequest, TestReceiveResponse> = {
  ins: TEST_INS.RECEIVE,
  name: 'TEST_RECEIVE',
  maxDataBytes: RECEIPT_PAYMENT_BYTES_MAX + 256,
  phases: [Phase.operational],
  request: recordCodec('test receive', {
    amountMinor: big(), nullifier: bytes(G1_BYTES), epoch: big(), payment: bytes(1, RECEIPT_PAYMENT_BYTES_MAX), blinding: bytes(32),
  }, RECEIPT_PAYMENT_BYTES_MAX + 256),
  response: recordCodec('test receive response', { seq: big(), balanceMinor: big() }, 128),
};

export const testSpend = command(TEST_SPEND_SPEC, (ctx: HandlerContext, req) => {
  const { credential, counter } = checkSpend(ctx.tx, req.amountMinor, ctx.nowMs);
  recordSpend(ctx.tx, req.amountMinor, credential.epoch, counter);
  return { epoch: credential.epoch, counter, balanceMinor: ctx.tx.get('wallet').balanceMinor };
});

export const testReceive = command(TEST_RECEIVE_SPEC, (ctx: HandlerContext, req) => {
  if (bytesToBigintBE(req.blinding) >= R_ORDER) refuse(SW.WRONG_DATA, 'blinding is not a canonical scalar');
  checkReceive(ctx.tx, req.amountMinor, req.nullifier);
  const seq = recordReceipt(
    ctx.tx,
    { payment: req.payment, amountMinor: req.amountMinor, blinding: req.blinding, epoch: req.epoch, nullifier: req.nullifier, receivedAtMs: ctx.nowMs },
    epochAt(ctx.nowMs, tierLimits(ctx.tx)),
  );
  return { seq, balanceMinor: ctx.tx.get('wallet').balanceMinor };
});

export const TEST_COMMANDS = [testSpend, testReceive] as const;
