// HTTP routes of the offline side, mounted next to the book routes of service.ts: the CB's
// distribution, incidents and FI-facing calls, and each FI's device enrolment, issuance, vouchers,
// unload records and sync. Bytes travel as lower-case hex, integers as decimal strings (as in
// service.ts). State-changing calls whose request does not name itself need an Idempotency-Key
// header; sync batches and unload records carry their own identity (batch id, record counter) and
// are keyed by it, issuance starts key on the device and epoch, and /resume is idempotent by itself,
// so those four read no header.
// createOfflineEmbeddedApp mounts a CB and several FIs in one server, plus the network audit.

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { hexToBytes } from '@noble/hashes/utils.js';
import { SIGNED_MESSAGE_BYTES_MAX, decodeBalanceReport, decodeUnloadRecord } from '../../se/messages.ts';
import { peekEnvelopeBody } from '../../se/signed.ts';
import type { CentralBank } from '../cb/central_bank.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { amountField, body, decimalField, hexField, idempotencyKey, ledgerApp, respond, stringField } from './app.ts';
import { amount, decimal, limits, list, name, noBody, object, routeSchema, smallInt, wire } from './schema.ts';
import { deviceRequests } from '../access/device_requests.ts';
import { auditNetwork } from '../network_audit.ts';
import { addOpenApiRoute } from './openapi.ts';
import { cbRoutes, fiRoutes, none, rules, type AppOptions } from './apps.ts';
import { bodyField, nodeGate, param, role, type Access, type Caller, type CallerSources, type Gate } from '../access/gate.ts';

function hexList(b: Record<string, unknown>, field: string): Uint8Array[] {
  const v = b[field] ?? [];
  if (!Array.isArray(v)) throw new LedgerError(LedgerErrorCode.badRequest, `${field} must be an array of hex strings`);
  return v.map((x, i) => hexField(x, `${field}[${i}]`));
}

function intField(b: Record<string, unknown>, field: string): number {
  const v = b[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new LedgerError(LedgerErrorCode.badRequest, `${field} must be an integer`);
  return v;
}

type DeviceParams = { Params: { deviceId: string } };
const badClaims = (): never => {
  throw new LedgerError(LedgerErrorCode.badRequest, 'reclaimClaims must be a list of {claim, record} hex pairs');
};
const deviceId = (req: FastifyRequest<DeviceParams>) => hexField(req.params.deviceId, 'device id');

const tierParams = routeSchema({ params: { tier: { type: 'string', pattern: '^[0-9]{1,3}$' } } });
const deviceParams = { params: { deviceId: wire.deviceId } };
const fiAmount = routeSchema({ body: object({ fiId: name, amountMinor: amount }) });
const syncSchema = routeSchema({
  body: object({
    report: wire.signed,
    payments: list(wire.paymentRecord, limits.SYNC_PAYMENTS_MAX),
    unloadRecords: list(wire.signed, limits.SYNC_UNLOADS_MAX),
    reclaimClaims: list(object({ claim: wire.signed, record: wire.paymentRecord }), limits.UNCONFIRMED_PAYMENTS_MAX),
  }, ['report']),
});

const pub = { access: rules.public };
const forFi = { access: rules.institution() };

export function cbOfflineRoutes(cb: CentralBank, gate: Gate): FastifyPluginAsync {
  return async (app) => {
    gate.install(app);
    app.get<{ Params: { tier: string } }>('/distribution/:tier', { schema: tierParams, config: pub }, (req, reply) => respond(reply, 200, () => cb.distribution(Number(req.params.tier))));
    app.get('/incidents', { schema: none, config: { access: { grants: [role('cb-operator'), role('auditor')] } } }, (req, reply) => respond(reply, 200, async () => ({ incidents: await cb.incidents() })));
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
    app.post('/incidents/book', { schema: routeSchema({ body: object({ amountMinor: amount, reference: name }) }), config: { access: { grants: [role('cb-operator'), { anyInstitution: true }] } } }, (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.bookIncidentValue({ amountMinor: amountField(b, 'amountMinor'), reference: stringField(b, 'reference'), idempotencyKey: idempotencyKey(req) });
      }),
    );
  };
}

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
    // `loadCounter`: the SE's next load counter; the FI issues only that voucher (fi_value.ts).
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

/** The titles of the OpenAPI documents (GET /openapi.json) of a network's nodes. */
export const OPENAPI_TITLES = {
  cb: 'Tally central bank node',
  fi: (fiId: string) => `Tally financial intermediary node ${fiId}`,
  embedded: 'Tally ledger: the central bank and its FIs in one process',
} as const;

/** How the nodes of an offline app tell their callers (access.ts), beyond operators' tokens. */
export interface OfflineAppOptions extends AppOptions {
  /** The CB node's callers: FI nodes by client certificate (tls.ts). */
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
 * /audit/network (the CB's auditors and operators), and /openapi.json. With no FIs, the CB node
 * of a network on its own. Each node has its own gate over its own database's operators.
 */
export async function createOfflineEmbeddedApp(nodes: { cb: CentralBank; fis: readonly FinancialIntermediary[] }, options: OfflineAppOptions = {}): Promise<FastifyInstance> {
  const app = ledgerApp(options);
  addOpenApiRoute(app, nodes.fis.length === 0 ? OPENAPI_TITLES.cb : OPENAPI_TITLES.embedded);
  const gates = gatesOf(nodes, options);
  await app.register(cbRoutes(nodes.cb.ledger, gates.cb!), { prefix: '/cb' });
  await app.register(cbOfflineRoutes(nodes.cb, gates.cb!), { prefix: '/cb' });
  for (const fi of nodes.fis) {
    const gate = gates.fi(fi);
    await app.register(fiRoutes(fi.ledger, gate), { prefix: `/fi/${fi.fiId}` });
    await app.register(fiOfflineRoutes(fi, gate), { prefix: `/fi/${fi.fiId}` });
  }
  await app.register(async (root) => {
    gates.cb!.install(root);
    root.get<{ Querystring: { quiescent?: string } }>('/audit/network', { schema: routeSchema({ querystring: { quiescent: { type: 'string', maxLength: 8 } } }), config: { access: rules.cbAudit } }, (req, reply) =>
      respond(reply, 200, () => auditNetwork(nodes, { expectQuiescent: req.query.quiescent === '1' })),
    );
  });
  return app;
}

/** One FI whose CB is elsewhere: /fi/<fiId>/..., book and offline routes, and /openapi.json. */
export async function createOfflineFiApp(fi: FinancialIntermediary, options: OfflineAppOptions = {}): Promise<FastifyInstance> {
  const app = ledgerApp(options);
  addOpenApiRoute(app, OPENAPI_TITLES.fi(fi.fiId));
  const gate = gatesOf({ fis: [fi] }, options).fi(fi);
  await app.register(fiRoutes(fi.ledger, gate), { prefix: `/fi/${fi.fiId}` });
  await app.register(fiOfflineRoutes(fi, gate), { prefix: `/fi/${fi.fiId}` });
  return app;
}
