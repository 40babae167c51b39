// The wire vocabulary of the ledger's routes as JSON schemas, checked by Fastify's ajv before a
// handler runs. Schemas bound shape and size only (types, lengths, closed objects, list lengths,
// decimal and hex by pattern); what a value means stays the books' decision, so a request that
// passes here behaves exactly as it does in process. Bounds come from the codecs' own maxima:
// a value longer than the decoder would take is refused here, before any work.
//
// Error codes: a failing field is reported as the code its handler helper would have given
// (validationCode below, the one place that maps ajv errors): amounts → AMOUNT_INVALID,
// everything else → BAD_REQUEST.

import type { FastifySchema, FastifySchemaValidationError, RouteOptions } from 'fastify';
import { ISSUER_NONCE_BYTES_MAX } from '../../crypto/blind_issuance.ts';
import { ATTESTATION_KEY_BYTES } from '../../protocol/limits.ts';
import { DEVICE_ID_BYTES, SIGNED_MESSAGE_BYTES_MAX } from '../../se/messages.ts';
import { UNCONFIRMED_PAYMENTS_MAX } from '../../se/payment_limits.ts';
import { G1_BYTES } from '../../crypto/group.ts';
import { LedgerErrorCode } from '../errors.ts';
import {
  NAME_LENGTH_MAX, NULLIFIER_BATCH_MAX, NULLIFIER_BYTES, PAYMENT_HASH_BYTES, SYNC_PAYMENTS_MAX, SYNC_UNLOADS_MAX,
} from '../limits.ts';
import { RECORD_BYTES_MAX } from '../fi/payment_records.ts';

export type JsonSchema = Record<string, unknown>;

/** Decimal digits of the largest value kept (SQL BIGINT, 19 digits); decimalField checks the value. */
export const DECIMAL_DIGITS_MAX = 19;
/** Decimal digits an amount may have on the wire (amountField's own bound; the book checks the range). */
export const AMOUNT_DIGITS_MAX = 20;
/** Properties of a KYC identity record (its JSON size is bounded by the book: IDENTITY_JSON_BYTES_MAX). */
export const IDENTITY_PROPERTIES_MAX = 32;

/** Lower-case hex of at most `bytesMax` bytes (the decoder checks the exact length). */
export const hex = (bytesMax: number): JsonSchema => ({ type: 'string', maxLength: 2 * bytesMax, pattern: '^(?:[0-9a-f]{2})*$' });
/** An FI id, customer id, account id or reference: bounded here, its characters checked by the book. */
export const name: JsonSchema = { type: 'string', maxLength: NAME_LENGTH_MAX };
/** A non-negative decimal string (epochs, versions, batch ids). */
export const decimal: JsonSchema = { type: 'string', pattern: `^[0-9]{1,${DECIMAL_DIGITS_MAX}}$` };
/** An amount of minor units as a decimal string (sign allowed so the book answers AMOUNT_INVALID). */
export const amount: JsonSchema = { type: 'string', pattern: `^-?[0-9]{1,${AMOUNT_DIGITS_MAX}}$` };
/** A small integer code (tier, device class): one byte on the SE. */
export const smallInt: JsonSchema = { type: 'integer', minimum: 0, maximum: 255 };
export const list = (items: JsonSchema, maxItems: number): JsonSchema => ({ type: 'array', maxItems, items });

/** A closed object: only these properties, the `required` ones present. */
export function object(properties: Record<string, JsonSchema>, required: readonly string[] = Object.keys(properties)): JsonSchema {
  return { type: 'object', additionalProperties: false, properties, required: [...required] };
}

/** A POST body the handler does not read: absent, or an empty object. */
export const noBody: JsonSchema = { type: ['object', 'null'], additionalProperties: false, properties: {}, maxProperties: 0 };

/** The byte bounds of every hex field, by what it carries. */
export const wire = {
  deviceId: hex(DEVICE_ID_BYTES),
  kPoint: hex(G1_BYTES),
  attestationKey: hex(ATTESTATION_KEY_BYTES),
  nullifier: hex(NULLIFIER_BYTES),
  paymentHash: hex(PAYMENT_HASH_BYTES),
  issuerNonce: hex(ISSUER_NONCE_BYTES_MAX),
  /** Any SE-signed envelope: reports, issuance requests, attestations and their certificates, unload records, reclaim claims. */
  signed: hex(SIGNED_MESSAGE_BYTES_MAX),
  paymentRecord: hex(RECORD_BYTES_MAX),
  identity: { type: 'object', maxProperties: IDENTITY_PROPERTIES_MAX } as JsonSchema,
} as const;

export const limits = { NULLIFIER_BATCH_MAX, SYNC_PAYMENTS_MAX, SYNC_UNLOADS_MAX, UNCONFIRMED_PAYMENTS_MAX } as const;

const closedEmpty: JsonSchema = { type: 'object', additionalProperties: false, properties: {} };

/** The status a route answers on success when its schema does not name one. */
export const SUCCESS_STATUS_DEFAULT = 200;

/**
 * A route's schema: params and body as given, the querystring closed (empty unless given). Every
 * route of the ledger declares one through here; routeSchemaGaps says what a route leaves out.
 * `status` is the success status the handler answers (201 for a route that creates something):
 * Fastify ignores it, the OpenAPI document (openapi.ts) lists it.
 */
export function routeSchema(parts: { params?: Record<string, JsonSchema>; body?: JsonSchema; querystring?: Record<string, JsonSchema>; status?: number }): FastifySchema {
  const s: FastifySchema & { successStatus?: number } = { querystring: parts.querystring ? object(parts.querystring, []) : closedEmpty };
  if (parts.params) s.params = object(parts.params);
  if (parts.body) s.body = parts.body;
  if (parts.status !== undefined && parts.status !== SUCCESS_STATUS_DEFAULT) s.successStatus = parts.status;
  return s;
}

/** The success status a route's schema declares (routeSchema's `status`). */
export function successStatus(schema: FastifySchema): number {
  const s = (schema as { successStatus?: unknown }).successStatus;
  return typeof s === 'number' ? s : SUCCESS_STATUS_DEFAULT;
}

/**
 * What a route reads without a schema for it: each `:param` of its URL needs a params property,
 * every route a closed querystring, and every method with a body (all but GET and HEAD) a body
 * schema. Empty when the route is covered.
 */
export function routeSchemaGaps(route: Pick<RouteOptions, 'method' | 'url' | 'schema'>): string[] {
  const gaps: string[] = [];
  const schema = route.schema as { params?: JsonSchema; body?: JsonSchema; querystring?: JsonSchema } | undefined;
  const closed = (s: JsonSchema | undefined) => s !== undefined && s['additionalProperties'] === false;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const paramNames = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (paramNames.length > 0) {
    const props = (schema?.params?.['properties'] ?? {}) as Record<string, unknown>;
    for (const p of paramNames) if (!(p in props)) gaps.push(`params.${p}`);
    if (!closed(schema?.params)) gaps.push('params closed');
  }
  if (!closed(schema?.querystring)) gaps.push('querystring');
  if (methods.some((m) => m !== 'GET' && m !== 'HEAD') && schema?.body === undefined) gaps.push('body');
  return gaps;
}

/** Fields whose helper answers AMOUNT_INVALID for any bad value (amountField). */
const AMOUNT_FIELDS = new Set(['amountMinor']);

/** The LedgerError code of a failed validation: the code the field's handler helper would give. */
export function validationCode(errors: readonly FastifySchemaValidationError[]): LedgerErrorCode {
  const first = errors[0];
  if (first === undefined) return LedgerErrorCode.badRequest;
  const missing = (first.params as { missingProperty?: unknown } | undefined)?.missingProperty;
  const field = typeof missing === 'string' ? missing : first.instancePath.split('/').pop() ?? '';
  return AMOUNT_FIELDS.has(field) ? LedgerErrorCode.amountInvalid : LedgerErrorCode.badRequest;
}

/** A route that reads no params, body or query. */
export const none = routeSchema({});
/** The tier of a published distribution, in the path. */
export const tierParams = routeSchema({ params: { tier: { type: 'string', pattern: '^[0-9]{1,3}$' } } });
