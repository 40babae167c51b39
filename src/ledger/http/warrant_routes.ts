// The CB's warrant routes (docs/compliance.md, cb/warrants.ts), mounted under /cb behind the CB's
// gate: a regulator files a warrant and discloses once the quorum is in; escrow key holder i —
// and only holder i — posts its partial decryption or a refusal for itself; regulators, holders
// and auditors read the warrants' state (a key holder without the disclosed identity);
// regulators and auditors read the disclosure log and its chain check. The warrant routes are
// idempotent by their natural keys (the warrant id; the warrant and the holder), so a retry is
// answered as the first call was and no Idempotency-Key is needed.

import type { FastifyPluginAsync } from 'fastify';
import { param, role, type Access, type Caller, type Gate } from '../access/gate.ts';
import type { CentralBank } from '../cb/central_bank.ts';
import { WARRANT_TEXT_CHARS_MAX, disclose, fileWarrant, verifyDisclosureLog } from '../cb/disclosure.ts';
import { listWarrants, postPartial, readDisclosureLog, refuseWarrant, warrantEscrow, warrantState, warrantedPayment, type WarrantState } from '../cb/warrants.ts';
import { body, hexField, respond, stringField } from './app.ts';
import { hex, noBody, object, routeSchema, wire } from './schema.ts';

/** A warrant's text fields: 1..WARRANT_TEXT_CHARS_MAX characters. */
const text = { type: 'string', minLength: 1, maxLength: WARRANT_TEXT_CHARS_MAX };
/** A partial decryption: index, D and a Chaum–Pedersen proof, well under this many bytes. */
const PARTIAL_BYTES_MAX = 256;

const regulator: Access = { grants: [role('regulator')] };
const readers: Access = { grants: [role('regulator'), role('key-holder'), role('auditor')] };
const logReaders: Access = { grants: [role('regulator'), role('auditor')], limit: 'audit' };
/** Holder i of the path, in person: another holder's token is refused 403. */
const holderOfPath: Access = { grants: [{ keyHolder: param('holder') }] };

const warrantParams = { warrantId: text };
const holderParams = { warrantId: text, holder: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } };

interface WarrantParams { warrantId: string }
interface HolderParams { warrantId: string; holder: string }

/** A key holder answers warrants; who was disclosed is the regulator's (and the log's auditors') to read. */
function forCaller(caller: Caller | undefined, w: WarrantState): WarrantState {
  return caller?.kind === 'operator' && caller.role === 'key-holder' ? { ...w, disclosed: null } : w;
}

export function warrantRoutes(cb: CentralBank, gate: Gate): FastifyPluginAsync {
  return async (app) => {
    gate.install(app);
    app.post('/warrants', {
      schema: routeSchema({
        body: object({ warrantId: text, paymentHash: wire.paymentHash, nullifier: wire.nullifier, authority: text, reason: text }, ['warrantId', 'authority', 'reason']),
        status: 201,
      }),
      config: { access: regulator },
    }, (req, reply) =>
      respond(reply, 201, async () => {
        const b = body(req);
        const authority = cb.escrow();
        const paymentHash = await warrantedPayment(cb.db, {
          paymentHash: b['paymentHash'] === undefined ? undefined : hexField(b['paymentHash'], 'paymentHash'),
          nullifier: b['nullifier'] === undefined ? undefined : hexField(b['nullifier'], 'nullifier'),
        });
        const warrantId = stringField(b, 'warrantId');
        await fileWarrant(cb.db, cb.nowMs(), { warrantId, paymentHash, authority: stringField(b, 'authority'), reason: stringField(b, 'reason') });
        return { warrant: await warrantState(cb.db, authority, warrantId) };
      }),
    );
    app.get('/warrants', { schema: routeSchema({}), config: { access: readers } }, (req, reply) =>
      respond(reply, 200, async () => ({ warrants: (await listWarrants(cb.db, cb.escrow())).map((w) => forCaller(req.caller, w)) })),
    );
    app.get<{ Params: WarrantParams }>('/warrants/:warrantId', { schema: routeSchema({ params: warrantParams }), config: { access: readers } }, (req, reply) =>
      respond(reply, 200, async () => ({ warrant: forCaller(req.caller, await warrantState(cb.db, cb.escrow(), req.params.warrantId)) })),
    );
    app.get<{ Params: WarrantParams }>('/warrants/:warrantId/escrow', { schema: routeSchema({ params: warrantParams }), config: { access: { grants: [role('key-holder')], logged: true } } }, (req, reply) =>
      respond(reply, 200, async () => {
        cb.escrow();
        return warrantEscrow(cb.db, req.params.warrantId);
      }),
    );
    app.post<{ Params: HolderParams }>('/warrants/:warrantId/holders/:holder/partial', {
      schema: routeSchema({ params: holderParams, body: object({ partial: hex(PARTIAL_BYTES_MAX) }) }),
      config: { access: holderOfPath },
    }, (req, reply) =>
      respond(reply, 200, async () => ({
        warrant: await postPartial(cb.db, cb.nowMs(), cb.escrow(), { warrantId: req.params.warrantId, holder: Number(req.params.holder), partial: hexField(body(req)['partial'], 'partial') }),
      })),
    );
    app.post<{ Params: HolderParams }>('/warrants/:warrantId/holders/:holder/refusal', {
      schema: routeSchema({ params: holderParams, body: object({ reason: text }) }),
      config: { access: holderOfPath },
    }, (req, reply) =>
      respond(reply, 200, async () => ({
        warrant: await refuseWarrant(cb.db, cb.nowMs(), cb.escrow(), { warrantId: req.params.warrantId, holder: Number(req.params.holder), reason: stringField(body(req), 'reason') }),
      })),
    );
    app.post<{ Params: WarrantParams }>('/warrants/:warrantId/disclose', { schema: routeSchema({ params: warrantParams, body: noBody }), config: { access: regulator } }, (req, reply) =>
      respond(reply, 200, async () => {
        const who = await disclose(cb.db, cb.nowMs(), cb.escrow(), req.params.warrantId);
        return { warrant: await warrantState(cb.db, cb.escrow(), req.params.warrantId), disclosed: who };
      }),
    );
    app.get('/disclosure/log', { schema: routeSchema({}), config: { access: logReaders } }, (_req, reply) =>
      respond(reply, 200, async () => {
        const check = await verifyDisclosureLog(cb.db);
        return { check: { intact: check.intact, entries: check.entries, brokenAt: check.brokenAt === null ? null : String(check.brokenAt) }, entries: await readDisclosureLog(cb.db) };
      }),
    );
  };
}
