// The CB and FI nodes as Fastify apps. Each node is a plugin over its book, so one process can
// mount the CB and several FIs under prefixes (the embedded default) or serve one node alone.
// Every POST needs an Idempotency-Key header; amounts are decimal strings; errors come back as
// { error: { code, message } } with the status HTTP_STATUS gives the code. The factories open the
// book (migrating its database) from a db adapter, a clock and an RNG, all injected.

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { anyone, bodyField, nodeGate, param, role, type Access, type CallerSources, type Gate } from '../access/gate.ts';
import type { RateLimits } from '../access/rate_limit.ts';
import type { HttpsServerOptions } from '../tls/index.ts';
import { CbLedger } from '../cb/book.ts';
import type { NodeDeps } from '../context.ts';
import { FiLedger } from '../fi/book.ts';
import { amountField, body, decimalField, hexField, idempotencyKey, ledgerApp, respond, stringField } from './app.ts';
import { amount, decimal, limits, list, name, noBody, object, routeSchema, smallInt, wire } from './schema.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { addOpenApiRoute } from './openapi.ts';
import type { NullifierRecord } from '../cb/nullifiers.ts';

export interface AppOptions {
  logger?: boolean;
  /** Serve HTTPS (tls/server.ts httpsServerOptions); absent: plain HTTP, for loopback only. */
  https?: HttpsServerOptions;
  /** Per-caller budgets of the expensive routes (rate_limit.ts defaults otherwise). */
  rateLimits?: Partial<RateLimits>;
}

/** Access rules shared by the CB's and the FIs' routes (access.ts). */
export const rules = {
  public: { grants: [anyone] },
  cbOperator: { grants: [role('cb-operator')] },
  fiOperator: { grants: [role('fi-operator')] },
  cbAudit: { grants: [role('auditor'), role('cb-operator')], limit: 'audit' },
  fiAudit: { grants: [role('auditor'), role('fi-operator')], limit: 'audit' },
  /** A CB route an FI node calls for itself: the FI its certificate names must be the body's fiId. */
  institution: (field = 'fiId'): Access => ({ grants: [{ institution: bodyField(field) }] }),
} satisfies Record<string, Access | ((...a: never[]) => Access)>;

export function cbRoutes(cb: CbLedger, gate: Gate): FastifyPluginAsync {
  return async (app) => {
    gate.install(app);
    app.get('/health', { schema: none, config: { access: rules.public } }, async () => ({ ok: true, node: 'cb' }));
    app.get('/audit', { schema: none, config: { access: rules.cbAudit } }, (req, reply) => respond(reply, 200, () => cb.audit()));
    app.get('/issued', { schema: none, config: { access: rules.cbAudit } }, (req, reply) => respond(reply, 200, async () => ({ issuedMinor: await cb.issuedTotal() })));
    app.get<{ Params: { fiId: string } }>('/fis/:fiId/reserve', { schema: routeSchema({ params: { fiId: name } }), config: { access: { grants: [role('cb-operator'), role('auditor'), { institution: param('fiId') }] } } }, (req, reply) =>
      respond(reply, 200, async () => ({ fiId: req.params.fiId, balanceMinor: await cb.reserveBalance(req.params.fiId) })),
    );
    app.post('/fis', { schema: routeSchema({ body: object({ fiId: name }), status: 201 }), config: { access: rules.cbOperator } }, (req, reply) =>
      respond(reply, 201, () => cb.registerFi({ fiId: stringField(body(req), 'fiId'), idempotencyKey: idempotencyKey(req) })),
    );
    app.post('/issue', { schema: fiAmount, config: { access: rules.cbOperator } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.issue({ fiId: stringField(b, 'fiId'), amountMinor: amountField(b, 'amountMinor'), idempotencyKey: idempotencyKey(req) });
      }),
    );
    app.post('/redeem', { schema: fiAmount, config: { access: rules.cbOperator } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.redeem({ fiId: stringField(b, 'fiId'), amountMinor: amountField(b, 'amountMinor'), idempotencyKey: idempotencyKey(req) });
      }),
    );
    app.post('/transfers', { schema: routeSchema({ body: object({ fromFiId: name, toFiId: name, amountMinor: amount }) }), config: { access: { grants: [role('cb-operator'), { institution: bodyField('fromFiId') }] } } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.settleTransfer({
          fromFiId: stringField(b, 'fromFiId'),
          toFiId: stringField(b, 'toFiId'),
          amountMinor: amountField(b, 'amountMinor'),
          idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.post('/nullifiers', { schema: nullifierSchema, config: { access: { grants: [role('cb-operator')] } } }, (req, reply) =>
      respond(reply, 200, () => cb.insertNullifiers({ items: nullifierItems(body(req)), idempotencyKey: idempotencyKey(req) })),
    );
    app.get('/nullifiers/conflicts', { schema: none, config: { access: rules.cbAudit } }, (req, reply) => respond(reply, 200, async () => ({ conflicts: await cb.nullifierConflicts() })));
  };
}

/** A route that reads no params, body or query. */
export const none = routeSchema({});
const fiAmount = routeSchema({ body: object({ fiId: name, amountMinor: amount }) });
const nullifierSchema = routeSchema({
  body: object({ items: list(object({ epoch: decimal, nullifier: wire.nullifier, paymentHash: wire.paymentHash }), limits.NULLIFIER_BATCH_MAX) }),
});
const customerParams = { params: { customerId: name } };
const accountParams = { params: { accountId: name } };

function nullifierItems(b: Record<string, unknown>): NullifierRecord[] {
  const items = b['items'];
  if (!Array.isArray(items)) throw new LedgerError(LedgerErrorCode.badRequest, 'items must be an array');
  return items.map((it: unknown, i) => {
    if (it === null || typeof it !== 'object') throw new LedgerError(LedgerErrorCode.badRequest, `items[${i}] must be an object`);
    const o = it as Record<string, unknown>;
    return {
      epoch: decimalField(o['epoch'], `items[${i}].epoch`),
      nullifier: hexField(o['nullifier'], `items[${i}].nullifier`),
      paymentHash: hexField(o['paymentHash'], `items[${i}].paymentHash`),
    };
  });
}

type AccountParams = { Params: { accountId: string } };
type CustomerParams = { Params: { customerId: string } };

export function fiRoutes(fi: FiLedger, gate: Gate): FastifyPluginAsync {
  const ownerOfAccount = (req: FastifyRequest) => fi.accountOwner((req.params as { accountId: string }).accountId);
  const staffOrOwner = (logged = false): Access => ({ grants: [role('fi-operator'), { customer: ownerOfAccount }], logged });
  return async (app) => {
    gate.install(app);
    app.get('/health', { schema: none, config: { access: rules.public } }, async () => ({ ok: true, node: 'fi', fiId: fi.fiId }));
    app.get('/audit', { schema: none, config: { access: rules.fiAudit } }, (req, reply) => respond(reply, 200, () => fi.audit()));
    app.post('/customers', { schema: routeSchema({ body: object({ tier: smallInt, identity: wire.identity }), status: 201 }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 201, () => {
        const b = body(req);
        return fi.registerCustomer({
          tier: b['tier'] as number,
          identity: b['identity'] as Record<string, unknown>,
          idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.get<CustomerParams>('/customers/:customerId', { schema: routeSchema(customerParams), config: { access: { grants: [role('fi-operator'), { customer: param('customerId') }], logged: true } } }, (req, reply) => respond(reply, 200, () => fi.customer(req.params.customerId)));
    for (const [path, frozen] of [['freeze', true], ['unfreeze', false]] as const) {
      app.post<CustomerParams>(`/customers/:customerId/${path}`, { schema: routeSchema({ ...customerParams, body: noBody }), config: { access: rules.fiOperator } }, (req, reply) =>
        respond(reply, 200, () => fi.setFrozen({ customerId: req.params.customerId, frozen, idempotencyKey: idempotencyKey(req) })),
      );
    }
    app.post<CustomerParams>('/customers/:customerId/accounts', { schema: routeSchema({ ...customerParams, body: noBody, status: 201 }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 201, () => fi.openAccount({ customerId: req.params.customerId, idempotencyKey: idempotencyKey(req) })),
    );
    app.get<AccountParams>('/accounts/:accountId', { schema: routeSchema(accountParams), config: { access: staffOrOwner() } }, (req, reply) =>
      respond(reply, 200, async () => ({ accountId: req.params.accountId, balanceMinor: await fi.balance(req.params.accountId) })),
    );
    for (const op of ['creditTreasury', 'debitTreasury'] as const) {
      app.post(`/treasury/${op === 'creditTreasury' ? 'credit' : 'debit'}`, { schema: routeSchema({ body: object({ amountMinor: amount, reference: name }, ['amountMinor']) }), config: { access: rules.fiOperator } }, (req, reply) =>
        respond(reply, 200, () => {
          const b = body(req);
          const reference = b['reference'] === undefined ? undefined : stringField(b, 'reference');
          return fi[op]({ amountMinor: amountField(b, 'amountMinor'), reference, idempotencyKey: idempotencyKey(req) });
        }),
      );
    }
    for (const op of ['deposit', 'withdraw'] as const) {
      app.post<AccountParams>(`/accounts/:accountId/${op}`, { schema: routeSchema({ ...accountParams, body: object({ amountMinor: amount }) }), config: { access: op === 'deposit' ? rules.fiOperator : staffOrOwner() } }, (req, reply) =>
        respond(reply, 200, () =>
          fi[op]({ accountId: req.params.accountId, amountMinor: amountField(body(req), 'amountMinor'), idempotencyKey: idempotencyKey(req) }),
        ),
      );
    }
    app.post<AccountParams>('/accounts/:accountId/transfer-out', { schema: routeSchema({ ...accountParams, body: object({ toFiId: name, amountMinor: amount }) }), config: { access: staffOrOwner() } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        const input = { accountId: req.params.accountId, toFiId: stringField(b, 'toFiId'), amountMinor: amountField(b, 'amountMinor') };
        return fi.transferOut({ ...input, idempotencyKey: idempotencyKey(req) });
      }),
    );
    app.post<AccountParams>('/accounts/:accountId/transfer-in', { schema: routeSchema({ ...accountParams, body: object({ fromFiId: name, amountMinor: amount }) }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        const input = { accountId: req.params.accountId, fromFiId: stringField(b, 'fromFiId'), amountMinor: amountField(b, 'amountMinor') };
        return fi.transferIn({ ...input, idempotencyKey: idempotencyKey(req) });
      }),
    );
  };
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
