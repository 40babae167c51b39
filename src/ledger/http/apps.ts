// The ledger's nodes as Fastify apps, built from the route plugins of cb_routes.ts and
// fi_routes.ts: a CB or an FI book node on its own, the book nodes embedded in one process, and
// the offline apps (the CB and its FIs in one server with the network audit, or one FI whose CB
// is elsewhere). Each node has its own gate over its own database. The factories of the book
// nodes open the book (migrating its database) from a db adapter, a clock and an RNG, all
// injected. Errors come back as { error: { code, message } } with the status HTTP_STATUS gives.

import type { FastifyInstance } from 'fastify';
import { deviceRequests } from '../access/device_requests.ts';
import { nodeGate, type CallerSources } from '../access/gate.ts';
import type { RateLimits } from '../access/rate_limit.ts';
import { CbLedger } from '../cb/book.ts';
import type { CentralBank } from '../cb/central_bank.ts';
import type { NodeDeps } from '../context.ts';
import { FiLedger } from '../fi/book.ts';
import type { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { auditNetwork } from '../network_audit.ts';
import type { HttpsServerOptions } from '../tls/index.ts';
import { registerConsole } from '../console/index.ts';
import { ledgerApp, respond } from './app.ts';
import { cbOfflineRoutes, cbRoutes } from './cb_routes.ts';
import { fiOfflineRoutes, fiRoutes } from './fi_routes.ts';
import { holderRoutes, type CbWarrantPort } from './holder_routes.ts';
import { warrantRoutes } from './warrant_routes.ts';
import { systemRng, type RegulatorKeyShare, type Rng } from '../../crypto/index.ts';
import type { Db } from '../db/adapter.ts';
import { migrate } from '../db/migrations.ts';
import { addOpenApiRoute } from './openapi.ts';
import { rules } from './rules.ts';
import { routeSchema } from './schema.ts';

export interface AppOptions {
  logger?: boolean;
  /** Serve HTTPS (tls/server.ts httpsServerOptions); absent: plain HTTP, for loopback only. */
  https?: HttpsServerOptions;
  /** Per-caller budgets of the expensive routes (rate_limit.ts defaults otherwise). */
  rateLimits?: Partial<RateLimits>;
}

/** A ledger app that answers GET /openapi.json with its own document, titled `title`. */
function newApp(options: AppOptions, title: string): FastifyInstance {
  const app = ledgerApp(options);
  addOpenApiRoute(app, title);
  return app;
}

/** A CB node on its own: opens (and migrates) its book, returns the app and the book. */
export async function createCbApp(deps: NodeDeps & AppOptions & { callers?: CallerSources }): Promise<{ app: FastifyInstance; cb: CbLedger }> {
  const cb = await CbLedger.open(deps);
  const app = newApp(deps, 'Tally CB book node');
  await app.register(cbRoutes(cb, nodeGate(cb.db, deps.callers, { limits: deps.rateLimits })));
  return { app, cb };
}

/** An FI node on its own. */
export async function createFiApp(deps: NodeDeps & AppOptions & { fiId: string; callers?: CallerSources }): Promise<{ app: FastifyInstance; fi: FiLedger }> {
  const fi = await FiLedger.open(deps);
  const app = newApp(deps, `Tally FI book node ${fi.fiId}`);
  await app.register(fiRoutes(fi, nodeGate(fi.db, deps.callers, { limits: deps.rateLimits })));
  return { app, fi };
}

/** The embedded default: the CB under /cb and each FI under /fi/<fiId>, each with its own book. */
export async function createEmbeddedApp(
  nodes: { cb: CbLedger; fis: readonly FiLedger[] },
  options: AppOptions = {},
): Promise<FastifyInstance> {
  const app = newApp(options, 'Tally book nodes: the CB and its FIs in one process');
  await app.register(cbRoutes(nodes.cb, nodeGate(nodes.cb.db, {}, { limits: options.rateLimits })), { prefix: '/cb' });
  for (const fi of nodes.fis) await app.register(fiRoutes(fi, nodeGate(fi.db, {}, { limits: options.rateLimits })), { prefix: `/fi/${fi.fiId}` });
  return app;
}

/** The titles of the OpenAPI documents (GET /openapi.json) of a network's nodes. */
export const OPENAPI_TITLES = {
  cb: 'Tally central bank node',
  fi: (fiId: string) => `Tally financial intermediary node ${fiId}`,
  embedded: 'Tally ledger: the central bank and its FIs in one process',
} as const;

/** How the nodes of an offline app tell their callers (access/gate.ts), beyond operators' tokens. */
export interface OfflineAppOptions extends AppOptions {
  /** The CB node's callers: FI nodes by client certificate (tls/). */
  cbCallers?: CallerSources;
  /** Each FI node's callers: its devices by request signature (device_requests.ts). */
  fiCallers?: (fi: FinancialIntermediary) => CallerSources;
}

function gatesOf(nodes: { cb?: CentralBank; fis: readonly FinancialIntermediary[] }, options: OfflineAppOptions) {
  const limits = { limits: options.rateLimits };
  return {
    cb: nodes.cb === undefined ? undefined : nodeGate(nodes.cb.db, options.cbCallers, limits),
    // Every FI checks its devices' request signatures unless the caller brings its own sources.
    fi: (fi: FinancialIntermediary) => nodeGate(fi.db, options.fiCallers?.(fi) ?? { device: deviceRequests(fi) }, limits),
  };
}

/**
 * A CB and its FIs in one server: /cb/... and /fi/<fiId>/..., book and offline routes,
 * /audit/network (the CB's auditors and operators), the console under /console, and /openapi.json. With no FIs, the CB node
 * of a network on its own. Each node has its own gate over its own database's operators.
 */
export async function createOfflineEmbeddedApp(nodes: { cb: CentralBank; fis: readonly FinancialIntermediary[] }, options: OfflineAppOptions = {}): Promise<FastifyInstance> {
  const app = ledgerApp(options);
  addOpenApiRoute(app, nodes.fis.length === 0 ? OPENAPI_TITLES.cb : OPENAPI_TITLES.embedded);
  const gates = gatesOf(nodes, options);
  await app.register(cbRoutes(nodes.cb.ledger, gates.cb!), { prefix: '/cb' });
  await app.register(cbOfflineRoutes(nodes.cb, gates.cb!), { prefix: '/cb' });
  await app.register(warrantRoutes(nodes.cb, gates.cb!), { prefix: '/cb' });
  const fiGates = nodes.fis.map((fi) => ({ node: fi, gate: gates.fi(fi) }));
  for (const { node: fi, gate } of fiGates) {
    await app.register(fiRoutes(fi.ledger, gate, (input) => fi.setFrozen(input)), { prefix: `/fi/${fi.fiId}` });
    await app.register(fiOfflineRoutes(fi, gate), { prefix: `/fi/${fi.fiId}` });
  }
  // The operators' console (src/ledger/console) behind the same gates, one per node.
  await registerConsole(app, { cb: { node: nodes.cb, gate: gates.cb! }, fis: fiGates });
  await app.register(async (root) => {
    gates.cb!.install(root);
    root.get<{ Querystring: { quiescent?: string } }>('/audit/network', { schema: routeSchema({ querystring: { quiescent: { type: 'string', maxLength: 8 } } }), config: { access: rules.cbAudit } }, (req, reply) =>
      respond(reply, 200, () => auditNetwork(nodes, { expectQuiescent: req.query.quiescent === '1' })),
    );
  });
  return app;
}

/** One FI whose CB is elsewhere: /fi/<fiId>/..., book and offline routes, its console, and /openapi.json. */
export async function createOfflineFiApp(fi: FinancialIntermediary, options: OfflineAppOptions = {}): Promise<FastifyInstance> {
  const app = ledgerApp(options);
  addOpenApiRoute(app, OPENAPI_TITLES.fi(fi.fiId));
  const gate = gatesOf({ fis: [fi] }, options).fi(fi);
  await app.register(fiRoutes(fi.ledger, gate, (input) => fi.setFrozen(input)), { prefix: `/fi/${fi.fiId}` });
  await app.register(fiOfflineRoutes(fi, gate), { prefix: `/fi/${fi.fiId}` });
  await registerConsole(app, { fis: [{ node: fi, gate }] });
  return app;
}

/** The title of an escrow key holder's node's OpenAPI document. */
export const holderTitle = (index: number): string => `Tally escrow key holder ${index}`;

/**
 * Escrow key holder i's own node: /holder/<i>/... behind a gate over `db` (its own database, where
 * `tally operator add --role key-holder --holder <i>` makes its tokens), its console, and
 * /openapi.json. It holds `share` and reaches the CB through `cb` (cbWarrantClient with holder i's
 * CB token).
 */
export async function createHolderApp(opts: AppOptions & { db: Db; share: RegulatorKeyShare; cb: CbWarrantPort; rng?: Rng; nowMs?: () => number }): Promise<FastifyInstance> {
  const nowMs = opts.nowMs ?? Date.now;
  await migrate(opts.db, nowMs);
  const app = ledgerApp(opts);
  addOpenApiRoute(app, holderTitle(opts.share.index));
  const gate = nodeGate(opts.db, {}, { limits: opts.rateLimits, nowMs });
  await app.register(holderRoutes({ share: opts.share, cb: opts.cb, gate, rng: opts.rng ?? systemRng }), { prefix: `/holder/${opts.share.index}` });
  await registerConsole(app, { fis: [], holders: [{ index: opts.share.index, gate }] });
  return app;
}
