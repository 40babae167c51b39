// Mutual TLS between the CB and its FIs: the network PKI (pki.ts), the revocation list the CB
// follows (revoked.ts), the CB's server options and client-certificate callers (server.ts), and
// the FI's client of its CB (client.ts).

export {
  CA_VALIDITY_DAYS, CB_IDENTITY_URI, DEFAULT_HOSTS, NODE_VALIDITY_DAYS, certificateSerial, createNetworkCa, fiIdentityUri, issueNodeCertificate, normalizeSerial,
  type IssuedCertificate, type NodeIdentity, type PemPair, type Validity,
} from './pki.ts';
export { REVOCATION_RECHECK_MS, RevokedSerials, readRevokedFile, revokeSerial, writeRevokedFile } from './revoked.ts';
export { httpsServerOptions, institutionFrom, openServerTls, type HttpsServerOptions, type NodeTls, type ServerTls, type TlsFiles } from './server.ts';
export { caFetch, tlsFetch, type TlsFetch } from './client.ts';
