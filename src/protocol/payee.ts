// The payee's side of an offline payment as a chain of states:
//   PayeeReady --sendRequest(amount)--> PayeeAwaitingPayment --receivePayment()--> PayeeDone
// Each state can be used once. The payee's SE builds the request (its credential proof, nonce and
// session key) and accepts the payment (verify, nullifier, opening, credit, log, receipt); the
// host only moves bytes. The payment that arrives may answer an *earlier* request of this payee
// (a payer re-sending after a lost link): the SE matches it by request id, so the host passes it
// on unchanged and reports what the SE credited and for which request, so the host never counts
// an earlier sale as the current one. While its SE builds or accepts, the payee keeps the link
// alive (exchange.ts keepingAlive).

import { decodePayment, decodePaymentRequest } from './messages.ts';
import type { MessageTransport } from './transport.ts';
import { OneShot, decodeOrBadMessage, exchangeTimingOf, keepingAlive, waitFor, type ExchangeTiming } from './exchange.ts';
import { assert } from '../crypto/assert.ts';

/** What the payee's state machine needs from its SE. */
export interface PayeeSePort {
  buildRequest(amountMinor: bigint): Promise<Uint8Array>;
  /**
   * Verifies and credits; returns the encoded Receipt, the amount credited, whether it was a
   * re-send, and the id of the request the payment answered (which may be an earlier one).
   */
  accept(payment: Uint8Array): Promise<{ receipt: Uint8Array; amountMinor: bigint; resent: boolean; requestId: Uint8Array }>;
}

export class PayeeReady {
  readonly #once = new OneShot('PayeeReady');
  readonly #timing: ExchangeTiming;
  constructor(
    private readonly se: PayeeSePort,
    private readonly transport: MessageTransport,
    /** The exchange timing, or (older form) one number for every wait. */
    timing?: number | Partial<ExchangeTiming>,
  ) {
    this.#timing = typeof timing === 'number' ? exchangeTimingOf({ timeoutMs: timing }) : exchangeTimingOf({ timing });
  }

  /** Has the SE build a request for `amountMinor` (keeping the link alive meanwhile) and sends it. */
  async sendRequest(amountMinor: bigint): Promise<PayeeAwaitingPayment> {
    this.#once.use();
    const request = await keepingAlive(this.transport, this.#timing.keepAliveMs, () => this.se.buildRequest(amountMinor));
    await this.transport.send(request);
    return new PayeeAwaitingPayment(this.se, this.transport, request, this.#timing);
  }

  /**
   * Offers a request this SE built earlier and still holds open (no payment for it yet) on this
   * link: after a payer re-sent a payment for an older request, the current sale stays the same
   * request, so a payment for it made on any link is accepted once.
   */
  async offerRequest(request: Uint8Array): Promise<PayeeAwaitingPayment> {
    this.#once.use();
    decodeOrBadMessage(decodePaymentRequest, request, 'PaymentRequest');
    await this.transport.send(request);
    return new PayeeAwaitingPayment(this.se, this.transport, request, this.#timing);
  }
}

export class PayeeAwaitingPayment {
  readonly #once = new OneShot('PayeeAwaitingPayment');
  constructor(
    private readonly se: PayeeSePort,
    private readonly transport: MessageTransport,
    readonly request: Uint8Array,
    private readonly timing: ExchangeTiming,
  ) {}

  /** Receives the payment, has the SE accept it, and sends the receipt back. */
  async receivePayment(): Promise<PayeeDone> {
    this.#once.use();
    const bytes = await this.transport.receive(waitFor(this.timing, this.timing.paymentMs));
    const payment = decodeOrBadMessage(decodePayment, bytes, 'Payment'); // refuse junk before the SE spends time on it
    const accepted = await keepingAlive(this.transport, this.timing.keepAliveMs, () => this.se.accept(bytes));
    assert(equal(accepted.requestId, payment.requestId), 'PayeeAwaitingPayment: the SE credited a request the payment does not name');
    await this.transport.send(accepted.receipt);
    const current = decodePaymentRequest(this.request).requestId;
    return new PayeeDone(accepted.amountMinor, accepted.receipt, accepted.resent, bytes, accepted.requestId, equal(accepted.requestId, current));
  }
}

export class PayeeDone {
  constructor(
    readonly amountMinor: bigint,
    readonly receipt: Uint8Array,
    /** True when the SE had already accepted this exact payment (nothing was credited now). */
    readonly resent: boolean,
    readonly payment: Uint8Array,
    /** The request the payment answered. */
    readonly requestId: Uint8Array,
    /**
     * False when the payment answered an earlier request of this payee (a payer re-sending after a
     * lost link): that sale is settled, the request sent on this link is still open and unpaid.
     */
    readonly forCurrentRequest: boolean,
  ) {}
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
