// The FI's side of mutual TLS: a `fetch` over node:https for the FI → CB link (global fetch
// cannot present a client certificate). It presents the FI's certificate, trusts the network CA
// and nothing else, and accepts a server only if its certificate names the CB (urn:tally:cb): an
// FI's certificate, also from the network CA, cannot stand in for the CB. Host names are checked
// as usual. One keep-alive agent per client; close() ends its sockets.

import https from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { HTTP_ANSWER_BYTES_MAX } from '../limits.ts';
import { CB_IDENTITY_URI, identityUris } from './pki.ts';
import type { TlsFiles } from './server.ts';

export type TlsFetch = typeof fetch & { close(): void };

/** Error of a CB certificate that is valid for the network but does not name the CB. */
function notTheCb(cert: PeerCertificate): Error {
  const names = identityUris(cert.subjectaltname);
  return Object.assign(new Error(`the server's certificate names ${names.join(', ') || 'no Tally identity'}, not the CB (${CB_IDENTITY_URI})`), { code: 'ERR_TALLY_NOT_CB' });
}

/** Statuses whose answer has no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

function readAll(res: import('node:http').IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    res.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > HTTP_ANSWER_BYTES_MAX) res.destroy(new Error(`answer is over ${HTTP_ANSWER_BYTES_MAX} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('answer aborted')));
  });
}

function headersOf(res: import('node:http').IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
  }
  return h;
}

/** A fetch for https URLs that presents `cert`/`key`, trusts only `ca`, and talks only to the CB. */
export function tlsFetch(files: TlsFiles): TlsFetch {
  return agentFetch(new https.Agent({
    keepAlive: true,
    ca: files.ca,
    cert: files.cert,
    key: files.key,
    minVersion: 'TLSv1.3',
    checkServerIdentity: (host, cert) => checkServerIdentity(host, cert) ?? (identityUris(cert.subjectaltname).includes(CB_IDENTITY_URI) ? undefined : notTheCb(cert)),
  }));
}

/**
 * A fetch for an operator's tools (`tally audit --ca`, ...): trusts only the network CA, presents
 * no certificate (the operator's bearer token says who calls), and talks to any node of the
 * network; plain http URLs go through the global fetch.
 */
export function caFetch(ca: string): TlsFetch {
  const https_ = agentFetch(new https.Agent({ keepAlive: true, ca, minVersion: 'TLSv1.3' }));
  const run = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new URL(input instanceof Request ? input.url : String(input)).protocol === 'http:' ? fetch(input, init) : https_(input, init);
  return Object.assign(run as typeof fetch, { close: () => https_.close() });
}

function agentFetch(agent: https.Agent): TlsFetch {
  const run = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.protocol !== 'https:') throw new TypeError(`tlsFetch speaks https only, got ${url.protocol} (${url.origin})`);
    const payload = req.body === null ? undefined : Buffer.from(await req.arrayBuffer());
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k] = v));
    if (payload !== undefined) headers['content-length'] = String(payload.length);
    return new Promise<Response>((resolve, reject) => {
      const r = https.request(url, { method: req.method, headers, agent, signal: init?.signal ?? undefined }, (res) => {
        readAll(res).then((buf) => {
          const status = res.statusCode ?? 0;
          resolve(new Response(NULL_BODY.has(status) ? null : new Uint8Array(buf), { status, statusText: res.statusMessage, headers: headersOf(res) }));
        }, reject);
      });
      r.on('error', reject);
      r.end(payload);
    });
  };
  return Object.assign(run as typeof fetch, { close: () => agent.destroy() });
}
