// HTTP routes of the offline side, mounted next to the book routes of service.ts: the CB's
// distribution, incidents and FI-facing calls, and each FI's device enrolment, issuance, vouchers,
// unload records and sync. Bytes travel as lower-case hex, integers as decimal strings (as in
// service.ts); every POST needs an Idempotency-Key header (sync and unload records derive their
// own keys from the batch or record, so the header is only required to be present there).
// createOfflineEmbeddedApp mounts a CB and several FIs in one server, plus the network audit.

import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import type { CentralBank } from './central_bank.ts';
import { LedgerError, LedgerErrorCode } from './errors.ts';
import type { FinancialIntermediary } from './financial_intermediary.ts';
import { amountField, body, decimalField, hexField, idempotencyKey, respond, stringField } from './http.ts';
import { HTTP_BODY_BYTES_MAX } from './limits.ts';
import { auditNetwork } from './network_audit.ts';
import { cbRoutes, fiRoutes } from './service.ts';

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

export function cbOfflineRoutes(cb: CentralBank): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { tier: string } }>('/distribution/:tier', (req, reply) => respond(reply, 200, () => cb.distribution(Number(req.params.tier))));
    app.get('/incidents', (req, reply) => respond(reply, 200, async () => ({ incidents: await cb.incidents() })));
    app.get<{ Params: { epoch: string } }>('/issuer-keys/:epoch', (req, reply) =>
      respond(reply, 200, async () => ({ publicKey: await cb.issuerPublicKey(decimalField(req.params.epoch, 'epoch')) })),
    );
    app.get('/info', (req, reply) => respond(reply, 200, async () => ({ publicKey: cb.publicKey, regulatorKey: cb.regulatorKey })));
    app.get('/policy', (req, reply) => respond(reply, 200, async () => ({ signedPolicy: (await cb.distribution(0)).signedPolicy })));
    app.get<{ Params: { version: string } }>('/policy/:version', (req, reply) =>
      respond(reply, 200, async () => ({ signedPolicy: await cb.signedPolicyAt(decimalField(req.params.version, 'version')) })),
    );
    app.get<{ Params: { fiId: string; customerId: string } }>('/fis/:fiId/customers/:customerId/blocked', (req, reply) =>
      respond(reply, 200, async () => ({ blocked: await cb.isBlocked(req.params.fiId, req.params.customerId) })),
    );
    app.post('/devices', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.registerDevice({
          fiId: stringField(b, 'fiId'), customerId: stringField(b, 'customerId'), deviceId: hexField(b['deviceId'], 'deviceId'),
          kPoint: hexField(b['kPoint'], 'kPoint'), attestationKey: hexField(b['attestationKey'], 'attestationKey'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.post('/credentials', (req, reply) =>
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
      app.post(`/circulation/${op === 'fundCirculation' ? 'fund' : 'defund'}`, (req, reply) =>
        respond(reply, 200, () => {
          const b = body(req);
          return cb[op]({ fiId: stringField(b, 'fiId'), amountMinor: amountField(b, 'amountMinor'), idempotencyKey: idempotencyKey(req) });
        }),
      );
    }
    app.post('/payments', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.registerPayments({
          fiId: stringField(b, 'fiId'), deviceId: hexField(b['deviceId'], 'deviceId'), records: hexList(b, 'records'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.post('/reclaims', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.reclaimPayment({
          fiId: stringField(b, 'fiId'), epoch: decimalField(b['epoch'], 'epoch'), nullifier: hexField(b['nullifier'], 'nullifier'),
          paymentHash: hexField(b['paymentHash'], 'paymentHash'), amountMinor: amountField(b, 'amountMinor'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.post('/incidents/book', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return cb.bookIncidentValue({ amountMinor: amountField(b, 'amountMinor'), reference: stringField(b, 'reference'), idempotencyKey: idempotencyKey(req) });
      }),
    );
  };
}

export function fiOfflineRoutes(fi: FinancialIntermediary): FastifyPluginAsync {
  return async (app) => {
    // The CB's distribution passed through, so a device host needs only its FI's address.
    app.get<{ Params: { tier: string } }>('/distribution/:tier', (req, reply) => respond(reply, 200, () => fi.cb.distribution(Number(req.params.tier))));
    app.post('/enrolment-challenge', (req, reply) =>
      respond(reply, 200, async () => {
        const b = body(req);
        return { challenge: fi.enrolmentChallenge({ customerId: stringField(b, 'customerId'), accountId: stringField(b, 'accountId'), certificate: hexField(b['certificate'], 'certificate') }) };
      }),
    );
    app.post('/devices', (req, reply) =>
      respond(reply, 201, () => {
        const b = body(req);
        return fi.enrolDevice({
          customerId: stringField(b, 'customerId'), accountId: stringField(b, 'accountId'), certificate: hexField(b['certificate'], 'certificate'),
          attestation: hexField(b['attestation'], 'attestation'), tier: b['tier'] === undefined ? undefined : intField(b, 'tier'), idempotencyKey: idempotencyKey(req),
        });
      }),
    );
    app.get<DeviceParams>('/devices/:deviceId', (req, reply) => respond(reply, 200, () => fi.device(deviceId(req))));
    app.post<DeviceParams>('/devices/:deviceId/issuance', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return fi.startIssuance({ deviceId: deviceId(req), epoch: b['epoch'] === undefined ? undefined : decimalField(b['epoch'], 'epoch') });
      }),
    );
    app.post<DeviceParams>('/devices/:deviceId/credentials', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        return fi.issueCredential({ deviceId: deviceId(req), issuerNonce: hexField(b['issuerNonce'], 'issuerNonce'), request: hexField(b['request'], 'request'), idempotencyKey: idempotencyKey(req) });
      }),
    );
    app.post<DeviceParams>('/devices/:deviceId/vouchers', (req, reply) =>
      respond(reply, 200, () => fi.createLoadVoucher({ deviceId: deviceId(req), amountMinor: amountField(body(req), 'amountMinor'), idempotencyKey: idempotencyKey(req) })),
    );
    app.post('/unloads', (req, reply) => respond(reply, 200, () => fi.applyUnloadRecord(hexField(body(req)['record'], 'record'))));
    app.post('/sync', (req, reply) =>
      respond(reply, 200, () => {
        const b = body(req);
        const claims = b['reclaimClaims'];
        const reclaimClaims = claims === undefined ? undefined : Array.isArray(claims)
          ? claims.map((c, i) => ({ claim: hexField((c as Record<string, unknown>)?.['claim'], `reclaimClaims[${i}].claim`), record: hexField((c as Record<string, unknown>)?.['record'], `reclaimClaims[${i}].record`) }))
          : badClaims();
        return fi.sync({ report: hexField(b['report'], 'report'), payments: hexList(b, 'payments'), unloadRecords: hexList(b, 'unloadRecords'), reclaimClaims });
      }),
    );
    app.post('/resume', (req, reply) => respond(reply, 200, async () => ({ finished: await fi.resume() })));
  };
}

/** A CB and its FIs in one server: /cb/... and /fi/<fiId>/..., book and offline routes, and /audit/network. */
export async function createOfflineEmbeddedApp(nodes: { cb: CentralBank; fis: readonly FinancialIntermediary[] }, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: HTTP_BODY_BYTES_MAX });
  await app.register(cbRoutes(nodes.cb.ledger), { prefix: '/cb' });
  await app.register(cbOfflineRoutes(nodes.cb), { prefix: '/cb' });
  for (const fi of nodes.fis) {
    await app.register(fiRoutes(fi.ledger), { prefix: `/fi/${fi.fiId}` });
    await app.register(fiOfflineRoutes(fi), { prefix: `/fi/${fi.fiId}` });
  }
  app.get<{ Querystring: { quiescent?: string } }>('/audit/network', (req, reply) =>
    respond(reply, 200, () => auditNetwork(nodes, { expectQuiescent: req.query.quiescent === '1' })),
  );
  return app;
}
