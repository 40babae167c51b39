// An FI's routes: its book (customers, accounts, treasury, deposits and withdrawals, FI→FI
// transfers, the audit) and its offline side (device enrolment, issuance, vouchers, unload records,
// sync, resume). Both are Fastify plugins behind the node's gate; http/apps.ts mounts them.
// State-changing calls whose request does not name itself need an Idempotency-Key header; sync
// batches and unload records carry their own identity (batch id, record counter) and are keyed by
// it, issuance starts key on the device and epoch, and /resume is idempotent by itself, so those
// four read no header.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { hexToBytes } from '@noble/hashes/utils.js';
import { SIGNED_MESSAGE_BYTES_MAX, decodeBalanceReport, decodeUnloadRecord } from '../../se/messages.ts';
import { peekEnvelopeBody } from '../../se/signed.ts';
import { bodyField, param, role, type Access, type Caller, type Gate } from '../access/gate.ts';
import type { FiLedger, FreezeInput } from '../fi/book.ts';
import { FREEZE_REASON_CHARS_MAX } from '../limits.ts';
import type { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { CASE_ALERTS_MAX, CASE_TEXT_MAX } from '../fi/compliance_cases.ts';
import { WATCHLIST_BYTES_MAX } from '../../compliance/index.ts';
import { amountField, body, decimalField, hexField, hexList, idempotencyKey, intField, respond, stringField } from './app.ts';
import { rules } from './rules.ts';
import { amount, decimal, limits, list, name, noBody, none, object, routeSchema, smallInt, tierParams, wire } from './schema.ts';

const customerParams = { params: { customerId: name } };
const accountParams = { params: { accountId: name } };
type AccountParams = { Params: { accountId: string } };
type CustomerParams = { Params: { customerId: string } };

/** What a freeze or unfreeze answers: the book's, plus the offline side's report to the CB when there is one. */
export type Freeze = (input: FreezeInput) => Promise<{ customerId: string; frozen: boolean }>;

const freezeBody = object({ reason: { type: 'string', minLength: 1, maxLength: FREEZE_REASON_CHARS_MAX } });

/**
 * An FI's book routes. `freeze` applies a freeze or unfreeze: the book's own by default; an FI with
 * an offline side passes FinancialIntermediary.setFrozen, which also reports the devices to the CB.
 */
export function fiRoutes(fi: FiLedger, gate: Gate, freeze: Freeze = (input) => fi.setFrozen(input)): FastifyPluginAsync {
  const ownerOfAccount = (req: FastifyRequest) => fi.accountOwner((req.params as { accountId: string }).accountId);
  const staffOrOwner = (logged = false): Access => ({ grants: [role('fi-operator'), { customer: ownerOfAccount }], logged });
  // A device reads the balance of the account it is enrolled on (its vouchers debit it).
  const deviceOfAccount = (req: FastifyRequest, caller: Caller): Uint8Array | null =>
    caller.kind === 'device' && caller.accountId === (req.params as { accountId: string }).accountId ? caller.deviceId : null;
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
      // The body's reason and the caller's operator id go to fi_freeze_log (docs/compliance.md, Freeze).
      app.post<CustomerParams>(`/customers/:customerId/${path}`, { schema: routeSchema({ ...customerParams, body: freezeBody }), config: { access: rules.fiOperator } }, (req, reply) =>
        respond(reply, 200, () => {
          const caller = req.caller;
          const operatorId = caller?.kind === 'operator' ? caller.operatorId : 'operator';
          return freeze({ customerId: req.params.customerId, frozen, reason: stringField(body(req), 'reason'), operatorId, idempotencyKey: idempotencyKey(req) });
        }),
      );
    }
    app.post<CustomerParams>('/customers/:customerId/accounts', { schema: routeSchema({ ...customerParams, body: noBody, status: 201 }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 201, () => fi.openAccount({ customerId: req.params.customerId, idempotencyKey: idempotencyKey(req) })),
    );
    app.get<AccountParams>('/accounts/:accountId', { schema: routeSchema(accountParams), config: { access: { grants: [...staffOrOwner().grants, { device: deviceOfAccount }] } } }, (req, reply) =>
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

type DeviceParams = { Params: { deviceId: string } };
const badClaims = (): never => {
  throw new LedgerError(LedgerErrorCode.badRequest, 'reclaimClaims must be a list of {claim, record} hex pairs');
};
const deviceId = (req: FastifyRequest<DeviceParams>) => hexField(req.params.deviceId, 'device id');

const deviceParams = { params: { deviceId: wire.deviceId } };
const syncSchema = routeSchema({
  body: object({
    report: wire.signed,
    payments: list(wire.paymentRecord, limits.SYNC_PAYMENTS_MAX),
    unloadRecords: list(wire.signed, limits.SYNC_UNLOADS_MAX),
    reclaimClaims: list(object({ claim: wire.signed, record: wire.paymentRecord }), limits.UNCONFIRMED_PAYMENTS_MAX),
  }, ['report']),
});

const pub = { access: rules.public };

/**
 * The device a signed message in body field `field` names (a balance report, an unload record).
 * One that does not decode names the caller, so the handler answers it with its own 400.
 */
function signedBy(field: string, decode: (body: unknown) => { deviceId: Uint8Array }, what: string) {
  return (req: FastifyRequest, caller: Caller): Uint8Array | null => {
    const own = caller.kind === 'device' ? caller.deviceId : null;
    const v = (req.body as Record<string, unknown> | null | undefined)?.[field];
    if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-f]*$/.test(v)) return own;
    try {
      return decode(peekEnvelopeBody(hexToBytes(v), SIGNED_MESSAGE_BYTES_MAX, what)).deviceId;
    } catch {
      return own;
    }
  };
}

/** An FI's offline routes, mounted next to fiRoutes under the same prefix. */
export function fiOfflineRoutes(fi: FinancialIntermediary, gate: Gate): FastifyPluginAsync {
  const pathDevice = (req: FastifyRequest): Uint8Array | null => {
    const v = (req.params as { deviceId?: string }).deviceId;
    return typeof v === 'string' && v.length % 2 === 0 && /^[0-9a-f]{2,128}$/.test(v) ? hexToBytes(v) : null;
  };
  const ownerOfDevice = async (req: FastifyRequest): Promise<string | null> => {
    const id = pathDevice(req);
    return id === null ? null : fi.deviceOwner(id);
  };
  const device = (extra: Partial<Access> = {}): { access: Access } => ({ access: { grants: [{ device: pathDevice }], ...extra } });
  const enrol = { access: { grants: [role('fi-operator'), { customer: bodyField('customerId') }] } };
  return async (app) => {
    gate.install(app);
    // AML/CFT alerts (docs/compliance.md): staff and auditors read them and the compliance log's
    // chain check; an FI operator assigns, resolves or overrides one, logged under their operator id.
    app.get<{ Querystring: { customerId?: string } }>('/compliance/alerts', { schema: routeSchema({ querystring: { customerId: name } }), config: { access: rules.fiAudit } }, (req, reply) =>
      respond(reply, 200, async () => ({ alerts: await fi.alerts(req.query.customerId) })),
    );
    app.get('/compliance/log/check', { schema: none, config: { access: rules.fiAudit } }, (_req, reply) => respond(reply, 200, () => fi.verifyComplianceLog()));
    app.post<{ Params: { alertId: string } }>('/compliance/alerts/:alertId', {
      schema: routeSchema({ params: { alertId: name }, body: object({ action: { type: 'string', enum: ['assign', 'resolve', 'override'] }, text: { type: 'string', minLength: 1, maxLength: 500 } }) }),
      config: { access: rules.fiOperator },
    }, (req, reply) =>
      respond(reply, 200, async () => {
        const b = body(req);
        const caller = req.caller;
        const actor = caller?.kind === 'operator' ? caller.operatorId : 'operator';
        const text = stringField(b, 'text');
        const alertId = req.params.alertId;
        const key = idempotencyKey(req);
        const alert = b['action'] === 'assign' ? await fi.assignAlert(alertId, text, actor, key)
          : b['action'] === 'resolve' ? await fi.resolveAlert(alertId, text, actor, key)
          : await fi.overrideRule(alertId, text, actor, key);
        return { alert };
      }),
    );
    // Watchlist, cases and the suspicious-activity export (docs/compliance.md): operators write,
    // staff and auditors read; every write and every export is logged under the caller's id.
    const actorOf = (req: FastifyRequest): string => (req.caller?.kind === 'operator' ? req.caller.operatorId : 'operator');
    const caseParams = { caseId: name };
    type CaseParams = { Params: { caseId: string } };
    const desk = fi.compliance;
    app.post('/compliance/watchlist', {
      schema: routeSchema({ body: object({ format: { type: 'string', enum: ['csv', 'json'] }, mode: { type: 'string', enum: ['replace', 'append'] }, data: { type: 'string', maxLength: WATCHLIST_BYTES_MAX } }) }),
      config: { access: rules.fiOperator },
    }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return desk.importWatchlist({ format: b['format'] as 'csv' | 'json', mode: b['mode'] as 'replace' | 'append', data: stringField(b, 'data') }, actorOf(req), idempotencyKey(req));
      }),
    );
    app.get('/compliance/watchlist', { schema: none, config: { access: rules.fiAudit } }, (_req, reply) => respond(reply, 200, async () => ({ entries: await desk.watchlist() })));
    app.get<{ Querystring: { customerId?: string } }>('/compliance/cases', { schema: routeSchema({ querystring: { customerId: name } }), config: { access: rules.fiAudit } }, (req, reply) =>
      respond(reply, 200, async () => ({ cases: await desk.cases(req.query.customerId) })),
    );
    app.post('/compliance/cases', { schema: routeSchema({ body: object({ customerId: name, alertIds: list(name, CASE_ALERTS_MAX) }, ['customerId']), status: 201 }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 201, async () => {
        const b = body(req);
        return { case: await desk.openCase(stringField(b, 'customerId'), (b['alertIds'] as string[] | undefined) ?? [], actorOf(req), idempotencyKey(req)) };
      }),
    );
    app.get<CaseParams>('/compliance/cases/:caseId', { schema: routeSchema({ params: caseParams }), config: { access: rules.fiAudit } }, (req, reply) =>
      respond(reply, 200, async () => ({ case: await desk.case(req.params.caseId) })),
    );
    app.post<CaseParams>('/compliance/cases/:caseId/alerts', { schema: routeSchema({ params: caseParams, body: object({ alertId: name }) }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 200, async () => ({ case: await desk.addAlert(req.params.caseId, stringField(body(req), 'alertId'), actorOf(req), idempotencyKey(req)) })),
    );
    app.post<CaseParams>('/compliance/cases/:caseId/notes', { schema: routeSchema({ params: caseParams, body: object({ text: { type: 'string', minLength: 1, maxLength: CASE_TEXT_MAX } }) }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 200, async () => ({ case: await desk.addNote(req.params.caseId, stringField(body(req), 'text'), actorOf(req), idempotencyKey(req)) })),
    );
    app.post<CaseParams>('/compliance/cases/:caseId/close', { schema: routeSchema({ params: caseParams, body: object({ reason: { type: 'string', minLength: 1, maxLength: CASE_TEXT_MAX } }) }), config: { access: rules.fiOperator } }, (req, reply) =>
      respond(reply, 200, async () => ({ case: await desk.close(req.params.caseId, stringField(body(req), 'reason'), actorOf(req), idempotencyKey(req)) })),
    );
    app.get<CaseParams & { Querystring: { format?: string } }>('/compliance/cases/:caseId/export', {
      schema: routeSchema({ params: caseParams, querystring: { format: { type: 'string', enum: ['json', 'csv'] } } }),
      config: { access: rules.fiAudit },
    }, async (req, reply) => {
      if (req.query.format !== 'csv') return respond(reply, 200, () => desk.export(req.params.caseId, 'json', actorOf(req)));
      const csv = await desk.export(req.params.caseId, 'csv', actorOf(req));
      return reply.code(200).header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.params.caseId}.csv"`).send(csv);
    });
    // The CB's distribution passed through, so a device host needs only its FI's address.
    app.get<{ Params: { tier: string } }>('/distribution/:tier', { schema: tierParams, config: pub }, (req, reply) => respond(reply, 200, () => fi.cb.distribution(Number(req.params.tier))));
    app.post('/enrolment-challenge', { schema: routeSchema({ body: object({ customerId: name, accountId: name, certificate: wire.signed }) }), config: enrol }, (req, reply) =>
      respond(reply, 200, async () => {
        const b = body(req);
        return { challenge: fi.enrolmentChallenge({ customerId: stringField(b, 'customerId'), accountId: stringField(b, 'accountId'), certificate: hexField(b['certificate'], 'certificate') }) };
      }),
    );
    app.post('/devices', {
      config: enrol,
      schema: routeSchema({ body: object({ customerId: name, accountId: name, certificate: wire.signed, attestation: wire.signed, tier: smallInt }, ['customerId', 'accountId', 'certificate', 'attestation']), status: 201 }),
    }, (req, reply) =>
      respond(reply, 201, () => {
        const b = body(req);
        return fi.enrolDevice({
          customerId: stringField(b, 'customerId'), accountId: stringField(b, 'accountId'), certificate: hexField(b['certificate'], 'certificate'),
          attestation: hexField(b['attestation'], 'attestation'), tier: b['tier'] === undefined ? undefined : intField(b, 'tier'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.get<DeviceParams>('/devices/:deviceId', { schema: routeSchema(deviceParams), config: { access: { grants: [role('fi-operator'), { customer: ownerOfDevice }, { device: pathDevice }], logged: true } } }, (req, reply) => respond(reply, 200, () => fi.device(deviceId(req))));
    app.post<DeviceParams>('/devices/:deviceId/issuance', { schema: routeSchema({ ...deviceParams, body: object({ epoch: decimal }, []) }), config: device({ limit: 'issuance' }) }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return fi.startIssuance({ deviceId: deviceId(req), epoch: b['epoch'] === undefined ? undefined : decimalField(b['epoch'], 'epoch') });
      }),
    );
    app.post<DeviceParams>('/devices/:deviceId/credentials', { schema: routeSchema({ ...deviceParams, body: object({ issuerNonce: wire.issuerNonce, request: wire.signed }) }), config: device({ limit: 'issuance' }) }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return fi.issueCredential({ deviceId: deviceId(req), issuerNonce: hexField(b['issuerNonce'], 'issuerNonce'), request: hexField(b['request'], 'request'), idempotencyKey: idempotencyKey(req) });
      }),
    );
    // `loadCounter`: the SE's next load counter; the FI issues only that voucher (fi/value.ts).
    app.post<DeviceParams>('/devices/:deviceId/vouchers', { schema: routeSchema({ ...deviceParams, body: object({ amountMinor: amount, loadCounter: decimal }) }), config: device() }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return fi.createLoadVoucher({ deviceId: deviceId(req), amountMinor: amountField(b, 'amountMinor'), loadCounter: decimalField(b['loadCounter'], 'loadCounter'), idempotencyKey: idempotencyKey(req) });
      }),
    );
    app.get<{ Params: { deviceId: string; counter: string } }>('/devices/:deviceId/vouchers/:counter', {
      schema: routeSchema({ params: { deviceId: wire.deviceId, counter: decimal } }),
      config: { access: { grants: [role('fi-operator'), { device: pathDevice }], logged: true } },
    }, (req, reply) => respond(reply, 200, () => fi.issuedVoucher(hexField(req.params.deviceId, 'device id'), decimalField(req.params.counter, 'counter'))));
    app.post('/unloads', { schema: routeSchema({ body: object({ record: wire.signed }) }), config: { access: { grants: [{ device: signedBy('record', decodeUnloadRecord, 'unload record') }] } } }, (req, reply) => respond(reply, 200, () => fi.applyUnloadRecord(hexField(body(req)['record'], 'record'))));
    app.post('/sync', { schema: syncSchema, config: { access: { grants: [{ device: signedBy('report', decodeBalanceReport, 'balance report') }], limit: 'sync' } } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        const claims = b['reclaimClaims'];
        const reclaimClaims = claims === undefined ? undefined : Array.isArray(claims)
          ? claims.map((c, i) => ({ claim: hexField((c as Record<string, unknown>)?.['claim'], `reclaimClaims[${i}].claim`), record: hexField((c as Record<string, unknown>)?.['record'], `reclaimClaims[${i}].record`) }))
          : badClaims();
        return fi.sync({ report: hexField(b['report'], 'report'), payments: hexList(b, 'payments'), unloadRecords: hexList(b, 'unloadRecords'), reclaimClaims });
      }),
    );
    app.post('/resume', { schema: routeSchema({ body: noBody }), config: { access: rules.fiOperator } }, (req, reply) => respond(reply, 200, async () => ({ finished: await fi.resume() })));
  };
}
