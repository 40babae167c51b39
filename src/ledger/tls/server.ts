// The CB's side of mutual TLS: Fastify's https options, and the gate's institution source
// (access/gate.ts CallerSources.institution) that tells an FI node by its client certificate.
// The TLS layer asks every client for a certificate but lets the handshake finish without one
// (rejectUnauthorized: false): operators and auditors reach the same node with bearer tokens and
// no certificate. Whether a presented certificate holds is then decided per request here, so a
// bad one is refused with a typed 401 before any handler runs, never silently ignored.

import type { FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { InstitutionCaller } from '../access/gate.ts';
import { FI_ID_PATTERN } from '../context.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { FI_IDENTITY_PREFIX, identityUris, normalizeSerial } from './pki.ts';
import { RevokedSerials } from './revoked.ts';


/** PEM material a TLS node serves with: its own certificate and key, and the network CA. */
export interface TlsFiles {
  key: string;
  cert: string;
  ca: string;
}

export interface HttpsServerOptions {
  key: string;
  cert: string;
  ca: string;
  requestCert: true;
  rejectUnauthorized: false;
  minVersion: 'TLSv1.3';
}

/** What ledgerApp passes to Fastify's `https`: TLS 1.3 only, the network CA as the one client trust anchor. */
export function httpsServerOptions(files: TlsFiles): HttpsServerOptions {
  return { key: files.key, cert: files.cert, ca: files.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' };
}

const refuse = (why: string): never => {
  throw new LedgerError(LedgerErrorCode.unauthenticated, `Client certificate refused: ${why}`);
};

/** The FI a certificate's subjectAltName names, or why it names none. */
function fiIdOf(subjectAltName: string | undefined): string {
  const uris = identityUris(subjectAltName);
  if (uris.length !== 1) return refuse(`it must name exactly one Tally identity, it names ${uris.length}`);
  const uri = uris[0]!;
  if (!uri.startsWith(FI_IDENTITY_PREFIX)) return refuse(`it names ${uri}, not an FI`);
  const fiId = uri.slice(FI_IDENTITY_PREFIX.length);
  if (!FI_ID_PATTERN.test(fiId)) return refuse(`its FI id ${JSON.stringify(fiId.slice(0, 40))} is malformed`);
  return fiId;
}

/**
 * The institution source of a CB node's gate: null when the request came in clear or without a
 * client certificate; UNAUTHENTICATED for one the network CA did not issue, one out of its
 * validity (checked at the handshake and again per request), one revoked, or one that names no
 * FI; otherwise the FI it names.
 */
export function institutionFrom(revoked: RevokedSerials | null): (req: FastifyRequest) => InstitutionCaller | null {
  return (req) => {
    const socket = req.raw.socket as Partial<TLSSocket>;
    if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return null;
    const peer = socket.getPeerCertificate();
    if (peer === null || peer === undefined || Object.keys(peer).length === 0) return null;
    if (socket.authorized !== true) return refuse(`${String(socket.authorizationError ?? 'not verified')}`);
    // The handshake checked the dates once; a keep-alive connection or a resumed session can
    // outlive the certificate, so they are checked again on every request.
    const nowMs = Date.now();
    if (!(Date.parse(peer.valid_from) <= nowMs && nowMs <= Date.parse(peer.valid_to))) return refuse(`it is valid from ${peer.valid_from} to ${peer.valid_to} only (expired or not yet valid)`);
    if (typeof peer.serialNumber !== 'string' || !/^[0-9A-Fa-f]{1,40}$/.test(peer.serialNumber)) return refuse('it has no readable serial number');
    const serial = normalizeSerial(peer.serialNumber);
    if (revoked !== null && revoked.has(serial)) return refuse(`serial ${serial} is revoked`);
    return { kind: 'institution', fiId: fiIdOf(peer.subjectaltname), serial };
  };
}

/** A node's TLS: its files, and for a CB the revocation list it follows. */
export interface NodeTls extends TlsFiles {
  revokedFile?: string;
  /** How often the revocation file is re-checked (revoked.ts REVOCATION_RECHECK_MS by default). */
  recheckMs?: number;
}

export interface ServerTls {
  https: HttpsServerOptions;
  /** The gate's institution source: FI nodes by client certificate. */
  institution: (req: FastifyRequest) => InstitutionCaller | null;
  close(): void;
}

/** Everything a TLS node's server needs; reads the revocation list now (it must exist and parse). */
export function openServerTls(tls: NodeTls): ServerTls {
  const revoked = tls.revokedFile === undefined ? null : RevokedSerials.open(tls.revokedFile, { recheckMs: tls.recheckMs });
  return { https: httpsServerOptions(tls), institution: institutionFrom(revoked), close: () => revoked?.close() };
}
