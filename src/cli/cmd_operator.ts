// `tally operator add | revoke | list | log`: the people who may call a node, managed on the node's
// own database (the one `tally serve --db` opens; for `--role all`, DIR/cb.sqlite and
// DIR/<fi>.sqlite). `add` prints the new token once — or writes it, mode 0600, to --token-file —
// and the node keeps only its hash; `revoke` takes effect on the node's next request. Both go to
// the node's hash-chained admin log, which `log` prints and checks.

import path from 'node:path';
import {
  addOperator, listOperators, LedgerError, migrate, openDatabase, OPERATOR_ROLES, readAdminLog, revokeOperator, verifyAdminLog, type Db,
} from '../ledger/index.ts';
import { makePrivateDir, writePrivateFileAtomic } from '../se/index.ts';
import { CliError, flag, optionInt, optionString, requireString, type Parsed } from './args.ts';
import { JSON_OPTION, toJson, type Command } from './command.ts';
import { parseDatabase } from './parse_db.ts';

const DB_OPTION = { name: 'db', value: true, help: "the node's database: sqlite:PATH or postgres://..." } as const;

/** Opens the node's database, migrating it as the node would at start (a new SQLite file is made 0600). */
async function withNodeDatabase<T>(p: Parsed, fn: (db: Db) => Promise<T>): Promise<T> {
  const spec = parseDatabase(requireString(p, 'db'));
  if (spec.engine === 'sqlite') makePrivateDir(path.dirname(spec.filename));
  const db = openDatabase(spec);
  try {
    await migrate(db, Date.now);
    return await fn(db);
  } catch (e) {
    if (e instanceof LedgerError) throw new CliError('USAGE', e.message);
    throw e;
  } finally {
    await db.close();
  }
}

const addCommand: Command = {
  name: 'add',
  summary: 'Make an operator (or a customer credential) and print its token once.',
  usage: `tally operator add --db DB --role ${OPERATOR_ROLES.join('|')} --name NAME [--customer ID] [--holder I] [--token-file FILE] [--json]`,
  options: [
    DB_OPTION,
    { name: 'role', value: true, help: `one of ${OPERATOR_ROLES.join(', ')}` },
    { name: 'name', value: true, help: 'the person (or system) the token is for, as the admin log names it' },
    { name: 'customer', value: true, help: 'with --role customer: the customer id at this FI' },
    { name: 'holder', value: true, help: 'with --role key-holder: the escrow key holder index i (1..n) this token answers warrants for' },
    { name: 'token-file', value: true, help: 'write the token to this file (mode 0600) instead of printing it' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const made = await withNodeDatabase(p, (db) =>
      addOperator(db, { name: requireString(p, 'name'), role: requireString(p, 'role'), customerId: optionString(p, 'customer'), holderIndex: optionInt(p, 'holder') }),
    );
    const file = optionString(p, 'token-file');
    if (file !== undefined) writePrivateFileAtomic(file, `${made.token}\n`);
    const shown = file === undefined ? { token: made.token } : { tokenFile: file };
    if (flag(p, 'json')) io.out(toJson({ ...made.record, ...shown }));
    else {
      io.out(`operator ${made.record.operatorId} (${made.record.role}${made.record.customerId === null ? '' : ` of ${made.record.customerId}`}${made.record.holderIndex === null ? '' : ` ${made.record.holderIndex}`}) for ${made.record.name}`);
      io.out(file === undefined ? `token (shown once; send as "Authorization: Bearer <token>"): ${made.token}` : `token written to ${file} (mode 0600)`);
    }
    return 0;
  },
};

const revokeCommand: Command = {
  name: 'revoke',
  summary: "Revoke an operator's token (effective at the node's next request).",
  usage: 'tally operator revoke --db DB --id OPERATOR_ID [--json]',
  options: [DB_OPTION, { name: 'id', value: true, help: 'the operator id (op-…) that `add` printed' }, JSON_OPTION],
  async run(p, io) {
    const r = await withNodeDatabase(p, (db) => revokeOperator(db, { operatorId: requireString(p, 'id') }));
    if (flag(p, 'json')) io.out(toJson(r));
    else io.out(r.alreadyRevoked ? `operator ${r.record.operatorId} was already revoked` : `revoked operator ${r.record.operatorId} (${r.record.name})`);
    return 0;
  },
};

const listCommand: Command = {
  name: 'list',
  summary: "List a node's operators and whether each is revoked.",
  usage: 'tally operator list --db DB [--json]',
  options: [DB_OPTION, JSON_OPTION],
  async run(p, io) {
    const ops = await withNodeDatabase(p, listOperators);
    if (flag(p, 'json')) io.out(toJson(ops));
    else for (const o of ops) io.out(`${o.operatorId}  ${o.role.padEnd(11)}  ${o.name}${o.customerId === null ? '' : ` (customer ${o.customerId})`}${o.holderIndex === null ? '' : ` (holder ${o.holderIndex})`}${o.revokedMs === null ? '' : `  REVOKED ${new Date(o.revokedMs).toISOString()}`}`);
    return 0;
  },
};

const logCommand: Command = {
  name: 'log',
  summary: "Print a node's admin log (newest first) and check its hash chain; exit 1 if it is broken.",
  usage: 'tally operator log --db DB [--limit N] [--json]',
  options: [DB_OPTION, { name: 'limit', value: true, help: 'entries to print (default 50)' }, JSON_OPTION],
  async run(p, io) {
    const limit = optionInt(p, 'limit') ?? 50;
    if (limit < 1) throw new CliError('USAGE', '--limit must be at least 1');
    const { entries, check } = await withNodeDatabase(p, async (db) => ({ entries: await readAdminLog(db, limit), check: await verifyAdminLog(db) }));
    if (flag(p, 'json')) io.out(toJson({ check, entries }));
    else {
      io.out(check.ok ? `admin log: ${check.entries} entries, chain intact, head ${check.headHash}` : `admin log: chain BROKEN at entry ${check.broken!.seq}: ${check.broken!.reason}`);
      for (const e of entries) io.out(`  #${e.seq} ${new Date(e.atMs).toISOString()} ${e.operatorId} (${e.role}) ${e.action} → ${e.status}${e.code === null ? '' : ` ${e.code}`}`);
    }
    return check.ok ? 0 : 1;
  },
};

export const operatorCommand: Command = {
  name: 'operator',
  summary: "Manage who may call a node: operators' and customers' tokens, and the admin log.",
  usage: 'tally operator <add|revoke|list|log> [options]',
  options: [],
  children: [addCommand, revokeCommand, listCommand, logCommand],
};
