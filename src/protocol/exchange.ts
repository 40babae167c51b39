// What the payer and payee state machines share: their one error type with stable codes, the
// guard that makes every state usable once, the payer's check of a receipt, and the timing of an
// exchange (how long each side waits for the other, and the keep-alives it sends while its SE works).
//
// Why the SE is a port here: the protocol part sits below the SE part (crypto ← protocol ← se is
// the only way the SE can build and check these messages), so the state machines take the SE as
// a small interface the device layer fills with an SeClient. Nothing here holds a secret.

import { assert } from '../crypto/assert.ts';
import { verifyP256Signature } from '../crypto/p256_verify.ts';
import { KEEPALIVE_INTERVAL_MS, RECEIVE_DEADLINE_MS_MAX, RECEIVE_TIMEOUT_MS } from './limits.ts';
import type { MessageTransport, ReceiveWait } from './transport.ts';
import { decodeReceipt, paymentHash, receiptSignedBytes, type Receipt } from './messages.ts';
import { isWireError } from './wire_error.ts';

export const ExchangeErrorCode = {
  /** A state object was used a second time. */
  STATE_USED: 'STATE_USED',
  /** The peer sent bytes that are not the message this state expects. */
  BAD_MESSAGE: 'BAD_MESSAGE',
  /** The payer's user (or its policy callback) declined the request. */
  DECLINED: 'DECLINED',
  /** The receipt names another payment. */
  RECEIPT_MISMATCH: 'RECEIPT_MISMATCH',
  /** The receipt's signature does not verify under the key it carries. */
  BAD_RECEIPT_SIGNATURE: 'BAD_RECEIPT_SIGNATURE',
  /** The link failed after the payer was debited; the error carries the state to resume from. */
  LINK_LOST: 'LINK_LOST',
} as const;
export type ExchangeErrorCode = (typeof ExchangeErrorCode)[keyof typeof ExchangeErrorCode];

export class ExchangeError extends Error {
  readonly code: ExchangeErrorCode;
  constructor(code: ExchangeErrorCode, message: string) {
    super(message);
    this.name = 'ExchangeError';
    this.code = code;
  }
}

/** Each state calls `use()` first in its one transition: a second call throws STATE_USED. */
export class OneShot {
  #used = false;
  constructor(private readonly state: string) {}
  use(): void {
    if (this.#used) throw new ExchangeError(ExchangeErrorCode.STATE_USED, `${this.state}: this state was already used; continue from the state it returned`);
    this.#used = true;
  }
}

/** Decodes with a wire decoder; a WireError becomes BAD_MESSAGE naming what was expected. */
export function decodeOrBadMessage<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decode(bytes);
  } catch (e) {
    if (isWireError(e)) throw new ExchangeError(ExchangeErrorCode.BAD_MESSAGE, `expected a ${what}: ${e.message}`);
    throw e;
  }
}

/** Checks that `receiptBytes` acknowledges exactly `payment` under the signature it carries. */
export function checkReceipt(receiptBytes: Uint8Array, payment: Uint8Array): Receipt {
  const receipt = decodeOrBadMessage(decodeReceipt, receiptBytes, 'Receipt');
  const hash = paymentHash(payment);
  if (!equal(receipt.paymentHash, hash)) throw new ExchangeError(ExchangeErrorCode.RECEIPT_MISMATCH, 'Receipt names another payment than the one sent');
  if (!verifyP256Signature(receipt.payeeSignature, receiptSignedBytes(hash), receipt.payeeAttestationKey)) throw new ExchangeError(ExchangeErrorCode.BAD_RECEIPT_SIGNATURE, 'Receipt signature does not verify under the payee attestation key it carries');
  return receipt;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * How long each wait of one exchange may take, and whether this side sends keep-alives while its
 * SE works. The protocol layer knows no device classes: its default allows the deadline ceiling
 * for every wait; the device layer narrows each total from both parties' classes through the cost
 * model (src/device/link_timing.ts). Every total is a deadline for one message, keep-alives or not.
 */
export interface ExchangeTiming {
  /** Longest silence in any wait: a keep-alive restarts it. */
  idleMs: number;
  /** Keep-alive interval while this side's SE works; null sends none (a peer then sees silence). */
  keepAliveMs: number | null;
  /** Payer's wait for the PaymentRequest (covers the payee SE's BUILD_PAYMENT_REQUEST). */
  requestMs: number;
  /** Payee's wait for the Payment (covers the payer's approval and its SE's AUTHORIZE_PAYMENT). */
  paymentMs: number;
  /** Payer's wait for the Receipt (covers the payee SE's ACCEPT_PAYMENT). */
  receiptMs: number;
}

export const DEFAULT_EXCHANGE_TIMING: ExchangeTiming = Object.freeze({
  idleMs: RECEIVE_TIMEOUT_MS,
  keepAliveMs: KEEPALIVE_INTERVAL_MS,
  requestMs: RECEIVE_DEADLINE_MS_MAX,
  paymentMs: RECEIVE_DEADLINE_MS_MAX,
  receiptMs: RECEIVE_DEADLINE_MS_MAX,
});

/**
 * The timing a state machine runs with: `timing` over the default; a bare `timeoutMs` (the older
 * option) is the silence bound and every total at once, with keep-alives still sent.
 */
export function exchangeTimingOf(opts: { timing?: Partial<ExchangeTiming>; timeoutMs?: number } = {}): ExchangeTiming {
  const t = opts.timeoutMs;
  const base = t === undefined ? DEFAULT_EXCHANGE_TIMING : { ...DEFAULT_EXCHANGE_TIMING, idleMs: t, requestMs: t, paymentMs: t, receiptMs: t };
  const out = { ...base, ...opts.timing };
  for (const ms of [out.idleMs, out.requestMs, out.paymentMs, out.receiptMs]) assert(Number.isFinite(ms) && ms >= 0, `exchange timing: bad wait ${ms} ms`);
  assert(out.keepAliveMs === null || (Number.isFinite(out.keepAliveMs) && out.keepAliveMs > 0), `exchange timing: bad keep-alive interval ${out.keepAliveMs}`);
  return out;
}

/** One wait of an exchange as a transport ReceiveWait (the silence bound never exceeds the total). */
export const waitFor = (timing: ExchangeTiming, totalMs: number): ReceiveWait => ({ idleMs: Math.min(timing.idleMs, totalMs), totalMs });

/**
 * Runs `work` (an SE command) while sending a keep-alive on `transport` every `intervalMs`, so the
 * peer's silence timer does not fire while this side proves. The keep-alives are chained (never two
 * at once) and the last one has left before this returns, so the message that follows is never
 * interleaved with a keep-alive's frames. A failed keep-alive is ignored here: the message sent
 * next on the same transport reports the link's error.
 */
export async function keepingAlive<T>(transport: MessageTransport, intervalMs: number | null, work: () => Promise<T>): Promise<T> {
  if (intervalMs === null) return work();
  let chain: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    chain = chain.then(() => transport.keepAlive()).catch(() => undefined);
  }, intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await chain;
  }
}
