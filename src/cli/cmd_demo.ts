// `tally demo` (also `npm start`): the end-to-end scenario on the embedded default — one process,
// SQLite files under a data directory (a fresh temporary one unless --data-dir is given).

import { engineInfo } from '../crypto/engine/index.ts';
import { mkdtempSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runScenario } from '../sim/scenario.ts';
import { ScenarioFailure, ScenarioLog } from '../sim/report.ts';
import { CliError, flag, optionString } from './args.ts';
import { JSON_OPTION, toJson, type Command } from './command.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the whole system end to end in one process on SQLite and check every outcome.',
  usage: 'tally demo [--data-dir DIR] [--seed SEED] [--json]',
  options: [
    { name: 'data-dir', value: true, help: 'empty or new directory for the databases and SE memories (default: a temporary one)' },
    { name: 'seed', value: true, help: 'seed for every key and random choice (printed; replays a run)' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const given = optionString(p, 'data-dir');
    if (given !== undefined && existsSync(given) && readdirSync(given).length > 0) {
      throw new CliError('USAGE', `--data-dir ${given} is not empty; the scenario starts from nothing`);
    }
    const dataDir = given ?? mkdtempSync(path.join(os.tmpdir(), 'tally-demo-'));
    const seed = optionString(p, 'seed') ?? `demo-${Date.now()}`;
    const json = flag(p, 'json');
    const log = new ScenarioLog(json ? () => {} : io.out);
    if (!json) io.out(`Tally end-to-end scenario\n  data directory: ${dataDir}\n  seed: ${seed}  (tally demo --seed ${seed} replays this run)\n  curve engine: ${engineInfo.name} (${engineInfo.reason})`);
    const t0 = performance.now();
    try {
      const result = await runScenario({ dataDir, seed, log });
      const wallMs = performance.now() - t0;
      if (json) io.out(toJson({ ok: true, seed, dataDir, wallMs: Math.round(wallMs), ...result }));
      else log.summary(result, wallMs);
      return 0;
    } catch (e) {
      if (e instanceof ScenarioFailure) {
        if (json) io.out(toJson({ ok: false, seed, dataDir, step: e.step, why: e.why }));
        throw new CliError('CHECK_FAILED', `${e.message} (seed ${seed})`);
      }
      throw e;
    }
  },
};
