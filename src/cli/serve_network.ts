// `tally serve --network FILE`: the offline ledger of a demo network (network.json from `tally
// network init`) as one of three process layouts — the CB alone (--role cb), one FI whose CB is
// another process (--role fi --cb-url), or the CB and every FI in one process (--role all). At
// start each node makes the network's opening moves idempotently, so a restart on the same
// databases changes nothing: the CB registers every FI and issues its allocation to the FI's
// reserve, the FI credits the same allocation to its treasury (the mirror of its reserve).
// TLS (network_tls.ts): the CB always serves HTTPS with its certificate, tells FI nodes by their
// client certificates and follows the revocation list; an FI reaches it over https with its own
// certificate and trusts only the CB's. With --tls an FI node, or the all-in-one process (whose
// FIs are in process and need no certificate to reach their CB), serves HTTPS too.
// --role key-holder runs one escrow key holder's node (docs/compliance.md "Warrants"): its share
// file, its own database of operators, and its token at the CB; it reaches the CB over HTTPS
// trusting only the network CA and listens on loopback.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LedgerError, serveHolder, serveOfflineFi, serveOfflineNetwork, type CentralBank, type DatabaseSpec, type FinancialIntermediary } from '../ledger/index.ts';
import { makePrivateDir } from '../se/index.ts';
import { CliError, flag, optionInt, optionString, requireString, type Parsed } from './args.ts';
import { fiOf, readNetwork, readRegulatorShare, type NetworkConfig, type NetworkFi } from './network_config.ts';
import { tokenOf } from './node_access.ts';
import { nodeTlsFiles } from './network_tls.ts';
import { parseDatabase } from './parse_db.ts';

export interface ServedNetwork {
  /** What a client of this process uses: the CB root, the FI root, or the server root (all). */
  url: string;
  lines: string[];
  event: Record<string, unknown>;
  close(): Promise<void>;
}

const allocationKey = (fiId: string) => `allocation:${fiId}`;

async function openCbBooks(cb: CentralBank, fis: readonly NetworkFi[]): Promise<void> {
  for (const f of fis) {
    await cb.ledger.registerFi({ fiId: f.fiId, idempotencyKey: `register:${f.fiId}` });
    if (f.allocationMinor > 0n) await cb.ledger.issue({ fiId: f.fiId, amountMinor: f.allocationMinor, idempotencyKey: allocationKey(f.fiId) });
  }
}

async function openFiBook(fi: FinancialIntermediary, f: NetworkFi): Promise<void> {
  if (f.allocationMinor === 0n) return;
  await fi.ledger.creditTreasury({ amountMinor: f.allocationMinor, reference: 'network allocation', idempotencyKey: allocationKey(f.fiId) });
}

/** A database spec, with the directory of a SQLite file created if missing. */
export function databaseAt(spec: string): DatabaseSpec {
  const database = parseDatabase(spec);
  if (database.engine === 'sqlite') makePrivateDir(path.dirname(database.filename));
  return database;
}

const cbConfig = (net: NetworkConfig, db: string) => ({
  database: databaseAt(db),
  signingKey: net.cb.signingKey,
  issuerMaster: net.cb.issuerMaster,
  regulatorKey: net.cb.regulatorKey,
  escrowAuthority: net.cb.escrowAuthority,
});

export async function serveNetworkRole(p: Parsed, listen: { host?: string; port?: number }): Promise<ServedNetwork> {
  const file = requireString(p, 'network');
  const net = readNetwork(file);
  const role = requireString(p, 'role');
  const manufacturers = { [net.manufacturer.name]: net.manufacturer.keys.publicKey };
  const verifyWorkers = optionInt(p, 'verify-workers');
  if (role === 'cb') {
    const tls = nodeTlsFiles(file, net.tls, 'cb');
    const node = await serveOfflineNetwork({ ...listen, verifyWorkers, tls, cb: cbConfig(net, requireString(p, 'db')), fis: [], manufacturers });
    await openCbBooks(node.cb, net.fis);
    const url = `${node.url}/cb`;
    return { url, lines: [`cb listening on ${url}`], event: { event: 'listening', role, url }, close: node.close };
  }
  if (role === 'fi') {
    const f = fiOf(net, requireString(p, 'fi-id'), file);
    const cbUrl = requireString(p, 'cb-url').replace(/\/+$/, '');
    if (!cbUrl.startsWith('https://')) throw new CliError('USAGE', `--cb-url must be https:// (the CB serves TLS and knows its FIs by their certificates), got '${cbUrl}'`);
    const cbTls = nodeTlsFiles(file, net.tls, { fiId: f.fiId });
    const node = await serveOfflineFi({
      ...listen, verifyWorkers, fiId: f.fiId, database: databaseAt(requireString(p, 'db')), signingKey: f.signingKey, cbUrl, cbTls, manufacturers,
      tls: flag(p, 'tls') ? cbTls : undefined,
    });
    await openFiBook(node.fi, f);
    const url = `${node.url}/fi/${f.fiId}`;
    return { url, lines: [`fi ${f.fiId} listening on ${url}`], event: { event: 'listening', role, fiId: f.fiId, url, cbUrl }, close: node.close };
  }
  if (role === 'all') {
    const dir = requireString(p, 'db-dir');
    const node = await serveOfflineNetwork({
      ...listen,
      verifyWorkers,
      tls: flag(p, 'tls') ? nodeTlsFiles(file, net.tls, 'cb') : undefined,
      cb: cbConfig(net, `sqlite:${path.join(dir, 'cb.sqlite')}`),
      fis: net.fis.map((f) => ({ fiId: f.fiId, signingKey: f.signingKey, database: databaseAt(`sqlite:${path.join(dir, `${f.fiId}.sqlite`)}`) })),
      manufacturers,
    });
    await openCbBooks(node.cb, net.fis);
    for (const fi of node.fis) await openFiBook(fi, fiOf(net, fi.fiId));
    const fiUrls = Object.fromEntries(net.fis.map((f) => [f.fiId, `${node.url}/fi/${f.fiId}`]));
    const auditUrl = `${node.url}/audit/network`;
    const lines = [`network listening on ${node.url}`, `  cb: ${node.url}/cb`, ...Object.entries(fiUrls).map(([id, u]) => `  fi ${id}: ${u}`), `  network audit: ${auditUrl}`];
    return { url: node.url, lines, event: { event: 'listening', role, url: node.url, cbUrl: `${node.url}/cb`, fiUrls, auditUrl }, close: node.close };
  }
  if (role === 'key-holder') return serveKeyHolder(p, file, net, listen);
  throw new CliError('USAGE', `--role must be cb, fi, all or key-holder, got '${role}'`);
}

async function serveKeyHolder(p: Parsed, file: string, net: NetworkConfig, listen: { host?: string; port?: number }): Promise<ServedNetwork> {
  const share = readRegulatorShare(requireString(p, 'share'), net, file);
  const cbUrl = requireString(p, 'cb-url').replace(/\/+$/, '');
  if (!cbUrl.startsWith('https://')) throw new CliError('USAGE', `--cb-url must be https:// (the CB serves TLS), got '${cbUrl}'`);
  let node;
  try {
    node = await serveHolder({
      ...listen, share, database: databaseAt(requireString(p, 'db')), cbUrl, cbToken: tokenOf(p, 'cb-token-file')!,
      cbCa: readFileSync(path.join(path.dirname(file), net.tls.ca), 'utf8'),
    });
  } catch (e) {
    if (e instanceof LedgerError) throw new CliError('FAILED', e.message);
    throw e;
  }
  const url = `${node.url}/holder/${share.index}`;
  const lines = [`key holder ${share.index} listening on ${url}`, `  console: ${node.url}/console/`, ...(node.warning === undefined ? [] : [`  warning: ${node.warning}`])];
  return { url, lines, event: { event: 'listening', role: 'key-holder', holder: share.index, url, cbUrl, ...(node.warning === undefined ? {} : { warning: node.warning }) }, close: node.close };
}

/** Options that only make sense with --network, checked so a misplaced one is not silently ignored. */
export function checkNetworkOptions(p: Parsed, withNetwork: boolean): void {
  const role = optionString(p, 'role');
  const need = (name: string, why: string) => {
    if (optionString(p, name) === undefined) throw new CliError('USAGE', `--${name} is required ${why}`);
  };
  const refuse = (name: string, why: string) => {
    if (p.options.has(name)) throw new CliError('USAGE', `--${name} ${why}`);
  };
  if (!withNetwork) {
    if (role === 'all') throw new CliError('USAGE', '--role all needs --network FILE');
    if (role === 'key-holder') throw new CliError('USAGE', '--role key-holder needs --network FILE (its escrow verification keys and CA)');
    for (const n of ['cb-url', 'db-dir', 'verify-workers', 'tls', 'share', 'cb-token-file']) refuse(n, 'needs --network');
    return;
  }
  if (role === 'key-holder') {
    for (const n of ['share', 'cb-url', 'cb-token-file', 'db']) need(n, 'with --role key-holder');
    for (const n of ['db-dir', 'fi-id', 'tls', 'verify-workers']) refuse(n, 'does not go with --role key-holder (a holder node listens on loopback and verifies no payments)');
    return;
  }
  for (const n of ['share', 'cb-token-file']) refuse(n, 'goes with --role key-holder only');
  if (role === 'all') {
    need('db-dir', 'with --role all');
    refuse('db', 'does not go with --role all (use --db-dir)');
  } else {
    need('db', `with --role ${role ?? 'cb|fi'}`);
    refuse('db-dir', 'goes with --role all only');
  }
  if (role === 'fi') {
    need('fi-id', 'with --role fi');
    need('cb-url', 'with --role fi (the CB node\'s root, e.g. https://127.0.0.1:8080/cb)');
  }
}

/** Whether this invocation serves HTTPS: a network's CB always does, an FI or `all` with --tls. */
export function servesTls(p: Parsed, withNetwork: boolean): boolean {
  return withNetwork && (optionString(p, 'role') === 'cb' || flag(p, 'tls'));
}
