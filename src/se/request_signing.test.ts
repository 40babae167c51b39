// SIGN_REQUEST: the SE's per-device request counter and its signature over (device id, counter,
// digest). The counter only grows — across restarts and across a power cut at any persistent
// write of the command (either the old counter and no signature, or the new counter kept) — the
// signature verifies only for the exact device, counter and digest, and a blank or keyed SE refuses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../crypto/rng.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { Applet } from './applet.ts';
import { SeClient, transmitTo } from './client.ts';
import { FaultInjector, MemoryBackend, PowerCut, type NvmBackend } from './nvm.ts';
import { deviceRequestMessage, verifyDeviceRequest } from './request_signature.ts';
import { SECTIONS } from './state.ts';
import { SeError } from './status.ts';
import { makeWorld, provisionSe } from '../../test/support/world.ts';

const w = makeWorld('request-signing');
const open = (backend: NvmBackend, seed = 'se') => {
  const applet = Applet.open({ backend, rng: seededRng(seed), clock: w.clock });
  return { applet, client: new SeClient(transmitTo(applet)) };
};
const copy = (b: MemoryBackend): MemoryBackend => {
  const out = new MemoryBackend();
  for (const [k, v] of b.cells) out.cells.set(k, v.slice());
  return out;
};
const storedCounter = (b: MemoryBackend): bigint => SECTIONS.requests.decode(b.cells.get('requests')!).lastCounter;
const digest = (i: number) => new Uint8Array(32).fill(i);

test('SIGN_REQUEST is refused before personalisation (blank and keyed SE)', async () => {
  const { client } = open(new MemoryBackend());
  await assert.rejects(client.signRequest(digest(1)), (e: unknown) => e instanceof SeError && e.code === 'BAD_STATE');
  await client.generateKeys({ deviceClass: DeviceClass.wallet, manufacturerCaPublicKey: w.manufacturer.publicKey });
  await assert.rejects(client.signRequest(digest(1)), (e: unknown) => e instanceof SeError && e.code === 'BAD_STATE');
});

test('the request counter strictly increases across restarts, and each signature verifies only for its own device, counter and digest', async () => {
  const backend = new MemoryBackend();
  const first = open(backend);
  const keys = await provisionSe(w, first.client, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
  const seen: bigint[] = [];
  for (let restart = 0; restart < 3; restart++) {
    const { client } = open(backend, `se/${restart}`);
    for (let i = 0; i < 2; i++) {
      const r = await client.signRequest(digest(i));
      seen.push(r.counter);
      assert.ok(verifyDeviceRequest(keys.attestationPublicKey, keys.deviceId, r.counter, digest(i), r.signature));
      assert.equal(verifyDeviceRequest(keys.attestationPublicKey, keys.deviceId, r.counter + 1n, digest(i), r.signature), false, 'another counter');
      assert.equal(verifyDeviceRequest(keys.attestationPublicKey, keys.deviceId, r.counter, digest(i + 1), r.signature), false, 'another digest');
      assert.equal(verifyDeviceRequest(keys.attestationPublicKey, new Uint8Array(16), r.counter, digest(i), r.signature), false, 'another device id');
      const flipped = r.signature.slice();
      flipped[5]! ^= 1;
      assert.equal(verifyDeviceRequest(keys.attestationPublicKey, keys.deviceId, r.counter, digest(i), flipped), false, 'a flipped signature byte');
    }
  }
  assert.deepEqual(seen, [1n, 2n, 3n, 4n, 5n, 6n]);
  assert.equal(storedCounter(backend), 6n);
  // The message is domain-separated and fixed-layout: tag, 16-byte id, u64 counter, digest.
  const m = deviceRequestMessage(keys.deviceId, 258n, digest(9));
  assert.equal(new TextDecoder().decode(m.subarray(0, 23)), 'tally/device-request/v1');
  assert.deepEqual([...m.subarray(39, 47)], [0, 0, 0, 0, 0, 0, 1, 2]);
  assert.equal(m.length, 23 + 16 + 8 + 32);
});

test('a power cut at any write of SIGN_REQUEST leaves the old counter and no signature, or the new counter persisted', async () => {
  const base = new MemoryBackend();
  const keys = await provisionSe(w, open(base).client, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
  await open(base).client.signRequest(digest(0));
  // How many writes one SIGN_REQUEST makes.
  const probe = new FaultInjector(copy(base));
  await open(probe).client.signRequest(digest(1));
  assert.ok(probe.writes >= 2, `SIGN_REQUEST made ${probe.writes} writes`);
  const outcomes = new Set<string>();
  for (let cut = 1; cut <= probe.writes; cut++) {
    for (const torn of [false, true]) {
      const disk = copy(base);
      const { client } = open(new FaultInjector(disk, { cutAfterWrite: cut, torn }));
      await assert.rejects(client.signRequest(digest(1)), PowerCut, `cut ${cut}${torn ? ' torn' : ''}: no answer leaves the SE`);
      const restarted = open(disk, 'restart').client;
      const kept = storedCounter(disk);
      assert.ok(kept === 1n || kept === 2n, `cut ${cut}: counter ${kept} is neither the old nor the new one`);
      outcomes.add(kept === 1n ? 'old' : 'new');
      const next = await restarted.signRequest(digest(2));
      assert.equal(next.counter, kept + 1n, 'the next request spends the counter after the kept one, never a used one');
      assert.ok(verifyDeviceRequest(keys.attestationPublicKey, keys.deviceId, next.counter, digest(2), next.signature));
    }
  }
  assert.deepEqual([...outcomes].sort(), ['new', 'old'], 'both sides of the commit point were exercised');
});
