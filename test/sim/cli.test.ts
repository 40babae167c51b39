// `tally sim --json --out DIR` end to end: a short seeded run through the command line prints the
// report (per-class tapMs, energyMj, maxOfflineDays, the linking advantage per adversary) with
// every invariant held, and writes the same report, the run record and the plots into DIR.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

test('tally sim --json prints the per-class figures and the linking advantage; --out writes the report and plots', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'tally-sim-cli-'));
  try {
    const r = spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'sim', '--customers', '6', '--days', '2', '--seed', 'cli-1', '--json', '--out', out], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.invariants, 'held');
    assert.equal(report.seed, 'cli-1');
    const paying = report.classes.filter((c: { payments: number }) => c.payments > 0);
    assert.ok(paying.length >= 2, 'at least two classes paid');
    for (const c of paying) {
      assert.ok(c.tapMs.mean > 0 && c.energyMj > 0, `${c.profile}: tap time and energy from the cost model`);
      assert.ok(c.maxOfflineDays.analytic > 0 && typeof c.maxOfflineDays.binding === 'string', `${c.profile}: an offline bound and what binds it`);
    }
    assert.ok(report.privacy.adversaries.some((a: { adversary: string }) => a.adversary.startsWith('CB')));
    for (const a of report.privacy.adversaries) assert.ok(Number.isFinite(a.advantage));
    const files = readdirSync(out).sort();
    for (const f of ['report.html', 'report.json', 'report.md', 'run.json', 'tap_latency.svg', 'value.svg']) assert.ok(files.includes(f), `${f} written`);
    const written = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.deepEqual({ ...report, ok: undefined, invariants: undefined }, { ...written, ok: undefined, invariants: undefined }, 'stdout and report.json are the same report');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
