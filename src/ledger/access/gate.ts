// Who may call which ledger route. Every route declares an Access rule in its Fastify config
// (`config: { access }`); ledgerApp refuses to register a route without one, and a request that
// reaches a handler without having been admitted by a node's gate is refused (fail closed).
//
// A node's gate tells the caller from the request (Authenticator): an operator by a bearer token
// (operators.ts: tokens stored hashed in the node's own database), an FI node by its mutual-TLS
// client certificate (tls/server.ts), a device by the signature of its SE's attestation key over the
// request (device_requests.ts). Then it checks the route's grants in turn. No credential where
// one is needed answers 401 UNAUTHENTICATED; a bad, unknown or revoked one 401 too; a known
// caller no grant lets in 403 FORBIDDEN. Both run before the body's schema check and before any
// handler, so a refusal changes no state. Expensive routes name a rate class; each caller has its
// own budget per class (rate_limit.ts, 429 RATE_LIMITED). An operator's state-changing call, and
// any call a rule marks `logged`, is appended with its result to the node's hash-chained admin
// log (admin_log.ts) before the answer is sent: a caller holding an answer knows the entry is
// stored, and if the append fails the answer is a 500 and a retry under the same idempotency key
// logs it then.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { equalBytes } from '../../crypto/group.ts';
import { appendAdminLog, type AdminLogEntry } from './admin_log.ts';
import type { Db } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { authenticateToken } from './operators.ts';
import { RateLimiter, type RateClass, type RateLimits } from './rate_limit.ts';

export const OPERATOR_ROLES = ['cb-operator', 'fi-operator', 'auditor', 'regulator', 'customer', 'key-holder'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** A person with a token of this node: staff in a role, or a customer (then `customerId` is set). */
export interface OperatorCaller {
  kind: 'operator';
  operatorId: string;
  name: string;
  role: OperatorRole;
  customerId: string | null;
  /** A key holder's index i of the regulator's t-of-n escrow key (null for every other role). */
  holderIndex: number | null;
}

/** An FI node, by the client certificate the network CA issued it. */
export interface InstitutionCaller {
  kind: 'institution';
  fiId: string;
  /** Certificate serial number (lower-case hex), as the revocation list names it. */
  serial: string;
}

/** An enrolled device of this FI, by its SE's signature over the request. */
export interface DeviceCaller {
  kind: 'device';
  deviceId: Uint8Array;
  customerId: string;
  accountId: string;
  counter: bigint;
}

export interface AnonymousCaller {
  kind: 'anonymous';
}

export type Caller = AnonymousCaller | OperatorCaller | InstitutionCaller | DeviceCaller;

/**
 * What one node knows about credentials. Each part answers null when the request carries no
 * credential of its kind and throws LedgerError UNAUTHENTICATED (or REQUEST_REPLAYED) when it
 * carries one that does not hold; it never changes state unless the credential holds.
 */
export interface Authenticator {
  operator(token: string): Promise<OperatorCaller | null>;
  institution(req: FastifyRequest): InstitutionCaller | null;
  device(req: FastifyRequest, rawBody: string): Promise<DeviceCaller | null>;
}

/** A value a grant reads from the request (a path parameter, a body field, ...), given who is asking. */
type From<T> = (req: FastifyRequest, caller: Caller) => T | Promise<T>;

export type Grant =
  /** Public data (distribution, policy, keys, health, the OpenAPI document). */
  | { anyone: true }
  /** Staff of this node in this role (a node knows only its own staff's tokens). */
  | { role: Exclude<OperatorRole, 'customer'> }
  /** Escrow key holder i, where i is read from the request (null: no such holder, so nobody). */
  | { keyHolder: From<string | null> }
  /** The customer the request's target belongs to (null: no such target, so nobody). */
  | { customer: From<string | null> }
  /** The FI node the request acts for (its certificate must name that FI). */
  | { institution: From<string | null> }
  /** Any FI node of the network (for a call that acts for no FI in particular). */
  | { anyInstitution: true }
  /** The device the request acts on (its SE must have signed the request). */
  | { device: From<Uint8Array | null> };

export interface Access {
  grants: readonly Grant[];
  /** A rate class: each caller's budget of calls to routes of the class. */
  limit?: RateClass;
  /** Also log reads (an operator's state-changing calls are always logged). */
  logged?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    caller?: Caller;
    /** The JSON body as received, for signatures over it (set by ledgerApp's parser). */
    rawBody?: string;
  }
}

export const anyone: Grant = { anyone: true };
export const role = (r: Exclude<OperatorRole, 'customer'>): Grant => ({ role: r });
export const param = (name: string) => (req: FastifyRequest): string | null => {
  const v = (req.params as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : null;
};
export const bodyField = (name: string) => (req: FastifyRequest): string | null => {
  const b = req.body as Record<string, unknown> | null | undefined;
  const v = b !== null && typeof b === 'object' ? b[name] : undefined;
  return typeof v === 'string' ? v : null;
};

export const AUTHORIZATION_HEADER = 'authorization';
const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/;

function describeCaller(c: Caller): string {
  switch (c.kind) {
    case 'anonymous': return 'an unauthenticated caller';
    case 'operator': return c.role === 'customer' ? `customer ${c.customerId}` : c.role === 'key-holder' ? `key holder ${c.holderIndex} ${c.name}` : `${c.role} ${c.name}`;
    case 'institution': return `FI node ${c.fiId}`;
    case 'device': return 'a device';
  }
}

/** Tells the caller of a request: token first, then device signature, then client certificate. */
async function identify(req: FastifyRequest, auth: Authenticator): Promise<Caller> {
  // Every credential the request carries is checked, so a bad one is refused even next to a good one.
  const header = req.headers[AUTHORIZATION_HEADER];
  let operator: OperatorCaller | null = null;
  if (header !== undefined) {
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    if (m === null) throw new LedgerError(LedgerErrorCode.unauthenticated, 'Authorization must be "Bearer <token>"');
    operator = await auth.operator(m[1]!);
    if (operator === null) throw new LedgerError(LedgerErrorCode.unauthenticated, 'Unknown or revoked token');
  }
  const institution = auth.institution(req);
  const device = await auth.device(req, req.rawBody ?? '');
  return operator ?? device ?? institution ?? { kind: 'anonymous' };
}

async function granted(g: Grant, caller: Caller, req: FastifyRequest): Promise<boolean> {
  if ('anyone' in g) return true;
  if ('role' in g) return caller.kind === 'operator' && caller.role === g.role;
  if ('keyHolder' in g) {
    if (caller.kind !== 'operator' || caller.role !== 'key-holder' || caller.holderIndex === null) return false;
    return (await g.keyHolder(req, caller)) === String(caller.holderIndex);
  }
  if ('customer' in g) {
    if (caller.kind !== 'operator' || caller.role !== 'customer' || caller.customerId === null) return false;
    return (await g.customer(req, caller)) === caller.customerId;
  }
  if ('anyInstitution' in g) return caller.kind === 'institution';
  if ('institution' in g) return caller.kind === 'institution' && (await g.institution(req, caller)) === caller.fiId;
  if (caller.kind !== 'device') return false;
  const target = await g.device(req, caller);
  return target !== null && equalBytes(target, caller.deviceId);
}

/** The key a caller's rate budget is kept under. */
export function callerKey(c: Caller, req: FastifyRequest): string {
  switch (c.kind) {
    case 'anonymous': return `ip:${req.ip}`;
    case 'operator': return `op:${c.operatorId}`;
    case 'institution': return `fi:${c.fiId}`;
    case 'device': return `dev:${Buffer.from(c.deviceId).toString('hex')}`;
  }
}

export interface GateOptions {
  /** Where the admin log is kept: the node's own database. */
  db: Db;
  auth: Authenticator;
  limits?: Partial<RateLimits>;
  nowMs?: () => number;
}

/** One node's gate: install it in each plugin that registers the node's routes. */
export class Gate {
  private readonly limiter: RateLimiter;
  private readonly nowMs: () => number;
  constructor(private readonly options: GateOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.limiter = new RateLimiter(options.limits, this.nowMs);
  }

  /** Admits or refuses every request of `app`'s routes (call inside the node's plugin). */
  install(app: FastifyInstance): void {
    app.addHook('preValidation', async (req) => {
      req.caller = await this.admit(req);
    });
    // Before the answer is written, so a caller that has its answer knows the entry is stored.
    app.addHook('onSend', async (req, reply, payload) => {
      await this.log(req, reply);
      return payload;
    });
  }

  private async admit(req: FastifyRequest): Promise<Caller> {
    const access = req.routeOptions.config.access;
    if (access === undefined) throw new LedgerError(LedgerErrorCode.forbidden, 'This route has no access rule');
    const caller = await identify(req, this.options.auth);
    let ok = false;
    for (const g of access.grants) if ((ok = await granted(g, caller, req))) break;
    if (!ok) {
      if (caller.kind === 'anonymous') throw new LedgerError(LedgerErrorCode.unauthenticated, 'This route needs a credential');
      throw new LedgerError(LedgerErrorCode.forbidden, `${describeCaller(caller)} may not call ${req.method} ${req.routeOptions.url}`);
    }
    if (access.limit !== undefined) this.limiter.take(access.limit, callerKey(caller, req));
    return caller;
  }

  private async log(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const caller = req.caller;
    const access = req.routeOptions.config.access;
    if (caller?.kind !== 'operator' || access === undefined) return;
    if (req.method === 'GET' && access.logged !== true) return;
    const entry: AdminLogEntry = {
      atMs: this.nowMs(),
      operatorId: caller.operatorId,
      role: caller.role,
      action: `${req.method} ${req.routeOptions.url}`,
      detail: {
        params: req.params ?? {},
        idempotencyKey: typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null,
        body: loggedBody(req.rawBody),
      },
      status: reply.statusCode,
      code: reply.errorCode ?? null,
    };
    await appendAdminLog(this.options.db, entry);
  }
}

/** Bodies up to this many characters are logged as sent; a longer one by its SHA-256 and length. */
export const ADMIN_LOG_BODY_CHARS_MAX = 4096;

function loggedBody(raw: string | undefined): string | { sha256: string; chars: number } | null {
  if (raw === undefined) return null;
  if (raw.length <= ADMIN_LOG_BODY_CHARS_MAX) return raw;
  return { sha256: bytesToHex(sha256(utf8ToBytes(raw))), chars: raw.length };
}

declare module 'fastify' {
  interface FastifyReply {
    /** The error code the answer carried (set by the error handler), for the admin log. */
    errorCode?: string;
  }
}

/** How a node tells institutions and devices (operators it always tells by its own database). */
export interface CallerSources {
  /** FI nodes by client certificate (tls/server.ts); absent: this node takes no institution calls. */
  institution?: Authenticator['institution'];
  /** Devices by request signature (device_requests.ts); absent: this node takes no device calls. */
  device?: Authenticator['device'];
}

/** The gate of a node whose operators' tokens live in `db`. */
export function nodeGate(db: Db, sources: CallerSources = {}, options: { limits?: Partial<RateLimits>; nowMs?: () => number } = {}): Gate {
  const auth: Authenticator = {
    operator: (token) => authenticateToken(db, token),
    institution: sources.institution ?? (() => null),
    device: sources.device ?? (async () => null),
  };
  return new Gate({ db, auth, ...options });
}
