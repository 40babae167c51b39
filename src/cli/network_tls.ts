// The demo network's PKI on disk, DIR/tls/: the network CA (ca.pem, ca-key.pem), the CB's node
// certificate (cb.pem, cb-key.pem), one per FI (<fi>.pem, <fi>-key.pem) and the revocation list
// (revoked.json). network.json names these paths relative to its own directory. Every file is
// 0600 (the certificates are public, but one mode for the whole directory keeps the check simple).
// In this demo the CB's operator holds the CA key and hands each FI its key pair; a real network
// has each FI make its key and send a certificate request, so no FI key ever leaves the FI.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_HOSTS, certificateSerial, createNetworkCa, issueNodeCertificate, readRevokedFile, writeRevokedFile, type IssuedCertificate, type NodeTls, type PemPair, type TlsFiles } from '../ledger/index.ts';
import { makePrivateDir, writePrivateFileAtomic } from '../se/index.ts';
import { CliError } from './args.ts';

export const TLS_DIR = 'tls';

export interface CertPaths {
  cert: string;
  key: string;
}

/** The PKI's files, relative to network.json's directory. */
export interface NetworkTls {
  ca: string;
  caKey: string;
  revoked: string;
  cb: CertPaths;
  fis: Record<string, CertPaths>;
}

export function tlsLayout(fiIds: readonly string[]): NetworkTls {
  const at = (name: string) => `${TLS_DIR}/${name}`;
  const pair = (name: string): CertPaths => ({ cert: at(`${name}.pem`), key: at(`${name}-key.pem`) });
  return { ca: at('ca.pem'), caKey: at('ca-key.pem'), revoked: at('revoked.json'), cb: pair('cb'), fis: Object.fromEntries(fiIds.map((id) => [id, pair(id)])) };
}

function writeSecretText(file: string, text: string, force: boolean): void {
  if (!force && existsSync(file)) throw new CliError('USAGE', `${file} already exists (remove it or pass --force)`);
  writePrivateFileAtomic(file, text);
}

function writePair(dir: string, paths: CertPaths, issued: PemPair, force: boolean): void {
  writeSecretText(path.join(dir, paths.key), issued.key, force);
  writeSecretText(path.join(dir, paths.cert), issued.cert, force);
}

/** Makes the CA, the CB's and every FI's certificate and an empty revocation list under `dir`. */
export async function writeNetworkTls(dir: string, fiIds: readonly string[], options: { hosts?: readonly string[]; force: boolean }): Promise<NetworkTls> {
  const layout = tlsLayout(fiIds);
  makePrivateDir(path.join(dir, TLS_DIR));
  const ca = await createNetworkCa();
  writePair(dir, { cert: layout.ca, key: layout.caKey }, ca, options.force);
  writePair(dir, layout.cb, await issueNodeCertificate(ca, { role: 'cb' }, { hosts: hostsOf(options.hosts) }), options.force);
  for (const fiId of fiIds) writePair(dir, layout.fis[fiId]!, await issueNodeCertificate(ca, { role: 'fi', fiId }, { hosts: hostsOf(options.hosts) }), options.force);
  const revoked = path.join(dir, layout.revoked);
  if (!options.force && existsSync(revoked)) throw new CliError('USAGE', `${revoked} already exists (remove it or pass --force)`);
  writeRevokedFile(revoked, []);
  return layout;
}

/** The loopback names first, then the operator's extra hosts (for a node reached by another name). */
function hostsOf(extra: readonly string[] | undefined): string[] {
  return [...new Set([...DEFAULT_HOSTS, ...(extra ?? [])])];
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError('USAGE', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** The TLS files of one node of the network (`cb` or an FI id), read from disk. */
export function nodeTlsFiles(networkFile: string, tls: NetworkTls, node: 'cb' | { fiId: string }): NodeTls {
  const dir = path.dirname(networkFile);
  const paths = node === 'cb' ? tls.cb : tls.fis[node.fiId];
  const who = node === 'cb' ? 'the CB' : `FI ${node.fiId}`;
  if (paths === undefined) throw new CliError('USAGE', `${networkFile} has no certificate for ${who}`);
  const files: TlsFiles = {
    ca: readText(path.join(dir, tls.ca), 'network CA certificate'),
    cert: readText(path.join(dir, paths.cert), `certificate of ${who}`),
    key: readText(path.join(dir, paths.key), `key of ${who}`),
  };
  return node === 'cb' ? { ...files, revokedFile: path.join(dir, tls.revoked) } : files;
}

/** Adds an FI's current certificate to the revocation list; the serial, and whether it was new. */
export function revokeFiCertificate(networkFile: string, tls: NetworkTls, fiId: string): { serial: string; added: boolean; revokedFile: string } {
  const dir = path.dirname(networkFile);
  const paths = tls.fis[fiId];
  if (paths === undefined) throw new CliError('USAGE', `${networkFile} has no certificate for FI ${fiId}`);
  const serial = certificateSerial(readText(path.join(dir, paths.cert), `certificate of FI ${fiId}`));
  const revokedFile = path.join(dir, tls.revoked);
  const serials = readRevokedFile(revokedFile);
  const added = !serials.has(serial);
  if (added) writeRevokedFile(revokedFile, [...serials, serial]);
  return { serial, added, revokedFile };
}

/** Issues a new key pair and certificate for an FI (after a revocation, or before expiry). */
export async function reissueFiCertificate(networkFile: string, tls: NetworkTls, fiId: string, hosts?: readonly string[]): Promise<{ issued: IssuedCertificate; previous: string; previousRevoked: boolean }> {
  const dir = path.dirname(networkFile);
  const paths = tls.fis[fiId];
  if (paths === undefined) throw new CliError('USAGE', `${networkFile} has no certificate for FI ${fiId}`);
  const ca: PemPair = { cert: readText(path.join(dir, tls.ca), 'network CA certificate'), key: readText(path.join(dir, tls.caKey), 'network CA key') };
  const previous = certificateSerial(readText(path.join(dir, paths.cert), `certificate of FI ${fiId}`));
  const issued = await issueNodeCertificate(ca, { role: 'fi', fiId }, { hosts: hostsOf(hosts) });
  writePair(dir, paths, issued, true);
  return { issued, previous, previousRevoked: readRevokedFile(path.join(dir, tls.revoked)).has(previous) };
}

function pathOf(file: string, o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || path.isAbsolute(v) || v.split(/[\\/]/).includes('..')) {
    throw new CliError('USAGE', `${file} is not a Tally network file: ${where}.${key} must be a path inside its directory`);
  }
  return v;
}

function objectOf(file: string, v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError('USAGE', `${file} is not a Tally network file: ${where} must be an object`);
  return v as Record<string, unknown>;
}

/** Reads network.json's `tls` section; every FI of the file must have a certificate. */
export function parseNetworkTls(file: string, v: unknown, fiIds: readonly string[]): NetworkTls {
  const o = objectOf(file, v, 'tls');
  const pair = (x: unknown, where: string): CertPaths => {
    const p = objectOf(file, x, where);
    return { cert: pathOf(file, p, 'cert', where), key: pathOf(file, p, 'key', where) };
  };
  const fisIn = objectOf(file, o['fis'], 'tls.fis');
  const fis: Record<string, CertPaths> = {};
  for (const id of fiIds) fis[id] = pair(fisIn[id], `tls.fis.${id}`);
  return { ca: pathOf(file, o, 'ca', 'tls'), caKey: pathOf(file, o, 'caKey', 'tls'), revoked: pathOf(file, o, 'revoked', 'tls'), cb: pair(o['cb'], 'tls.cb'), fis };
}
