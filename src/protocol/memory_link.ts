// An in-memory FrameLink pair: two ends of a perfect radio, for tests and the simulator. Each end
// queues at most MEMORY_LINK_QUEUE_FRAMES_MAX frames from its peer; a sender beyond that waits
// for the reader (back-pressure, never unbounded buffering). Frames are copied on send so neither
// side can change bytes the other already holds. A test holds one raw end to play a hostile peer.

import { assert } from '../crypto/assert.ts';
import { MEMORY_LINK_QUEUE_FRAMES_MAX } from './limits.ts';
import { Inbox, TransportError, TransportErrorCode, type FrameLink } from './transport.ts';

/** Largest frame the memory link carries (any framing's frame is far smaller). */
export const MEMORY_LINK_FRAME_BYTES_MAX = 65_536;

class MemoryEnd implements FrameLink {
  readonly inbox: Inbox<Uint8Array>;
  peer: MemoryEnd | undefined;
  #closed = false;
  readonly #spaceWaiters: Array<() => void> = [];

  constructor(name: string) {
    this.inbox = new Inbox<Uint8Array>(`memory link ${name}`, () => this.#spaceWaiters.shift()?.());
  }

  async sendFrame(frame: Uint8Array): Promise<void> {
    const peer = this.peer;
    assert(peer !== undefined, 'memory link: not paired');
    if (frame.length > MEMORY_LINK_FRAME_BYTES_MAX) {
      throw new TransportError(TransportErrorCode.FRAME_TOO_LONG, `memory link: expected a frame of at most ${MEMORY_LINK_FRAME_BYTES_MAX} bytes, found ${frame.length}`);
    }
    const copy = frame.slice();
    while (!this.#closed && !peer.inbox.ended && peer.inbox.size >= MEMORY_LINK_QUEUE_FRAMES_MAX) {
      await new Promise<void>((resolve) => peer.#spaceWaiters.push(resolve));
    }
    if (this.#closed || peer.inbox.ended) throw new TransportError(TransportErrorCode.CLOSED, 'memory link: closed');
    peer.inbox.push(copy);
  }

  receiveFrame(timeoutMs: number): Promise<Uint8Array> {
    return this.inbox.take(timeoutMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new TransportError(TransportErrorCode.CLOSED, 'memory link: closed by peer');
    this.inbox.end(new TransportError(TransportErrorCode.CLOSED, 'memory link: closed'), true);
    this.peer?.inbox.end(closed);
    // Wake senders blocked on either side so they see the close.
    for (const w of this.#spaceWaiters.splice(0)) w();
    if (this.peer !== undefined) for (const w of this.peer.#spaceWaiters.splice(0)) w();
  }
}

/** Two connected ends: a frame sent on one is received on the other. */
export function memoryLinkPair(): [FrameLink, FrameLink] {
  const a = new MemoryEnd('a');
  const b = new MemoryEnd('b');
  a.peer = b;
  b.peer = a;
  return [a, b];
}
