// The operators' console, served by the node under /console: public page shells and assets, and
// JSON data routes behind each node's own gate. The sign-in page keeps the pasted token in the
// tab's sessionStorage and the page's fetch calls send it as `Authorization: Bearer`, so every
// data call goes through the same gate (access/gate.ts) and rules as any ledger route and no
// ambient credential exists for a cross-site request to ride on (no cookie, hence no CSRF). The
// page asks each node's whoami in turn: a token is known to exactly one node's database.
//   /console/cb/whoami, /console/cb/circulation           — the CB's gate (auditor, CB operator)
//   /console/cb/incidents, /policy, /logs, /banks          — the CB's gate (auditor, CB operator)
//   /console/fi/<fiId>/whoami, /customers, /devices, /me  — that FI's gate (its staff, its customers)
//   /console/fi/<fiId>/incidents, /policy, /logs          — that FI's gate (auditor, FI operator)
// An FI's incidents are the CB's incidents naming its customers (served when this server hosts
// the CB too, else the screen says the CB holds them) and its own incidents found at sync.
//   /console/holder/<i>/whoami                             — escrow key holder i's own node's gate

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { CentralBank } from '../cb/central_bank.ts';
import type { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { role, type Access, type Caller, type Gate } from '../access/gate.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { decimalField, respond } from '../http/app.ts';
import { rules } from '../http/rules.ts';
import { decimal, none, routeSchema } from '../http/schema.ts';
import { auditNetwork } from '../network_audit.ts';
import { ASSETS, CONSOLE_HEADERS, PAGES, type Asset } from './assets.ts';
import { CirculationSamples } from './samples.ts';
import { banksScreen, cbIncidents, fiIncidents, fiSyncIncidents, logsScreen, policyScreen, type LogsQuery } from './screens.ts';
import { banks, customersPage, customerView, CONSOLE_ROWS_MAX } from './views.ts';
import { devicesView } from './devices_view.ts';

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

/** The CB's staff: read-only, so no rate limit beyond the gate's; each answer is bounded (screens.ts). */
const cbStaff: Access = { grants: rules.cbAudit.grants };
const fiStaff: Access = { grants: rules.fiAudit.grants };

const rulesOf = (fi: FinancialIntermediary) => ({ fiId: fi.fiId, db: fi.db, rules: fi.ledger.rules, rulesSigned: fi.rulesSigned });

// The incidents lists page by `limit` rows (1..CONSOLE_ROWS_MAX) below the incident `before` (at an FI, `syncBefore` for its sync incidents).
type IncidentsQuerystring = { Querystring: { limit?: string; before?: string; syncBefore?: string } };
const rowId = { type: 'string', minLength: 1, maxLength: 256 } as const;
const incidentsSchema = routeSchema({ querystring: { limit: decimal, before: rowId, syncBefore: rowId } });
/** Reads one row more than asked, to tell whether more exist: [the rows, more]. */
async function paged<T>(limit: string | undefined, read: (limit: number) => Promise<T[]>): Promise<[T[], boolean]> {
  const l = limit === undefined ? CONSOLE_ROWS_MAX : Number(decimalField(limit, 'limit'));
  if (l < 1 || l > CONSOLE_ROWS_MAX) throw new LedgerError(LedgerErrorCode.badRequest, `limit must be 1..${CONSOLE_ROWS_MAX}`);
  const rows = await read(l + 1);
  return [rows.slice(0, l), rows.length > l];
}

// The logs screen pages each log: `limit` entries (1..LOG_ENTRIES_SHOWN), each log below its own cursor.
type LogsQuerystring = { Querystring: { limit?: string; adminBefore?: string; complianceBefore?: string; disclosureBefore?: string } };
const logsSchema = routeSchema({ querystring: { limit: decimal, adminBefore: decimal, complianceBefore: decimal, disclosureBefore: decimal } });
const seqOrAbsent = (v: string | undefined, what: string): bigint | undefined => (v === undefined ? undefined : decimalField(v, what));
function logsQuery(q: LogsQuerystring['Querystring']): LogsQuery {
  return {
    limit: q.limit === undefined ? undefined : Number(decimalField(q.limit, 'limit')),
    adminBefore: seqOrAbsent(q.adminBefore, 'adminBefore'), complianceBefore: seqOrAbsent(q.complianceBefore, 'complianceBefore'), disclosureBefore: seqOrAbsent(q.disclosureBefore, 'disclosureBefore'),
  };
}

/** The CB's read-only screens: incidents, policy and rules, logs, banks. */
function cbScreens(scope: FastifyInstance, cb: CentralBank, fis: readonly FinancialIntermediary[], nowMs: () => number): void {
  scope.get<IncidentsQuerystring>('/incidents', { schema: incidentsSchema, config: { access: cbStaff } }, (req, reply) =>
    respond(reply, 200, async () => {
      const [incidents, more] = await paged(req.query.limit, (limit) => cbIncidents(cb.db, { limit, before: req.query.before }));
      return { incidents, more };
    }),
  );
  scope.get('/policy', { schema: none, config: { access: cbStaff } }, (_req, reply) =>
    respond(reply, 200, async () => policyScreen(await cb.currentPolicy(), fis.map(rulesOf), nowMs())),
  );
  scope.get<LogsQuerystring>('/logs', { schema: logsSchema, config: { access: cbStaff } }, (req, reply) => respond(reply, 200, () => logsScreen(cb.db, { disclosure: true, ...logsQuery(req.query) })));
  scope.get('/banks', { schema: none, config: { access: cbStaff } }, (_req, reply) =>
    respond(reply, 200, async () => ({ banks: await banksScreen(cb.db, fis.map((f) => ({ fiId: f.fiId, db: f.db }))) })),
  );
}

/** An FI's read-only screens: incidents naming its customers, policy and its rules, its admin log. */
function fiScreens(scope: FastifyInstance, fi: FinancialIntermediary, cb: CentralBank | undefined, nowMs: () => number): void {
  scope.get<IncidentsQuerystring>('/incidents', { schema: incidentsSchema, config: { access: fiStaff } }, (req, reply) =>
    respond(reply, 200, async () => {
      const q = req.query;
      const [incidents, more] = cb === undefined ? [[], false] : await paged(q.limit, (limit) => fiIncidents(cb.db, fi.db, fi.fiId, { limit, before: q.before }));
      const [syncIncidents, syncMore] = await paged(q.limit, (limit) => fiSyncIncidents(fi.db, { limit, before: q.syncBefore }));
      return { fiId: fi.fiId, heldByCb: cb === undefined, incidents, more, syncIncidents, syncMore };
    }),
  );
  scope.get('/policy', { schema: none, config: { access: fiStaff } }, (_req, reply) =>
    respond(reply, 200, async () => policyScreen(await fi.cb.currentPolicy(), [rulesOf(fi)], nowMs())),
  );
  scope.get<LogsQuerystring>('/logs', { schema: logsSchema, config: { access: fiStaff } }, (req, reply) => respond(reply, 200, () => logsScreen(fi.db, { disclosure: false, ...logsQuery(req.query) })));
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
      cbScreens(scope, cb.node, fis, nowMs);
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
      fiScreens(scope, fi, cb?.node, nowMs);
      // Paged: `limit` customers (1..CONSOLE_ROWS_MAX) after the customer `after`, `more` when customers follow.
      scope.get<{ Querystring: { limit?: string; after?: string } }>('/customers', {
        schema: routeSchema({ querystring: { limit: decimal, after: { type: 'string', minLength: 1, maxLength: 128 } } }),
        config: { access: { grants: rules.fiAudit.grants } },
      }, (req, reply) =>
        respond(reply, 200, async () => ({
          fiId: fi.fiId,
          ...(await customersPage(fi.db, {
            limit: req.query.limit === undefined ? undefined : Number(decimalField(req.query.limit, 'limit')),
            after: req.query.after,
          })),
        })),
      );
      // Devices with their offline end (devices_view.ts); an FI operator freezes from this screen through the FI's own routes.
      // Paged: `limit` devices (1..CONSOLE_ROWS_MAX) after the device `after` (hex id), `more` when devices follow.
      scope.get<{ Querystring: { limit?: string; after?: string } }>('/devices', {
        schema: routeSchema({ querystring: { limit: decimal, after: { type: 'string', pattern: '^([0-9a-f]{2}){1,64}$' } } }),
        config: { access: { grants: rules.fiAudit.grants } },
      }, (req, reply) =>
        respond(reply, 200, () => devicesView(fi, {
          limit: req.query.limit === undefined ? undefined : Number(decimalField(req.query.limit, 'limit')),
          after: req.query.after === undefined ? undefined : hexToBytes(req.query.after),
        })),
      );
      scope.get('/me', { schema: none, config: { access: ownCustomer } }, (req, reply) =>
        respond(reply, 200, async () => ({ fiId: fi.fiId, customer: await customerView(fi.db, operatorOf(req).customerId!) })),
      );
    }, { prefix: `/console/fi/${fi.fiId}` });
  }
}
