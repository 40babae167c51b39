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
    assert.deepEqual(report.options, { customers: 6, days: 2, db: 'sqlite' }, 'a run on the default rates records none (its report is what it was before --fault)');
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

const tally = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'sim', ...args], { encoding: 'utf8', timeout: 300_000 });

test('tally sim --fault refuses an unknown name or a rate that is not a finite number ≥ 0, naming it, before running anything', () => {
  const cases: [string[], RegExp][] = [
    [['--fault', 'bogus=0.1'], /unknown fault 'bogus'/],
    [['--fault', 'powercut=0.1'], /unknown fault 'powercut'/],
    [['--fault', 'powerCut'], /--fault powerCut: expected NAME=RATE/],
    [['--fault', 'powerCut='], /rate of powerCut must be a finite number ≥ 0, got ''/],
    [['--fault', 'powerCut=-0.1'], /rate of powerCut must be a finite number ≥ 0, got '-0.1'/],
    [['--fault', 'brokenSe=NaN'], /rate of brokenSe must be a finite number ≥ 0, got 'NaN'/],
    [['--fault', 'collusion=Infinity'], /rate of collusion must be a finite number ≥ 0, got 'Infinity'/],
    [['--fault', 'hostAttack=1e999'], /rate of hostAttack must be a finite number ≥ 0, got '1e999'/],
    [['--fault', 'hostAttack=0x10'], /rate of hostAttack must be a finite number ≥ 0, got '0x10'/],
    [['--fault', 'linkLost=0.1', '--fault', 'linkLost=0.2'], /--fault linkLost given twice/],
    [['--fault', 'linkLost=0,5'], /--fault 5: expected NAME=RATE/],
  ];
  for (const [args, message] of cases) {
    const r = tally('--customers', '1', '--days', '1', '--seed', 'fault-usage', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: a usage error (${r.stderr})`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing ran`);
  }
});

test('tally sim --fault sets each rate, the report records the rates set and the printed replay line carries them', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'tally-sim-cli-'));
  try {
    // Every fault off but a hostile peer on each of the 2 days (rate 1: drawn every day).
    const off = ['restoredSnapshot', 'duplicateSync', 'lateSync', 'fiRestart', 'clockSkew', 'linkLost', 'powerCut', 'brokenSe', 'hostAttack', 'collusion'];
    const args = ['--customers', '1', '--days', '2', '--seed', 'fault-flags', ...off.flatMap((n) => ['--fault', `${n}=0`]), '--fault', 'hostilePeer=1', '--out', out];
    const r = tally(...args);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    const expected = Object.fromEntries([...off.map((n) => [n, 0] as const), ['hostilePeer', 1] as const].sort(([a], [b]) => (a < b ? -1 : 1)));
    assert.deepEqual(report.options.faults, expected, 'the rates set, by name');
    assert.deepEqual(Object.keys(report.options.faults), Object.keys(expected), 'sorted by name');
    assert.deepEqual(report.faults, { 'hostile-peer': { refused: 2 } }, 'only the fault left on was injected, once a day');
    const replay = /\((tally sim [^)]*) replays it\)/.exec(r.stdout)?.[1];
    assert.ok(replay !== undefined, r.stdout);
    assert.equal(replay, `tally sim --customers 1 --days 2 --seed fault-flags ${Object.entries(expected).map(([k, v]) => `--fault ${k}=${v}`).join(' ')}`);
    // The printed line replays the run: the same report.
    const again = tally(...replay.split(' ').slice(2), '--json');
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual({ ...JSON.parse(again.stdout), ok: undefined, invariants: undefined }, { ...report, ok: undefined, invariants: undefined });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a run above the heap limit runs itself again with a larger heap (same output); one past the machine is refused before it starts', () => {
  const tally = path.join(repo, 'bin/tally.mjs');
  const args = ['sim', '--customers', '2', '--days', '1', '--seed', 'heap-1', '--json'];
  const plain = spawnSync(process.execPath, [tally, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(plain.status, 0, plain.stderr);
  // A 200 MiB heap is below what any run is estimated to need (the base alone is more).
  const small = spawnSync(process.execPath, ['--max-old-space-size=200', tally, ...args], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(small.status, 0, small.stderr);
  assert.match(small.stderr, /running it again with a JavaScript heap of \d+ MiB/);
  assert.equal(small.stdout, plain.stdout, 'the run again gives the same report');
  // A seed drawn by this run (--seed random) is the one the run again uses, so the printed replay line holds.
  const drawn = spawnSync(process.execPath, ['--max-old-space-size=200', tally, 'sim', '--customers', '2', '--days', '1', '--seed', 'random', '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(drawn.status, 0, drawn.stderr);
  const printed = /SIM_SEED=random: seed ([0-9a-f]+)/.exec(drawn.stderr)?.[1];
  assert.ok(printed !== undefined, drawn.stderr);
  assert.equal(JSON.parse(drawn.stdout).seed, printed);
  const huge = spawnSync(process.execPath, [tally, 'sim', '--customers', '100000000', '--days', '7'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(huge.status, 2, huge.stderr);
  assert.match(huge.stderr, /needs about [\d.]+ GiB of memory .*fewer customers or days/);
  assert.equal(huge.stdout, '');
});
