// `tally serve`: run ledger nodes as their own process until SIGINT/SIGTERM. Two modes:
//   with --network FILE (from `tally network init`): the offline ledger of that network — the CB
//     (--role cb, HTTPS with mutual TLS), one FI reaching its CB over HTTPS with its certificate
//     (--role fi), or the CB and every FI in one process (--role all); devices enrol, fund and sync
//     here (serve_network.ts);
//   --role key-holder: one escrow key holder's node answering warrants with its share;
//   without --network: a bare double-entry book (CB or FI) with the book routes only, no keys.
// A node that serves TLS may listen on any address; one that serves plain HTTP, loopback only.
// The first stdout line names the URL clients use (with --json: one JSON line, event "listening").

import { isLoopbackHost, serveNode } from '../ledger/index.ts';
import { CliError, flag, optionInt, optionString, requireString } from './args.ts';
import type { Command } from './command.ts';
import { checkNetworkOptions, databaseAt, serveNetworkRole, servesTls, type ServedNetwork } from './serve_network.ts';

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
    'tally serve --network FILE --role cb --db DB [--host H] [--port P]         (HTTPS, mutual TLS)',
    '       tally serve --network FILE --role fi --fi-id ID --cb-url https://... --db DB [--tls] [--port P]',
    '       tally serve --network FILE --role all --db-dir DIR [--tls] [--port P]',
    '       tally serve --network FILE --role key-holder --share SHARE.json --cb-url https://... --cb-token-file F --db DB [--port P]',
    '       tally serve --role cb|fi [--fi-id ID] --db DB [--port P]        (bare book node, no devices)',
    '   DB is sqlite:PATH or postgres://user@host:port/db',
  ].join('\n'),
  options: [
    { name: 'network', value: true, help: 'network.json from `tally network init`' },
    { name: 'role', value: true, help: 'cb, fi, all or key-holder (all and key-holder need --network)' },
    { name: 'fi-id', value: true, help: 'identifier of the FI (role fi)' },
    { name: 'cb-url', value: true, help: 'root of the CB node, e.g. https://127.0.0.1:8080/cb (roles fi and key-holder)' },
    { name: 'share', value: true, help: 'role key-holder: this holder\'s share file (regulator-holder-<i>.json from `tally network init`)' },
    { name: 'cb-token-file', value: true, help: 'role key-holder: file with holder i\'s token at the CB (`tally operator add --role key-holder --holder i` on the CB\'s database)' },
    { name: 'tls', value: false, help: 'serve HTTPS with the node\'s certificate from the network (roles fi, all; role cb always does)' },
    { name: 'db', value: true, help: 'sqlite:PATH or postgres://user@host:port/db (roles cb, fi, key-holder)' },
    { name: 'db-dir', value: true, help: 'directory for cb.sqlite and <fi-id>.sqlite (role all)' },
    { name: 'verify-workers', value: true, help: 'proof-verification threads per FI (default: one per core)' },
    { name: 'host', value: true, help: 'address to listen on (a non-loopback one only when the node serves TLS)', default: '127.0.0.1' },
    { name: 'port', value: true, help: 'port (0 picks a free one)', default: '0' },
    { name: 'json', value: false, help: 'print the listening line as JSON' },
  ],
  async run(p, io) {
    const listen = { host: optionString(p, 'host'), port: optionInt(p, 'port') };
    const withNetwork = optionString(p, 'network') !== undefined;
    checkNetworkOptions(p, withNetwork);
    // Checked before any database is opened; the ledger's serve functions refuse it too.
    if (listen.host !== undefined && !isLoopbackHost(listen.host) && !servesTls(p, withNetwork)) {
      throw new CliError('USAGE', `--host ${listen.host} is not a loopback address (127.0.0.0/8, ::1, localhost): without TLS a node serves plain HTTP, so it listens on loopback only (a network's CB serves TLS; an FI or --role all with --tls)`);
    }
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
