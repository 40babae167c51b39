// Commands that only read a ledger database (`tally audit --db`, `tally exposure --db`) open it
// without changing it: read-only (SQLite `readonly`, PostgreSQL sessions with
// default_transaction_read_only), no migrations, and refused unless its schema is exactly the one
// this Tally runs on (their queries are written for that schema).

import { openDatabase, requireCurrentSchema, SchemaVersionError, type Db } from '../ledger/index.ts';
import { CliError } from './args.ts';
import { parseDatabase } from './parse_db.ts';

/** Runs `fn` on the database `--db` names, opened read-only; `purpose` words the refusals ("audit"). */
export async function withReadOnlyDatabase<T>(spec: string, purpose: string, fn: (db: Db) => Promise<T>): Promise<T> {
  let handle;
  try {
    handle = openDatabase(parseDatabase(spec), { readonly: true });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('USAGE', `cannot open ${spec} for ${purpose}: ${(e as Error).message}`);
  }
  try {
    await requireCurrentSchema(handle);
    return await fn(handle);
  } catch (e) {
    if (e instanceof SchemaVersionError) throw new CliError('FAILED', `refusing to ${purpose} ${spec}: ${e.message}`);
    throw e;
  } finally {
    await handle.close();
  }
}
