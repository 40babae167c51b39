// The network's PKI for mutual TLS between the CB and its FIs: one certificate authority the CB
// runs, and one node certificate per institution it signs. Identity is a URI in the certificate's
// subjectAltName (urn:tally:cb, urn:tally:fi:<fiId>), never the common name: the CB maps a client
// certificate to the FI it names, and an FI trusts a server only if its certificate names the CB.
// Keys are ECDSA P-256 made by WebCrypto from the system CSPRNG and leave here as PKCS#8 PEM;
// serials carry 126 random bits (top bit clear so the DER integer is positive, second bit set so
// every serial has 32 hex digits), which makes them unguessable and unique without a counter.

import './reflect_shim.ts';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import net from 'node:net';

const subtle = webcrypto.subtle as SubtleCrypto;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const CB_IDENTITY_URI = 'urn:tally:cb';
export const FI_IDENTITY_PREFIX = 'urn:tally:fi:';
export const fiIdentityUri = (fiId: string): string => `${FI_IDENTITY_PREFIX}${fiId}`;

const DAY_MS = 86_400_000;
/** The CA outlives many node certificates: re-keying it means re-issuing every node's. */
export const CA_VALIDITY_DAYS = 3650;
/** A node certificate lasts a year; a stolen key is good until then unless revoked first. */
export const NODE_VALIDITY_DAYS = 365;
/** Names every node certificate carries besides its identity, so it serves on loopback as is. */
export const DEFAULT_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];

const EC_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface PemPair {
  cert: string;
  key: string;
}

export interface IssuedCertificate extends PemPair {
  /** Lower-case hex, no leading zeros: the form revocation lists and InstitutionCaller use. */
  serial: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

export type NodeIdentity = { role: 'cb' } | { role: 'fi'; fiId: string };

/** A serial as node:crypto prints it or as a file writes it, in one canonical form. */
export function normalizeSerial(hex: string): string {
  const s = hex.toLowerCase().replace(/^0+/, '');
  return s.length === 0 ? '0' : s;
}

export function certificateSerial(certPem: string): string {
  return normalizeSerial(new X509Certificate(certPem).serialNumber);
}

function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

function window(validity: Validity, days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = validity.notBefore ?? new Date();
  const notAfter = validity.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS);
  if (!(notAfter.getTime() > notBefore.getTime())) throw new Error(`certificate would end (${notAfter.toISOString()}) before it starts (${notBefore.toISOString()})`);
  return { notBefore, notAfter };
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function signingKeyOf(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

/** A self-signed CA: may sign node certificates (pathLength 0: no intermediates) and CRLs. */
export async function createNetworkCa(options: Validity & { name?: string } = {}): Promise<IssuedCertificate> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${options.name ?? 'Tally network CA'}`,
    ...window(options, CA_VALIDITY_DAYS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey), serial: normalizeSerial(cert.serialNumber) };
}

function hostNames(hosts: readonly string[]): x509.JsonGeneralName[] {
  return hosts.map((h) => (net.isIP(h) !== 0 ? { type: 'ip', value: h } : { type: 'dns', value: h }));
}

/**
 * A node certificate signed by the network CA. The CB's serves only (serverAuth); an FI's is a
 * client of the CB and may serve its own devices too (clientAuth + serverAuth).
 */
export async function issueNodeCertificate(ca: PemPair, node: NodeIdentity, options: Validity & { hosts?: readonly string[] } = {}): Promise<IssuedCertificate> {
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await newKeyPair();
  const identity = node.role === 'cb' ? CB_IDENTITY_URI : fiIdentityUri(node.fiId);
  const usages = node.role === 'cb' ? [x509.ExtendedKeyUsage.serverAuth] : [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${node.role === 'cb' ? 'tally-cb' : `tally-fi-${node.fiId}`}`,
    issuer: caCert.subject,
    ...window(options, NODE_VALIDITY_DAYS),
    publicKey: keys.publicKey,
    signingKey: await signingKeyOf(ca.key),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }, ...hostNames(options.hosts ?? DEFAULT_HOSTS)], false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey), serial: normalizeSerial(cert.serialNumber) };
}

/**
 * The tally identities a certificate's subjectAltName names (node:crypto's text form:
 * `URI:urn:tally:fi:bank-a, DNS:localhost, IP Address:127.0.0.1`). Only URIs count.
 */
export function identityUris(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  return subjectAltName.split(', ').filter((e) => e.startsWith('URI:urn:tally:')).map((e) => e.slice('URI:'.length));
}
