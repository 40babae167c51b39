// The fleet run's memory plan: the estimate grows with customers and customer-days; a run within
// the heap limit runs as is, one above it but within the machine runs again with a larger heap,
// one past the machine is refused. test/sim/cli.test.ts runs the raise and the refusal for real.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heapPlan, simMemoryNeedMiB, SIM_MEMORY_BASE_MIB, SIM_MEMORY_SHARE_MAX } from './sim_memory.ts';

test('the estimate: the base, then more per customer and per customer-day', () => {
  assert.ok(simMemoryNeedMiB(1, 1) > SIM_MEMORY_BASE_MIB);
  assert.ok(simMemoryNeedMiB(1000, 1) > simMemoryNeedMiB(100, 1));
  assert.ok(simMemoryNeedMiB(100, 7) > simMemoryNeedMiB(100, 1));
  // The measured runs (docs/simulator.md "Scale") fit well inside the estimate.
  assert.ok(simMemoryNeedMiB(1000, 1) >= 548, '1000 customers, 1 day: 548 MiB measured');
  assert.ok(simMemoryNeedMiB(100, 1) >= 311, '100 customers, 1 day: 311 MiB measured');
  assert.ok(simMemoryNeedMiB(10_000, 1) >= 4040, '10,000 customers, 1 day: 3.95 GiB measured');
  for (const [c, d] of [[0, 1], [1, 0], [1.5, 1], [Number.NaN, 1]]) assert.throws(() => simMemoryNeedMiB(c!, d!), RangeError);
});

test('the plan: as is within the heap limit, a larger heap within the machine, refused past it', () => {
  assert.deepEqual(heapPlan(300, 4096, 24_576), { kind: 'enough' });
  assert.deepEqual(heapPlan(4096, 4096, 24_576), { kind: 'enough' });
  assert.deepEqual(heapPlan(4097, 4096, 24_576), { kind: 'raise', heapMiB: 4097 });
  const usable = Math.floor(24_576 * SIM_MEMORY_SHARE_MAX);
  assert.deepEqual(heapPlan(usable, 4096, 24_576), { kind: 'raise', heapMiB: usable });
  assert.deepEqual(heapPlan(usable + 1, 4096, 24_576), { kind: 'too-big', usableMiB: usable });
  assert.deepEqual(heapPlan(usable + 1, 100_000, 24_576), { kind: 'too-big', usableMiB: usable }, 'a large heap flag does not make the machine larger');
});
