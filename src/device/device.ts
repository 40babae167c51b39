// A device = an untrusted host + a secure element + its radios (DESIGN §1, §4). The SE is the
// simulated applet over a memory or file NVM, reached only through its APDU interface (SeClient);
// the host runs the payer/payee state machines of src/protocol over a MessageTransport and never
// sees a secret. `pay` and `receive` are one whole payment each; `resend` finishes a payment whose
// link dropped after the debit. Each link's waits come from both parties' device classes
// (link_timing.ts) and the side whose SE works keeps the link alive; `warmUp` is the cold start.
//
// Why a class: it owns one SE for its lifetime (RAM state such as the precomputation lives as long
// as the applet object), and the CLI, simulator and tests all need the same wiring.

import { systemRng, type Rng } from '../crypto/rng.ts';
import { decodePaymentProof, warmUpPaymentVerifier } from '../crypto/index.ts';
import { Tier } from '../policy/limits.ts';
import {
  PayeeReady, PayerAwaitingRequest, PayerLinkLost, exchangeTimingOf, resumePayer, waitFor,
  type ExchangeTiming, type PayeeDone, type PayerDone, type PaymentRequest,
} from '../protocol/index.ts';
import { bleTransport, decodePayment, encodeReceipt, negotiateBleMtu, nfcTransport, type FrameLink, type MessageTransport } from '../protocol/index.ts';
import { Applet, FileBackend, MemoryBackend, SeClient, transmitTo, type InfoResponse, type NvmBackend, type SyncBatch } from '../se/index.ts';
import type { CostedHardware } from './cost_model.ts';
import { exchangeTimingFor, type LinkTimingOptions } from './link_timing.ts';
import { slowTransmit, type SeDelay } from './slow_se.ts';
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
  /** Slow the SE to a hardware class's modelled command times (slow_se.ts; tests and the simulator). */
  seDelay?: SeDelay;
  /** Scales and keep-alives of this device's links (link_timing.ts; the defaults are the field's). */
  link?: LinkTimingOptions;
}

export interface PayOptions {
  /** Decline unless this returns true (default: accept any amount up to `maxAmountMinor`). */
  approve?: (request: PaymentRequest) => boolean | Promise<boolean>;
  maxAmountMinor?: bigint;
  /** One number for every wait (overrides the class-derived timing). */
  timeoutMs?: number;
  /** The payee's hardware class, when known; unknown means the slowest class any profile names. */
  peerHardware?: CostedHardware;
}

export interface ReceiveOptions {
  /** One number for every wait (overrides the class-derived timing). */
  timeoutMs?: number;
  /** The payer's hardware class, when known; unknown means the slowest class any profile names. */
  peerHardware?: CostedHardware;
  /**
   * A request this SE built earlier and still holds open, to offer again instead of building a new
   * one (after a payer's re-send for an older request was credited on the last link).
   */
  openRequest?: Uint8Array;
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
  /** The request the payment answered. */
  requestId: Uint8Array;
  /**
   * False when the payment answered an earlier request (a payer re-sending after a lost link): the
   * amount was credited for that earlier sale, and `request` (the one sent on this link) is still
   * open and unpaid — offer it again with `openRequest`.
   */
  forCurrentRequest: boolean;
  /** The encoded request sent on this link. */
  request: Uint8Array;
  /**
   * The payment's nullifier N: its public id at the ledger once synced, and what a merchant quotes
   * to name one payment (a regulator's warrant names a payment by it).
   */
  nullifier: Uint8Array;
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
  readonly #link: LinkTimingOptions;

  constructor(opts: DeviceOptions) {
    this.profile = opts.profile;
    this.name = opts.name ?? opts.profile.name;
    this.backend = backendOf(opts.nvm ?? { kind: 'memory' });
    this.applet = Applet.open({ backend: this.backend, rng: opts.rng ?? systemRng, clock: opts.clock ?? (() => BigInt(Date.now())) });
    const direct = transmitTo(this.applet);
    this.se = new SeClient(opts.seDelay === undefined ? direct : slowTransmit(direct, opts.seDelay), { rng: opts.rng ?? systemRng });
    this.#link = opts.link ?? {};
  }

  /**
   * The cold start, before any link opens or any port listens: hashes every fixed generator a
   * payment proof and its verification use, and has the SE precompute its next payment, so the
   * first exchange pays none of it while a peer waits.
   */
  async warmUp(): Promise<void> {
    warmUpPaymentVerifier();
    const info = await this.se.getInfo();
    const canPay = info.tier !== null && info.tier !== Tier.merchant; // a merchant SE only receives
    if (canPay && info.credentialEpochs.length > 0) await this.precompute();
  }

  /** The timing of a payment with this device as `role` and the peer's class if known. */
  timing(role: 'payer' | 'payee', peerHardware?: CostedHardware, timeoutMs?: number): ExchangeTiming {
    if (timeoutMs !== undefined) return exchangeTimingOf({ timeoutMs });
    const own = this.profile.hardware;
    return exchangeTimingFor(role === 'payer' ? { payer: own, payee: peerHardware } : { payer: peerHardware, payee: own }, this.#link);
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
      { approve, timing: this.timing('payer', opts.peerHardware, opts.timeoutMs) },
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
    const t = this.timing('payer', undefined, opts.timeoutMs);
    const wait = waitFor(t, Math.max(t.requestMs, t.receiptMs));
    const done = await resumePayer(one.payment, { timeoutMs: wait, se: { confirm: async (r) => void (await this.se.confirmPayment(r)) } }).resendOver(transport);
    return { ...(await this.#paid(done)), amountMinor: one.amountMinor };
  }

  /** The newest unconfirmed payment, re-sent (kept for callers of the single-payment API). */
  resendLastPayment(transport: MessageTransport, timeoutMs?: number): Promise<PayOutcome> {
    return this.resend(transport, { timeoutMs });
  }

  /**
   * Requests `amountMinor` from the peer (or offers `opts.openRequest` again) and accepts the
   * payment that answers it or an earlier request; `forCurrentRequest` tells the two apart.
   */
  async receive(transport: MessageTransport, amountMinor: bigint, opts: number | ReceiveOptions = {}): Promise<ReceiveOutcome> {
    const o: ReceiveOptions = typeof opts === 'number' ? { timeoutMs: opts } : opts;
    const ready = new PayeeReady(
      {
        buildRequest: (a) => this.se.buildPaymentRequest(a),
        accept: (p) => this.se.acceptPayment(p),
      },
      transport,
      this.timing('payee', o.peerHardware, o.timeoutMs),
    );
    const awaiting = o.openRequest === undefined ? await ready.sendRequest(amountMinor) : await ready.offerRequest(o.openRequest);
    const done: PayeeDone = await awaiting.receivePayment();
    return {
      amountMinor: done.amountMinor, receipt: done.receipt, resent: done.resent, balanceMinor: await this.balanceMinor(),
      requestId: done.requestId, forCurrentRequest: done.forCurrentRequest, request: awaiting.request,
      // The SE verified this payment, so its proof decodes; the statement is read, not checked, here.
      nullifier: decodePaymentProof(decodePayment(done.payment).proof, new Uint8Array(0)).statement.N.toBytes(),
    };
  }

  /** Call when idle: the SE makes spend tokens (NVM) and the host its range-proof nonces (RAM). */
  async precompute(): Promise<void> {
    await this.se.precomputeForPayment();
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
