// What every radio framing shares (NFC I-blocks, BLE writes, the memory link's message frames): a
// sticky error, so a transport that failed once keeps failing the same way; a receive that skips
// keep-alive frames between messages and poisons the stream when it times out in the middle of a
// message (the next bytes would be the rest of that message); the message-size check before
// anything is framed; and close. A framing supplies only how a message becomes frames, how frames
// become a message, and what its keep-alive frame looks like.

import { MESSAGE_BYTES_MAX } from './limits.ts';
import {
  KEEP_ALIVE, TransportError, TransportErrorCode, receiveSkippingKeepAlives, receiveWaitOf, remainingMs,
  type FrameLink, type MessageOrKeepAlive, type MessageTransport, type ReceiveWait,
} from './transport.ts';

export abstract class FramedTransport implements MessageTransport {
  private error: TransportError | undefined;
  /** Set while a message is partly read: a timeout then leaves the stream mid-message, so it poisons. */
  protected midMessage = false;

  constructor(
    protected readonly link: FrameLink,
    private readonly label: string,
  ) {}

  /** The frames one message becomes (called once per message, in order). */
  protected abstract frames(message: Uint8Array): Uint8Array[];
  /** The one frame a keep-alive is. */
  protected abstract keepAliveFrame(): Uint8Array;
  /** Whether `frame`, read between messages, is a keep-alive; throws BAD_FRAME for a malformed one. */
  protected abstract isKeepAlive(frame: Uint8Array): boolean;
  /** Reads the frames after `first` until one whole message is in; throws TransportError on any bad frame. */
  protected abstract reassemble(first: Uint8Array, deadline: number): Promise<Uint8Array>;

  async send(message: Uint8Array): Promise<void> {
    if (this.error !== undefined) throw this.error;
    if (message.length > MESSAGE_BYTES_MAX) {
      throw new TransportError(
        TransportErrorCode.MESSAGE_TOO_LONG,
        `${this.label}: expected a message of at most ${MESSAGE_BYTES_MAX} bytes, found ${message.length}`,
      );
    }
    for (const f of this.frames(message)) await this.link.sendFrame(f);
  }

  async keepAlive(): Promise<void> {
    if (this.error !== undefined) throw this.error;
    await this.link.sendFrame(this.keepAliveFrame());
  }

  async receive(wait?: number | ReceiveWait): Promise<Uint8Array> {
    if (this.error !== undefined) throw this.error;
    const w = receiveWaitOf(wait);
    const end = Date.now() + w.totalMs;
    try {
      const message = await receiveSkippingKeepAlives((deadline) => this.#next(deadline, () => Math.min(Date.now() + w.idleMs, end)), w, this.label);
      this.midMessage = false;
      return message;
    } catch (e) {
      if (e instanceof TransportError && (e.code !== TransportErrorCode.TIMEOUT || this.midMessage)) this.fail(e);
      throw e;
    }
  }

  /** One message or keep-alive; the rest of a message must follow its first frame within `restDeadline()`. */
  async #next(deadline: number, restDeadline: () => number): Promise<MessageOrKeepAlive> {
    const first = await this.link.receiveFrame(remainingMs(deadline));
    if (this.isKeepAlive(first)) return KEEP_ALIVE;
    this.midMessage = true;
    return this.reassemble(first, restDeadline());
  }

  private fail(e: TransportError): void {
    this.error = e;
    this.link.close();
  }

  close(): void {
    this.error ??= new TransportError(TransportErrorCode.CLOSED, `${this.label}: transport closed`);
    this.link.close();
  }
}
