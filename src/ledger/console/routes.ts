// The operators' console, served by the node under /console: public page shells and assets, and
// JSON data routes behind each node's own gate. The sign-in page keeps the pasted token in the
// tab's sessionStorage and the page's fetch calls send it as `Authorization: Bearer`, so every
// data call goes through the same gate (access/gate.ts) and rules as any ledger route and no
// ambient credential exists for a cross-site request to ride on (no cookie, hence no CSRF). The
// page asks each node's whoami in turn: a token is known to exactly one node's database.
//   /console/cb/whoami, /console/cb/circulation           — the CB's gate (auditor, CB operator)
//   /console/fi/<fiId>/whoami, /customers, /me            — that FI's gate (its staff, its customers)
//   /console/holder/<i>/whoami                            — escrow key holder i's own node's gate

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CentralBank } from '../cb/central_bank.ts';
import type { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { role, type Access, type Caller, type Gate } from '../access/gate.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { respond } from '../http/app.ts';
import { rules } from '../http/rules.ts';
import { none, routeSchema } from '../http/schema.ts';
import { auditNetwork } from '../network_audit.ts';
import { ASSETS, CONSOLE_HEADERS, PAGES, type Asset } from './assets.ts';
import { CirculationSamples } from './samples.ts';
import { banks, customers } from './views.ts';

export interface ConsoleNodes {
  cb?: { node: CentralBank; gate: Gate };
  fis: readonly { node: FinancialIntermediary; gate: Gate }[];
  /** Escrow key holders' own nodes (http/holder_routes.ts), each with its gate. */
  holders?: readonly { index: number; gate: Gate }[];
}

/** Any caller holding a token of the node: staff in any role, or a customer. */
const anyOperator: Access = {
  grants: [role('cb-operator'), role('fi-operator'), role('auditor'), role('regulator'), role('key-holder'), { customer: (_req, c) => (c.kind === 'operator' ? c.customerId : null) }],
};
/** A customer of the node, for their own data. */
const ownCustomer: Access = { grants: [{ customer: (_req, c) => (c.kind === 'operator' ? c.customerId : null) }] };

function send(reply: FastifyReply, asset: Asset): FastifyReply {
  return reply.code(200).headers(CONSOLE_HEADERS).type(asset.type).send(asset.body);
}

function operatorOf(req: FastifyRequest): Extract<Caller, { kind: 'operator' }> {
  const c = req.caller;
  if (c?.kind !== 'operator') throw new LedgerError(LedgerErrorCode.forbidden, 'The console needs an operator token');
  return c;
}

function whoami(app: FastifyInstance, node: string, access: Access = anyOperator): void {
  app.get('/whoami', { schema: none, config: { access } }, (req, reply) =>
    respond(reply, 200, async () => {
      const c = operatorOf(req);
      return { node, name: c.name, role: c.role, customerId: c.customerId, holderIndex: c.holderIndex };
    }),
  );
}

/** The shells and assets anyone may fetch: they hold no data. */
function publicRoutes(app: FastifyInstance, nodes: ConsoleNodes): void {
  const pub = { access: rules.public };
  app.get('/console/', { schema: none, config: pub }, (_req, reply) => send(reply, PAGES.signIn));
  app.get('/console/overview', { schema: none, config: pub }, (_req, reply) => send(reply, PAGES.overview));
  app.get<{ Params: { file: string } }>('/console/assets/:file', { schema: routeSchema({ params: { file: { type: 'string', maxLength: 40, pattern: '^[A-Za-z0-9._]+$', enum: Object.keys(ASSETS) } } }), config: pub }, (req, reply) =>
    send(reply, ASSETS[req.params.file]!),
  );
  const list = [...(nodes.cb ? [{ node: 'cb', base: '/console/cb' }] : []), ...nodes.fis.map((f) => ({ node: f.node.fiId, base: `/console/fi/${f.node.fiId}` })),
    ...(nodes.holders ?? []).map((h) => ({ node: `holder-${h.index}`, base: `/console/holder/${h.index}` }))];
  app.get('/console/nodes', { schema: none, config: pub }, (_req, reply) => respond(reply, 200, async () => ({ nodes: list })));
}

/** Registers the console on `app`; `samples` keeps the circulation chart's series. */
export async function registerConsole(app: FastifyInstance, nodes: ConsoleNodes, options: { samples?: CirculationSamples; nowMs?: () => number } = {}): Promise<void> {
  const samples = options.samples ?? new CirculationSamples();
  const nowMs = options.nowMs ?? Date.now;
  publicRoutes(app, nodes);
  const cb = nodes.cb;
  const fis = nodes.fis.map((f) => f.node);
  if (cb !== undefined) {
    await app.register(async (scope) => {
      cb.gate.install(scope);
      whoami(scope, 'cb');
      scope.get('/circulation', { schema: none, config: { access: rules.cbAudit } }, (_req, reply) =>
        respond(reply, 200, async () => {
          const audit = await auditNetwork({ cb: cb.node, fis }, { nowMs: nowMs() });
          samples.add(audit.checkedAtMs, audit.totals);
          return { clean: audit.clean, checkedAtMs: audit.checkedAtMs, totals: audit.totals, violations: audit.violations.length, alarms: audit.alarms.length, banks: await banks(cb.node.db), samples: samples.list() };
        }),
      );
    }, { prefix: '/console/cb' });
  }
  for (const { index, gate } of nodes.holders ?? []) {
    await app.register(async (scope) => {
      gate.install(scope);
      whoami(scope, `holder-${index}`, { grants: [{ keyHolder: () => String(index) }] });
    }, { prefix: `/console/holder/${index}` });
  }
  for (const { node: fi, gate } of nodes.fis) {
    await app.register(async (scope) => {
      gate.install(scope);
      whoami(scope, fi.fiId);
      scope.get('/customers', { schema: none, config: { access: { grants: rules.fiAudit.grants } } }, (_req, reply) =>
        respond(reply, 200, async () => ({ fiId: fi.fiId, customers: await customers(fi.db) })),
      );
      scope.get('/me', { schema: none, config: { access: ownCustomer } }, (req, reply) =>
        respond(reply, 200, async () => ({ fiId: fi.fiId, customer: (await customers(fi.db, operatorOf(req).customerId!))[0] ?? null })),
      );
    }, { prefix: `/console/fi/${fi.fiId}` });
  }
}
