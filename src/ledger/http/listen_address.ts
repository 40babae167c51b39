// Where a ledger node may listen. Plain HTTP carries money movements and identity data in clear
// text, so a node without TLS listens on loopback only (127.0.0.0/8, ::1 and its IPv4-mapped form,
// `localhost`). Without TLS any other address, a wildcard (0.0.0.0, ::) or another host name is
// refused before a database is opened or a socket bound; with TLS (tls/) any address is allowed.

import net from 'node:net';

export class ListenAddressError extends Error {
  readonly code = 'NOT_LOOPBACK';
  constructor(readonly host: string) {
    super(`refusing to listen on ${host}: it is not a loopback address (127.0.0.0/8, ::1, localhost), and without TLS the node's HTTP would cross the network in clear text`);
    this.name = 'ListenAddressError';
  }
}

function isLoopbackIpv4(host: string): boolean {
  return net.isIPv4(host) && host.split('.')[0] === '127';
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || isLoopbackIpv4(h)) return true;
  if (!net.isIPv6(h)) return false;
  const canonical = new net.SocketAddress({ address: h, family: 'ipv6' }).address;
  if (canonical === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  return mapped !== null && isLoopbackIpv4(mapped[1]!);
}

/** Throws ListenAddressError unless `host` (default 127.0.0.1) is a loopback address or the node serves TLS. */
export function requireLoopbackListen(host: string | undefined, tlsOn = false): void {
  if (tlsOn) return;
  if (host !== undefined && !isLoopbackHost(host)) throw new ListenAddressError(host);
}
