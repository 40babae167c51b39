// A slow SE host: wraps the transmit function that reaches an SE and, before each payment command,
// sleeps the time the cost model gives that command on a hardware class, times a scale the caller
// chooses. It lets a test run a ring-class (se-smartcard) or car-class (mcu-cortex-m33) payer
// against a POS over any transport without asserting on the wall clock: the delays come from the
// model (commandOps / estimate), whatever its figures are, and so do the link's deadlines
// (link_timing.ts), so the two move together.
//
// Why wrap the transmit and not the applet: the host only sees APDUs, and a real slow SE is slow
// behind exactly this interface; a sleep here is a promise, so the host keeps running (and sends
// keep-alives) while "the SE" works, as a real host does while its SE proves. Only the last part of
// a chained command and no GET RESPONSE is delayed: the SE starts work when the command is whole.

import { CLA_CHAIN_BIT, INS_GET_RESPONSE, PaymentIns, type Transmit } from '../se/index.ts';
import { decodeResponse } from '../se/apdu.ts';
import { PAYMENT_COMMANDS } from '../se/payment_commands.ts';
import { SW } from '../se/status.ts';
import { assert } from '../crypto/assert.ts';
import type { CostedHardware, PaymentCommand } from './cost_model.ts';
import { modelledCommandMs } from './link_timing.ts';

export interface SeDelay {
  /** The class whose modelled command times the SE takes. */
  hardware: CostedHardware;
  /** Multiplies every modelled time (a test runs the world faster than real time). */
  scale: number;
  /** Multiplies PRECOMPUTE_PAYMENT's modelled time instead of `scale` (idle work; 0 skips it). */
  idleScale?: number;
  /** Called with each delayed command, in order (lets a test see what ran when). */
  onCommand?: (command: PaymentCommand) => void;
}

const PAYMENT_COMMAND_OF_INS: ReadonlyMap<number, PaymentCommand> = new Map([
  [PaymentIns.BUILD_PAYMENT_REQUEST, 'BUILD_PAYMENT_REQUEST'],
  [PaymentIns.AUTHORIZE_PAYMENT, 'AUTHORIZE_PAYMENT'],
  [PaymentIns.ACCEPT_PAYMENT, 'ACCEPT_PAYMENT'],
  [PaymentIns.PRECOMPUTE_PAYMENT, 'PRECOMPUTE_PAYMENT'],
]);

/** The payment command an APDU completes, or null (other commands, chained parts, GET RESPONSE). */
export function paymentCommandOf(apdu: Uint8Array): PaymentCommand | null {
  const cla = apdu[0];
  const ins = apdu[1];
  if (cla === undefined || ins === undefined || (cla & CLA_CHAIN_BIT) !== 0 || ins === INS_GET_RESPONSE) return null;
  return PAYMENT_COMMAND_OF_INS.get(ins) ?? null;
}

/** The `made` field of a PRECOMPUTE_PAYMENT response (0 for a refusal or a chained part). */
function tokensMade(response: Uint8Array): number {
  try {
    const r = decodeResponse(response);
    return r.sw === SW.OK ? PAYMENT_COMMANDS.precomputePayment.response.decode(r.data).made : 0;
  } catch {
    return 0;
  }
}

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `inner`, slowed to `delay.hardware`'s modelled command times × `delay.scale`. */
export function slowTransmit(inner: Transmit, delay: SeDelay): Transmit {
  assert(Number.isFinite(delay.scale) && delay.scale >= 0, `slowTransmit: bad scale ${delay.scale}`);
  return async (apdu) => {
    const command = paymentCommandOf(apdu);
    if (command === null) return inner(apdu);
    delay.onCommand?.(command);
    if (command !== 'PRECOMPUTE_PAYMENT') {
      await sleepMs(modelledCommandMs(command, delay.hardware) * delay.scale);
      return inner(apdu);
    }
    // PRECOMPUTE_PAYMENT costs one token's work per token it made (none when the pool was full).
    const response = await inner(apdu);
    const made = tokensMade(response);
    await sleepMs(modelledCommandMs(command, delay.hardware) * (delay.idleScale ?? delay.scale) * made);
    return response;
  };
}
