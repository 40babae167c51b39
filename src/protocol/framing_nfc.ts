// NFC framing: a message travels as a chain of ISO/IEC 14443-4 (ISO-DEP) I-blocks, each a PCB
// byte and at most NFC_CHUNK_BYTES (255, the short-APDU data size) of data. PCB = 0x02 | block
// number (alternating 0/1 per block, continuing across messages) | 0x10 if more blocks follow.
// The receiver checks every header, the block number sequence, and the running total against
// MESSAGE_BYTES_MAX before it keeps a chunk, so a peer cannot make it buffer more than one message.
// Model simplifications, stated: the link below is reliable and ordered (the air interface's CRC,
// R(ACK) blocks and retransmissions are left to the link model's airtime), and there is no CID/NAD.

import { assert } from '../crypto/assert.ts';
import { MESSAGE_BYTES_MAX, NFC_CHUNK_BYTES, NFC_FRAME_BYTES_MAX, NFC_FRAMES_PER_MESSAGE_MAX } from './limits.ts';
import { FramedTransport } from './framed_transport.ts';
import { remainingMs, TransportError, TransportErrorCode, type FrameLink, type MessageTransport } from './transport.ts';

export const NFC_PCB_I_BLOCK = 0x02;
export const NFC_PCB_CHAINING = 0x10;
export const NFC_PCB_BLOCK_NUMBER = 0x01;
/**
 * Keep-alive: an ISO/IEC 14443-4 S(WTX) block (waiting time extension, PCB 1111 0010, no CID) whose
 * one INF byte is the multiplier WTXM (1..59). On a real ISO-DEP link the card sends it while it
 * computes and the reader echoes it; this link is reliable, so the echo is left out and either side
 * may send it between messages. It carries no block number, so it leaves the I-block sequence alone.
 */
export const NFC_PCB_S_WTX = 0xf2;
export const NFC_WTXM_MIN = 1;
export const NFC_WTXM_MAX = 59;
/** The WTXM our keep-alive asks for: one more frame waiting time at a time. */
const NFC_WTXM_KEEPALIVE = 1;

/** The frames (PCB ‖ chunk) one message becomes, starting at block number `firstBlock`. */
export function nfcFrames(message: Uint8Array, firstBlock: number): Uint8Array[] {
  assert(message.length <= MESSAGE_BYTES_MAX, 'nfcFrames: message over the limit');
  const count = Math.max(1, Math.ceil(message.length / NFC_CHUNK_BYTES));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = message.subarray(i * NFC_CHUNK_BYTES, (i + 1) * NFC_CHUNK_BYTES);
    const more = i < count - 1;
    const frame = new Uint8Array(1 + chunk.length);
    frame[0] = NFC_PCB_I_BLOCK | ((firstBlock + i) & 1) | (more ? NFC_PCB_CHAINING : 0);
    frame.set(chunk, 1);
    frames.push(frame);
  }
  assert(frames.length <= NFC_FRAMES_PER_MESSAGE_MAX, 'nfcFrames: frame budget');
  return frames;
}

class NfcTransport extends FramedTransport {
  #sendBlock = 0;
  #receiveBlock = 0;

  constructor(link: FrameLink) {
    super(link, 'NFC');
  }

  protected frames(message: Uint8Array): Uint8Array[] {
    const frames = nfcFrames(message, this.#sendBlock);
    this.#sendBlock = (this.#sendBlock + frames.length) & 1;
    return frames;
  }

  protected keepAliveFrame(): Uint8Array {
    return Uint8Array.of(NFC_PCB_S_WTX, NFC_WTXM_KEEPALIVE);
  }

  protected isKeepAlive(frame: Uint8Array): boolean {
    if (frame[0] !== NFC_PCB_S_WTX) return false;
    const wtxm = frame[1];
    if (frame.length !== 2 || wtxm === undefined || wtxm < NFC_WTXM_MIN || wtxm > NFC_WTXM_MAX) {
      throw new TransportError(TransportErrorCode.BAD_FRAME, `NFC: expected an S(WTX) block of 2 bytes with WTXM ${NFC_WTXM_MIN}..${NFC_WTXM_MAX}, found ${frame.length} bytes, WTXM ${wtxm}`);
    }
    return true;
  }

  protected async reassemble(first: Uint8Array, deadline: number): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let frame = first;
    for (let frames = 1; ; frames++) {
      const more = this.#checkFrame(frame, frames, total);
      chunks.push(frame.subarray(1));
      total += frame.length - 1;
      if (!more) return concat(chunks, total);
      try {
        frame = await this.link.receiveFrame(remainingMs(deadline));
      } catch (e) {
        if (e instanceof TransportError && e.code === TransportErrorCode.CLOSED) {
          throw new TransportError(TransportErrorCode.TRUNCATED, `NFC: link closed after ${frames} chained blocks (${total} bytes) of a message`);
        }
        throw e;
      }
    }
  }

  /** Validates one I-block against the chain so far; returns whether more blocks follow. */
  #checkFrame(frame: Uint8Array, frames: number, total: number): boolean {
    if (frame.length > NFC_FRAME_BYTES_MAX) {
      throw new TransportError(TransportErrorCode.FRAME_TOO_LONG, `NFC: expected an I-block of at most ${NFC_FRAME_BYTES_MAX} bytes, found ${frame.length}`);
    }
    const pcb = frame[0];
    if (pcb === undefined || (pcb & ~(NFC_PCB_CHAINING | NFC_PCB_BLOCK_NUMBER)) !== NFC_PCB_I_BLOCK) {
      throw new TransportError(TransportErrorCode.BAD_FRAME, `NFC: expected an I-block PCB (0x02/0x03/0x12/0x13), found ${pcb === undefined ? 'an empty frame' : `0x${pcb.toString(16)}`}`);
    }
    if ((pcb & NFC_PCB_BLOCK_NUMBER) !== this.#receiveBlock) {
      throw new TransportError(TransportErrorCode.OUT_OF_SEQUENCE, `NFC: expected block number ${this.#receiveBlock}, found ${pcb & 1}`);
    }
    this.#receiveBlock ^= 1;
    const more = (pcb & NFC_PCB_CHAINING) !== 0;
    if (more && frame.length === 1) {
      throw new TransportError(TransportErrorCode.BAD_FRAME, 'NFC: expected data in a chained I-block, found none');
    }
    if (total + frame.length - 1 > MESSAGE_BYTES_MAX || (more && frames >= NFC_FRAMES_PER_MESSAGE_MAX)) {
      throw new TransportError(TransportErrorCode.MESSAGE_TOO_LONG, `NFC: chain exceeds ${MESSAGE_BYTES_MAX} bytes or ${NFC_FRAMES_PER_MESSAGE_MAX} blocks`);
    }
    return more;
  }
}

/** Frames messages over `link` as chained ISO-DEP I-blocks. */
export function nfcTransport(link: FrameLink): MessageTransport {
  return new NfcTransport(link);
}

export function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  assert(at === total, 'concat: length mismatch');
  return out;
}
