// `tally serve`: run one CB or FI node as its own process until SIGINT/SIGTERM.

import { serveNode } from '../ledger/index.ts';
import { CliError, optionInt, optionString, requireString } from './args.ts';
import type { Command } from './command.ts';
import { parseDatabase } from './parse_db.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run a central-bank (cb) or intermediary (fi) ledger node over HTTP.',
  usage: 'tally serve --role cb|fi [--fi-id ID] --db sqlite:PATH|postgres://... [--host H] [--port P]',
  options: [
    { name: 'role', value: true, help: 'cb or fi' },
    { name: 'fi-id', value: true, help: 'identifier of the FI (role fi)' },
    { name: 'db', value: true, help: 'sqlite:PATH or postgres://user@host:port/db' },
    { name: 'host', value: true, help: 'address to listen on', default: '127.0.0.1' },
    { name: 'port', value: true, help: 'port (0 picks a free one)', default: '0' },
  ],
  async run(p, io) {
    const role = requireString(p, 'role');
    if (role !== 'cb' && role !== 'fi') throw new CliError('USAGE', `--role must be cb or fi, got '${role}'`);
    const fiId = optionString(p, 'fi-id');
    if (role === 'fi' && fiId === undefined) throw new CliError('USAGE', '--fi-id is required with --role fi');
    const database = parseDatabase(requireString(p, 'db'));
    const node = await serveNode(role === 'cb' ? { role } : { role, fiId: fiId! }, {
      database,
      host: optionString(p, 'host'),
      port: optionInt(p, 'port'),
    });
    io.out(`${role}${fiId ? ` ${fiId}` : ''} listening on ${node.url}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await node.close();
    return 0;
  },
};
