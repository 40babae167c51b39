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

import { assert } from '../crypto/assert.ts';

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

/** Whole protocol messages: the interface the payment state machines use. */
export interface MessageTransport {
  send(message: Uint8Array): Promise<void>;
  /** Next whole message; rejects TransportError (TIMEOUT after `timeoutMs`, default RECEIVE_TIMEOUT_MS). */
  receive(timeoutMs?: number): Promise<Uint8Array>;
  close(): void;
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
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new TransportError(TransportErrorCode.TIMEOUT, `${this.#what}: expected a message within ${timeoutMs} ms, found none`));
      }, timeoutMs);
      this.#waiter = { resolve, reject, timer };
    });
  }
}

/** Milliseconds left until `deadline` (never negative). */
export function remainingMs(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}
