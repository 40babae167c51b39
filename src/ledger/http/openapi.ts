// The OpenAPI 3.1 document of a ledger app, generated from the routes it registered and their
// schemas (schema.ts), so a bank's integrator can generate a client. Nothing here is written
// by hand per route: Fastify's `:param` becomes `{param}`, params and query become `parameters`,
// the body becomes an application/json `requestBody`, every state-changing route takes the
// Idempotency-Key header, and every operation lists its success status (200 unless the route's
// schema says otherwise) and the typed errors `{ error: { code, message } }` by status, with the
// codes of each status enumerated. The schemas are ajv's JSON Schema, which OpenAPI 3.1 takes as
// is (its default dialect is a superset of JSON Schema 2020-12). The document is deterministic:
// paths, methods and error statuses sorted, so the checked-in copies (docs/openapi/) can be
// compared byte for byte. `servers` is left to whoever deploys the node. Each operation says who
// may call it (`security`, from the route's access rule, and `x-tally-access` in words) and its
// rate class (`x-tally-rate-class`) when it has one.

import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Access, Grant } from '../access/gate.ts';
import { HTTP_STATUS, LedgerErrorCode } from '../errors.ts';
import { ledgerRoutes, type LedgerRoute } from './app.ts';
import { routeSchema, successStatus, type JsonSchema } from './schema.ts';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../limits.ts';

export const OPENAPI_PATH = '/openapi.json';
export const OPENAPI_VERSION = '3.1.0';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Codes only a request with a body can meet: left out of a bodyless operation's responses. */
const BODY_CODES: ReadonlySet<LedgerErrorCode> = new Set([LedgerErrorCode.bodyTooLarge, LedgerErrorCode.unsupportedMediaType]);

const METHOD_ORDER = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Operation = Record<string, unknown>;

/** The header every state-changing route takes (idempotency.ts checks the same bounds). */
const IDEMPOTENCY_PARAMETER = {
  name: 'Idempotency-Key', in: 'header', required: true,
  description: 'Makes a retry safe: the same key with the same request answers the first result; with another request, IDEMPOTENCY_MISMATCH.',
  schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_LENGTH_MAX, pattern: '^[\\x21-\\x7e]+$' },
} as const;

/**
 * The OpenAPI 3.1 document of every route `app` registered (a ledgerApp). HEAD routes Fastify
 * adds for each GET are not listed. Call it once the app's routes are all registered.
 */
export function openApiDocument(app: FastifyInstance, options: { title: string }): Record<string, unknown> {
  const routes = listedRoutes(ledgerRoutes(app));
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    const methods = (paths[path] ??= {});
    methods[route.method.toLowerCase()] = operation(route);
  }
  const sortedPaths = Object.fromEntries(
    Object.keys(paths).sort().map((p) => [p, Object.fromEntries(Object.entries(paths[p]!).sort(([a], [b]) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b)))]),
  );
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: options.title,
      version: PACKAGE_VERSION,
      description: 'Amounts are decimal strings of minor units; bytes are lower-case hex. Every error answers { error: { code, message } } with the status its code maps to.',
    },
    paths: sortedPaths,
    components: {
      schemas: { Error: errorSchema(Object.values(LedgerErrorCode)) },
      parameters: { IdempotencyKey: IDEMPOTENCY_PARAMETER },
      responses: errorResponses(),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** Adds GET /openapi.json to a ledger app: the document of that app, built on first request (its routes are fixed by then). */
export function addOpenApiRoute(app: FastifyInstance, title: string): void {
  let document: Record<string, unknown> | undefined;
  app.get(OPENAPI_PATH, { schema: routeSchema({}), config: { access: { grants: [{ anyone: true }] } } }, async () => (document ??= openApiDocument(app, { title })));
}

/** The routes a document lists: all but the HEAD twin Fastify registers for each GET. */
export function listedRoutes(routes: readonly LedgerRoute[]): LedgerRoute[] {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  return routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
}

/** Fastify's `/a/:b/c` as OpenAPI's `/a/{b}/c`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** A stable, unique operation id: the method and the path's words, camel-cased (`postFiFiAAccountsAccountIdDeposit`). */
export function operationId(method: string, url: string): string {
  const words = url.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operation(route: LedgerRoute): Operation {
  const schema = route.schema as { params?: JsonSchema; querystring?: JsonSchema; body?: JsonSchema; response?: Record<string, JsonSchema> };
  const stateChanging = route.method !== 'GET' && route.method !== 'HEAD';
  const parameters: JsonSchema[] = [
    ...objectParameters(schema.params, 'path'),
    ...objectParameters(schema.querystring, 'query'),
  ];
  if (stateChanging) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
  const op: Operation = { operationId: operationId(route.method, route.url) };
  if (parameters.length > 0) op['parameters'] = parameters;
  if (schema.body !== undefined) {
    op['requestBody'] = { required: !acceptsNull(schema.body), content: { 'application/json': { schema: copy(schema.body) } } };
  }
  const status = String(successStatus(route.schema));
  const success = schema.response?.[status] ?? { type: 'object' };
  const responses: Record<string, unknown> = { [status]: { description: 'Success', content: { 'application/json': { schema: copy(success) } } } };
  for (const s of errorStatuses(schema.body !== undefined)) responses[String(s)] = { $ref: `#/components/responses/Error${s}` };
  op['responses'] = responses;
  op['security'] = security(route.access);
  op['x-tally-access'] = route.access.grants.map(grantWords);
  if (route.access.limit !== undefined) op['x-tally-rate-class'] = route.access.limit;
  return op;
}

/** How callers prove who they are (access/gate.ts). */
const SECURITY_SCHEMES = {
  bearerToken: {
    type: 'http', scheme: 'bearer',
    description: "An operator's or customer's token (`tally operator add`), tly1.<operator id>.<secret>; the node stores only its hash.",
  },
  fiCertificate: {
    type: 'mutualTLS',
    description: 'An FI node: a client certificate the network CA issued, naming the FI (SAN urn:tally:fi:<id>); an FI acts only as itself.',
  },
  deviceSignature: {
    type: 'apiKey', in: 'header', name: 'Tally-Request-Signature',
    description: "A device: its SE's attestation-key signature over the method, path, body hash and a per-device counter, with headers Tally-Device and Tally-Request-Counter; a device acts only on itself.",
  },
} as const;

/** OpenAPI security requirements for a route: any one of its grants' schemes ({} = none needed). */
function security(access: Access): Record<string, string[]>[] {
  const schemes = new Set<string>();
  let open = false;
  for (const g of access.grants) {
    if ('anyone' in g) open = true;
    else if ('role' in g || 'customer' in g || 'keyHolder' in g) schemes.add('bearerToken');
    else if ('institution' in g || 'anyInstitution' in g) schemes.add('fiCertificate');
    else schemes.add('deviceSignature');
  }
  return open ? [{}] : [...schemes].sort().map((name) => ({ [name]: [] }));
}

function grantWords(g: Grant): string {
  if ('anyone' in g) return 'anyone';
  if ('role' in g) return g.role;
  if ('customer' in g) return 'customer (its own)';
  if ('keyHolder' in g) return 'key-holder (the holder index it names)';
  if ('institution' in g) return 'FI node (itself)';
  if ('anyInstitution' in g) return 'any FI node';
  return 'device (itself)';
}

/** One parameter per property of a params or querystring object schema. */
function objectParameters(s: JsonSchema | undefined, where: 'path' | 'query'): JsonSchema[] {
  const properties = (s?.['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s?.['required'] ?? []) as string[]);
  return Object.keys(properties).map((name) => ({ name, in: where, required: where === 'path' || required.has(name), schema: copy(properties[name]!) }));
}

function acceptsNull(s: JsonSchema): boolean {
  const t = s['type'];
  return t === 'null' || (Array.isArray(t) && t.includes('null'));
}

/** Error statuses an operation can answer, ascending. */
function errorStatuses(withBody: boolean): number[] {
  const codes = Object.values(LedgerErrorCode).filter((c) => withBody || !BODY_CODES.has(c));
  return [...new Set(codes.map((c) => HTTP_STATUS[c]))].sort((a, b) => a - b);
}

function errorResponses(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const status of errorStatuses(true)) {
    const codes = Object.values(LedgerErrorCode).filter((c) => HTTP_STATUS[c] === status).sort();
    out[`Error${status}`] = { description: `Refused: ${codes.join(', ')}`, content: { 'application/json': { schema: errorSchema(codes) } } };
  }
  return out;
}

function errorSchema(codes: readonly string[]): JsonSchema {
  return object({ error: object({ code: { type: 'string', enum: [...codes].sort() }, message: { type: 'string' } }) });
}

function object(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', additionalProperties: false, properties, required: Object.keys(properties) };
}

/** A plain JSON copy, so the document shares nothing with the live schemas ajv compiled. */
function copy(s: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(s)) as JsonSchema;
}
