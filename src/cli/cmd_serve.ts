// `tally serve`: run ledger nodes as their own process until SIGINT/SIGTERM. Two modes:
//   with --network FILE (from `tally network init`): the offline ledger of that network — the CB
//     (--role cb), one FI reaching its CB over HTTP (--role fi), or the CB and every FI in one
//     process (--role all); devices enrol, fund and sync here (serve_network.ts);
//   without --network: a bare double-entry book (CB or FI) with the book routes only, no keys.
// The first stdout line names the URL clients use (with --json: one JSON line, event "listening").

import { isLoopbackHost, serveNode } from '../ledger/index.ts';
import { CliError, flag, optionInt, optionString, requireString } from './args.ts';
import type { Command } from './command.ts';
import { checkNetworkOptions, databaseAt, serveNetworkRole, type ServedNetwork } from './serve_network.ts';

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run ledger nodes over HTTP: a network\'s CB, FI or both (--network), or a bare book node.',
  usage: [
    'tally serve --network FILE --role cb --db DB [--port P]',
    '       tally serve --network FILE --role fi --fi-id ID --cb-url URL --db DB [--port P]',
    '       tally serve --network FILE --role all --db-dir DIR [--port P]',
    '       tally serve --role cb|fi [--fi-id ID] --db DB [--port P]        (bare book node, no devices)',
    '   DB is sqlite:PATH or postgres://user@host:port/db',
  ].join('\n'),
  options: [
    { name: 'network', value: true, help: 'network.json from `tally network init`' },
    { name: 'role', value: true, help: 'cb, fi or all (all needs --network)' },
    { name: 'fi-id', value: true, help: 'identifier of the FI (role fi)' },
    { name: 'cb-url', value: true, help: 'root of the CB node, e.g. http://127.0.0.1:8080/cb (role fi with --network)' },
    { name: 'db', value: true, help: 'sqlite:PATH or postgres://user@host:port/db (roles cb, fi)' },
    { name: 'db-dir', value: true, help: 'directory for cb.sqlite and <fi-id>.sqlite (role all)' },
    { name: 'verify-workers', value: true, help: 'proof-verification threads per FI (default: one per core)' },
    { name: 'host', value: true, help: 'loopback address to listen on (other addresses need TLS, not built yet)', default: '127.0.0.1' },
    { name: 'port', value: true, help: 'port (0 picks a free one)', default: '0' },
    { name: 'json', value: false, help: 'print the listening line as JSON' },
  ],
  async run(p, io) {
    const listen = { host: optionString(p, 'host'), port: optionInt(p, 'port') };
    // Checked before any database is opened; the ledger's serve functions refuse it too.
    if (listen.host !== undefined && !isLoopbackHost(listen.host)) {
      throw new CliError('USAGE', `--host ${listen.host} is not a loopback address (127.0.0.0/8, ::1, localhost): a node serves plain HTTP until TLS is built, so it listens on loopback only`);
    }
    const withNetwork = optionString(p, 'network') !== undefined;
    checkNetworkOptions(p, withNetwork);
    let served: ServedNetwork;
    if (withNetwork) {
      served = await serveNetworkRole(p, listen);
    } else {
      const role = requireString(p, 'role');
      if (role !== 'cb' && role !== 'fi') throw new CliError('USAGE', `--role must be cb or fi, got '${role}'`);
      const fiId = optionString(p, 'fi-id');
      if (role === 'fi' && fiId === undefined) throw new CliError('USAGE', '--fi-id is required with --role fi');
      const node = await serveNode(role === 'cb' ? { role } : { role, fiId: fiId! }, { database: databaseAt(requireString(p, 'db')), ...listen });
      const lines = [`${role}${fiId ? ` ${fiId}` : ''} listening on ${node.url}`];
      served = { url: node.url, lines, event: { event: 'listening', role, url: node.url }, close: node.close };
    }
    if (flag(p, 'json')) io.out(JSON.stringify(served.event));
    else for (const l of served.lines) io.out(l);
    await untilSignal();
    await served.close();
    return 0;
  },
};
