// TCP transport between two sockets on 127.0.0.1 (ephemeral port): messages round-trip both ways
// and pipeline through the bounded queue; a hostile raw socket that declares an oversized frame is
// disconnected with MESSAGE_TOO_LONG without anything of that size being allocated; a frame cut by
// a close is TRUNCATED.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { seededRng } from '../crypto/rng.ts';
import * as L from './limits.ts';
import { TransportError, type TransportErrorCode } from './transport.ts';
import { tcpConnect as connect, tcpListen as listen, type TcpListener } from './transport_tcp.ts';
import type { MessageTransport } from './transport.ts';

// Everything a test opens is closed after the file, even when an assertion fails midway, so a
// failing test cannot keep the process alive.
const open: Array<{ close?: () => unknown; destroy?: () => unknown }> = [];
after(() => {
  for (const r of open) (r.destroy ?? r.close)?.call(r);
});
async function tcpListen(port: number): Promise<TcpListener> {
  const l = await listen(port);
  const accept = l.accept.bind(l);
  open.push(l);
  return { ...l, port: l.port, accept: async (ms?: number) => track(await accept(ms)) };
}
async function tcpConnect(port: number): Promise<MessageTransport> {
  return track(await connect(port));
}
function track<T extends MessageTransport>(t: T): T {
  open.push(t);
  return t;
}

const rng = seededRng('tcp.test');

async function refuses(p: Promise<unknown>, code: TransportErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof TransportError && e.code === code, `expected ${code}`);
}

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    open.push(s);
    s.once('error', reject);
  });
}
const closed = (s: net.Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

test('TCP transport round-trips messages of 0..MESSAGE_BYTES_MAX bytes both ways on loopback', { timeout: 10_000 }, async () => {
  const listener = await tcpListen(0);
  assert.ok(listener.port > 0);
  const [client, server] = await Promise.all([tcpConnect(listener.port), listener.accept(1000)]);
  for (const n of [0, 1, 255, 256, 1000, 3000, L.MESSAGE_BYTES_MAX]) {
    const m = rng(n);
    const [, got] = await Promise.all([client.send(m), server.receive(1000)]);
    assert.deepEqual(got, m);
    const [, back] = await Promise.all([server.send(m), client.receive(1000)]);
    assert.deepEqual(back, m);
  }
  await refuses(client.send(new Uint8Array(L.TCP_FRAME_BYTES_MAX + 1)), 'MESSAGE_TOO_LONG');
  client.close();
  await refuses(server.receive(1000), 'CLOSED');
  await listener.close();
});

test('TCP transport delivers pipelined messages in order through its bounded queue', { timeout: 10_000 }, async () => {
  const listener = await tcpListen(0);
  const [client, server] = await Promise.all([tcpConnect(listener.port), listener.accept(1000)]);
  const messages = Array.from({ length: 5 * L.TRANSPORT_QUEUE_MESSAGES_MAX }, (_, i) => rng(100 + i * 50));
  await Promise.all(messages.map((m) => client.send(m)));
  await new Promise((r) => setTimeout(r, 20)); // let the queue fill and the socket pause
  for (const m of messages) assert.deepEqual(await server.receive(1000), m);
  client.close();
  server.close();
  await listener.close();
});

test('TCP transport closes a peer that declares an oversized frame, allocating nothing of that size', { timeout: 10_000 }, async () => {
  const listener = await tcpListen(0);
  const raw = await rawConnect(listener.port);
  const server = await listener.accept(1000);
  const before = process.memoryUsage().arrayBuffers;
  raw.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])); // declares a 2 GiB frame
  await refuses(server.receive(1000), 'MESSAGE_TOO_LONG');
  await closed(raw);
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'no large buffer was allocated');
  await refuses(server.receive(100), 'MESSAGE_TOO_LONG'); // and it stays failed
  await refuses(server.send(Uint8Array.of(1)), 'MESSAGE_TOO_LONG');
  await listener.close();
});

test('TCP transport refuses a prefix one byte over the limit and accepts one at the limit', { timeout: 10_000 }, async () => {
  const listener = await tcpListen(0);
  const raw = await rawConnect(listener.port);
  const server = await listener.accept(1000);
  const atLimit = Buffer.alloc(4 + L.TCP_FRAME_BYTES_MAX);
  atLimit.writeUInt32BE(L.TCP_FRAME_BYTES_MAX, 0);
  raw.write(atLimit);
  assert.equal((await server.receive(1000)).length, L.TCP_FRAME_BYTES_MAX);
  const over = Buffer.alloc(4);
  over.writeUInt32BE(L.TCP_FRAME_BYTES_MAX + 1, 0);
  raw.write(over);
  await refuses(server.receive(1000), 'MESSAGE_TOO_LONG');
  await closed(raw);
  await listener.close();
});

test('TCP transport reports a frame cut by the peer as TRUNCATED and silence as TIMEOUT', { timeout: 10_000 }, async () => {
  const listener = await tcpListen(0);
  const raw = await rawConnect(listener.port);
  const server = await listener.accept(1000);
  await refuses(server.receive(30), 'TIMEOUT');
  raw.end(Buffer.from([0, 0, 0, 100, 1, 2, 3])); // 100 declared, 3 sent, then FIN
  await refuses(server.receive(1000), 'TRUNCATED');
  await listener.close();
});

test('TCP transport survives garbage bytes from a peer with a typed error', { timeout: 10_000 }, async () => {
  const listener = await tcpListen(0);
  for (let i = 0; i < 5; i++) {
    const raw = await rawConnect(listener.port);
    const server = await listener.accept(1000);
    const garbage = rng(64);
    garbage[0] = 0x80 | garbage[0]!; // a prefix far above the limit
    raw.write(garbage);
    await refuses(server.receive(1000), 'MESSAGE_TOO_LONG');
    raw.destroy();
  }
  await listener.close();
});

test('two processes pay each other over TCP: request, payment with sealed amount, signed receipt', { timeout: 30_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { p256 } = await import('@noble/curves/nist.js');
  const { decodePayment, encodePaymentRequest, encodeReceipt, paymentHash, receiptSignedBytes } = await import('./messages.ts');
  const { deriveSession, paymentContextOf } = await import('./session.ts');
  const { generateSessionKeyPair } = await import('./session_keys.ts');

  const listener = await tcpListen(0);
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/tcp_payer.ts', import.meta.url).pathname, String(listener.port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  open.push({ close: () => child.kill() });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));

  const payee = await listener.accept(20_000);
  const own = generateSessionKeyPair(rng);
  const request = { v: 1 as const, amountMinor: 4_250n, requestId: rng(16), payeeNonce: rng(32), payeeSessionKey: own.publicKey, payeeCredentialProof: rng(300), policyVersion: 1n, timeMs: 1_764_000_000_000, payeeIdentity: rng(32) };
  await payee.send(encodePaymentRequest(request));
  const paymentBytes = await payee.receive(20_000);
  const payment = decodePayment(paymentBytes);
  const session = deriveSession({ role: 'payee', own, peerPublicKey: payment.payerSessionKey, requestId: payment.requestId });
  const opening = session.open(payment.sealedOpening, paymentContextOf(request, payment.payerSessionKey));
  assert.equal(opening.amountMinor, 4_250n);
  const attestationSecret = p256.utils.randomSecretKey(rng(48));
  const hash = paymentHash(paymentBytes);
  await payee.send(
    encodeReceipt({
      v: 1,
      paymentHash: hash,
      payeeSignature: p256.sign(receiptSignedBytes(hash), attestationSecret, { lowS: false }),
      payeeAttestationKey: p256.getPublicKey(attestationSecret, true),
    }),
  );
  assert.equal(await exited, 0);
  const report = JSON.parse(out.trim()) as { pid: number; hashMatches: boolean; rA: string };
  assert.notEqual(report.pid, process.pid);
  assert.equal(report.hashMatches, true);
  assert.equal(opening.rA.toString(), report.rA);
});
