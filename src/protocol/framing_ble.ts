// BLE framing: a message travels as GATT Write Commands of at most ATT_MTU − 3 bytes (the ATT
// header is opcode + handle). The first write starts with a 2-byte big-endian length; the receiver
// checks that length against MESSAGE_BYTES_MAX before it allocates, then appends writes until it
// has exactly that many bytes. A write over the MTU, an empty write, or one that overruns the
// declared length is refused. The MTU (23..247) is what the two sides negotiated: ATT_MTU is the
// smaller of the two offers, and never below the Core default of 23. A keep-alive is one write of
// exactly the 2-byte prefix 0xFFFF, a length no message can have (MESSAGE_BYTES_MAX < 0xFFFF).

import { assert } from '../crypto/assert.ts';
import { BLE_ATT_HEADER_BYTES, BLE_KEEPALIVE_PREFIX, BLE_LENGTH_PREFIX_BYTES, BLE_MTU_MAX, BLE_MTU_MIN, MESSAGE_BYTES_MAX } from './limits.ts';
import { FramedTransport } from './framed_transport.ts';
import { remainingMs, TransportError, TransportErrorCode, type FrameLink, type MessageTransport } from './transport.ts';

/** ATT_MTU both sides use after an Exchange MTU: min of the offers, clamped to 23..247. */
export function negotiateBleMtu(localMtu: number, peerMtu: number): number {
  assert(Number.isInteger(localMtu) && Number.isInteger(peerMtu), 'negotiateBleMtu: integer MTUs');
  return Math.min(BLE_MTU_MAX, Math.max(BLE_MTU_MIN, Math.min(localMtu, peerMtu)));
}

/** The writes (each ≤ mtu − 3 bytes) one message becomes. */
export function bleWrites(message: Uint8Array, mtu: number): Uint8Array[] {
  assert(mtu >= BLE_MTU_MIN && mtu <= BLE_MTU_MAX, `bleWrites: MTU ${mtu} outside ${BLE_MTU_MIN}..${BLE_MTU_MAX}`);
  assert(message.length <= MESSAGE_BYTES_MAX, 'bleWrites: message over the limit');
  const payload = mtu - BLE_ATT_HEADER_BYTES;
  const data = new Uint8Array(BLE_LENGTH_PREFIX_BYTES + message.length);
  new DataView(data.buffer).setUint16(0, message.length);
  data.set(message, BLE_LENGTH_PREFIX_BYTES);
  const writes: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += payload) writes.push(data.subarray(at, at + payload));
  return writes;
}

class BleTransport extends FramedTransport {
  readonly #mtu: number;

  constructor(link: FrameLink, mtu: number) {
    assert(Number.isInteger(mtu) && mtu >= BLE_MTU_MIN && mtu <= BLE_MTU_MAX, `bleTransport: MTU ${mtu} outside ${BLE_MTU_MIN}..${BLE_MTU_MAX}`);
    super(link, 'BLE');
    this.#mtu = mtu;
  }

  protected frames(message: Uint8Array): Uint8Array[] {
    return bleWrites(message, this.#mtu);
  }

  async #next(deadline: number): Promise<Uint8Array> {
    let w: Uint8Array;
    try {
      w = await this.link.receiveFrame(remainingMs(deadline));
    } catch (e) {
      if (e instanceof TransportError && e.code === TransportErrorCode.CLOSED) {
        throw new TransportError(TransportErrorCode.TRUNCATED, 'BLE: link closed in the middle of a message');
      }
      throw e;
    }
    this.#checkWrite(w);
    return w;
  }

  #checkWrite(w: Uint8Array): void {
    const payloadMax = this.#mtu - BLE_ATT_HEADER_BYTES;
    if (w.length > payloadMax) {
      throw new TransportError(TransportErrorCode.FRAME_TOO_LONG, `BLE: expected a write of at most ${payloadMax} bytes (MTU ${this.#mtu}), found ${w.length}`);
    }
    if (w.length === 0) throw new TransportError(TransportErrorCode.BAD_FRAME, 'BLE: expected data in a write, found an empty write');
  }

  protected keepAliveFrame(): Uint8Array {
    return Uint8Array.of(BLE_KEEPALIVE_PREFIX >> 8, BLE_KEEPALIVE_PREFIX & 0xff);
  }

  protected isKeepAlive(w: Uint8Array): boolean {
    this.#checkWrite(w);
    return w.length === BLE_LENGTH_PREFIX_BYTES && ((w[0]! << 8) | w[1]!) === BLE_KEEPALIVE_PREFIX;
  }

  protected async reassemble(first: Uint8Array, deadline: number): Promise<Uint8Array> {
    if (first.length < BLE_LENGTH_PREFIX_BYTES) {
      throw new TransportError(TransportErrorCode.BAD_FRAME, `BLE: expected a ${BLE_LENGTH_PREFIX_BYTES}-byte length prefix, found ${first.length} bytes`);
    }
    const declared = (first[0]! << 8) | first[1]!;
    if (declared > MESSAGE_BYTES_MAX) {
      throw new TransportError(TransportErrorCode.MESSAGE_TOO_LONG, `BLE: expected a length of at most ${MESSAGE_BYTES_MAX}, found ${declared}`);
    }
    const out = new Uint8Array(declared);
    let got = 0;
    let w = first.subarray(BLE_LENGTH_PREFIX_BYTES);
    for (;;) {
      if (got + w.length > declared) {
        throw new TransportError(TransportErrorCode.BAD_FRAME, `BLE: write overruns the declared length ${declared} by ${got + w.length - declared} bytes`);
      }
      out.set(w, got);
      got += w.length;
      if (got === declared) return out;
      w = await this.#next(deadline);
    }
  }
}

/** Frames messages over `link` as GATT writes of at most mtu − 3 bytes. */
export function bleTransport(link: FrameLink, mtu: number): MessageTransport {
  return new BleTransport(link, mtu);
}
