// The fleet's hostile-peer fault: a peer answers a terminal's payment request with random frames.
// The terminal's SE must refuse, and nothing in it may change.

import { PROFILES } from '../../device/index.ts';
import { memoryLinkPair } from '../../protocol/index.ts';
import { units } from './population.ts';
import type { FleetArena, Live } from './arena.ts';

/** Frames per attempt and bytes per frame the fuzzer sends (small: it is the refusal that is tested). */
const FUZZ_FRAMES_MAX = 4;
const FUZZ_FRAME_BYTES_MAX = 64;
const FUZZ_TIMEOUT_MS = 2_000;

export async function hostilePeer(arena: FleetArena, t: Live): Promise<void> {
  const before = await t.device.se.getInfo();
  const [a, b] = memoryLinkPair();
  const payee = t.device.transport(b, 'nfc', PROFILES[t.plan.profile].bleMtu);
  const fuzz = (async () => {
    await a.receiveFrame(FUZZ_TIMEOUT_MS).catch(() => undefined);
    for (let i = 0; i < arena.rand.int(1, FUZZ_FRAMES_MAX); i++) {
      const n = arena.rand.int(1, FUZZ_FRAME_BYTES_MAX);
      const frame = new Uint8Array(n);
      for (let j = 0; j < n; j++) frame[j] = arena.rand.int(0, 255);
      await a.sendFrame(frame).catch(() => undefined);
    }
    a.close();
  })();
  let refused = false;
  try {
    await t.device.receive(payee, units(5), { timeoutMs: FUZZ_TIMEOUT_MS });
  } catch {
    refused = true;
  } finally {
    payee.close();
    await fuzz;
  }
  const after = await t.device.se.getInfo();
  if (!refused || after.balanceMinor !== before.balanceMinor || after.receiptCount !== before.receiptCount) {
    arena.broken('hostile-peer-refused', `terminal ${t.plan.name} accepted fuzzed frames or changed state`);
  }
  arena.fault('hostile-peer', 'refused', t.plan.name);
}
