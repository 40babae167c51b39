// An escrow key holder's own node (docs/compliance.md): routes under /holder/<i> behind its own
// gate over its own database, where only holder i's operators have tokens. It holds holder i's
// share and nothing else secret; the CB never sees the share. To approve a warrant it asks the CB
// for the warranted payment's stored record, hashes it to the warrant's payment id and decodes the
// escrow itself (escrowOfRecord), computes D_i = y_i·E1 with its proof (partialForEscrow) and posts
// the partial to the CB as key holder i; to refuse, it posts the reason. The CB checks the proof
// against VK_i and counts each holder once.

import type { FastifyPluginAsync } from 'fastify';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { RegulatorKeyShare, Rng } from '../../crypto/index.ts';
import type { Gate } from '../access/gate.ts';
import { partialForEscrow, WARRANT_TEXT_CHARS_MAX } from '../cb/disclosure.ts';
import { escrowOfRecord } from '../cb/escrow_evidence.ts';
import { LedgerError, LedgerErrorCode, isLedgerErrorCode } from '../errors.ts';
import { body, respond, stringField } from './app.ts';
import { noBody, object, routeSchema } from './schema.ts';

/** What a holder's node asks of the CB, as key holder i. */
export interface CbWarrantPort {
  /** The CB's warrant listing, as it sent it. */
  warrants(): Promise<unknown>;
  /** The warranted payment's stored record and the warrant's text. */
  escrow(warrantId: string): Promise<{ paymentId: Uint8Array; record: Uint8Array; authority: string; reason: string }>;
  postPartial(warrantId: string, holder: number, partial: Uint8Array): Promise<unknown>;
  refuse(warrantId: string, holder: number, reason: string): Promise<unknown>;
  /** Who the CB takes this node's token for (its console's whoami): must be key holder i. */
  whoami(): Promise<{ role: string; holderIndex: number | null }>;
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** The CB's warrant routes over HTTP: `cbBase` is the CB's prefix (…/cb), `token` holder i's CB token. */
export function cbWarrantClient(opts: { cbBase: string; token: string; fetchFn?: typeof fetch }): CbWarrantPort {
  const fetchFn = opts.fetchFn ?? fetch;
  async function call(method: 'GET' | 'POST', path: string, payload?: unknown, url = `${opts.cbBase}${path}`): Promise<Record<string, unknown>> {
    const res = await fetchFn(url, {
      method,
      headers: { authorization: `Bearer ${opts.token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw new LedgerError(LedgerErrorCode.answerInvalid, `CB ${method} ${path} answered HTTP ${res.status} with a body that is not JSON`);
    }
    const o = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
    if (o === null) throw new LedgerError(LedgerErrorCode.answerInvalid, `CB ${method} ${path} answered with no JSON object`);
    if (res.status >= 400) {
      const e = o['error'] as { code?: unknown; message?: unknown } | undefined;
      throw new LedgerError(isLedgerErrorCode(e?.code) ? e.code : LedgerErrorCode.answerInvalid, `the CB refused: ${typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`}`);
    }
    return o;
  }
  const seg = encodeURIComponent;
  return {
    warrants: async () => (await call('GET', '/warrants'))['warrants'],
    async escrow(warrantId) {
      const o = await call('GET', `/warrants/${seg(warrantId)}/escrow`);
      const [paymentId, record, authority, reason] = [o['paymentId'], o['record'], o['authority'], o['reason']];
      if (typeof paymentId !== 'string' || !HEX.test(paymentId) || typeof record !== 'string' || !HEX.test(record) || typeof authority !== 'string' || typeof reason !== 'string') {
        throw new LedgerError(LedgerErrorCode.answerInvalid, `CB escrow of warrant ${warrantId}: paymentId and record must be hex, authority and reason strings`);
      }
      return { paymentId: hexToBytes(paymentId), record: hexToBytes(record), authority, reason };
    },
    postPartial: async (warrantId, holder, partial) => (await call('POST', `/warrants/${seg(warrantId)}/holders/${holder}/partial`, { partial: Buffer.from(partial).toString('hex') }))['warrant'],
    refuse: async (warrantId, holder, reason) => (await call('POST', `/warrants/${seg(warrantId)}/holders/${holder}/refusal`, { reason }))['warrant'],
    async whoami() {
      // The CB node serves its console beside its routes: …/cb → …/console/cb/whoami.
      const o = await call('GET', '/whoami', undefined, new URL('../console/cb/whoami', `${opts.cbBase}/`).href);
      const [role, holderIndex] = [o['role'], o['holderIndex']];
      if (typeof role !== 'string' || (holderIndex !== null && typeof holderIndex !== 'number')) {
        throw new LedgerError(LedgerErrorCode.answerInvalid, 'CB whoami: role must be a string and holderIndex a number or null');
      }
      return { role, holderIndex };
    },
  };
}

const text = { type: 'string', minLength: 1, maxLength: WARRANT_TEXT_CHARS_MAX };

/** Holder `share.index`'s node: mount under /holder/<i> with a gate over the holder's own database. */
export function holderRoutes(opts: { share: RegulatorKeyShare; cb: CbWarrantPort; gate: Gate; rng: Rng }): FastifyPluginAsync {
  const holder = opts.share.index;
  const self = { access: { grants: [{ keyHolder: () => String(holder) }] } };
  return async (app) => {
    opts.gate.install(app);
    app.get('/warrants', { schema: routeSchema({}), config: self }, (_req, reply) =>
      respond(reply, 200, async () => ({ holder, warrants: await opts.cb.warrants() })),
    );
    app.post<{ Params: { warrantId: string } }>('/warrants/:warrantId/approve', { schema: routeSchema({ params: { warrantId: text }, body: noBody }), config: self }, (req, reply) =>
      respond(reply, 200, async () => {
        const warrantId = req.params.warrantId;
        const got = await opts.cb.escrow(warrantId);
        // The record must hash to the payment id the CB names for this warrant: the partial opens
        // that payment's escrow and is bound to that id, so the CB cannot swap in another ciphertext.
        const escrow = escrowOfRecord(got.paymentId, got.record);
        const partial = partialForEscrow({ share: opts.share, warrantId, escrow, rng: opts.rng });
        return { warrant: await opts.cb.postPartial(warrantId, holder, partial) };
      }),
    );
    app.post<{ Params: { warrantId: string } }>('/warrants/:warrantId/refuse', { schema: routeSchema({ params: { warrantId: text }, body: object({ reason: text }) }), config: self }, (req, reply) =>
      respond(reply, 200, async () => ({ warrant: await opts.cb.refuse(req.params.warrantId, holder, stringField(body(req), 'reason')) })),
    );
  };
}
