// `tally`: the command-line entry point. Dispatches to a command tree; `--help` at any level prints
// that level's usage. Errors: a CliError prints one line `tally: <message>` and exits 2 (usage) or
// 1 (operation failed); anything else is a bug and prints its stack.

import { CliError, helpText, parseArgs } from './args.ts';
import type { Command, Io } from './command.ts';
import { auditCommand } from './cmd_audit.ts';
import { benchCommand } from './cmd_bench.ts';
import { serveCommand } from './cmd_serve.ts';
import { extraCommands } from './registry.ts';
import { engineInfo } from '../crypto/engine/index.ts';
import { readFileSync } from 'node:fs';

export const rootCommand: Command = {
  name: 'tally',
  summary: 'Tally: offline central-bank digital currency for IoT devices.',
  usage: 'tally <command> [options]   (tally <command> --help for more; tally --version)',
  options: [],
  children: [serveCommand, auditCommand, benchCommand, ...extraCommands],
};

function describe(cmd: Command): string {
  const base = helpText(cmd.usage, cmd.summary, cmd.options);
  if (!cmd.children?.length) return base;
  const width = Math.max(...cmd.children.map((c) => c.name.length)) + 4;
  return `${base}\ncommands:\n${cmd.children.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}`;
}

/** `tally --version`: the package version and the curve engine this process runs on. */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `tally ${pkg.version}\ncurve engine: ${engineInfo.name} — ${engineInfo.detail} (${engineInfo.reason})\nnode ${process.version}`;
}

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.out(versionText());
    return 0;
  }
  let cmd = rootCommand;
  let rest = [...argv];
  while (cmd.children?.length && rest.length > 0 && !rest[0]!.startsWith('--')) {
    const next = cmd.children.find((c) => c.name === rest[0]);
    if (next === undefined) throw new CliError('USAGE', `unknown command '${rest[0]}' (try: ${cmd.children.map((c) => c.name).join(', ')})`);
    cmd = next;
    rest = rest.slice(1);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(describe(cmd));
    return 0;
  }
  if (cmd.run === undefined) {
    io.err(describe(cmd));
    return 2;
  }
  return cmd.run(parseArgs(rest, cmd.options), io);
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain || process.env.TALLY_CLI_MAIN === '1') {
  const io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
  runCli(process.argv.slice(2), io).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof CliError) {
        io.err(`tally: ${e.message}`);
        process.exit(e.exitCode);
      }
      const coded = e as { name?: string; code?: unknown; message?: string };
      if (typeof coded.code === 'string' && typeof coded.name === 'string' && coded.name !== 'AssertionError') {
        // A typed operating error from a lower layer (LedgerError, SeError, ...): one clear line.
        io.err(`tally: ${coded.name} ${coded.code}: ${coded.message}`);
        process.exit(1);
      }
      io.err(`tally: internal error: ${(e as Error).stack ?? String(e)}`);
      process.exit(70);
    },
  );
}
