// Handlers that move value between the SE and an FI account (DESIGN §2 fund/defund):
// APPLY_LOAD_VOUCHER credits an FI-signed voucher exactly once (its load counter must be the
// SE's next one), MAKE_UNLOAD_RECORD debits and emits an SE-signed record, and
// GET_LAST_UNLOAD_RECORD re-sends that record to a host that lost the response after the commit.

import { equalBytes } from './bytes.ts';
import { COMMANDS } from './commands.ts';
import { creditLoad, refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { openLoadVoucher, unloadRecordBody } from './messages.ts';
import { signEnvelope } from './signed.ts';
import { assertWalletTotals } from './state.ts';
import { SW } from './status.ts';

export const applyLoadVoucher = command(COMMANDS.applyLoadVoucher, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const anchors = tx.get('anchors');
  const opened = openLoadVoucher(req.voucher, anchors.fiPublicKey);
  if (!opened.ok) refuse(opened.reason === 'SIGNATURE' ? SW.BAD_VOUCHER_SIGNATURE : SW.WRONG_DATA, `voucher: ${opened.reason}`);
  const v = opened.value;
  if (!equalBytes(v.devicePublicKey, tx.get('identity').attestationPublicKey) || v.fiId !== anchors.fiId) {
    refuse(SW.VOUCHER_WRONG_DEVICE, `voucher is for another device or FI (${v.fiId})`);
  }
  const expected = tx.get('wallet').loadCounter;
  if (v.loadCounter < expected) refuse(SW.VOUCHER_REPLAY, `load counter ${v.loadCounter} already used (next is ${expected})`);
  if (v.loadCounter > expected) refuse(SW.VOUCHER_OUT_OF_ORDER, `load counter ${v.loadCounter}, expected ${expected}`);
  creditLoad(tx, v.amountMinor);
  const wallet = tx.get('wallet');
  return { balanceMinor: wallet.balanceMinor, loadCounter: wallet.loadCounter };
});

export const makeUnloadRecord = command(COMMANDS.makeUnloadRecord, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const wallet = tx.get('wallet');
  const id = tx.get('identity');
  if (req.amountMinor <= 0n) refuse(SW.WRONG_DATA, 'unload amount must be positive');
  if (req.amountMinor > wallet.balanceMinor) {
    refuse(SW.INSUFFICIENT_BALANCE, `unload ${req.amountMinor} above balance ${wallet.balanceMinor}`);
  }
  const record = signEnvelope(
    id.attestationSecretKey,
    unloadRecordBody({
      deviceId: id.deviceId,
      unloadCounter: wallet.unloadCounter,
      amountMinor: req.amountMinor,
      fiId: tx.get('anchors').fiId,
      timeMs: ctx.nowMs,
    }),
  );
  const balanceMinor = wallet.balanceMinor - req.amountMinor;
  tx.set('wallet', {
    ...wallet, balanceMinor, unloadCounter: wallet.unloadCounter + 1n, unloadedTotalMinor: wallet.unloadedTotalMinor + req.amountMinor, lastUnloadRecord: record,
  });
  assertWalletTotals(tx.get('wallet'), 'makeUnloadRecord');
  return { record, balanceMinor };
});

export const getLastUnloadRecord = command(COMMANDS.getLastUnloadRecord, (ctx) => ({
  record: ctx.tx.get('wallet').lastUnloadRecord,
}));
