// TCP transport (node:net) so two processes can pay each other: each message is a 4-byte
// big-endian length and the message. The prefix is checked against TCP_FRAME_BYTES_MAX the moment
// it arrives: a larger one closes the connection with MESSAGE_TOO_LONG and nothing of that size is
// ever allocated. Buffering is bounded: at most one partial frame plus one socket chunk, and at
// most TRANSPORT_QUEUE_MESSAGES_MAX whole messages before the socket is paused (TCP back-pressure
// then slows the sender). A connection closed inside a frame is TRUNCATED. A keep-alive is a bare
// prefix of TCP_KEEPALIVE_PREFIX (0xFFFFFFFF, above any frame length) with no body.

import * as net from 'node:net';
import { assert } from '../crypto/assert.ts';
import {
  RECEIVE_TIMEOUT_MS,
  TCP_ACCEPT_QUEUE_MAX,
  TCP_CONNECT_TIMEOUT_MS,
  TCP_FRAME_BYTES_MAX,
  TCP_KEEPALIVE_PREFIX,
  TCP_LENGTH_PREFIX_BYTES,
  TRANSPORT_QUEUE_MESSAGES_MAX,
} from './limits.ts';
import {
  Inbox, KEEP_ALIVE, TransportError, TransportErrorCode, receiveSkippingKeepAlives, receiveWaitOf, remainingMs,
  type MessageOrKeepAlive, type MessageTransport, type ReceiveWait,
} from './transport.ts';

class TcpTransport implements MessageTransport {
  readonly #socket: net.Socket;
  readonly #inbox: Inbox<MessageOrKeepAlive>;
  #pending: Buffer = Buffer.alloc(0);
  #error: TransportError | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#inbox = new Inbox<MessageOrKeepAlive>('TCP', () => {
      if (this.#inbox.size < TRANSPORT_QUEUE_MESSAGES_MAX && this.#error === undefined) socket.resume();
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => this.#onEnd());
    socket.on('error', (e: Error) => this.#fail(new TransportError(TransportErrorCode.IO, `TCP: socket error: ${e.message}`), false));
  }

  #onData(chunk: Buffer): void {
    if (this.#error !== undefined) return;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= TCP_LENGTH_PREFIX_BYTES) {
      const length = this.#pending.readUInt32BE(0);
      if (length === TCP_KEEPALIVE_PREFIX) {
        // Queued only while there is room: behind a full queue a keep-alive says nothing new, and
        // dropping it keeps one socket chunk of them (16 Ki per 64 KiB) from filling the inbox.
        if (this.#inbox.size < TRANSPORT_QUEUE_MESSAGES_MAX) this.#inbox.push(KEEP_ALIVE);
        this.#pending = this.#pending.subarray(TCP_LENGTH_PREFIX_BYTES);
        continue;
      }
      if (length > TCP_FRAME_BYTES_MAX) {
        this.#fail(new TransportError(TransportErrorCode.MESSAGE_TOO_LONG, `TCP: expected a frame of at most ${TCP_FRAME_BYTES_MAX} bytes, found a prefix of ${length}`), true);
        return;
      }
      const end = TCP_LENGTH_PREFIX_BYTES + length;
      if (this.#pending.length < end) break;
      this.#inbox.push(new Uint8Array(this.#pending.subarray(TCP_LENGTH_PREFIX_BYTES, end))); // a copy, not a view
      this.#pending = this.#pending.subarray(end);
    }
    assert(this.#pending.length < TCP_LENGTH_PREFIX_BYTES + TCP_FRAME_BYTES_MAX, 'TCP: partial frame within bound');
    if (this.#inbox.size >= TRANSPORT_QUEUE_MESSAGES_MAX) this.#socket.pause();
  }

  #onEnd(): void {
    if (this.#error !== undefined || this.#inbox.ended) return;
    const partial = this.#pending.length;
    this.#inbox.end(
      partial > 0
        ? new TransportError(TransportErrorCode.TRUNCATED, `TCP: connection closed with ${partial} bytes of an incomplete frame`)
        : new TransportError(TransportErrorCode.CLOSED, 'TCP: connection closed by peer'),
    );
  }

  /** A protocol violation or socket error: drop everything, close, and repeat the error from now on. */
  #fail(e: TransportError, discard: boolean): void {
    if (this.#error !== undefined) return;
    this.#error = e;
    this.#pending = Buffer.alloc(0);
    this.#inbox.end(e, discard);
    this.#socket.destroy();
  }

  send(message: Uint8Array): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (message.length > TCP_FRAME_BYTES_MAX) {
      return Promise.reject(new TransportError(TransportErrorCode.MESSAGE_TOO_LONG, `TCP: expected a message of at most ${TCP_FRAME_BYTES_MAX} bytes, found ${message.length}`));
    }
    const frame = Buffer.alloc(TCP_LENGTH_PREFIX_BYTES + message.length);
    frame.writeUInt32BE(message.length, 0);
    frame.set(message, TCP_LENGTH_PREFIX_BYTES);
    return this.#write(frame);
  }

  /** A keep-alive: the 4-byte prefix TCP_KEEPALIVE_PREFIX and no body. */
  keepAlive(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const frame = Buffer.alloc(TCP_LENGTH_PREFIX_BYTES);
    frame.writeUInt32BE(TCP_KEEPALIVE_PREFIX, 0);
    return this.#write(frame);
  }

  #write(frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(frame, (err) => (err ? reject(new TransportError(TransportErrorCode.IO, `TCP: write failed: ${err.message}`)) : resolve()));
    });
  }

  async receive(wait?: number | ReceiveWait): Promise<Uint8Array> {
    try {
      return await receiveSkippingKeepAlives((deadline) => this.#inbox.take(remainingMs(deadline)), receiveWaitOf(wait), 'TCP');
    } catch (e) {
      if (e instanceof TransportError && e.code === TransportErrorCode.DEADLINE) this.#fail(e, true);
      throw e;
    }
  }

  close(): void {
    this.#fail(new TransportError(TransportErrorCode.CLOSED, 'TCP: transport closed'), false);
  }
}

/** Wraps a connected socket. */
export function tcpTransport(socket: net.Socket): MessageTransport {
  return new TcpTransport(socket);
}

export interface TcpListener {
  readonly host: string;
  readonly port: number;
  /** Next accepted connection as a MessageTransport. */
  accept(timeoutMs?: number): Promise<MessageTransport>;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks an ephemeral port; the default host is loopback only). */
export async function tcpListen(port = 0, host = '127.0.0.1'): Promise<TcpListener> {
  const accepted = new Inbox<MessageTransport>('TCP listener');
  const server = net.createServer((socket) => {
    // Bounded accept queue: beyond it, new connections are refused rather than held.
    if (accepted.size >= TCP_ACCEPT_QUEUE_MAX || accepted.ended) socket.destroy();
    else accepted.push(tcpTransport(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  assert(address !== null && typeof address === 'object', 'tcpListen: no address');
  return {
    host,
    port: address.port,
    accept: (timeoutMs = RECEIVE_TIMEOUT_MS) => accepted.take(timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        accepted.end(new TransportError(TransportErrorCode.CLOSED, 'TCP listener closed'));
        server.close(() => resolve());
      }),
  };
}

/** Connects to host:port. */
export function tcpConnect(port: number, host = '127.0.0.1', timeoutMs = TCP_CONNECT_TIMEOUT_MS): Promise<MessageTransport> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransportError(TransportErrorCode.TIMEOUT, `TCP: expected a connection to ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(tcpTransport(socket));
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new TransportError(TransportErrorCode.IO, `TCP: cannot connect to ${host}:${port}: ${e.message}`));
    });
  });
}
