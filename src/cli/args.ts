// A small, strict argument parser: `--name value`, `--name=value`, boolean `--flag`, positionals.
// Unknown options are an error (a typo must not silently change what a command does).

export type CliErrorCode = 'USAGE' | 'FAILED' | 'UNREACHABLE' | 'CHECK_FAILED';

/** An error the CLI reports as one clear line and a non-zero exit code (2 for usage, 1 otherwise). */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
  get exitCode(): number {
    return this.code === 'USAGE' ? 2 : 1;
  }
}

export interface OptionSpec {
  name: string;
  /** true: takes a value; false: a boolean flag. */
  value: boolean;
  help: string;
  default?: string;
  /** May be given several times; the values arrive joined with ',' (`--fi a --fi b` → 'a,b'). */
  repeatable?: boolean;
}

export interface Parsed {
  options: Map<string, string | true>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new CliError('USAGE', `unknown option --${name}`);
    if (!spec.value) {
      if (eq >= 0) throw new CliError('USAGE', `--${name} takes no value`);
      options.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new CliError('USAGE', `--${name} needs a value`);
    const before = options.get(name);
    options.set(name, spec.repeatable && typeof before === 'string' ? `${before},${value}` : value);
  }
  for (const s of specs) if (s.default !== undefined && !options.has(s.name)) options.set(s.name, s.default);
  return { options, positionals };
}

export function optionString(p: Parsed, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function requireString(p: Parsed, name: string): string {
  const v = optionString(p, name);
  if (v === undefined) throw new CliError('USAGE', `--${name} is required`);
  return v;
}

export function optionInt(p: Parsed, name: string): number | undefined {
  const v = optionString(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliError('USAGE', `--${name} must be a whole number, got '${v}'`);
  return Number(v);
}

export function flag(p: Parsed, name: string): boolean {
  return p.options.get(name) === true;
}

export function helpText(usage: string, summary: string, specs: readonly OptionSpec[]): string {
  const lines = [`usage: ${usage}`, '', summary, ''];
  if (specs.length > 0) {
    lines.push('options:');
    for (const s of specs) {
      const left = `  --${s.name}${s.value ? ' VALUE' : ''}`;
      lines.push(`${left.padEnd(28)}${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`);
    }
  }
  return lines.join('\n');
}
