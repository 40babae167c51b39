// Opens either engine from a plain description, so a node's configuration (a file path or a
// connection string) is data rather than code.

import type { Db } from './adapter.ts';
import { openPostgres } from './postgres.ts';
import { openSqlite } from './sqlite.ts';

export type DatabaseSpec =
  | { engine: 'sqlite'; filename: string }
  | { engine: 'postgres'; connectionString: string; poolMax?: number };

/** `readonly`: for audits: nothing is created, and the engine refuses every write and DDL. */
export function openDatabase(spec: DatabaseSpec, opts: { readonly?: boolean } = {}): Db {
  return spec.engine === 'sqlite'
    ? openSqlite({ filename: spec.filename, readonly: opts.readonly })
    : openPostgres({ connectionString: spec.connectionString, poolMax: spec.poolMax, readonly: opts.readonly });
}
