// Handlers that install CB-signed documents: the policy table and the revocation list. Each must
// verify under the CB key installed at personalization and carry a strictly greater version, so
// a host cannot roll a device back to looser limits or an older list. A list naming this SE's own
// attestation key (its customer is frozen) makes it refuse to pay (enforce.ts checkSpend) until a
// later list no longer names it; receiving, sync and defunding go on, so no value is stranded.

import { verifyPolicy, verifyRevocationList } from '../policy/policy_codec.ts';
import { equalBytes } from './bytes.ts';
import { COMMANDS } from './commands.ts';
import { refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { SW } from './status.ts';

export const installPolicy = command(COMMANDS.installPolicy, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const verified = verifyPolicy(req.signedPolicy, tx.get('anchors').cbPublicKey);
  if (!verified.ok) refuse(verified.reason === 'SIGNATURE' ? SW.BAD_POLICY_SIGNATURE : SW.WRONG_DATA, `policy: ${verified.reason}`);
  const current = tx.get('policy').table.version;
  if (verified.value.version <= current) refuse(SW.STALE_POLICY, `version ${verified.value.version} is not above ${current}`);
  tx.set('policy', { table: verified.value });
  return { version: verified.value.version };
});

export const installRevocationList = command(COMMANDS.installRevocationList, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const verified = verifyRevocationList(req.signedList, tx.get('anchors').cbPublicKey);
  if (!verified.ok) {
    refuse(verified.reason === 'SIGNATURE' ? SW.BAD_REVOCATION_SIGNATURE : SW.WRONG_DATA, `revocation list: ${verified.reason}`);
  }
  const list = verified.value;
  const current = tx.has('revocation') ? tx.get('revocation').version : 0n;
  if (list.version <= current) refuse(SW.STALE_REVOCATION_LIST, `version ${list.version} is not above ${current}`);
  // Only whether the list names this SE is kept: a later list without it (unfreeze) lifts the refusal.
  const own = tx.get('identity').attestationPublicKey;
  const deviceRevoked = (list.devices ?? []).some((d) => equalBytes(d, own));
  tx.set('revocation', { version: list.version, epoch: list.epoch, nullifiers: list.nullifiers, deviceRevoked });
  return { version: list.version };
});
