// The CB's routes: its book (FI reserves, issue and redeem, FI→FI settlement, the nullifier
// registry, the audit) and its offline side (distribution, issuer keys, policy, incidents, and the
// calls its FIs make for their devices: registration, credentials, circulation, payments,
// reclaims, device revocations at freeze). Both are Fastify plugins behind the node's gate; http/apps.ts mounts them. Every POST
// needs an Idempotency-Key header; amounts and integers are decimal strings, bytes lower-case hex.

import type { FastifyPluginAsync } from 'fastify';
import { bodyField, param, role, type Gate } from '../access/gate.ts';
import type { CbLedger } from '../cb/book.ts';
import type { CentralBank } from '../cb/central_bank.ts';
import type { NullifierRecord } from '../cb/nullifiers.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { amountField, body, decimalField, hexField, hexList, idempotencyKey, intField, respond, stringField } from './app.ts';
import { rules } from './rules.ts';
import { REVOCATION_DEVICES_LIST_MAX } from '../limits.ts';
import { amount, decimal, limits, list, name, none, object, routeSchema, smallInt, tierParams, wire } from './schema.ts';

/** The CB's book routes. */
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

const fiAmount = routeSchema({ body: object({ fiId: name, amountMinor: amount }) });
const nullifierSchema = routeSchema({
  body: object({ items: list(object({ epoch: decimal, nullifier: wire.nullifier, paymentHash: wire.paymentHash }), limits.NULLIFIER_BATCH_MAX) }),
});

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

const pub = { access: rules.public };
const forFi = { access: rules.institution() };

/** The CB's offline routes, mounted next to cbRoutes under the same prefix. */
export function cbOfflineRoutes(cb: CentralBank, gate: Gate): FastifyPluginAsync {
  return async (app) => {
    gate.install(app);
    app.get<{ Params: { tier: string } }>('/distribution/:tier', { schema: tierParams, config: pub }, (req, reply) => respond(reply, 200, () => cb.distribution(Number(req.params.tier))));
    app.get('/incidents', { schema: none, config: { access: { grants: [role('cb-operator'), role('auditor')] } } }, (req, reply) => respond(reply, 200, async () => ({ incidents: await cb.incidents() })));
    // The CB's alerts on its aggregates per FI (cb/aggregate_rules.ts): auditors and CB operators
    // read them and the log's chain check; a CB operator resolves one, logged under their id.
    app.get<{ Querystring: { fiId?: string } }>('/compliance/alerts', { schema: routeSchema({ querystring: { fiId: name } }), config: { access: rules.cbAudit } }, (req, reply) =>
      respond(reply, 200, async () => ({ alerts: await cb.complianceAlerts(req.query.fiId) })),
    );
    app.get('/compliance/log/check', { schema: none, config: { access: rules.cbAudit } }, (_req, reply) => respond(reply, 200, () => cb.verifyComplianceLog()));
    // resolve: any alert; override: a soft fi.net_issuance rule's, letting the FI's next issuance it stops through once.
    for (const action of ['resolve', 'override'] as const) {
      app.post<{ Params: { alertId: string } }>(`/compliance/alerts/:alertId/${action}`, {
        schema: routeSchema({ params: { alertId: name }, body: object({ reason: { type: 'string', minLength: 1, maxLength: 500 } }) }),
        config: { access: rules.cbOperator },
      }, (req, reply) =>
        respond(reply, 200, async () => {
          const caller = req.caller;
          const actor = caller?.kind === 'operator' ? caller.operatorId : 'cb-operator';
          const reason = stringField(body(req), 'reason');
          const key = idempotencyKey(req);
          return { alert: action === 'resolve' ? await cb.resolveComplianceAlert(req.params.alertId, reason, actor, key) : await cb.overrideComplianceAlert(req.params.alertId, reason, actor, key) };
        }),
      );
    }
    app.get<{ Params: { epoch: string } }>('/issuer-keys/:epoch', { schema: routeSchema({ params: { epoch: decimal } }), config: pub }, (req, reply) =>
      respond(reply, 200, async () => ({ publicKey: await cb.issuerPublicKey(decimalField(req.params.epoch, 'epoch')) })),
    );
    app.get('/info', { schema: none, config: pub }, (req, reply) => respond(reply, 200, async () => ({ publicKey: cb.publicKey, regulatorKey: cb.regulatorKey })));
    app.get('/policy', { schema: none, config: pub }, (req, reply) => respond(reply, 200, async () => ({ signedPolicy: (await cb.distribution(0)).signedPolicy })));
    app.get<{ Params: { version: string } }>('/policy/:version', { schema: routeSchema({ params: { version: decimal } }), config: pub }, (req, reply) =>
      respond(reply, 200, async () => ({ signedPolicy: await cb.signedPolicyAt(decimalField(req.params.version, 'version')) })),
    );
    app.get<{ Params: { fiId: string; customerId: string } }>('/fis/:fiId/customers/:customerId/blocked', { schema: routeSchema({ params: { fiId: name, customerId: name } }), config: { access: { grants: [role('cb-operator'), { institution: param('fiId') }] } } }, (req, reply) =>
      respond(reply, 200, async () => ({ blocked: await cb.isBlocked(req.params.fiId, req.params.customerId) })),
    );
    app.post('/devices', { schema: routeSchema({ body: object({ fiId: name, customerId: name, deviceId: wire.deviceId, kPoint: wire.kPoint, attestationKey: wire.attestationKey }) }), config: forFi }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.registerDevice({
          fiId: stringField(b, 'fiId'), customerId: stringField(b, 'customerId'), deviceId: hexField(b['deviceId'], 'deviceId'),
          kPoint: hexField(b['kPoint'], 'kPoint'), attestationKey: hexField(b['attestationKey'], 'attestationKey'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.post('/credentials', {
      config: { access: { ...rules.institution(), limit: 'issuance' } },
      schema: routeSchema({
        body: object({
          fiId: name, customerId: name, deviceId: wire.deviceId, tier: smallInt, deviceClass: smallInt, epoch: decimal, issuerNonce: wire.issuerNonce, request: wire.signed,
        }),
      }),
    }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.issueCredential({
          fiId: stringField(b, 'fiId'), customerId: stringField(b, 'customerId'), deviceId: hexField(b['deviceId'], 'deviceId'),
          tier: intField(b, 'tier'), deviceClass: intField(b, 'deviceClass'), epoch: decimalField(b['epoch'], 'epoch'),
          issuerNonce: hexField(b['issuerNonce'], 'issuerNonce'), request: hexField(b['request'], 'request'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    for (const op of ['fundCirculation', 'defundCirculation'] as const) {
      app.post(`/circulation/${op === 'fundCirculation' ? 'fund' : 'defund'}`, { schema: fiAmount, config: forFi }, (req, reply) =>
        respond(reply, 200, () => {
          const b = body(req);
          return cb[op]({ fiId: stringField(b, 'fiId'), amountMinor: amountField(b, 'amountMinor'), idempotencyKey: idempotencyKey(req) });
        }),
      );
    }
    app.post('/payments', { schema: routeSchema({ body: object({ fiId: name, deviceId: wire.deviceId, records: list(wire.paymentRecord, limits.SYNC_PAYMENTS_MAX) }) }), config: forFi }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.registerPayments({
          fiId: stringField(b, 'fiId'), deviceId: hexField(b['deviceId'], 'deviceId'), records: hexList(b, 'records'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.post('/reclaims', {
      config: forFi,
      schema: routeSchema({ body: object({ fiId: name, epoch: decimal, nullifier: wire.nullifier, paymentHash: wire.paymentHash, amountMinor: amount }) }),
    }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.reclaimPayment({
          fiId: stringField(b, 'fiId'), epoch: decimalField(b['epoch'], 'epoch'), nullifier: hexField(b['nullifier'], 'nullifier'),
          paymentHash: hexField(b['paymentHash'], 'paymentHash'), amountMinor: amountField(b, 'amountMinor'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    // An FI froze or unfroze a customer: its devices' keys go on or off the signed revocation list.
    app.post('/device-revocations', {
      config: forFi,
      schema: routeSchema({ body: object({ fiId: name, customerId: name, revoked: { type: 'boolean' }, deviceKeys: list(wire.attestationKey, REVOCATION_DEVICES_LIST_MAX) }) }),
    }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        if (typeof b['revoked'] !== 'boolean') throw new LedgerError(LedgerErrorCode.badRequest, 'revoked must be true or false');
        return cb.reportDeviceRevocations({
          fiId: stringField(b, 'fiId'), customerId: stringField(b, 'customerId'), revoked: b['revoked'], deviceKeys: hexList(b, 'deviceKeys'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.get('/device-revocations', { schema: none, config: { access: { grants: [role('cb-operator'), role('auditor')] } } }, (req, reply) =>
      respond(reply, 200, async () => ({ devices: await cb.deviceRevocations() })),
    );
    app.post('/incidents/book', { schema: routeSchema({ body: object({ amountMinor: amount, reference: name }) }), config: { access: { grants: [role('cb-operator'), { anyInstitution: true }] } } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.bookIncidentValue({ amountMinor: amountField(b, 'amountMinor'), reference: stringField(b, 'reference'), idempotencyKey: idempotencyKey(req) });
      }),
    );
  };
}
