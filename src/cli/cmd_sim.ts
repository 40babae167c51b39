// `tally sim`: the seeded fleet simulator (src/sim/fleet/, issue 13). One process, one seed, the
// real network on SQLite (or, with --db postgres://…, a database per node on that server); a progress bar on stderr when it is a terminal; a summary (or --json,
// the fleet report of src/sim/analysis/, a pure function of seed and options) on stdout; --out
// writes the RunRecord, the report and its plots. SIM_SEED=random picks a seed and prints it; a broken invariant
// exits non-zero with the seed, the simulated time and the step that replay it.

import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import cliProgress from 'cli-progress';
import { DEFAULT_FAULTS, FAULT_NAMES, FLEET_FI_IDS, runFleet, FleetInvariantBroken, type FaultRates, type RunRecord } from '../sim/fleet/index.ts';
import { analyse, reportJson, writeReport, type FleetReport } from '../sim/analysis/index.ts';
import { simDatabaseName, type SimDatabase } from '../sim/node_databases.ts';
import { CliError, flag, optionInt, optionString } from './args.ts';
import { JSON_OPTION, toJson, type Command } from './command.ts';
import { parseDatabase } from './parse_db.ts';
import { writeRecordJson } from './record_json.ts';
import { heapPlan, simMemoryNeedMiB } from './sim_memory.ts';

/** A rate as typed: a plain decimal (`0.05`, `2`, `1e-3`), so `NaN`, `Infinity`, hex and signs are refused. */
const RATE_PATTERN = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** `--fault NAME=RATE` (repeatable): the fault rates this run sets, each name at most once. */
export function parseFaults(value: string | undefined): Partial<FaultRates> {
  const faults: Partial<FaultRates> = {};
  if (value === undefined) return faults;
  // parseArgs joins repeated values with ','.
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0) throw new CliError('USAGE', `--fault ${item}: expected NAME=RATE (names: ${FAULT_NAMES.join(', ')})`);
    if (!(FAULT_NAMES as readonly string[]).includes(name)) throw new CliError('USAGE', `--fault ${item}: unknown fault '${name}' (names: ${FAULT_NAMES.join(', ')})`);
    const text = item.slice(eq + 1);
    const rate = Number(text);
    if (!RATE_PATTERN.test(text) || !Number.isFinite(rate) || rate < 0) throw new CliError('USAGE', `--fault ${item}: the rate of ${name} must be a finite number ≥ 0, got '${text}'`);
    if (name in faults) throw new CliError('USAGE', `--fault ${name} given twice`);
    faults[name as keyof FaultRates] = rate;
  }
  return faults;
}

/** The command line that replays a run: its size, seed and every fault rate it set. */
function replayLine(customers: number, days: number, seed: string, faults: Partial<FaultRates>): string {
  const set = Object.keys(faults).sort().map((k) => ` --fault ${k}=${String(faults[k as keyof FaultRates])}`);
  return `tally sim --customers ${customers} --days ${days} --seed ${seed}${set.join('')}`;
}

/** `--db`: the embedded SQLite (a file per node in the run's directory) or a PostgreSQL server. */
function simDatabase(db: string | undefined, keep: boolean): SimDatabase {
  if (db === undefined || db === 'sqlite') {
    if (keep) throw new CliError('USAGE', '--keep-db keeps PostgreSQL databases; it needs --db postgres://…');
    return { engine: 'sqlite' };
  }
  const spec = parseDatabase(db);
  if (spec.engine !== 'postgres') throw new CliError('USAGE', `--db ${db}: the simulator takes sqlite (a file per node in its own directory) or postgres://…, not one SQLite file`);
  return { engine: 'postgres', serverUrl: spec.connectionString, keep };
}

/** Set in the environment of a run started again with a larger heap, so it never starts itself again. */
const HEAP_RAISED_ENV = 'TALLY_SIM_HEAP_RAISED';

const gib = (mib: number): string => (mib / 1024).toFixed(1);

/**
 * Runs this same command line again in a child Node with `--max-old-space-size=heapMiB` (any
 * other heap flag of this process dropped) and the seed this run chose, sharing this terminal; its exit code
 * is this one's.
 */
function runWithHeap(heapMiB: number, seed: string): Promise<number> {
  const node = process.execArgv.filter((a) => !a.startsWith('--max-old-space-size'));
  // The seed this run chose (SIM_SEED=random or --seed random draw one) replaces any the line gave.
  const args: string[] = [];
  const given = process.argv.slice(1);
  for (let i = 0; i < given.length; i++) {
    if (given[i] === '--seed') i++;
    else if (!given[i]!.startsWith('--seed=')) args.push(given[i]!);
  }
  args.push('--seed', seed);
  const child = spawn(process.execPath, [...node, `--max-old-space-size=${heapMiB}`, ...args], {
    stdio: 'inherit',
    env: { ...process.env, [HEAP_RAISED_ENV]: '1', SIM_SEED: seed },
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + (os.constants.signals[signal] ?? 0))));
  });
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'Run the seeded fleet simulator: a city of devices over days, with faults, checking every invariant.',
  usage: 'tally sim [--customers N] [--days D] [--seed S] [--fault NAME=RATE]… [--db sqlite|postgres://…] [--keep-db] [--json] [--out DIR]',
  options: [
    { name: 'customers', value: true, help: 'customers in the city (default 10)' },
    { name: 'days', value: true, help: 'simulated days (default 2)' },
    { name: 'seed', value: true, help: 'seed of the run (default: $SIM_SEED, "random" picks one; else "sim")' },
    {
      name: 'fault', value: true, repeatable: true,
      help: `a fault's rate, repeatable: NAME=RATE, RATE a finite number ≥ 0 (0 turns it off); names and defaults: ${FAULT_NAMES.map((n) => `${n}=${DEFAULT_FAULTS[n]}`).join(', ')} (docs/simulator.md says what each is per)`,
    },
    { name: 'db', value: true, help: 'ledger databases: sqlite (default, a file per node) or postgres://user@host:port/db, a server on which each node gets its own database tally_sim_<seed hash>_<node>, dropped at the end' },
    { name: 'keep-db', value: false, help: 'keep the PostgreSQL databases of the run (their names go to stderr)' },
    { name: 'out', value: true, help: 'directory to write run.json (the RunRecord), report.md, report.html, report.json and the SVG plots into' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const customers = optionInt(p, 'customers') ?? 10;
    const days = optionInt(p, 'days') ?? 2;
    if (customers < 1 || days < 1) throw new CliError('USAGE', '--customers and --days must be at least 1');
    const faults = parseFaults(optionString(p, 'fault'));
    const database = simDatabase(optionString(p, 'db'), flag(p, 'keep-db'));
    let seed = optionString(p, 'seed') ?? process.env['SIM_SEED'] ?? 'sim';
    if (seed === 'random') {
      seed = randomBytes(8).toString('hex');
      io.err(`SIM_SEED=random: seed ${seed} (${replayLine(customers, days, seed, faults)} replays this run)`);
    }
    const json = flag(p, 'json');
    const need = simMemoryNeedMiB(customers, days);
    const plan = heapPlan(need, v8.getHeapStatistics().heap_size_limit / 2 ** 20, os.totalmem() / 2 ** 20);
    if (plan.kind === 'too-big') {
      throw new CliError('USAGE', `a run of ${customers} customers over ${days} days needs about ${gib(need)} GiB of memory (docs/simulator.md "Scale"); this machine lets a run plan on ${gib(plan.usableMiB)} GiB: fewer customers or days`);
    }
    if (plan.kind === 'raise' && process.env[HEAP_RAISED_ENV] === undefined) {
      io.err(`tally sim: this run needs about ${gib(need)} GiB; running it again with a JavaScript heap of ${plan.heapMiB} MiB`);
      return runWithHeap(plan.heapMiB, seed);
    }
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: 'sim {bar} {percentage}% | step {value}/{total} | {payments} payments | eta {eta_formatted}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : null;
    bar?.start(1, 0, { payments: 0 });
    const t0 = performance.now();
    let record: RunRecord;
    try {
      record = await runFleet({
        customers, days, seed, database, faults,
        onProgress: (done, total, payments) => {
          bar?.setTotal(total);
          bar?.update(done, { payments });
        },
      });
    } catch (e) {
      bar?.stop();
      if (e instanceof FleetInvariantBroken) {
        if (json) io.out(toJson({ ok: false, seed: e.seed, atMs: e.atMs, step: e.step, invariant: e.invariant, why: e.why }));
        throw new CliError('CHECK_FAILED', `${e.message}\n  replay: ${replayLine(customers, days, e.seed, faults)}`);
      }
      throw e;
    }
    bar?.stop();
    if (database.engine === 'postgres' && database.keep === true) {
      const names = ['cb', ...FLEET_FI_IDS].map((n) => simDatabaseName(seed, n));
      io.err(`--keep-db: the ledger databases ${names.join(', ')} stay on ${new URL(database.serverUrl).host}`);
    }
    const wallMs = performance.now() - t0;
    const report = analyse(record);
    const out = optionString(p, 'out');
    if (out !== undefined) {
      mkdirSync(out, { recursive: true });
      const { wallMs: _w, ...deterministic } = record;
      writeRecordJson(path.join(out, 'run.json'), deterministic);
      await writeReport(report, out);
    }
    if (json) {
      // The report only: a pure function of the seed and options (wall times stay out of it).
      io.out(reportJson({ ok: true, invariants: 'held', ...report } as FleetReport).trimEnd());
      return 0;
    }
    const paid = record.payments.filter((x) => x.outcome === 'paid').length;
    const injected = new Map<string, number>();
    for (const f of record.faults) injected.set(`${f.kind} ${f.result}`, (injected.get(`${f.kind} ${f.result}`) ?? 0) + 1);
    io.out(
      [
        `tally sim: ${customers} customers, ${days} days, seed ${seed}  (${replayLine(customers, days, seed, faults)} replays it)`,
        `  devices ${record.devices.length}; payments ${record.payments.length} (${paid} paid, ${record.payments.length - paid} refused); syncs ${record.syncs.length}`,
        `  faults: ${[...injected].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`,
        `  forced syncs: ${record.offlineRuns.length}`,
        ...report.classes.map((c) => `  ${c.profile.padEnd(12)} tap ${c.tapMs.mean.toFixed(1)} ms, ${c.energyMj.toFixed(2)} mJ/payment, offline ≤ ${c.maxOfflineDays.analytic.toFixed(1)} d (${c.maxOfflineDays.binding})`),
        ...report.privacy.adversaries.map((a) => `  linking: ${a.adversary} advantage ${a.advantage.toFixed(4)} (AUC ${a.auc.toFixed(4)})`),
        '  invariants: all held (checked after every sync, at every simulated midnight, and quiescent at the end)',
        `  wall ${(wallMs / 1000).toFixed(1)} s, ${(paid / (wallMs / 1000)).toFixed(1)} simulated payments per wall second; time by phase (ms): ${Object.entries(record.wallMs ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      ].join('\n'),
    );
    return 0;
  },
};
