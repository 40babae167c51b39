// Tests for the SE's non-volatile memory: a transaction cut at any persistent write, torn or not,
// recovers to exactly the state before or after it, on the in-memory and the file backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { FaultInjector, FileBackend, MemoryBackend, Nvm, PowerCut, type NvmBackend, type NvmWrites } from './nvm.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dump = (nvm: Nvm): string =>
  JSON.stringify([...nvm.snapshot()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Buffer.from(v).toString('hex')]));

function copyMemory(src: MemoryBackend): MemoryBackend {
  const out = new MemoryBackend();
  for (const [k, v] of src.cells) out.cells.set(k, v.slice());
  return out;
}

const keyArb = fc.constantFrom('wallet', 'policy', 'log/0001', 'log/0002', 'cred/7');
const writesArb = fc
  .array(fc.tuple(keyArb, fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: null })), {
    minLength: 1,
    maxLength: 5,
  })
  .map((ops) => new Map(ops) as NvmWrites);

test('a transaction cut after any write, torn or not, recovers to before or after', () => {
  fc.assert(
    fc.property(writesArb, writesArb, (first, second) => {
      const base = new MemoryBackend();
      Nvm.open(base).commit(first);
      const before = dump(Nvm.open(copyMemory(base)));
      const counter = new FaultInjector(copyMemory(base));
      const full = Nvm.open(counter);
      full.commit(second);
      const after = dump(full);
      const writes = counter.writes;
      assert.ok(writes >= 2, 'journal write and journal removal at least');
      for (let i = 1; i <= writes; i++) {
        for (const torn of [false, true]) {
          const disk = copyMemory(base);
          const faulty = Nvm.open(new FaultInjector(disk, { cutAfterWrite: i, torn }));
          assert.throws(() => faulty.commit(second), PowerCut);
          const recovered = dump(Nvm.open(disk));
          assert.ok(recovered === before || recovered === after, `cut at ${i} torn=${torn}`);
          if (i === 1) assert.equal(recovered, torn ? before : after); // journal torn or whole
          if (i > 1) assert.equal(recovered, after); // past the commit point
        }
      }
    }),
    { numRuns: 60 },
  );
});

test('the file backend survives a reopen and a cut journal write', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-nvm-'));
  try {
    const nvm = Nvm.open(new FileBackend(dir));
    nvm.commit(new Map([['wallet', enc('one')], ['log/0001', enc('r1')]]));
    const faulty = Nvm.open(new FaultInjector(new FileBackend(dir), { cutAfterWrite: 1, torn: true }));
    assert.throws(() => faulty.commit(new Map([['wallet', enc('two')], ['log/0001', null]])), PowerCut);
    const reopened = Nvm.open(new FileBackend(dir));
    assert.deepEqual(reopened.get('wallet'), enc('one'));
    assert.deepEqual(reopened.keys('log/'), ['log/0001']);
    const faulty2 = Nvm.open(new FaultInjector(new FileBackend(dir), { cutAfterWrite: 2, torn: true }));
    assert.throws(() => faulty2.commit(new Map([['wallet', enc('three-longer')], ['log/0001', null]])), PowerCut);
    const again = Nvm.open(new FileBackend(dir));
    assert.deepEqual(again.get('wallet'), enc('three-longer'));
    assert.deepEqual(again.keys('log/'), []);
    assert.ok(!fs.readdirSync(dir).includes('~journal'), 'recovery removes the journal');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a dead injector refuses every later operation and a bad key is a programmer error', () => {
  const backend: NvmBackend = new FaultInjector(new MemoryBackend(), { cutAfterWrite: 1 });
  const nvm = Nvm.open(backend);
  assert.throws(() => nvm.commit(new Map([['a', enc('x')]])), PowerCut);
  assert.throws(() => backend.read('a'), PowerCut);
  const ok = Nvm.open(new MemoryBackend());
  assert.throws(() => ok.commit(new Map([['Bad Key', enc('x')]])), /bad key/);
  assert.throws(() => ok.commit(new Map([['~journal', enc('x')]])), /bad key/);
});

test('a power cut during recovery itself is recovered by the next start', () => {
  const disk = new MemoryBackend();
  Nvm.open(disk).commit(new Map([['a', enc('old-a')], ['b', enc('old-b')]]));
  const writes = new Map([['a', enc('new-a')], ['b', enc('new-b')], ['c', enc('new-c')]]);
  assert.throws(() => Nvm.open(new FaultInjector(disk, { cutAfterWrite: 2, torn: true })).commit(writes), PowerCut);
  for (let cut = 1; cut <= 4; cut++) {
    const copy = copyMemory(disk);
    assert.throws(() => Nvm.open(new FaultInjector(copy, { cutAfterWrite: cut, torn: true })), PowerCut);
    const recovered = Nvm.open(copy);
    assert.deepEqual([recovered.get('a'), recovered.get('b'), recovered.get('c')], [enc('new-a'), enc('new-b'), enc('new-c')], `cut ${cut}`);
  }
});
