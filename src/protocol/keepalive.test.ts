// Keep-alive frames over every transport (memory, NFC, BLE at MTU 23 and 247, TCP): a receiver
// skips them and each restarts its silence timer; a peer that only sends keep-alives is cut off
// at the total deadline (or at the keep-alive count bound) with DEADLINE and the transport closes;
// plain silence stays TIMEOUT; a keep-alive inside a message, or a malformed one, is a bad frame.
// Deadlines here are short real waits, and only error codes are asserted, never elapsed time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleTransport } from './framing_ble.ts';
import { nfcTransport } from './framing_nfc.ts';
import { memoryLinkPair } from './memory_link.ts';
import { memoryTransport } from './memory_transport.ts';
import { KEEPALIVES_PER_RECEIVE_MAX } from './limits.ts';
import { tcpConnect, tcpListen } from './transport_tcp.ts';
import { TransportError, type FrameLink, type MessageTransport, type TransportErrorCode } from './transport.ts';
import { keepingAlive } from './exchange.ts';

type Pair = { a: MessageTransport; b: MessageTransport; done: () => Promise<void> };

const framed = (wrap: (l: FrameLink) => MessageTransport) => async (): Promise<Pair> => {
  const [x, y] = memoryLinkPair();
  return { a: wrap(x), b: wrap(y), done: async () => {} };
};
const PAIRS: Record<string, () => Promise<Pair>> = {
  memory: framed(memoryTransport),
  nfc: framed(nfcTransport),
  'ble-23': framed((l) => bleTransport(l, 23)),
  'ble-247': framed((l) => bleTransport(l, 247)),
  tcp: async () => {
    const listener = await tcpListen(0);
    const [a, b] = await Promise.all([tcpConnect(listener.port), listener.accept(2_000)]);
    return { a, b, done: () => listener.close() };
  },
};

const isCode = (code: TransportErrorCode) => (e: unknown) => e instanceof TransportError && e.code === code;
const message = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

/** A peer that sends keep-alives every `everyMs` until stopped or its link fails. */
function keepAliveForever(t: MessageTransport, everyMs: number): () => void {
  const timer = setInterval(() => void t.keepAlive().catch(() => clearInterval(timer)), everyMs);
  return () => clearInterval(timer);
}

for (const [name, make] of Object.entries(PAIRS)) {
  test(`${name}: keep-alives before a message are skipped, and each restarts the silence timer`, { timeout: 10_000 }, async () => {
    const { a, b, done } = await make();
    try {
      for (let i = 0; i < 5; i++) await a.keepAlive();
      await a.send(message(700));
      assert.deepEqual(await b.receive({ idleMs: 1_000, totalMs: 5_000 }), message(700));
      // Silence 50 ms × 6 would overrun a 150 ms idle bound, but a keep-alive every 50 ms keeps it open.
      const stop = keepAliveForever(a, 50);
      const got = b.receive({ idleMs: 150, totalMs: 8_000 });
      await new Promise((r) => setTimeout(r, 400));
      stop();
      await a.send(message(3));
      assert.deepEqual(await got, message(3));
    } finally {
      a.close();
      b.close();
      await done();
    }
  });

  test(`${name}: a peer that only sends keep-alives is cut off at the total deadline with DEADLINE`, { timeout: 10_000 }, async () => {
    const { a, b, done } = await make();
    const stop = keepAliveForever(a, 20);
    try {
      await assert.rejects(b.receive({ idleMs: 200, totalMs: 300 }), isCode('DEADLINE'));
      await assert.rejects(b.receive({ idleMs: 200, totalMs: 300 }), (e: unknown) => e instanceof TransportError, 'the transport stays failed');
    } finally {
      stop();
      a.close();
      b.close();
      await done();
    }
  });

  // Over the memory link every keep-alive arrives, so the count bound cuts the flood off; TCP drops
  // keep-alives behind a full queue, so there the deadline may come first. Either way: DEADLINE.
  test(`${name}: a flood of keep-alives is cut off with DEADLINE (KEEPALIVES_PER_RECEIVE_MAX or the deadline)`, { timeout: 20_000 }, async () => {
    const { a, b, done } = await make();
    try {
      const got = b.receive({ idleMs: 5_000, totalMs: 3_000 });
      const sent = (async () => {
        for (let i = 0; i <= KEEPALIVES_PER_RECEIVE_MAX; i++) await a.keepAlive();
      })().catch(() => undefined);
      await assert.rejects(got, (e: unknown) =>
        isCode('DEADLINE')(e) && (name === 'tcp' || (e as Error).message.includes(`found only ${KEEPALIVES_PER_RECEIVE_MAX + 1} keep-alives`)));
      await sent;
    } finally {
      a.close();
      b.close();
      await done();
    }
  });

  test(`${name}: silence without keep-alives is still a TIMEOUT that leaves the transport usable`, { timeout: 10_000 }, async () => {
    const { a, b, done } = await make();
    try {
      await assert.rejects(b.receive({ idleMs: 50, totalMs: 5_000 }), isCode('TIMEOUT'));
      await a.send(message(10));
      assert.deepEqual(await b.receive(1_000), message(10));
    } finally {
      a.close();
      b.close();
      await done();
    }
  });
}

test('a keep-alive inside a chained message, or a malformed one, is a bad frame', async () => {
  const cases: Array<[string, (l: FrameLink) => MessageTransport, Uint8Array[]]> = [
    ['NFC S(WTX) between chained I-blocks', nfcTransport, [Uint8Array.of(0x12, 1, 2), Uint8Array.of(0xf2, 0x01)]],
    ['NFC S(WTX) with WTXM 0', nfcTransport, [Uint8Array.of(0xf2, 0x00)]],
    ['NFC S(WTX) with WTXM 60', nfcTransport, [Uint8Array.of(0xf2, 60)]],
    ['NFC S(WTX) with extra bytes', nfcTransport, [Uint8Array.of(0xf2, 0x01, 0x00)]],
    // (Inside a BLE message every write is data, so there a keep-alive cannot be told apart: the
    // sender never interleaves one, as the keepingAlive() test below shows.)
    ['memory keep-alive with a body', memoryTransport, [Uint8Array.of(0x01, 0x00)]],
    ['memory frame of an unknown type', memoryTransport, [Uint8Array.of(0x02)]],
  ];
  for (const [what, wrap, frames] of cases) {
    const [raw, end] = memoryLinkPair();
    const t = wrap(end);
    for (const f of frames) await raw.sendFrame(f);
    await assert.rejects(t.receive(500), isCode('BAD_FRAME'), what);
  }
});

test('keepingAlive() sends keep-alives only while the work runs, and the message after it arrives whole', async () => {
  const [x, y] = memoryLinkPair();
  const sender = nfcTransport(x);
  let seen = 0;
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  // The work ends only after the peer has seen three keep-alives (no clock in the assertion).
  const watcher = (async () => {
    for (;;) {
      const f = await y.receiveFrame(5_000);
      if (f[0] === 0xf2) {
        if (++seen === 3) release();
        continue;
      }
      return f;
    }
  })();
  const result = await keepingAlive(sender, 10, async () => {
    await released;
    return 'proved';
  });
  assert.equal(result, 'proved');
  const seenAtEnd = seen;
  await sender.send(Uint8Array.of(9, 9, 9));
  assert.deepEqual(await watcher, Uint8Array.of(0x02, 9, 9, 9), 'the next frame is the message: no keep-alive after the work');
  assert.equal(seen, seenAtEnd);
  assert.ok(seenAtEnd >= 3);
  assert.equal(await keepingAlive(sender, null, async () => 7), 7);
});
