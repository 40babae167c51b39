// A device = an untrusted host + a secure element + its radios (DESIGN §1, §4). The SE is the
// simulated applet over a memory or file NVM, reached only through its APDU interface (SeClient);
// the host runs the payer/payee state machines of src/protocol over a MessageTransport and never
// sees a secret. `pay` and `receive` are one whole payment each; `resend` finishes a payment whose
// link dropped after the debit.
//
// Why a class: it owns one SE for its lifetime (RAM state such as the precomputation lives as long
// as the applet object), and the CLI, simulator and tests all need the same wiring.

import { systemRng, type Rng } from '../crypto/rng.ts';
import {
  PayeeReady, PayerAwaitingRequest, PayerLinkLost, resumePayer, type PayeeDone, type PayerDone, type PaymentRequest,
} from '../protocol/index.ts';
import { bleTransport, encodeReceipt, negotiateBleMtu, nfcTransport, type FrameLink, type MessageTransport } from '../protocol/index.ts';
import { Applet, FileBackend, MemoryBackend, SeClient, transmitTo, type InfoResponse, type NvmBackend, type SyncBatch } from '../se/index.ts';
import type { DeviceProfile, Radio } from './profiles.ts';

export type NvmSpec = { kind: 'memory' } | { kind: 'file'; dir: string } | { kind: 'backend'; backend: NvmBackend };

export interface DeviceOptions {
  profile: DeviceProfile;
  nvm?: NvmSpec;
  /** The SE's randomness (system RNG unless a test seeds it). */
  rng?: Rng;
  /** The SE's clock, ms since the Unix epoch. */
  clock?: () => bigint;
  name?: string;
}

export interface PayOptions {
  /** Decline unless this returns true (default: accept any amount up to `maxAmountMinor`). */
  approve?: (request: PaymentRequest) => boolean | Promise<boolean>;
  maxAmountMinor?: bigint;
  timeoutMs?: number;
}

export interface PayOutcome {
  /** The amount paid; null for a re-send after a host restart (the host no longer has the request). */
  amountMinor: bigint | null;
  payment: Uint8Array;
  receipt: Uint8Array;
  balanceMinor: bigint;
}

export interface ReceiveOutcome {
  amountMinor: bigint;
  receipt: Uint8Array;
  /** True when the payment was a re-send of one already credited (nothing credited now). */
  resent: boolean;
  balanceMinor: bigint;
}

function backendOf(spec: NvmSpec): NvmBackend {
  if (spec.kind === 'memory') return new MemoryBackend();
  if (spec.kind === 'file') return new FileBackend(spec.dir);
  return spec.backend;
}

export class Device {
  readonly profile: DeviceProfile;
  readonly name: string;
  readonly applet: Applet;
  readonly se: SeClient;
  readonly backend: NvmBackend;

  constructor(opts: DeviceOptions) {
    this.profile = opts.profile;
    this.name = opts.name ?? opts.profile.name;
    this.backend = backendOf(opts.nvm ?? { kind: 'memory' });
    this.applet = Applet.open({ backend: this.backend, rng: opts.rng ?? systemRng, clock: opts.clock ?? (() => BigInt(Date.now())) });
    this.se = new SeClient(transmitTo(this.applet));
  }

  info(): Promise<InfoResponse> {
    return this.se.getInfo();
  }

  async balanceMinor(): Promise<bigint> {
    return (await this.se.getInfo()).balanceMinor;
  }

  /** A MessageTransport over `link` with one of this device's radios (BLE at the negotiated MTU). */
  transport(link: FrameLink, radio: Radio, peerBleMtu = this.profile.bleMtu): MessageTransport {
    if (!this.profile.radios.includes(radio)) throw new RangeError(`${this.name} (${this.profile.label}) has no ${radio.toUpperCase()} radio`);
    return radio === 'nfc' ? nfcTransport(link) : bleTransport(link, negotiateBleMtu(this.profile.bleMtu, peerBleMtu));
  }

  /** Pays whatever the peer requests (if approved). Throws PayerLinkLost when the link drops after the debit. */
  async pay(transport: MessageTransport, opts: PayOptions = {}): Promise<PayOutcome> {
    const approve = opts.approve ?? ((r: PaymentRequest) => opts.maxAmountMinor === undefined || r.amountMinor <= opts.maxAmountMinor);
    const start = new PayerAwaitingRequest(
      {
        authorize: async (request, amountMinor) => (await this.se.authorizePayment(request, amountMinor)).payment,
        confirm: async (receipt) => void (await this.se.confirmPayment(receipt)),
      },
      transport,
      { approve, timeoutMs: opts.timeoutMs },
    );
    const waiting = await start.receiveRequest();
    return this.#paid(await waiting.receiveReceipt());
  }

  /**
   * Re-sends a payment this SE keeps unconfirmed over a new link (after PayerLinkLost, or after a
   * host restart: the SE kept it): the one for `requestId`, or the newest. The payee credits it at
   * most once; a repeat gets the same receipt, which the SE then takes (CONFIRM_PAYMENT).
   */
  async resend(transport: MessageTransport, opts: { requestId?: Uint8Array; timeoutMs?: number } = {}): Promise<PayOutcome> {
    const kept = await this.se.getUnconfirmedPayments();
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const want = opts.requestId;
    const one = want === undefined ? kept.at(-1) : kept.find((u) => hex(u.requestId) === hex(want));
    if (one === undefined) {
      throw new RangeError(want === undefined
        ? `${this.name}: this SE keeps no unconfirmed payment to re-send`
        : `${this.name}: this SE keeps no unconfirmed payment for request ${hex(want)} (receipted, settled or reclaimed already?)`);
    }
    const done = await resumePayer(one.payment, { timeoutMs: opts.timeoutMs, se: { confirm: async (r) => void (await this.se.confirmPayment(r)) } }).resendOver(transport);
    return { ...(await this.#paid(done)), amountMinor: one.amountMinor };
  }

  /** The newest unconfirmed payment, re-sent (kept for callers of the single-payment API). */
  resendLastPayment(transport: MessageTransport, timeoutMs?: number): Promise<PayOutcome> {
    return this.resend(transport, { timeoutMs });
  }

  /** Requests `amountMinor` from the peer and accepts the payment that answers it (or an earlier request). */
  async receive(transport: MessageTransport, amountMinor: bigint, timeoutMs?: number): Promise<ReceiveOutcome> {
    const ready = new PayeeReady(
      {
        buildRequest: (a) => this.se.buildPaymentRequest(a),
        accept: (p) => this.se.acceptPayment(p),
      },
      transport,
      timeoutMs,
    );
    const done: PayeeDone = await (await ready.sendRequest(amountMinor)).receivePayment();
    return { amountMinor: done.amountMinor, receipt: done.receipt, resent: done.resent, balanceMinor: await this.balanceMinor() };
  }

  /** Call when idle: the SE precomputes part of its next payment proof (kept in SE RAM only). */
  async precompute(): Promise<void> {
    await this.se.precomputePayment();
  }

  /** The pending sync batch (balance report + received payments) for the FI. */
  exportSync(): Promise<SyncBatch> {
    return this.se.exportSyncBatch();
  }

  async #paid(done: PayerDone): Promise<PayOutcome> {
    return {
      amountMinor: done.request?.amountMinor ?? null,
      payment: done.payment,
      receipt: encodeReceipt(done.receipt),
      balanceMinor: await this.balanceMinor(),
    };
  }
}

export { PayerLinkLost };
