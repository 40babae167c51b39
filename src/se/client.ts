// Host-side client of the SE: builds APDUs from the command table, sends them through any
// `transmit` function (direct call, NFC, BLE, TCP), follows 61xx with GET RESPONSE, and turns
// every status word other than 9000 into an SeError with its code and message.
//
// Why it imports only the table: the host is untrusted and must be buildable without the applet;
// everything it knows about a command (INS, codecs, data bound) comes from commands.ts.

import {
  CLA_CHAIN_BIT,
  EXTENDED_NE_MAX,
  INS_GET_RESPONSE,
  SHORT_DATA_MAX,
  SHORT_NE_MAX,
  decodeResponse,
  encodeCommand,
  splitChained,
  type ApduCommand,
  type ApduResponse,
} from './apdu.ts';
import { concat } from './bytes.ts';
import {
  COMMANDS,
  type BalanceResponse,
  type BeginIssuanceRequest,
  type CommandSpec,
  type ExportSyncResponse,
  type FinishIssuanceRequest,
  type GenerateKeysRequest,
  type GenerateKeysResponse,
  type InfoResponse,
  type PersonalizeRequest,
  type SignRequestResponse,
  type SyncAckResponse,
  type UnloadResponse,
} from './commands.ts';
import { CLA_TALLY, RECEIPT_LOG_ENTRIES_MAX } from './constants.ts';
import {
  PAYMENT_COMMANDS, type AcceptPaymentResponse, type AuthorizePaymentRequest, type AuthorizePaymentResponse, type LastPaymentResponse,
  type PrecomputeResponse,
} from './payment_commands.ts';
import { authorizeAsHost } from './payer_host.ts';
import { SPEND_TOKENS_MAX } from './payment_limits.ts';
import { systemRng, type Rng } from '../crypto/rng.ts';
import { precomputeAmountRange } from '../crypto/payment.ts';
import type { RangeProofNonces } from '../crypto/range_proof.ts';
import { SW, SeError } from './status.ts';
import { UNCONFIRMED_COMMANDS, type ApplyPaymentOutcomesResponse, type ApplyReclaimRefusalResponse, type ConfirmPaymentResponse, type ReclaimClaimExport, type UnconfirmedSummary } from './unconfirmed_commands.ts';

export type Transmit = (apdu: Uint8Array) => Promise<Uint8Array>;

export interface ClientOptions {
  /** Send one extended-length APDU when data > 255 bytes (default); else chain short APDUs. */
  extendedLength?: boolean;
  /** Data bytes per chained part (1..255). */
  chunkBytes?: number;
  /** The host's randomness for its part of a payment (payer_host.ts); the system CSPRNG by default. */
  rng?: Rng;
}

/** Adapts an in-process applet (anything with a synchronous transmit) to a Transmit. */
export const transmitTo =
  (se: { transmit(apdu: Uint8Array): Uint8Array }): Transmit =>
  async (apdu) =>
    se.transmit(apdu);

/** Bound on GET RESPONSE rounds: the largest response over the smallest chunk. */
const GET_RESPONSE_ROUNDS_MAX = Math.ceil((EXTENDED_NE_MAX + 1024) / 256) + 1;

export interface SyncBatch extends ExportSyncResponse {
  payments: Uint8Array[];
}

export class SeClient {
  private readonly extended: boolean;
  private readonly chunkBytes: number;
  private readonly rng: Rng;
  /** The host's idle work for its next amount range proof (RAM only: losing it costs time). */
  #rangeNonces: { capMinor: bigint; nonces: RangeProofNonces } | null = null;

  constructor(
    private readonly transmit: Transmit,
    opts: ClientOptions = {},
  ) {
    this.extended = opts.extendedLength ?? true;
    this.chunkBytes = opts.chunkBytes ?? SHORT_DATA_MAX;
    this.rng = opts.rng ?? systemRng;
  }

  private async exchange(cmd: ApduCommand): Promise<ApduResponse> {
    return decodeResponse(await this.transmit(encodeCommand(cmd)));
  }

  /** Sends one command of the table and returns its decoded response, or throws SeError. */
  async call<Req, Res>(spec: CommandSpec<Req, Res>, request: Req, p1 = 0, p2 = 0): Promise<Res> {
    const data = spec.request.encode(request);
    const ne = this.extended ? EXTENDED_NE_MAX : SHORT_NE_MAX;
    const base: ApduCommand = { cla: CLA_TALLY, ins: spec.ins, p1, p2, data, ne };
    const parts = this.extended && data.length > SHORT_DATA_MAX ? [base] : splitChained(base, this.chunkBytes);
    let res: ApduResponse = { data: new Uint8Array(0), sw: SW.OK };
    for (const [i, part] of parts.entries()) {
      res = await this.exchange(part);
      if (i < parts.length - 1 && res.sw !== SW.OK) throw new SeError(res.sw, `${spec.name}, chained part ${i + 1}/${parts.length}`);
    }
    const chunks = [res.data];
    for (let round = 0; (res.sw & 0xff00) === SW.BYTES_REMAINING; round++) {
      if (round >= GET_RESPONSE_ROUNDS_MAX) throw new SeError(res.sw, `${spec.name}: response chaining did not end`);
      const left = res.sw & 0xff;
      res = await this.exchange({ cla: CLA_TALLY & ~CLA_CHAIN_BIT, ins: INS_GET_RESPONSE, p1: 0, p2: 0, data: new Uint8Array(0), ne: this.extended ? EXTENDED_NE_MAX : left === 0 ? SHORT_NE_MAX : left });
      chunks.push(res.data);
    }
    if (res.sw !== SW.OK) throw new SeError(res.sw, spec.name);
    return spec.response.decode(concat(...chunks));
  }

  getInfo(): Promise<InfoResponse> {
    return this.call(COMMANDS.getInfo, {});
  }
  generateKeys(req: GenerateKeysRequest): Promise<GenerateKeysResponse> {
    return this.call(COMMANDS.generateKeys, req);
  }
  async personalize(req: PersonalizeRequest): Promise<void> {
    await this.call(COMMANDS.personalize, req);
  }
  async attest(challenge: Uint8Array): Promise<Uint8Array> {
    return (await this.call(COMMANDS.attest, { challenge })).attestation;
  }
  /** Spends the SE's next request counter on `digest` (an FI request, ledger/access/device_requests.ts) and signs both. */
  signRequest(digest: Uint8Array): Promise<SignRequestResponse> {
    return this.call(COMMANDS.signRequest, { digest });
  }
  /** The SE-signed blind request for the FI's nonce, epoch, tier and issuer key (startIssuance's answer). */
  async beginIssuance(req: BeginIssuanceRequest): Promise<Uint8Array> {
    const { issuerNonce, epoch, tier, issuerKeyCert } = req;
    return (await this.call(COMMANDS.beginIssuance, { issuerNonce, epoch, tier, issuerKeyCert })).request;
  }
  finishIssuance(req: FinishIssuanceRequest) {
    return this.call(COMMANDS.finishIssuance, req);
  }
  applyLoadVoucher(voucher: Uint8Array): Promise<BalanceResponse> {
    return this.call(COMMANDS.applyLoadVoucher, { voucher });
  }
  makeUnloadRecord(amountMinor: bigint): Promise<UnloadResponse> {
    return this.call(COMMANDS.makeUnloadRecord, { amountMinor });
  }
  async getLastUnloadRecord(): Promise<Uint8Array | null> {
    return (await this.call(COMMANDS.getLastUnloadRecord, {})).record;
  }
  /** Exports (or re-exports) the pending batch and reads all its payment messages. */
  async exportSyncBatch(): Promise<SyncBatch> {
    const head = await this.call(COMMANDS.exportSyncBatch, {});
    const payments: Uint8Array[] = [];
    for (let from = 0, rounds = 0; from < head.entryCount; rounds++) {
      if (rounds > RECEIPT_LOG_ENTRIES_MAX) throw new SeError(SW.INTERNAL_ERROR, 'READ_SYNC_ENTRIES made no progress');
      const page = await this.call(COMMANDS.readSyncEntries, { batchId: head.batchId, from });
      payments.push(...page.payments);
      if (page.done) break;
      from = page.next;
    }
    return { ...head, payments };
  }
  applySyncAck(ack: Uint8Array): Promise<SyncAckResponse> {
    return this.call(COMMANDS.applySyncAck, { ack });
  }
  async installPolicy(signedPolicy: Uint8Array): Promise<bigint> {
    return (await this.call(COMMANDS.installPolicy, { signedPolicy })).version;
  }
  async installRevocationList(signedList: Uint8Array): Promise<bigint> {
    return (await this.call(COMMANDS.installRevocationList, { signedList })).version;
  }

  // ---- Payment commands (payment_commands.ts) ----
  /** Payee: a fresh PaymentRequest for `amountMinor` (encoded, ready for the transport). */
  async buildPaymentRequest(amountMinor: bigint): Promise<Uint8Array> {
    return (await this.call(PAYMENT_COMMANDS.buildPaymentRequest, { amountMinor })).request;
  }
  /**
   * Payer: pays `request` for `amountMinor`, what the user approved — the host's part (payee check,
   * amount range proof, session) and then AUTHORIZE_PAYMENT, which debits (payer_host.ts).
   */
  authorizePayment(request: Uint8Array, amountMinor: bigint): Promise<AuthorizePaymentResponse> {
    return authorizeAsHost(this, request, amountMinor, this.rng);
  }
  /**
   * Host, when idle: the SE's spend tokens (PRECOMPUTE_PAYMENT) and the host's own range-proof nonces
   * for the tier's cap, so the tap does neither.
   */
  async precomputeForPayment(): Promise<PrecomputeResponse> {
    const info = await this.precomputePayment();
    if (info.nextBlinding !== null && this.#rangeNonces?.capMinor !== info.capMinor) {
      this.#rangeNonces = { capMinor: info.capMinor, nonces: precomputeAmountRange(info.capMinor, this.rng) };
    }
    return info;
  }
  /** @internal payer_host.ts takes the idle nonces once. */
  takeRangeNonces(capMinor: bigint): RangeProofNonces | undefined {
    const kept = this.#rangeNonces;
    this.#rangeNonces = null;
    return kept !== null && kept.capMinor === capMinor ? kept.nonces : undefined;
  }
  /** The raw AUTHORIZE_PAYMENT command, for a host that did its part itself (and for attack tests). */
  authorizePaymentCommand(req: AuthorizePaymentRequest): Promise<AuthorizePaymentResponse> {
    return this.call(PAYMENT_COMMANDS.authorizePayment, req);
  }
  /** Payee: verifies and credits `payment`; returns the encoded Receipt for the payer. */
  acceptPayment(payment: Uint8Array): Promise<AcceptPaymentResponse> {
    return this.call(PAYMENT_COMMANDS.acceptPayment, { payment });
  }
  /** Payer: the last payment this SE made, for a re-send after a lost link or a host crash. */
  getLastPayment(): Promise<LastPaymentResponse> {
    return this.call(PAYMENT_COMMANDS.getLastPayment, {});
  }
  /** Payer: the payee's receipt for a kept payment; the SE checks it and drops the payment. */
  confirmPayment(receipt: Uint8Array): Promise<ConfirmPaymentResponse> {
    return this.call(UNCONFIRMED_COMMANDS.confirmPayment, { receipt });
  }
  /** Payer: every payment debited and not yet receipted, settled or reclaimed, oldest first. */
  async getUnconfirmedPayments(): Promise<UnconfirmedSummary[]> {
    return (await this.call(UNCONFIRMED_COMMANDS.getUnconfirmedPayments, {})).payments;
  }
  /** Sync: an SE-signed reclaim claim for every kept payment, with its payment record. */
  async exportReclaimClaims(): Promise<ReclaimClaimExport[]> {
    return (await this.call(UNCONFIRMED_COMMANDS.exportReclaimClaims, {})).claims;
  }
  /** Sync: the FI-signed list of kept payments that are done with (settled or reclaimed). */
  applyPaymentOutcomes(outcomes: Uint8Array): Promise<ApplyPaymentOutcomesResponse> {
    return this.call(UNCONFIRMED_COMMANDS.applyPaymentOutcomes, { outcomes });
  }
  /** Payee, at sync: the CB-signed refusal of a reclaimed payment; the SE reverses what its balance covers. */
  applyReclaimRefusal(refusal: Uint8Array): Promise<ApplyReclaimRefusalResponse> {
    return this.call(UNCONFIRMED_COMMANDS.applyReclaimRefusal, { refusal });
  }
  /**
   * Payer, when idle (and before each payment): the SE makes spend tokens for its next counters and
   * answers what the host's part of the next payment needs (payer_host.ts).
   */
  precomputePayment(tokens: number = SPEND_TOKENS_MAX): Promise<PrecomputeResponse> {
    return this.call(PAYMENT_COMMANDS.precomputePayment, { tokens });
  }
  /** Manufacturer, between GENERATE_KEYS and PERSONALIZE: the receipt-log capacity of this SE. */
  async configureStorage(receiptLogCapacity: number): Promise<void> {
    await this.call(PAYMENT_COMMANDS.configureStorage, { receiptLogCapacity });
  }
  /** Sync: CB-signed issuer-key certificates (other tiers' epochs too) for checking peers' proofs. */
  async installIssuerKeys(certs: Uint8Array[]): Promise<bigint[]> {
    return (await this.call(PAYMENT_COMMANDS.installIssuerKeys, { certs })).epochs;
  }
}
