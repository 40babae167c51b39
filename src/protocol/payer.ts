// The payer's side of an offline payment as a chain of states (STYLE: protocols as state machines):
//   PayerAwaitingRequest --receiveRequest()--> PayerAwaitingReceipt --receiveReceipt()--> PayerDone
// Each state can be used once. The SE does all the work that touches value (AUTHORIZE_PAYMENT
// checks limits, verifies the payee's credential proof, debits and proves); the host here only
// moves bytes and asks the user.
//
// An aborted exchange: once authorize() returned, the payer is debited and PayerAwaitingReceipt
// holds the payment. If the link drops, `resendOver(newTransport)` waits for the payee's next
// message (a payee always opens with a PaymentRequest), answers it with the *stored* payment, and
// checks the receipt. The payee SE accepts a payment for its earlier request once, and gives the
// same receipt to an identical re-send, so re-sending can never credit twice. A host that lost
// even this object gets the payment back from its SE (GET_UNCONFIRMED_PAYMENTS keeps every payment
// not yet receipted) and calls `resumePayer`. Every receipt that checks is handed to the SE
// (PayerSePort.confirm, CONFIRM_PAYMENT), which then stops keeping the payment.

import { RECEIVE_TIMEOUT_MS } from './limits.ts';
import { TransportError, type ReceiveWait } from './transport.ts';
import { decodePaymentRequest, type PaymentRequest, type Receipt } from './messages.ts';
import type { MessageTransport } from './transport.ts';
import {
  ExchangeError, ExchangeErrorCode, OneShot, checkReceipt, decodeOrBadMessage, exchangeTimingOf, keepingAlive, waitFor, type ExchangeTiming,
} from './exchange.ts';

/** What the payer's state machine needs from its SE. */
export interface PayerSePort {
  /** Pays the encoded request for `amountMinor`; returns the encoded Payment (or throws the SE's refusal). */
  authorize(request: Uint8Array, amountMinor: bigint): Promise<Uint8Array>;
  /** Hands the payee's receipt (checked here) to the SE so it drops the kept payment. */
  confirm?(receipt: Uint8Array): Promise<void>;
}
export interface PayerOptions {
  /** Asked before any value moves; return false to decline. */
  approve: (request: PaymentRequest) => boolean | Promise<boolean>;
  /** One number for every wait (older form); `timing` sets each wait and the keep-alives. */
  timeoutMs?: number;
  timing?: Partial<ExchangeTiming>;
}

export class PayerAwaitingRequest {
  readonly #once = new OneShot('PayerAwaitingRequest');
  constructor(
    private readonly se: PayerSePort,
    private readonly transport: MessageTransport,
    private readonly opts: PayerOptions,
  ) {}

  /** Receives the request, asks the user, has the SE pay it, and sends the payment. */
  async receiveRequest(): Promise<PayerAwaitingReceipt> {
    this.#once.use();
    const timing = exchangeTimingOf(this.opts);
    const timeoutMs = waitFor(timing, Math.max(timing.requestMs, timing.receiptMs));
    const bytes = await this.transport.receive(waitFor(timing, timing.requestMs));
    const request = decodeOrBadMessage(decodePaymentRequest, bytes, 'PaymentRequest');
    // The user decides and the SE proves while the payee waits: keep-alives tell it this side is
    // working, not gone (its total deadline still bounds both).
    const payment = await keepingAlive(this.transport, timing.keepAliveMs, async () => {
      if (!(await this.opts.approve(request))) return null;
      return this.se.authorize(bytes, request.amountMinor);
    });
    if (payment === null) {
      this.transport.close();
      throw new ExchangeError(ExchangeErrorCode.DECLINED, `payment of ${request.amountMinor} declined`);
    }
    const confirm = this.se.confirm?.bind(this.se);
    try {
      await this.transport.send(payment);
    } catch (e) {
      if (e instanceof TransportError) throw new PayerLinkLost(new PayerAwaitingReceipt(request, payment, waitFor(timing, Math.max(timing.requestMs, timing.receiptMs)), confirm), e);
      throw e;
    }
    return new PayerAwaitingReceipt(request, payment, waitFor(timing, timing.receiptMs), confirm).on(this.transport);
  }
}

/**
 * The link failed after the SE debited: `resume` holds the same payment in a fresh
 * PayerAwaitingReceipt, ready for `resendOver(newTransport)`.
 */
export class PayerLinkLost extends ExchangeError {
  constructor(
    readonly resume: PayerAwaitingReceipt,
    override readonly cause: TransportError,
  ) {
    super(ExchangeErrorCode.LINK_LOST, `link lost after the payment was made (${cause.code}); re-send it over a new link`);
  }
}

export class PayerAwaitingReceipt {
  readonly #once = new OneShot('PayerAwaitingReceipt');
  #transport: MessageTransport | null = null;

  constructor(
    readonly request: PaymentRequest | null,
    /** The encoded Payment: already debited, kept until a receipt for it arrives. */
    readonly payment: Uint8Array,
    /** Each wait after the payment: the payee's next request (re-send) and the receipt. */
    private readonly timeoutMs: number | ReceiveWait = RECEIVE_TIMEOUT_MS,
    /** Hands a checked receipt to the payer's SE (CONFIRM_PAYMENT); absent in a host without one. */
    private readonly confirm?: (receipt: Uint8Array) => Promise<void>,
  ) {}

  #again(): PayerAwaitingReceipt {
    return new PayerAwaitingReceipt(this.request, this.payment, this.timeoutMs, this.confirm);
  }

  /** @internal binds the transport the payment went out on. */
  on(transport: MessageTransport): this {
    this.#transport = transport;
    return this;
  }

  /** Waits for the receipt on the link the payment went out on. */
  async receiveReceipt(): Promise<PayerDone> {
    if (this.#transport === null) throw new ExchangeError(ExchangeErrorCode.STATE_USED, 'PayerAwaitingReceipt: no link; use resendOver()');
    this.#once.use();
    return this.#finish(this.#transport);
  }

  /** After a lost link: answers the payee's next message on `transport` with the stored payment. */
  async resendOver(transport: MessageTransport): Promise<PayerDone> {
    this.#once.use();
    try {
      await transport.receive(this.timeoutMs); // the payee's opening request; the stored payment answers it
      await transport.send(this.payment);
    } catch (e) {
      if (e instanceof TransportError) throw new PayerLinkLost(this.#again(), e);
      throw e;
    }
    return this.#finish(transport);
  }

  async #finish(transport: MessageTransport): Promise<PayerDone> {
    let bytes: Uint8Array;
    try {
      bytes = await transport.receive(this.timeoutMs);
    } catch (e) {
      if (e instanceof TransportError) throw new PayerLinkLost(this.#again(), e);
      throw e;
    }
    const receipt = checkReceipt(bytes, this.payment);
    // After the check: a receipt that names another payment or does not verify never reaches the SE.
    if (this.confirm !== undefined) await this.confirm(bytes);
    return new PayerDone(this.request, this.payment, receipt);
  }
}

export class PayerDone {
  constructor(
    readonly request: PaymentRequest | null,
    readonly payment: Uint8Array,
    readonly receipt: Receipt,
  ) {}
}

/**
 * A payer whose host lost its state: resume from a payment its SE kept (GET_UNCONFIRMED_PAYMENTS),
 * then `resendOver(transport)` on any transport (TCP, NFC, BLE). `se.confirm` hands the receipt back.
 */
export function resumePayer(payment: Uint8Array, opts: { timeoutMs?: number | ReceiveWait; se?: Pick<PayerSePort, 'confirm'> } = {}): PayerAwaitingReceipt {
  const confirm = opts.se?.confirm?.bind(opts.se);
  return new PayerAwaitingReceipt(null, payment, opts.timeoutMs ?? RECEIVE_TIMEOUT_MS, confirm);
}
