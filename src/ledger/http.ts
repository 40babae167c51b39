// HTTP plumbing shared by the CB and FI apps: JSON in and out with bigint amounts as decimal
// strings and bytes as hex, the Idempotency-Key header (required on every state-changing route),
// and one mapping from LedgerError codes to statuses. Parsing here only turns wire text into
// typed values; the books make every decision, so a request behaves the same over HTTP and in
// process, including which error wins when several things are wrong.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { hexToBytes } from '@noble/hashes/utils.js';
import { toWireJson } from './codec.ts';
import { HTTP_STATUS, LedgerError, LedgerErrorCode } from './errors.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Longest decimal text accepted for an amount or epoch (BIGINT has 19 digits). */
const DECIMAL_DIGITS_MAX = 20;

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
  if (typeof v !== 'string' || !new RegExp(`^-?\\d{1,${DECIMAL_DIGITS_MAX}}$`).test(v)) {
    throw new LedgerError(LedgerErrorCode.amountInvalid, `${field} must be a decimal string of minor units (got ${typeof v === 'string' ? JSON.stringify(v.slice(0, 30)) : typeof v})`);
  }
  return BigInt(v);
}

export function decimalField(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !new RegExp(`^\\d{1,${DECIMAL_DIGITS_MAX}}$`).test(v)) {
    throw new LedgerError(LedgerErrorCode.badRequest, `${what} must be a non-negative decimal string`);
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

/** Runs a handler body; answers with its value as wire JSON, or with the error's code. */
export async function respond(reply: FastifyReply, status: number, fn: () => Promise<unknown>): Promise<FastifyReply> {
  try {
    const value = await fn();
    return reply.code(status).send(toWireJson(value));
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    return reply.code(HTTP_STATUS[err.code]).send({ error: { code: err.code, message: err.message } });
  }
}
