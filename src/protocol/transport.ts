// The transport interfaces every payment runs over, their one error type, and the bounded inbox
// they share. Two layers:
//   FrameLink        — a link that carries frames with their boundaries (an NFC field, a BLE GATT
//                      characteristic, the in-memory pair of the tests and the simulator);
//   MessageTransport — whole protocol messages (`send`, `receive`, `close`): what the payer and
//                      payee state machines use. NFC and BLE are framings of a FrameLink into a
//                      MessageTransport; TCP frames a byte stream (node:net) directly.
// A hostile or broken peer (oversize, truncated, garbage frames) gets a TransportError with a
// stable code; after an error the transport is closed and every later call repeats that error.
// Nothing queues without a bound: inboxes hold at most a named number of items.
//
// Keep-alives: the side whose SE is computing sends small typed keep-alive frames (each framing
// defines one that no message can be mistaken for); a receiver skips them, and each one restarts
// its silence timer, but a total deadline still applies, so a peer that only sends keep-alives is
// cut off with DEADLINE (src/protocol/notes/link.md).

import { assert } from '../crypto/assert.ts';
import { KEEPALIVES_PER_RECEIVE_MAX, RECEIVE_TIMEOUT_MS } from './limits.ts';

export const TransportErrorCode = {
  /** A message longer than MESSAGE_BYTES_MAX was sent, declared or reassembled. */
  MESSAGE_TOO_LONG: 'MESSAGE_TOO_LONG',
  /** One frame longer than the framing allows (NFC I-block > 256, BLE write > MTU − 3). */
  FRAME_TOO_LONG: 'FRAME_TOO_LONG',
  /** A frame that is not part of the framing: bad header, empty, overrunning its declared length. */
  BAD_FRAME: 'BAD_FRAME',
  /** An NFC block number that does not alternate (a lost or repeated block). */
  OUT_OF_SEQUENCE: 'OUT_OF_SEQUENCE',
  /** The link closed in the middle of a message. */
  TRUNCATED: 'TRUNCATED',
  /** The link is closed (between messages). */
  CLOSED: 'CLOSED',
  /** No message within the timeout. */
  TIMEOUT: 'TIMEOUT',
  /**
   * The peer kept the link alive (keep-alive frames) past the receive's total deadline, or past
   * KEEPALIVES_PER_RECEIVE_MAX keep-alives, without sending a message. The transport closes.
   */
  DEADLINE: 'DEADLINE',
  /** The operating system reported a socket error. */
  IO: 'IO',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
  }
}

export function isTransportError(e: unknown, code?: TransportErrorCode): e is TransportError {
  return e instanceof TransportError && (code === undefined || e.code === code);
}

/** A link that preserves frame boundaries. */
export interface FrameLink {
  sendFrame(frame: Uint8Array): Promise<void>;
  /** Next frame; rejects TransportError CLOSED when the peer closed, TIMEOUT after `timeoutMs`. */
  receiveFrame(timeoutMs: number): Promise<Uint8Array>;
  close(): void;
}

/**
 * How long one receive waits: `idleMs` of silence at most (a keep-alive frame restarts it), and
 * `totalMs` in all, keep-alives or not. A plain number is both (no keep-alive extends it).
 */
export interface ReceiveWait {
  idleMs: number;
  totalMs: number;
}

export function receiveWaitOf(wait: number | ReceiveWait | undefined): ReceiveWait {
  const w = wait === undefined ? { idleMs: RECEIVE_TIMEOUT_MS, totalMs: RECEIVE_TIMEOUT_MS } : typeof wait === 'number' ? { idleMs: wait, totalMs: wait } : wait;
  assert(Number.isFinite(w.idleMs) && w.idleMs >= 0 && Number.isFinite(w.totalMs) && w.totalMs >= 0, `receive: bad wait ${w.idleMs}/${w.totalMs} ms`);
  return w;
}

/** Whole protocol messages: the interface the payment state machines use. */
export interface MessageTransport {
  send(message: Uint8Array): Promise<void>;
  /**
   * Next whole message, skipping keep-alive frames; rejects TransportError: TIMEOUT after `idleMs`
   * of silence, DEADLINE when keep-alives carried the wait past `totalMs` (default: both
   * RECEIVE_TIMEOUT_MS).
   */
  receive(wait?: number | ReceiveWait): Promise<Uint8Array>;
  /** Sends one keep-alive frame: "still computing, my message follows". Never between a message's frames. */
  keepAlive(): Promise<void>;
  close(): void;
}

/** What a framing's next-item read yields: a whole message, or the keep-alive marker. */
export const KEEP_ALIVE: unique symbol = Symbol('keep-alive');
export type MessageOrKeepAlive = Uint8Array | typeof KEEP_ALIVE;

/**
 * The receive loop every transport shares: reads items with the idle timeout (never past the total
 * deadline), skips keep-alives, and turns "the total deadline passed while the peer only kept the
 * link alive" into DEADLINE. `next(deadline)` reads one message or keep-alive by `deadline` (ms
 * since the epoch) and rejects TIMEOUT after it.
 */
export async function receiveSkippingKeepAlives(
  next: (deadline: number) => Promise<MessageOrKeepAlive>,
  wait: ReceiveWait,
  label: string,
): Promise<Uint8Array> {
  const end = Date.now() + wait.totalMs;
  for (let keepAlives = 0; ; ) {
    const idleEnd = Date.now() + wait.idleMs;
    const deadline = Math.min(idleEnd, end);
    let item: MessageOrKeepAlive;
    try {
      item = await next(deadline);
    } catch (e) {
      if (keepAlives > 0 && deadline === end && isTransportError(e, TransportErrorCode.TIMEOUT)) {
        throw new TransportError(TransportErrorCode.DEADLINE, `${label}: expected a message within ${wait.totalMs} ms, found only ${keepAlives} keep-alives`);
      }
      throw e;
    }
    if (item !== KEEP_ALIVE) return item;
    keepAlives++;
    if (keepAlives > KEEPALIVES_PER_RECEIVE_MAX || Date.now() >= end) {
      throw new TransportError(TransportErrorCode.DEADLINE, `${label}: expected a message within ${wait.totalMs} ms and ${KEEPALIVES_PER_RECEIVE_MAX} keep-alives, found only ${keepAlives} keep-alives`);
    }
  }
}

interface Waiter<T> {
  resolve: (item: T) => void;
  reject: (e: TransportError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A queue with one reader, a timeout per read and an end state. Items queued before the end are
 * still delivered unless the end discards them (a protocol violation poisons the stream).
 */
export class Inbox<T> {
  readonly #items: T[] = [];
  #waiter: Waiter<T> | undefined;
  #end: TransportError | undefined;
  readonly #onTake: () => void;
  readonly #what: string;

  constructor(what: string, onTake: () => void = () => {}) {
    this.#what = what;
    this.#onTake = onTake;
  }

  get size(): number {
    return this.#items.length;
  }

  get ended(): boolean {
    return this.#end !== undefined;
  }

  push(item: T): void {
    assert(this.#end === undefined, `${this.#what}: push after end`);
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(item);
      this.#onTake();
      return;
    }
    this.#items.push(item);
  }

  /** No more items will come; readers get `error` once the queue (or, with discard, at once) is empty. */
  end(error: TransportError, discard = false): void {
    if (this.#end !== undefined) return;
    this.#end = error;
    if (discard) this.#items.length = 0;
    const w = this.#waiter;
    if (w !== undefined && this.#items.length === 0) {
      this.#waiter = undefined;
      clearTimeout(w.timer);
      w.reject(error);
    }
  }

  take(timeoutMs: number): Promise<T> {
    assert(this.#waiter === undefined, `${this.#what}: only one receive at a time`);
    assert(Number.isFinite(timeoutMs) && timeoutMs >= 0, `${this.#what}: bad timeout ${timeoutMs}`);
    if (this.#items.length > 0) {
      const item = this.#items.shift() as T;
      this.#onTake();
      return Promise.resolve(item);
    }
    if (this.#end !== undefined) return Promise.reject(this.#end);
    return new Promise<T>((resolve, reject) => {
      // When the timer fires, input that arrived while this process was busy (a synchronous SE
      // call, a descheduled host) may still sit unread in the OS: one turn of the event loop lets
      // it in before the timeout is honoured, so a late timer never beats data that was on time.
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (this.#waiter !== waiter) return;
          this.#waiter = undefined;
          reject(new TransportError(TransportErrorCode.TIMEOUT, `${this.#what}: expected a message within ${timeoutMs} ms, found none`));
        });
      }, timeoutMs);
      const waiter: Waiter<T> = { resolve, reject, timer };
      this.#waiter = waiter;
    });
  }
}

/** Milliseconds left until `deadline` (never negative). */
export function remainingMs(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}
