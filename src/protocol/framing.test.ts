// NFC and BLE framings over the in-memory link: every message size 0..3000 round-trips (BLE at
// several MTUs), and a hostile peer holding the raw link end gets typed TransportErrors for
// oversize, truncated and garbage frames, never a crash and never a buffer beyond the limit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seededRng } from '../crypto/rng.ts';
import { bleTransport, bleWrites, negotiateBleMtu } from './framing_ble.ts';
import { nfcFrames, nfcTransport } from './framing_nfc.ts';
import * as L from './limits.ts';
import { memoryLinkPair } from './memory_link.ts';
import { TransportError, type FrameLink, type MessageTransport, type TransportErrorCode } from './transport.ts';

const rng = seededRng('framing.test');

async function roundTrip(a: MessageTransport, b: MessageTransport, message: Uint8Array): Promise<void> {
  const [, got] = await Promise.all([a.send(message), b.receive(1000)]);
  assert.deepEqual(got, message, `message of ${message.length} bytes`);
}

async function refuses(p: Promise<unknown>, code: TransportErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof TransportError && e.code === code, `expected ${code}`);
}

function nfcPair(): [MessageTransport, MessageTransport] {
  const [x, y] = memoryLinkPair();
  return [nfcTransport(x), nfcTransport(y)];
}
function blePair(mtu: number): [MessageTransport, MessageTransport] {
  const [x, y] = memoryLinkPair();
  return [bleTransport(x, mtu), bleTransport(y, mtu)];
}

test('NFC framing round-trips every message size 0..3000 in both directions', async () => {
  const [a, b] = nfcPair();
  const data = rng(3000);
  for (let n = 0; n <= 3000; n++) {
    if (n % 2 === 0) await roundTrip(a, b, data.subarray(0, n));
    else await roundTrip(b, a, data.subarray(0, n));
  }
  await roundTrip(a, b, rng(L.MESSAGE_BYTES_MAX));
});

test('NFC framing chains at 255 bytes: 510 bytes is two full I-blocks, 511 is three', () => {
  const f510 = nfcFrames(new Uint8Array(510), 0);
  assert.deepEqual(f510.map((f) => [f[0], f.length]), [[0x12, 256], [0x03, 256]]);
  const f511 = nfcFrames(new Uint8Array(511), 1);
  assert.deepEqual(f511.map((f) => [f[0], f.length]), [[0x13, 256], [0x12, 256], [0x03, 2]]);
  assert.deepEqual(nfcFrames(new Uint8Array(0), 0).map((f) => [...f]), [[0x02]]);
});

test('BLE framing round-trips sizes 0..3000 at MTU 23, 24, 100, 185 and 247', async () => {
  const data = rng(3000);
  for (const mtu of [23, 24, 100, 185, 247]) {
    const [a, b] = blePair(mtu);
    const step = mtu === 23 || mtu === 247 ? 1 : 13;
    for (let n = 0; n <= 3000; n += step) await roundTrip(a, b, data.subarray(0, n));
    await roundTrip(b, a, data.subarray(0, 3000));
    await roundTrip(a, b, rng(L.MESSAGE_BYTES_MAX));
  }
});

test('BLE writes never exceed MTU − 3 and carry the length once', () => {
  fc.assert(
    fc.property(fc.integer({ min: L.BLE_MTU_MIN, max: L.BLE_MTU_MAX }), fc.nat({ max: L.MESSAGE_BYTES_MAX }), (mtu, n) => {
      const writes = bleWrites(new Uint8Array(n), mtu);
      assert.ok(writes.every((w) => w.length >= 1 && w.length <= mtu - 3));
      assert.equal(writes.reduce((s, w) => s + w.length, 0), n + 2);
      assert.equal(writes.length, Math.ceil((n + 2) / (mtu - 3)));
    }),
    { numRuns: 200 },
  );
  assert.equal(negotiateBleMtu(247, 185), 185);
  assert.equal(negotiateBleMtu(10, 247), 23);
  assert.equal(negotiateBleMtu(517, 600), 247);
  assert.throws(() => bleTransport(memoryLinkPair()[0], 22), /MTU 22/);
});

// ---- hostile peers -------------------------------------------------------------------------------

function hostileNfc(): { raw: FrameLink; t: MessageTransport } {
  const [raw, y] = memoryLinkPair();
  return { raw, t: nfcTransport(y) };
}

test('NFC framing refuses oversize, non-I-block, empty and out-of-sequence frames', async () => {
  const cases: Array<[Uint8Array[], TransportErrorCode]> = [
    [[new Uint8Array(257).fill(0x02)], 'FRAME_TOO_LONG'],
    [[Uint8Array.of(0xa2)], 'BAD_FRAME'], // R(ACK) block
    [[Uint8Array.of(0xc2, 1)], 'BAD_FRAME'], // S-block
    [[Uint8Array.of(0x0a, 1)], 'BAD_FRAME'], // CID bit set
    [[new Uint8Array(0)], 'BAD_FRAME'],
    [[Uint8Array.of(0x03, 1)], 'OUT_OF_SEQUENCE'],
    [[Uint8Array.of(0x12, 1), Uint8Array.of(0x12, 1)], 'OUT_OF_SEQUENCE'], // block repeated
    [[Uint8Array.of(0x12)], 'BAD_FRAME'], // chained block without data
  ];
  for (const [frames, code] of cases) {
    const { raw, t } = hostileNfc();
    for (const f of frames) await raw.sendFrame(f);
    await refuses(t.receive(500), code);
    await refuses(t.receive(500), code); // poisoned: the same error again
    await refuses(raw.sendFrame(Uint8Array.of(0x02)), 'CLOSED'); // and the link is closed
  }
});

test('NFC framing stops a chain that grows past MESSAGE_BYTES_MAX', async () => {
  const { raw, t } = hostileNfc();
  const pending = refuses(t.receive(2000), 'MESSAGE_TOO_LONG');
  let sent = 0;
  try {
    for (let i = 0; i < 100; i++, sent++) {
      const f = new Uint8Array(256).fill(0xee);
      f[0] = 0x12 | (i & 1);
      await raw.sendFrame(f);
    }
  } catch (e) {
    assert.ok(e instanceof TransportError && e.code === 'CLOSED');
  }
  await pending;
  assert.ok(sent <= Math.ceil(L.MESSAGE_BYTES_MAX / 255) + 1 + L.MEMORY_LINK_QUEUE_FRAMES_MAX, `sender cut off after ${sent} frames`);
});

test('NFC framing reports a chain cut by a closed link as TRUNCATED, a close between messages as CLOSED', async () => {
  const a = hostileNfc();
  await a.raw.sendFrame(Uint8Array.of(0x12, 1, 2, 3));
  a.raw.close();
  await refuses(a.t.receive(500), 'TRUNCATED');
  const b = hostileNfc();
  b.raw.close();
  await refuses(b.t.receive(500), 'CLOSED');
  const c = hostileNfc();
  await refuses(c.t.receive(20), 'TIMEOUT');
  await c.raw.sendFrame(Uint8Array.of(0x02, 9));
  assert.deepEqual(await c.t.receive(500), Uint8Array.of(9)); // a timeout does not poison
});

function hostileBle(mtu = 23): { raw: FrameLink; t: MessageTransport } {
  const [raw, y] = memoryLinkPair();
  return { raw, t: bleTransport(y, mtu) };
}

test('BLE framing refuses oversize writes, huge declared lengths, overruns and empty writes', async () => {
  const cases: Array<[Uint8Array[], TransportErrorCode]> = [
    [[new Uint8Array(21)], 'FRAME_TOO_LONG'],
    [[Uint8Array.of(0xff, 0xff, 0x00)], 'MESSAGE_TOO_LONG'], // the keep-alive prefix with data after it is a length
    [[Uint8Array.of(0x0c, 0x01)], 'MESSAGE_TOO_LONG'], // 3073 = MESSAGE_BYTES_MAX + 1
    [[Uint8Array.of(0x00)], 'BAD_FRAME'], // no room for the length prefix
    [[new Uint8Array(0)], 'BAD_FRAME'],
    [[Uint8Array.of(0x00, 0x02, 1, 2, 3)], 'BAD_FRAME'], // 3 bytes for a declared 2
    [[Uint8Array.of(0x00, 0x05, 1), Uint8Array.of(2, 3, 4, 5, 6)], 'BAD_FRAME'],
    [[Uint8Array.of(0x00, 0x05, 1), new Uint8Array(0)], 'BAD_FRAME'],
  ];
  for (const [frames, code] of cases) {
    const { raw, t } = hostileBle();
    for (const f of frames) await raw.sendFrame(f);
    await refuses(t.receive(500), code);
    await refuses(t.receive(500), code);
  }
  const { raw, t } = hostileBle();
  await raw.sendFrame(Uint8Array.of(0x00, 0x05, 1, 2));
  raw.close();
  await refuses(t.receive(500), 'TRUNCATED');
});

test('a timeout in the middle of a message poisons NFC and BLE (the stream position is lost)', async () => {
  const n = hostileNfc();
  await n.raw.sendFrame(Uint8Array.of(0x12, 1));
  await refuses(n.t.receive(20), 'TIMEOUT');
  await refuses(n.t.receive(500), 'TIMEOUT');
  await refuses(n.raw.sendFrame(Uint8Array.of(0x03, 2)), 'CLOSED');
  const b = hostileBle();
  await b.raw.sendFrame(Uint8Array.of(0x00, 0x05, 1));
  await refuses(b.t.receive(20), 'TIMEOUT');
  await refuses(b.t.receive(500), 'TIMEOUT');
  const ok = hostileBle();
  await refuses(ok.t.receive(20), 'TIMEOUT');
  await ok.raw.sendFrame(Uint8Array.of(0x00, 0x01, 7));
  assert.deepEqual(await ok.t.receive(500), Uint8Array.of(7));
});

test('transports refuse to send a message over MESSAGE_BYTES_MAX', async () => {
  const big = new Uint8Array(L.MESSAGE_BYTES_MAX + 1);
  await refuses(nfcPair()[0].send(big), 'MESSAGE_TOO_LONG');
  await refuses(blePair(247)[0].send(big), 'MESSAGE_TOO_LONG');
});

test('the memory link applies back-pressure instead of queueing without bound', async () => {
  const [a, b] = memoryLinkPair();
  let done = 0;
  const sends = Array.from({ length: L.MEMORY_LINK_QUEUE_FRAMES_MAX + 10 }, (_, i) => a.sendFrame(Uint8Array.of(i & 0xff)).then(() => done++));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(done, L.MEMORY_LINK_QUEUE_FRAMES_MAX, 'senders beyond the queue bound wait');
  for (let i = 0; i < L.MEMORY_LINK_QUEUE_FRAMES_MAX + 10; i++) assert.deepEqual(await b.receiveFrame(100), Uint8Array.of(i & 0xff));
  await Promise.all(sends);
  const blocked = Array.from({ length: L.MEMORY_LINK_QUEUE_FRAMES_MAX + 1 }, () => a.sendFrame(Uint8Array.of(1)));
  b.close();
  await refuses(blocked[blocked.length - 1]!, 'CLOSED');
});
