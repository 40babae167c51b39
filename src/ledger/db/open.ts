// Opens either engine from a plain description, so a node's configuration (a file path or a
// connection string) is data rather than code.

import type { Db } from './adapter.ts';
import { openPostgres } from './postgres.ts';
import { openSqlite } from './sqlite.ts';

export type DatabaseSpec =
  | { engine: 'sqlite'; filename: string }
  | { engine: 'postgres'; connectionString: string; poolMax?: number };

export function openDatabase(spec: DatabaseSpec): Db {
  return spec.engine === 'sqlite'
    ? openSqlite({ filename: spec.filename })
    : openPostgres({ connectionString: spec.connectionString, poolMax: spec.poolMax });
}
