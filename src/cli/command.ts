// The shape every CLI command has, and the output channel it writes to. Commands form a tree:
// `tally device pay ...` is the `pay` child of `device`. `--help` works at every level.

import type { OptionSpec, Parsed } from './args.ts';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  children?: Command[];
  /** Returns the process exit code. Throws CliError for a clear, typed failure. */
  run?(parsed: Parsed, io: Io): Promise<number>;
}

export const JSON_OPTION: OptionSpec = { name: 'json', value: false, help: 'print one JSON document instead of text' };

/** JSON with bigints as decimal strings and bytes as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v),
    2,
  );
}
