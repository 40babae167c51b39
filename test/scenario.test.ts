// The main job as a test: `tally demo` in a fresh data directory must finish with every expected
// outcome, a clean audit and exit code 0 — run through the real CLI entry point in a child process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('tally demo runs the whole scenario on SQLite and exits 0 with a clean audit', () => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tally-scenario-test-')), 'data');
  try {
    const r = spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'demo', '--data-dir', dataDir, '--seed', 'ci-scenario', '--json'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `demo failed:\n${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(r.stdout) as { ok: boolean; payments: number; settled: number; doubleSpends: number; auditClean: boolean; refused: unknown[] };
    assert.equal(result.ok, true);
    assert.equal(result.auditClean, true);
    assert.equal(result.doubleSpends, 1);
    assert.equal(result.payments, 9);
    assert.equal(result.settled, 8);
    assert.equal(result.refused.length, 2);
  } finally {
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
});

test('tally demo refuses a non-empty data directory with a usage error (exit 2)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-scenario-busy-'));
  try {
    spawnSync('touch', [path.join(dir, 'something')]);
    const r = spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'demo', '--data-dir', dir], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
