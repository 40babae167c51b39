// `--db sqlite:PATH` or `--db postgres://user@host:port/db` → a ledger DatabaseSpec.

import type { DatabaseSpec } from '../ledger/index.ts';
import { CliError } from './args.ts';

export function parseDatabase(spec: string): DatabaseSpec {
  if (spec.startsWith('sqlite:')) {
    const filename = spec.slice('sqlite:'.length);
    if (filename.length === 0) throw new CliError('USAGE', '--db sqlite: needs a file path, e.g. sqlite:./data/cb.sqlite');
    return { engine: 'sqlite', filename };
  }
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) return { engine: 'postgres', connectionString: spec };
  throw new CliError('USAGE', `--db must be sqlite:PATH or postgres://..., got '${spec}'`);
}
