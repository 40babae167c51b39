// Whole messages over the in-memory FrameLink, with no radio framing: each frame is one type byte
// and, for a message, the message itself. The simulator and tests use it when the question is the
// protocol, not the radio; it still carries keep-alives, so a slow peer behaves here as over NFC,
// BLE or TCP. Frame layout: 0x00 ‖ message, or the single byte 0x01 for a keep-alive.

import { MESSAGE_BYTES_MAX } from './limits.ts';
import { FramedTransport } from './framed_transport.ts';
import { TransportError, TransportErrorCode, type FrameLink, type MessageTransport } from './transport.ts';

export const MEMORY_FRAME_MESSAGE = 0x00;
export const MEMORY_FRAME_KEEPALIVE = 0x01;

class MemoryMessageTransport extends FramedTransport {
  constructor(link: FrameLink) {
    super(link, 'memory transport');
  }

  protected frames(message: Uint8Array): Uint8Array[] {
    const frame = new Uint8Array(1 + message.length);
    frame[0] = MEMORY_FRAME_MESSAGE;
    frame.set(message, 1);
    return [frame];
  }

  protected keepAliveFrame(): Uint8Array {
    return Uint8Array.of(MEMORY_FRAME_KEEPALIVE);
  }

  protected isKeepAlive(frame: Uint8Array): boolean {
    if (frame[0] !== MEMORY_FRAME_KEEPALIVE) return false;
    if (frame.length !== 1) throw new TransportError(TransportErrorCode.BAD_FRAME, `memory transport: expected a 1-byte keep-alive, found ${frame.length} bytes`);
    return true;
  }

  protected reassemble(first: Uint8Array): Promise<Uint8Array> {
    if (first[0] !== MEMORY_FRAME_MESSAGE) {
      throw new TransportError(TransportErrorCode.BAD_FRAME, `memory transport: expected frame type 0x00 or 0x01, found ${first[0] === undefined ? 'an empty frame' : `0x${first[0].toString(16)}`}`);
    }
    if (first.length - 1 > MESSAGE_BYTES_MAX) {
      throw new TransportError(TransportErrorCode.MESSAGE_TOO_LONG, `memory transport: expected a message of at most ${MESSAGE_BYTES_MAX} bytes, found ${first.length - 1}`);
    }
    return Promise.resolve(first.slice(1));
  }
}

/** Whole messages (and keep-alives) over one end of a memory link. */
export function memoryTransport(link: FrameLink): MessageTransport {
  return new MemoryMessageTransport(link);
}
