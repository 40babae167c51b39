// HTTP plumbing shared by the CB and FI apps: the app factory every node uses (schemas required
// on every route, bounded body size and depth, one error handler), JSON in and out with bigint
// amounts as decimal strings and bytes as hex, the Idempotency-Key header (required on every
// state-changing route), and one mapping from LedgerError codes to statuses. The schemas
// (schema.ts) and the helpers here only turn bounded wire text into typed values; the books
// make every decision, so a request behaves the same over HTTP and in process. One difference:
// a schema runs before the handler, so of several malformed fields the first one ajv meets
// (required fields first, then properties in schema order) decides the code.

import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Access } from '../access/gate.ts';
import type { HttpsServerOptions } from '../tls/index.ts';
import { toWireJson } from '../codec.ts';
import { HTTP_STATUS, LedgerError, LedgerErrorCode } from '../errors.ts';
import { AMOUNT_DIGITS_MAX, DECIMAL_DIGITS_MAX, routeSchemaGaps, validationCode } from './schema.ts';
import { HTTP_BODY_BYTES_MAX, HTTP_JSON_DEPTH_MAX, SQL_BIGINT_MAX } from '../limits.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';

/**
 * A Fastify app for ledger routes: bounded body, JSON of bounded depth, ajv that neither coerces
 * types nor drops unknown properties (a closed schema refuses them), a route refused at
 * registration unless its schema covers what it reads, and one error handler (below).
 */
export function ledgerApp(options: { logger?: boolean; https?: HttpsServerOptions } = {}): FastifyInstance {
  // Over TLS the raw server is an https.Server; every ledger route reads only what http.Server and
  // https.Server share (the TLS socket is read in tls/server.ts), so one instance type serves both.
  const app = Fastify({
    ...(options.https === undefined ? {} : { https: options.https }),
    logger: options.logger ?? false,
    bodyLimit: HTTP_BODY_BYTES_MAX,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // The router's own refusals (malformed percent-encoding, a path parameter over maxParamLength)
    // never reach setErrorHandler: they come here.
    frameworkErrors: (err, req, reply) => answerError(err, req, reply),
  }) as unknown as FastifyInstance;
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, text, done) => {
    if (jsonDepth(text as string) > HTTP_JSON_DEPTH_MAX) {
      done(new LedgerError(LedgerErrorCode.badRequest, `JSON nested deeper than ${HTTP_JSON_DEPTH_MAX}`), undefined);
      return;
    }
    req.rawBody = text as string;
    parseJson(req, text as string, done);
  });
  const routes: LedgerRoute[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (route) => {
    const gaps = routeSchemaGaps(route);
    if (gaps.length > 0) throw new Error(`route ${String(route.method)} ${route.url} has no schema for ${gaps.join(', ')}`);
    const access = (route.config as { access?: Access } | undefined)?.access;
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} has no access rule (config.access)`);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method, url: route.url, schema: route.schema ?? {}, access });
  });
  app.setErrorHandler(answerError);
  // Fail closed: a route no gate admitted (access/gate.ts) never reaches its handler, unless it is public.
  app.addHook('preHandler', async (req) => {
    if (req.caller !== undefined || req.is404) return;
    if (req.routeOptions.config.access?.grants.some((g) => 'anyone' in g) === true) req.caller = { kind: 'anonymous' };
    else throw new LedgerError(LedgerErrorCode.forbidden, 'No gate admitted this request');
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(HTTP_STATUS[LedgerErrorCode.notFound]).send({ error: { code: LedgerErrorCode.notFound, message: `No route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` } });
  });
  return app;
}

/** One route of a ledger app as registered (HEAD routes Fastify adds for each GET included). */
export interface LedgerRoute {
  method: string;
  url: string;
  schema: FastifySchema;
  access: Access;
}

const ROUTES = new WeakMap<FastifyInstance, LedgerRoute[]>();

/** Every route registered on a ledgerApp so far, prefixes included. */
export function ledgerRoutes(app: FastifyInstance): readonly LedgerRoute[] {
  return ROUTES.get(app) ?? [];
}

/** Deepest array/object nesting of JSON text, counted without parsing (brackets inside strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Fastify's own refusals by status; any other status from Fastify is a plain bad request. */
const FASTIFY_CODES: Readonly<Record<number, LedgerErrorCode>> = {
  413: LedgerErrorCode.bodyTooLarge,
  415: LedgerErrorCode.unsupportedMediaType,
};
const FASTIFY_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'Request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Request body is empty but its content type is JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: `Request body is over ${HTTP_BODY_BYTES_MAX} bytes`,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Request body must be application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
  FST_ERR_BAD_URL: 'Request path is not a valid URL',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is too long',
};

/**
 * The one error handler of every ledger app: a LedgerError keeps its code and status; a failed
 * schema check is the code its field's helper would give (validationCode); Fastify's own 4xx
 * (bad JSON, 413, 415, ...) become a typed 4xx; anything else is logged and answers 500 INTERNAL
 * with no detail.
 */
function answerError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  let code: LedgerErrorCode;
  let message: string;
  let status: number;
  if (err instanceof LedgerError) {
    [code, message, status] = [err.code, err.message, HTTP_STATUS[err.code]];
  } else if (err.validation) {
    code = validationCode(err.validation);
    [message, status] = [err.message.slice(0, 300), HTTP_STATUS[code]];
  } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 && typeof err.code === 'string' && err.code.startsWith('FST_')) {
    code = FASTIFY_CODES[err.statusCode] ?? LedgerErrorCode.badRequest;
    [message, status] = [FASTIFY_MESSAGES[err.code] ?? 'Malformed request', HTTP_STATUS[code]];
  } else {
    req.log.error({ err }, 'internal error');
    [code, message, status] = [LedgerErrorCode.internal, 'internal error', HTTP_STATUS[LedgerErrorCode.internal]];
  }
  reply.errorCode = code;
  void reply.code(status).send({ error: { code, message } });
}

export function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw new LedgerError(LedgerErrorCode.badRequest, 'Request body must be a JSON object');
  }
  return b as Record<string, unknown>;
}

export function idempotencyKey(request: FastifyRequest): string {
  const key = request.headers[IDEMPOTENCY_HEADER];
  if (typeof key !== 'string' || key.length === 0) {
    throw new LedgerError(LedgerErrorCode.badRequest, 'Idempotency-Key header is required on every state-changing request');
  }
  return key;
}

/** Amounts travel as decimal strings; anything else is AMOUNT_INVALID, like a bad value. */
export function amountField(b: Record<string, unknown>, field: string): bigint {
  const v = b[field];
  if (typeof v !== 'string' || !new RegExp(`^-?\\d{1,${AMOUNT_DIGITS_MAX}}$`).test(v)) {
    throw new LedgerError(LedgerErrorCode.amountInvalid, `${field} must be a decimal string of minor units (got ${typeof v === 'string' ? JSON.stringify(v.slice(0, 30)) : typeof v})`);
  }
  return BigInt(v);
}

/** A non-negative decimal string up to SQL BIGINT (the largest value any book stores or an epoch takes). */
export function decimalField(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !new RegExp(`^\\d{1,${DECIMAL_DIGITS_MAX}}$`).test(v) || BigInt(v) > SQL_BIGINT_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `${what} must be a decimal string of 0..${SQL_BIGINT_MAX}`);
  }
  return BigInt(v);
}

export function hexField(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-f]*$/.test(v)) {
    throw new LedgerError(LedgerErrorCode.badRequest, `${what} must be lower-case hex`);
  }
  return hexToBytes(v);
}

/** A string field; its content is checked by the ledger. */
export function stringField(b: Record<string, unknown>, field: string): string {
  const v = b[field];
  if (typeof v !== 'string') throw new LedgerError(LedgerErrorCode.badRequest, `${field} must be a string (got ${typeof v})`);
  return v;
}

/** Runs a handler body; answers with its value as wire JSON. What it throws goes to answerError. */
export async function respond(reply: FastifyReply, status: number, fn: () => Promise<unknown>): Promise<FastifyReply> {
  const value = await fn();
  return reply.code(status).send(toWireJson(value));
}

/** A body field holding a list of hex strings (absent: empty). */
export function hexList(b: Record<string, unknown>, field: string): Uint8Array[] {
  const v = b[field] ?? [];
  if (!Array.isArray(v)) throw new LedgerError(LedgerErrorCode.badRequest, `${field} must be an array of hex strings`);
  return v.map((x, i) => hexField(x, `${field}[${i}]`));
}

/** A body field holding an integer JSON number. */
export function intField(b: Record<string, unknown>, field: string): number {
  const v = b[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new LedgerError(LedgerErrorCode.badRequest, `${field} must be an integer`);
  return v;
}
