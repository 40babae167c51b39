// Credentials for tests that call ledger routes: a token of a given role made on a node's own
// database (operators.ts, exactly as `tally operator add` makes one), and the header carrying it.

import { addOperator, type Db, type OperatorRole } from '../../src/ledger/index.ts';

/** A fresh token for `role` on the node whose database is `db` (a customer token names its customer). */
export async function tokenFor(db: Db, role: OperatorRole, options: { name?: string; customerId?: string } = {}): Promise<string> {
  const made = await addOperator(db, { name: options.name ?? `test ${role}`, role, customerId: options.customerId });
  return made.token;
}

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });
