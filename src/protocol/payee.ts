// The payee's side of an offline payment as a chain of states:
//   PayeeReady --sendRequest(amount)--> PayeeAwaitingPayment --receivePayment()--> PayeeDone
// Each state can be used once. The payee's SE builds the request (its credential proof, nonce and
// session key) and accepts the payment (verify, nullifier, opening, credit, log, receipt); the
// host only moves bytes. The payment that arrives may answer an *earlier* request of this payee
// (a payer re-sending after a lost link): the SE matches it by request id, so the host passes it
// on unchanged and reports what the SE credited.

import { RECEIVE_TIMEOUT_MS } from './limits.ts';
import { decodePayment } from './messages.ts';
import type { MessageTransport } from './transport.ts';
import { OneShot, decodeOrBadMessage } from './exchange.ts';

/** What the payee's state machine needs from its SE. */
export interface PayeeSePort {
  buildRequest(amountMinor: bigint): Promise<Uint8Array>;
  /** Verifies and credits; returns the encoded Receipt, the amount credited and whether it was a re-send. */
  accept(payment: Uint8Array): Promise<{ receipt: Uint8Array; amountMinor: bigint; resent: boolean }>;
}

export class PayeeReady {
  readonly #once = new OneShot('PayeeReady');
  constructor(
    private readonly se: PayeeSePort,
    private readonly transport: MessageTransport,
    private readonly timeoutMs: number = RECEIVE_TIMEOUT_MS,
  ) {}

  async sendRequest(amountMinor: bigint): Promise<PayeeAwaitingPayment> {
    this.#once.use();
    const request = await this.se.buildRequest(amountMinor);
    await this.transport.send(request);
    return new PayeeAwaitingPayment(this.se, this.transport, request, this.timeoutMs);
  }
}

export class PayeeAwaitingPayment {
  readonly #once = new OneShot('PayeeAwaitingPayment');
  constructor(
    private readonly se: PayeeSePort,
    private readonly transport: MessageTransport,
    readonly request: Uint8Array,
    private readonly timeoutMs: number,
  ) {}

  /** Receives the payment, has the SE accept it, and sends the receipt back. */
  async receivePayment(): Promise<PayeeDone> {
    this.#once.use();
    const bytes = await this.transport.receive(this.timeoutMs);
    decodeOrBadMessage(decodePayment, bytes, 'Payment'); // refuse junk before the SE spends time on it
    const accepted = await this.se.accept(bytes);
    await this.transport.send(accepted.receipt);
    return new PayeeDone(accepted.amountMinor, accepted.receipt, accepted.resent, bytes);
  }
}

export class PayeeDone {
  constructor(
    readonly amountMinor: bigint,
    readonly receipt: Uint8Array,
    /** True when the SE had already accepted this exact payment (nothing was credited now). */
    readonly resent: boolean,
    readonly payment: Uint8Array,
  ) {}
}
