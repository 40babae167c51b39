// The right caller of any ledger route, read off the route's own access rule (src/ledger/access.ts),
// for tests that want their requests to get past the gate (the HTTP fuzzer): a staff token of the
// node the route belongs to for a role grant, the SE's signature of that FI's test device for a
// device grant, the FI's client certificate for an institution grant, the device owner's customer
// token for a customer grant (the console's own-data routes), nothing for a public route.
// Requests go over real HTTPS with a network CA made here, to a server started with `appOptions`.

import { Agent, request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import {
  addOperator, createNetworkCa, httpsServerOptions, institutionFrom, issueNodeCertificate, RevokedSerials, signedHeaders, writeRevokedFile,
  type Db, type IssuedCertificate, type OfflineAppOptions, type OperatorRole,
} from '../../src/ledger/index.ts';
import type { LedgerRoute } from '../../src/ledger/http/app.ts';
import type { OfflineNet, TestDevice } from './offline_world.ts';

export interface Answer {
  statusCode: number;
  body: string;
  json(): unknown;
}

export interface RightCallers {
  appOptions: OfflineAppOptions;
  /** Sends `request` (inject-style) to the listening `app` as the right caller of `route`. */
  send(app: FastifyInstance, route: LedgerRoute, request: InjectOptions): Promise<Answer>;
  close(): void;
}

export async function rightCallers(net: OfflineNet, devices: Record<string, TestDevice>): Promise<RightCallers> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-right-callers-'));
  const ca = await createNetworkCa();
  const cbCert = await issueNodeCertificate(ca, { role: 'cb' });
  const fiCerts = new Map<string, IssuedCertificate>();
  for (const fi of [net.fiA, net.fiB]) fiCerts.set(fi.fiId, await issueNodeCertificate(ca, { role: 'fi', fiId: fi.fiId }));
  const revokedFile = path.join(dir, 'revoked.json');
  writeRevokedFile(revokedFile, []);
  const revoked = RevokedSerials.open(revokedFile);
  const high = { burst: 1_000_000, perSecond: 1_000_000 };

  const dbOf = (url: string): { db: Db; fiId: string | null } => {
    const m = /^(?:\/console)?\/fi\/([^/]+)\//.exec(url);
    if (m === null) return { db: net.cb.db, fiId: null };
    const fi = [net.fiA, net.fiB].find((f) => f.fiId === m[1])!;
    return { db: fi.db, fiId: fi.fiId };
  };
  const tokens = new Map<string, string>();
  const tokenFor = async (db: Db, role: OperatorRole, key: string, holderIndex?: number) => {
    let t = tokens.get(key);
    if (t === undefined) {
      t = (await addOperator(db, { name: `fuzz ${role}`, role, ...(role === 'key-holder' ? { holderIndex: holderIndex ?? 1 } : {}) })).token;
      tokens.set(key, t);
    }
    return t;
  };
  /** A customer token of the FI's test device's owner (the console's own-data routes). */
  const customerToken = async (db: Db, fiId: string) => {
    let t = tokens.get(`${fiId}/customer`);
    if (t === undefined) {
      t = (await addOperator(db, { name: 'fuzz customer', role: 'customer', customerId: devices[fiId]!.customerId })).token;
      tokens.set(`${fiId}/customer`, t);
    }
    return t;
  };
  const agents = new Map<string, Agent>();
  const agentFor = (fiId: string | null) => {
    const key = fiId ?? 'none';
    let a = agents.get(key);
    if (a === undefined) {
      const cert = fiId === null ? undefined : fiCerts.get(fiId)!;
      a = new Agent({ ca: ca.cert, keepAlive: true, ...(cert === undefined ? {} : { cert: cert.cert, key: cert.key }) });
      agents.set(key, a);
    }
    return a;
  };

  /** Headers and client certificate for the first grant of the route that a test caller can hold. */
  async function credentials(route: LedgerRoute, method: string, url: string, body: string): Promise<{ headers: Record<string, string>; certFi: string | null }> {
    const { db, fiId } = dbOf(route.url);
    for (const g of route.access.grants) {
      if ('anyone' in g) return { headers: {}, certFi: null };
      if ('role' in g) return { headers: { authorization: `Bearer ${await tokenFor(db, g.role, `${fiId ?? 'cb'}/${g.role}`)}` }, certFi: null };
      if ('keyHolder' in g) {
        // The holder the path names (…/holders/<i>/…); a path with no valid index has no right caller but holder 1.
        const i = Number(/\/holders\/([1-9][0-9]{0,2})\//.exec(url)?.[1] ?? '1');
        const index = i <= 255 ? i : 1;
        return { headers: { authorization: `Bearer ${await tokenFor(db, 'key-holder', `${fiId ?? 'cb'}/key-holder/${index}`, index)}` }, certFi: null };
      }
      if ('customer' in g && fiId !== null) return { headers: { authorization: `Bearer ${await customerToken(db, fiId)}` }, certFi: null };
      if ('device' in g && fiId !== null) return { headers: await signedHeaders(devices[fiId]!.client, method, url, body), certFi: null };
      if ('institution' in g || 'anyInstitution' in g) return { headers: {}, certFi: 'fi-a' };
    }
    throw new Error(`no test caller for ${route.method} ${route.url}`);
  }

  return {
    appOptions: {
      https: httpsServerOptions({ key: cbCert.key, cert: cbCert.cert, ca: ca.cert }),
      cbCallers: { institution: institutionFrom(revoked) },
      rateLimits: { audit: high, sync: high, issuance: high },
    },
    async send(app, route, request) {
      const method = String(request.method ?? 'GET');
      const url = String(request.url);
      const payload = request.payload === undefined ? undefined : Buffer.isBuffer(request.payload) ? request.payload : Buffer.from(String(request.payload));
      const { headers, certFi } = await credentials(route, method, url, payload?.toString('utf8') ?? '');
      const address = app.server.address() as { port: number };
      const all: Record<string, string> = { ...(request.headers as Record<string, string> | undefined), ...headers };
      // Header values a raw client could send but node's client refuses: non-Latin-1 text goes as
      // its UTF-8 bytes; control characters cannot go over node's client at all, so those probes
      // are injected (same app, same credentials but the certificate).
      for (const [k, v] of Object.entries(all)) if (/[^\t\x20-\x7e]/.test(v)) all[k] = Buffer.from(v, 'utf8').toString('latin1');
      if (Object.values(all).some((v) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v))) {
        const r = await app.inject({ ...request, headers: { ...(request.headers as Record<string, string> | undefined), ...headers } });
        return { statusCode: r.statusCode, body: r.body, json: () => r.json() as unknown };
      }
      return new Promise<Answer>((resolve, reject) => {
        const req = httpsRequest({
          host: '127.0.0.1', port: address.port, path: url, method, agent: agentFor(certFi), servername: 'localhost',
          headers: { ...all, ...(payload === undefined ? {} : { 'content-length': String(payload.length) }) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ statusCode: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) as unknown });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      });
    },
    close() {
      for (const a of agents.values()) a.destroy();
      revoked.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
