// Handler of SIGN_REQUEST: the SE vouches for one HTTP request its host sends the FI on its behalf.
// It spends the next request counter and signs (device id, counter, the host's digest) with the
// attestation key the FI pinned at enrolment (request_signature.ts). The counter is staged in the
// command's state transaction, which the applet commits before it answers: a signature never
// leaves the SE with a counter the NVM does not hold, so no two requests can carry one counter.
//
// The SE does not see the request itself, only its digest: what it guarantees is freshness and
// origin (this SE, now, once), not that the host asked for something the owner wanted.

import { COMMANDS } from './commands.ts';
import { refuse } from './enforce.ts';
import { command, type HandlerContext } from './handler.ts';
import { REQUEST_COUNTER_MAX, signDeviceRequest } from './request_signature.ts';
import type { StateTx } from './state.ts';
import { SW } from './status.ts';

/** The last counter spent; an SE personalised before this command existed has spent none. */
export const lastRequestCounter = (tx: StateTx): bigint => (tx.has('requests') ? tx.get('requests').lastCounter : 0n);

export const signRequest = command(COMMANDS.signRequest, (ctx: HandlerContext, req) => {
  const { tx } = ctx;
  const counter = lastRequestCounter(tx) + 1n;
  if (counter > REQUEST_COUNTER_MAX) refuse(SW.CONDITIONS_NOT_SATISFIED, 'request counter exhausted');
  const id = tx.get('identity');
  tx.set('requests', { lastCounter: counter });
  return { counter, signature: signDeviceRequest(id.attestationSecretKey, id.deviceId, counter, req.digest) };
});
