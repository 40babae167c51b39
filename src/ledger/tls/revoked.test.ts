// The revocation list the CB follows: read at start (a missing or malformed file stops the node),
// re-read when the file changes but stat'ed at most once per recheck interval, and failing closed
// while the file is unreadable, until it reads again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LedgerError } from '../errors.ts';
import { RevokedSerials, parseRevokedFile, revokeSerial, writeRevokedFile } from './revoked.ts';

function inTmp(fn: (file: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-revoked-'));
  try {
    fn(path.join(dir, 'revoked.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a missing or malformed revocation file is refused at start', () => {
  inTmp((file) => {
    assert.throws(() => RevokedSerials.open(file), /ENOENT/);
    for (const text of ['not json', '[]', '{"kind":"tally-revoked-certificates","version":2,"serials":[]}', '{"kind":"tally-revoked-certificates","version":1,"serials":["ABCD"]}', '{"kind":"tally-revoked-certificates","version":1,"serials":[12]}']) {
      writeFileSync(file, text);
      assert.throws(() => RevokedSerials.open(file), /revoked\.json/, text);
    }
  });
});

test('serials are kept in one form: leading zeros dropped, sorted, no duplicates', () => {
  inTmp((file) => {
    writeRevokedFile(file, ['00ab', 'ab', '01']);
    assert.deepEqual([...parseRevokedFile(JSON.stringify({ kind: 'tally-revoked-certificates', version: 1, serials: ['00ab'] }), file)], ['ab']);
    assert.equal(revokeSerial(file, 'AB'), false);
    assert.equal(revokeSerial(file, '0c'), true);
    assert.equal(RevokedSerials.open(file).has('000C'), true);
  });
});

test('a change is seen after the recheck interval, and an unreadable file fails closed until it reads again', () => {
  inTmp((file) => {
    let now = 1_000;
    writeRevokedFile(file, []);
    const list = RevokedSerials.open(file, { recheckMs: 1000, nowMs: () => now });
    revokeSerial(file, 'aa');
    assert.equal(list.has('aa'), false, 'not re-read within the interval');
    now += 1000;
    assert.equal(list.has('aa'), true);
    unlinkSync(file);
    now += 1000;
    assert.throws(() => list.has('bb'), (e: unknown) => e instanceof LedgerError && e.code === 'UNAUTHENTICATED' && /Cannot check certificate revocation/.test(e.message));
    writeRevokedFile(file, ['bb']);
    assert.equal(list.has('bb'), true, 'read again at once after a failure');
    assert.equal(list.has('aa'), false);
    list.close();
    assert.throws(() => list.has('bb'), /after close/);
  });
});
