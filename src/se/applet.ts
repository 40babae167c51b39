// The simulated SE applet: bytes in, bytes out. It decodes the APDU, reassembles chained
// commands, finds the command in its table, checks the applet phase, decodes the request, runs
// the handler over a state transaction, commits the transaction atomically, and only then
// answers (with 61xx + GET RESPONSE when the answer is longer than the host's Ne).
//
// Why answer after commit: a response is proof the state changed, so a host can never hold an
// unload record (or any other value-bearing answer) whose debit a power cut undid. The reverse
// case — committed but the answer lost — is covered by idempotent re-reads (GET_LAST_UNLOAD_RECORD,
// repeated EXPORT_SYNC_BATCH). RAM state (chain buffer, pending response) is lost on reset, like
// a card's transient memory.

import type { Rng } from '../crypto/rng.ts';
import { assert } from '../crypto/assert.ts';
import {
  ApduError,
  CLA_CHAIN_BIT,
  ChainAssembler,
  INS_GET_RESPONSE,
  decodeCommand,
  encodeResponse,
  type ApduCommand,
  type ApduResponse,
} from './apdu.ts';
import { SeDecodeError } from './cbor.ts';
import { CHAINED_COMMAND_BYTES_MAX, CLA_TALLY } from './constants.ts';
import type { AnyRegisteredCommand } from './handler.ts';
import { applySyncAck, exportSyncBatch, readSyncEntries } from './handlers_sync.ts';
import { beginIssuance, finishIssuance } from './handlers_issuance.ts';
import { applyLoadVoucher, getLastUnloadRecord, makeUnloadRecord } from './handlers_value.ts';
import { attest, generateKeys, getInfo, personalize } from './handlers_admin.ts';
import { signRequest } from './handlers_request.ts';
import { installPolicy, installRevocationList } from './handlers_policy.ts';
import { PAYMENT_HANDLERS } from './handlers_payment.ts';
import { UNCONFIRMED_HANDLERS } from './handlers_unconfirmed.ts';
import { Nvm, PowerCut, type NvmBackend } from './nvm.ts';
import { SeState, appletPhase } from './state.ts';
import { SW, SeRefusal, type StatusWord } from './status.ts';

/** Every command implemented here; the payment commands are registered on top by the lead. */
export const BASE_COMMANDS: readonly AnyRegisteredCommand[] = [
  getInfo, generateKeys, personalize, attest, signRequest, beginIssuance, finishIssuance, applyLoadVoucher, makeUnloadRecord,
  getLastUnloadRecord, exportSyncBatch, readSyncEntries, applySyncAck, installPolicy, installRevocationList,
  ...PAYMENT_HANDLERS, ...UNCONFIRMED_HANDLERS,
];

export interface AppletOptions {
  backend: NvmBackend;
  rng: Rng;
  /** Milliseconds since the Unix epoch. */
  clock: () => bigint;
  /** Extra commands (e.g. the payment commands) registered after BASE_COMMANDS. */
  commands?: readonly AnyRegisteredCommand[];
}

const APDU_ERROR_SW: Record<ApduError['code'], StatusWord> = {
  TOO_SHORT: SW.WRONG_LENGTH,
  TOO_LONG: SW.WRONG_LENGTH,
  LENGTH_MISMATCH: SW.WRONG_LENGTH,
  ZERO_LC: SW.WRONG_LENGTH,
  INVALID_CLA: SW.CLA_NOT_SUPPORTED,
  INVALID_INS: SW.INS_NOT_SUPPORTED,
  BAD_FIELD: SW.WRONG_DATA,
  CHAIN_MISMATCH: SW.CHAIN_ERROR,
  CHAIN_TOO_LONG: SW.WRONG_LENGTH,
};

const status = (sw: StatusWord): ApduResponse => ({ data: new Uint8Array(0), sw });

export class Applet {
  private readonly table = new Map<number, AnyRegisteredCommand>();
  private readonly state: SeState;
  private readonly chain = new ChainAssembler(CHAINED_COMMAND_BYTES_MAX);
  private pendingResponse: Uint8Array | null = null;
  private dead = false;
  /** Why the last command was refused (stays inside the SE; for tests and logs). */
  lastRefusal: SeRefusal | null = null;
  /** The last unexpected error, answered as 6F00 with no state change. */
  lastInternalError: unknown = null;

  private constructor(private readonly opts: AppletOptions) {
    this.state = new SeState(Nvm.open(opts.backend));
    for (const c of [...BASE_COMMANDS, ...(opts.commands ?? [])]) this.register(c);
  }

  /** Powers the SE up over its NVM: an interrupted transaction is finished or discarded first. */
  static open(opts: AppletOptions): Applet {
    return new Applet(opts);
  }

  /** Adds a command. Its INS must be free and its data bound within the chaining bound. */
  register(command: AnyRegisteredCommand): void {
    const { spec } = command;
    assert(!this.table.has(spec.ins), `Applet.register: INS ${spec.ins.toString(16)} is already registered`);
    assert(spec.maxDataBytes <= CHAINED_COMMAND_BYTES_MAX, `Applet.register: ${spec.name} data bound above the chaining bound`);
    this.table.set(spec.ins, command);
  }

  /** The ISO 7816 byte interface: one command APDU in, one response APDU out. */
  transmit(bytes: Uint8Array): Uint8Array {
    let cmd: ApduCommand;
    try {
      cmd = decodeCommand(bytes);
    } catch (e) {
      if (!(e instanceof ApduError)) throw e;
      this.chain.reset();
      return encodeResponse(status(APDU_ERROR_SW[e.code]));
    }
    return encodeResponse(this.process(cmd));
  }

  process(cmd: ApduCommand): ApduResponse {
    if (this.dead) throw new PowerCut(-1);
    if (cmd.ins === INS_GET_RESPONSE && (cmd.cla & CLA_CHAIN_BIT) === 0) return this.getResponse(cmd);
    this.pendingResponse = null;
    if ((cmd.cla & ~CLA_CHAIN_BIT) !== CLA_TALLY) {
      this.chain.reset();
      return status(SW.CLA_NOT_SUPPORTED);
    }
    const entry = this.table.get(cmd.ins);
    if (!entry) {
      this.chain.reset();
      return status(SW.INS_NOT_SUPPORTED);
    }
    if (!entry.spec.usesP1P2 && (cmd.p1 !== 0 || cmd.p2 !== 0)) {
      this.chain.reset();
      return status(SW.WRONG_P1P2);
    }
    let whole: ApduCommand | null;
    try {
      whole = this.chain.push(cmd, entry.spec.maxDataBytes);
    } catch (e) {
      if (!(e instanceof ApduError)) throw e;
      return status(APDU_ERROR_SW[e.code]);
    }
    return whole === null ? status(SW.OK) : this.execute(entry, whole);
  }

  private execute(entry: AnyRegisteredCommand, cmd: ApduCommand): ApduResponse {
    const { spec, handler } = entry;
    this.lastRefusal = null;
    if (!spec.phases.includes(appletPhase(this.state))) {
      return this.refused(new SeRefusal(SW.BAD_STATE, `${spec.name} not allowed in phase ${appletPhase(this.state)}`));
    }
    let request: unknown;
    try {
      request = spec.request.decode(cmd.data);
    } catch (e) {
      if (!(e instanceof SeDecodeError)) throw e;
      return this.refused(new SeRefusal(SW.WRONG_DATA, e.message));
    }
    const tx = this.state.begin();
    let data: Uint8Array;
    try {
      const response = handler({ tx, rng: this.opts.rng, nowMs: this.opts.clock(), p1: cmd.p1, p2: cmd.p2 }, request);
      data = spec.response.encode(response);
    } catch (e) {
      if (e instanceof SeRefusal) return this.refused(e);
      this.lastInternalError = e;
      return status(SW.INTERNAL_ERROR);
    }
    try {
      this.state.commit(tx);
    } catch (e) {
      this.dead = true; // NVM and this view may disagree: only a restart (reopen) is safe
      throw e;
    }
    return this.respond(data, cmd.ne);
  }

  private refused(e: SeRefusal): ApduResponse {
    this.lastRefusal = e;
    return status(e.sw);
  }

  /** Sends `data` now if it fits Ne, else its first Ne bytes with 61xx and keeps the rest. */
  private respond(data: Uint8Array, ne: number): ApduResponse {
    if (data.length <= ne) return { data, sw: SW.OK };
    const first = data.slice(0, ne);
    this.pendingResponse = data.slice(ne);
    return { data: first, sw: SW.BYTES_REMAINING | Math.min(this.pendingResponse.length, 256) % 256 };
  }

  private getResponse(cmd: ApduCommand): ApduResponse {
    const pending = this.pendingResponse;
    this.pendingResponse = null;
    if (pending === null) return status(SW.CONDITIONS_NOT_SATISFIED);
    if (cmd.p1 !== 0 || cmd.p2 !== 0) return status(SW.WRONG_P1P2);
    return this.respond(pending, cmd.ne === 0 ? 256 : cmd.ne);
  }
}
