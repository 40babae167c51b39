// run.json is written a top-level array element at a time (src/cli/record_json.ts) so that a
// record past V8's longest string still reaches the disk; these check it writes exactly the bytes
// one toJson of the whole record would, for any record and across its write chunks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { toJson } from '../../src/cli/command.ts';
import { writeRecordJson } from '../../src/cli/record_json.ts';

function written(record: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-record-json-'));
  try {
    writeRecordJson(path.join(dir, 'run.json'), record);
    return readFileSync(path.join(dir, 'run.json'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// What a RunRecord holds: objects with strings, numbers, bigints, bytes, nested objects, lists, and
// optional fields left undefined.
const leaf = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.bigInt(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 8 }), fc.constant(undefined));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 })),
})).node;
const record = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(value, fc.array(value, { maxLength: 6 })), { maxKeys: 6 });

test('writes the bytes of one toJson of the whole record, for any record', () => {
  fc.assert(fc.property(record, (r) => {
    assert.equal(written(r), `${toJson(r)}\n`);
  }), { numRuns: 300 });
});

test('the same bytes for a record larger than one write chunk (4 MiB), element boundaries across chunks', () => {
  const payments = Array.from({ length: 60_000 }, (_, i) => ({ step: i, nullifier: 'ab'.repeat(48), amountMinor: BigInt(i) * 7n, bytes: new Uint8Array([i & 255, 1, 2]), note: i % 3 === 0 ? undefined : `p${i}` }));
  const r = { seed: 'big', options: { customers: 1, faults: {} }, payments, syncs: [], totals: [{ atMs: 1, ok: true }] };
  const text = written(r);
  assert.ok(text.length > 8 * 1024 * 1024, 'crosses at least two chunks');
  assert.equal(text, `${toJson(r)}\n`);
});
