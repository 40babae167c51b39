// What every radio framing shares (NFC I-blocks, BLE writes): a sticky error, so a transport that
// failed once keeps failing the same way; a receive that poisons the stream when it times out in
// the middle of a message (the next bytes would be the rest of that message); the message-size
// check before anything is framed; and close. A framing supplies only how a message becomes
// frames and how frames become a message.

import { MESSAGE_BYTES_MAX, RECEIVE_TIMEOUT_MS } from './limits.ts';
import { TransportError, TransportErrorCode, type FrameLink, type MessageTransport } from './transport.ts';

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
  /** Reads frames until one whole message is in; throws TransportError on any bad frame. */
  protected abstract reassemble(deadline: number): Promise<Uint8Array>;

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

  async receive(timeoutMs: number = RECEIVE_TIMEOUT_MS): Promise<Uint8Array> {
    if (this.error !== undefined) throw this.error;
    try {
      const message = await this.reassemble(Date.now() + timeoutMs);
      this.midMessage = false;
      return message;
    } catch (e) {
      if (e instanceof TransportError && (e.code !== TransportErrorCode.TIMEOUT || this.midMessage)) this.fail(e);
      throw e;
    }
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
