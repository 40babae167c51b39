// `tally bench`: the benchmark suite (same as `npm run bench`).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { flag, optionString } from './args.ts';
import { JSON_OPTION, type Command } from './command.ts';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Run the benchmarks and print medians with the machine they ran on.',
  usage: 'tally bench [--only GROUP] [--json]',
  options: [{ name: 'only', value: true, help: 'run one group (payment, bbs, range_proof, ledger, offline, ...)' }, JSON_OPTION],
  async run(p) {
    const script = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
    const args = ['--import', 'tsx', script];
    if (flag(p, 'json')) args.push('--json');
    const only = optionString(p, 'only');
    if (only !== undefined) args.push('--only', only);
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    return r.status ?? 1;
  },
};
