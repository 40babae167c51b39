// A hostile-input fuzzer over every route of the embedded offline app (the CB and two FIs), with
// the route list taken from the app itself: a route added tomorrow is fuzzed tomorrow, and one
// added without a schema does not even register. For each route it sends malformed JSON, wrong
// content types, huge and deeply nested bodies, a wrong value in each field (from the route's own
// schema: wrong types, overlong and unicode strings, pattern breakers, out-of-range integers,
// over-long lists, unknown and missing properties), bad path parameters and odd Idempotency-Keys,
// plus fast-check samples (the run's seed) of the same kinds. Every answer must be a typed
// { error: { code, message } } 4xx, and nothing may change: the per-node and network audits and the
// row count of every table of every database are identical before and after. The requests go over
// real HTTPS as the caller each route's own access rule names (a staff token of the node, the
// device's SE signature, the FI's client certificate), so they reach the schema and the books
// rather than stopping at the gate; test/ledger/access_table.test.ts covers the wrong callers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { bytesToHex } from '@noble/hashes/utils.js';
import { isLedgerErrorCode } from '../../src/ledger/errors.ts';
import { ledgerApp, ledgerRoutes, type LedgerRoute } from '../../src/ledger/http/app.ts';
import { routeSchemaGaps, type JsonSchema } from '../../src/ledger/http/schema.ts';
import { HTTP_BODY_BYTES_MAX, HTTP_JSON_DEPTH_MAX } from '../../src/ledger/limits.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import type { Db } from '../../src/ledger/db/adapter.ts';
import { ENGINES, type Engine } from './engines.ts';
import { fundFi, newDevice, openOfflineNet, type OfflineNet } from './offline_world.ts';
import { rightCallers, type RightCallers } from './right_callers.ts';
import { auditNetwork } from '../../src/ledger/network_audit.ts';
import { verifyAdminLog } from '../../src/ledger/access/admin_log.ts';

/**
 * Routes that read no Idempotency-Key and change nothing for a well-formed request (a challenge is
 * a hash; resume with nothing to finish; an issuance start of an epoch the device already has a
 * nonce for answers that nonce).
 */
const KEYLESS_NO_EFFECT = [/\/enrolment-challenge$/, /\/resume$/, /\/issuance$/];
/** fast-check samples per route and kind (bounded: the whole file stays well under a minute). */
const SAMPLES = 6;
const KEY = 'fuzz-key-1';

type Props = Record<string, JsonSchema>;
const props = (s: JsonSchema | undefined): Props => (s?.['properties'] ?? {}) as Props;
const typeOf = (s: JsonSchema): string[] => (Array.isArray(s['type']) ? (s['type'] as string[]) : [String(s['type'])]);

/**
 * A value of the right shape that the books still refuse: empty names, hex and lists, zero
 * amounts, tier 255; in a path (`inPath`), an id of no customer, account or device.
 */
function template(s: JsonSchema, field = '', inPath = false): unknown {
  const t = typeOf(s)[0];
  if (t === 'object') return Object.fromEntries(Object.entries(props(s)).filter(([k]) => (s['required'] as string[] | undefined)?.includes(k) ?? false).map(([k, v]) => [k, template(v, k)]));
  if (t === 'array') return [];
  if (t === 'integer') return 255; // no tier, no device class
  if (field === 'deviceId') return inPath ? PATH_DEVICES.current : '00'.repeat(16);
  if (field === 'fiId' || field === 'fromFiId') return 'fi-a'; // the FI whose certificate the fuzzer holds
  if (typeof s['pattern'] === 'string' && (s['pattern'] as string).includes('[0-9]{1,')) return '0';
  if (typeof s['pattern'] === 'string') return '';
  return inPath ? `${field}-none` : '';
}

/** Whether a JSON value has one of a schema's types. */
function accepts(types: readonly string[], v: unknown): boolean {
  const t = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

/** Values that break a field's schema: the kinds every field gets, then its own bounds. */
function violations(s: JsonSchema): unknown[] {
  const types = typeOf(s);
  const out: unknown[] = [true, 1.5, [], { a: 1 }, null, 12, '12'].filter((v) => !accepts(types, v));
  if (types.includes('string')) {
    const max = s['maxLength'] as number | undefined;
    if (max !== undefined) out.push('a'.repeat(max + 1), 'ℵ'.repeat(max + 1), '😀'.repeat(max + 1));
    if (s['pattern'] !== undefined) out.push('zz', 'AB', 'abc', ' 1', '1e3', '0x10', '٣', 'é', '-', '99999999999999999999999');
  }
  if (types.includes('integer')) out.push(-1, 256, 2 ** 53, 1e300);
  if (types.includes('array')) {
    const item = s['items'] as JsonSchema;
    out.push(Array.from({ length: (s['maxItems'] as number) + 1 }, () => template(item)), [12], [null]);
    for (const v of violations(item).slice(0, 6)) out.push([v]);
  }
  if (types.includes('object') && s['additionalProperties'] === false) out.push({ ...(template(s) as object), evil: 1 });
  if (s['maxProperties'] !== undefined) out.push(Object.fromEntries(Array.from({ length: (s['maxProperties'] as number) + 1 }, (_, i) => [`k${i}`, i])));
  return out;
}

/** fast-check values outside a schema, by construction (never a value the schema accepts). */
function violating(s: JsonSchema, stringsOnly = false): fc.Arbitrary<unknown> {
  const types = typeOf(s);
  const other = fc.jsonValue({ maxDepth: 3 }).filter((v) => !accepts(types, v));
  const arbs: fc.Arbitrary<unknown>[] = stringsOnly ? [] : [other];
  if (types.includes('string') && s['maxLength'] !== undefined) {
    const max = s['maxLength'] as number;
    arbs.push(fc.string({ unit: 'grapheme', minLength: max + 1, maxLength: max + 40 }).filter((x) => [...x].length > max));
  }
  if (types.includes('string') && s['pattern'] !== undefined) {
    arbs.push(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('G', 'ℵ', ' ', '.', '\u0000', 'é')).map(([a, c]) => a + c));
  }
  if (types.includes('integer')) arbs.push(fc.oneof(fc.integer({ min: 256 }), fc.integer({ max: -1 }), fc.double({ noInteger: true, noNaN: true })));
  return fc.oneof(...arbs);
}

/** The device whose SE signs the fuzzer's device requests, for the FI of the route being fuzzed. */
const PATH_DEVICES = { current: '00'.repeat(16), byFi: new Map<string, string>() };

const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);

interface Probe {
  what: string;
  request: InjectOptions;
  /** A well-formed request to a route that needs no key and has no effect may succeed. */
  mayPass?: boolean;
}

function pathWith(route: LedgerRoute, values: Record<string, string>): string {
  return route.url.replace(/:([A-Za-z0-9_]+)/g, (_, p: string) => encodeURIComponent(values[p] ?? (template(props(route.schema.params as JsonSchema)[p]!, p, true) as string)));
}

function probes(route: LedgerRoute, routeIndex: number): Probe[] {
  PATH_DEVICES.current = PATH_DEVICES.byFi.get(/^\/fi\/([^/]+)\//.exec(route.url)?.[1] ?? '') ?? '00'.repeat(16);
  const seed = fc.readConfigureGlobal().seed ?? 0;
  const sample = <T>(arb: fc.Arbitrary<T>, salt: number): T[] => fc.sample(arb, { numRuns: SAMPLES, seed: seed + routeIndex * 1000 + salt });
  const out: Probe[] = [];
  const paramSchemas = props(route.schema.params as JsonSchema | undefined);
  const bodySchema = route.schema.body as JsonSchema | undefined;
  const base = pathWith(route, {});
  const bodyTemplate = bodySchema ? template(bodySchema) : undefined;
  const json = (payload: unknown, url = base, key: string | null = KEY): InjectOptions => ({
    method: route.method as 'POST', url, payload: JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) },
  });
  const request = (url: string): InjectOptions => (route.method === 'GET' ? { method: 'GET', url } : json(bodyTemplate, url));

  for (const [p, s] of Object.entries(paramSchemas)) {
    const bad = [...violations(s).filter((v): v is string => typeof v === 'string'), ...sample(violating(s, true), 1).map(String)];
    for (const v of bad) out.push({ what: `param ${p}=${JSON.stringify(v).slice(0, 40)}`, request: request(pathWith(route, { [p]: v })) });
  }
  out.push({ what: 'unknown query parameter', request: request(`${base}?evil=1`) });
  out.push({ what: 'overlong query value', request: request(`${base}?quiescent=${'1'.repeat(100)}`) });
  if (route.method === 'GET') return out;

  const raw = (payload: string | Buffer, contentType: string, what: string) =>
    out.push({ what, request: { method: 'POST', url: base, payload, headers: { 'content-type': contentType, 'idempotency-key': KEY } } });
  for (const text of ['{', '{"a":', '{"a":1,}', "{'a':1}", 'nul', '[1,2', '"\\u12"', '\u0000', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}']) raw(text, 'application/json', `malformed ${JSON.stringify(text)}`);
  raw('', 'application/json', 'empty JSON body');
  raw('a=1&b=2', 'application/x-www-form-urlencoded', 'form body');
  raw('hello', 'text/plain', 'text body');
  raw(Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'application/octet-stream', 'binary body');
  raw(JSON.stringify(bodyTemplate), 'application/jsonx', 'near-JSON content type');
  raw('['.repeat(10_000) + ']'.repeat(10_000), 'application/json', '10 000-deep array');
  raw('{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000), 'application/json', '5 000-deep object');
  raw(JSON.stringify({ ...(bodyTemplate as object), x: nest(HTTP_JSON_DEPTH_MAX + 1) }), 'application/json', 'nested past the depth bound');
  raw(JSON.stringify({ pad: 'x'.repeat(HTTP_BODY_BYTES_MAX) }), 'application/json', 'body over the size bound');
  for (const v of bodySchema && typeOf(bodySchema).includes('null') ? [[], 1, 'x', true, { a: 1 }] : [null, [], 1, 'x', true]) {
    out.push({ what: `body ${JSON.stringify(v)}`, request: json(v) });
  }
  for (const v of sample(violating(bodySchema ?? {}), 2)) out.push({ what: `body ${JSON.stringify(v).slice(0, 40)}`, request: json(v) });

  const fields = props(bodySchema);
  const required = (bodySchema?.['required'] as string[] | undefined) ?? [];
  for (const [f, s] of Object.entries(fields)) {
    for (const v of [...violations(s), ...sample(violating(s), 3 + f.length)]) {
      out.push({ what: `${f}=${JSON.stringify(v)?.slice(0, 40)}`, request: json({ ...(bodyTemplate as object), [f]: v }) });
    }
    if (required.includes(f)) {
      const { [f]: _, ...rest } = bodyTemplate as Record<string, unknown>;
      out.push({ what: `missing ${f}`, request: json(rest) });
    }
  }
  const mayPass = KEYLESS_NO_EFFECT.some((r) => r.test(route.url));
  // Only keys the books refuse: a well-formed key would (rightly) store the refusal it answers.
  for (const key of [null, '', ' ', 'a'.repeat(129), 'ключ', 'a b', 'k\u0000', 'tab\tkey', 'é']) {
    out.push({ what: `idempotency key ${JSON.stringify(key)}`, request: json(bodyTemplate, base, key), mayPass });
  }
  return out;
}

/**
 * Who may call and what they did: the fuzzer's own tokens are made as it meets each role, and
 * every call of an operator is logged with its result, so these grow; the test checks instead
 * that every new log entry is a refusal and that the chain still verifies.
 */
const ACCESS_TABLES = new Set(['operators', 'admin_log', 'admin_log_head']);

async function tableCounts(db: Db, engine: Engine): Promise<Record<string, string>> {
  const tables = engine === 'sqlite'
    ? await db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    : await db.query("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  const counts: Record<string, string> = {};
  for (const t of tables) {
    const name = String(t['name']);
    if (ACCESS_TABLES.has(name)) continue; // checked on their own: see the fuzz test
    const rows = await db.query(`SELECT COUNT(*) AS n FROM "${name.replaceAll('"', '""')}"`);
    counts[name] = String(rows[0]!['n']);
  }
  return counts;
}

test('a route whose schema leaves out what it reads is refused at registration', async () => {
  assert.deepEqual(routeSchemaGaps({ method: 'POST', url: '/x/:id', schema: {} }), ['params.id', 'params closed', 'querystring', 'body']);
  assert.deepEqual(routeSchemaGaps({ method: 'GET', url: '/x', schema: { querystring: { type: 'object', additionalProperties: false } } }), []);
  const app = ledgerApp();
  try {
    assert.throws(() => app.post('/unchecked', async () => ({ ok: true })), /no schema for querystring, body/);
    assert.throws(() => app.get('/x/:id', { schema: { querystring: { type: 'object', additionalProperties: false } } }, async () => ({})), /params\.id/);
  } finally {
    await app.close();
  }
});

test('an error that is not a LedgerError answers 500 INTERNAL with no detail', async () => {
  const app = ledgerApp();
  try {
    app.get('/boom', { schema: { querystring: { type: 'object', additionalProperties: false } }, config: { access: { grants: [{ anyone: true }] } } }, async () => {
      throw new Error('secret internal detail');
    });
    const r = await app.inject({ method: 'GET', url: '/boom' });
    assert.deepEqual([r.statusCode, r.json()], [500, { error: { code: 'INTERNAL', message: 'internal error' } }]);
    assert.ok(!r.body.includes('secret'));
    const missing = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'NOT_FOUND']);
  } finally {
    await app.close();
  }
});

for (const engine of ENGINES) {
  describe(`hostile HTTP requests on ${engine}`, () => {
    let net: OfflineNet;
    let app: FastifyInstance;

    let callers: RightCallers;

    before(async () => {
      net = await openOfflineNet(engine, `http-fuzz-${engine}`, { verifyWorkers: 1 });
      await fundFi(net, net.fiA, 100_000n, 'fuzz-fund');
      await fundFi(net, net.fiB, 100_000n, 'fuzz-fund-b');
      const device = await newDevice(net, net.fiA, 'fuzz-payer', { depositMinor: 5_000n });
      const deviceB = await newDevice(net, net.fiB, 'fuzz-payer-b', { depositMinor: 5_000n });
      assert.equal(bytesToHex(device.deviceId).length, 32);
      callers = await rightCallers(net, { 'fi-a': device, 'fi-b': deviceB });
      PATH_DEVICES.byFi.set('fi-a', bytesToHex(device.deviceId)).set('fi-b', bytesToHex(deviceB.deviceId));
      app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] }, callers.appOptions);
      await app.listen({ host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      callers?.close();
      await app?.close();
      await net?.cleanup();
    });

    const snapshot = async () => {
      // When it ran is not what it found; the admin log is checked on its own (ACCESS_TABLES).
      const strip = (audit: unknown): unknown => JSON.parse(JSON.stringify(audit, (k, v: unknown) => (k === 'checkedAtMs' || k === 'adminLog' ? undefined : typeof v === 'bigint' ? v.toString() : v)));
      const audits = {
        cb: strip(await net.cb.ledger.audit()), fiA: strip(await net.fiA.ledger.audit()), fiB: strip(await net.fiB.ledger.audit()),
        network: strip(await auditNetwork({ cb: net.cb, fis: [net.fiA, net.fiB] }, { expectQuiescent: true })),
      };
      const rows = await Promise.all(net.dbs.map((d) => tableCounts(d.db, engine)));
      return { audits, rows };
    };

    test('every route has a schema for its params, body and query', () => {
      const routes = ledgerRoutes(app);
      assert.ok(routes.length >= 2 * 45, `only ${routes.length} routes collected`);
      for (const r of routes) assert.deepEqual(routeSchemaGaps(r), [], `${r.method} ${r.url}`);
    });

    test('every route answers hostile requests with a typed 4xx and changes nothing', async () => {
      const before = await snapshot();
      assert.equal((before.audits.network as { clean: boolean }).clean, true);
      const routes = ledgerRoutes(app).filter((r) => r.method !== 'HEAD');
      let sent = 0;
      const codes = new Map<string, number>();
      for (const [i, route] of routes.entries()) {
        for (const probe of probes(route, i)) {
          const res = await callers.send(app, route, probe.request);
          sent++;
          const where = `${route.method} ${route.url}, ${probe.what}: ${res.statusCode} ${res.body.slice(0, 300)}`;
          if (probe.mayPass && res.statusCode < 300) continue;
          assert.ok(res.statusCode >= 400 && res.statusCode < 500, where);
          const body = res.json() as { error?: { code?: unknown; message?: unknown } };
          assert.ok(isLedgerErrorCode(body.error?.code) && typeof body.error.message === 'string', where);
          assert.deepEqual(Object.keys(body), ['error'], where);
          codes.set(`${res.statusCode} ${String(body.error.code)}`, (codes.get(`${res.statusCode} ${String(body.error.code)}`) ?? 0) + 1);
        }
      }
      assert.ok(sent > 1000, `only ${sent} requests`);
      for (const seen of ['400 BAD_REQUEST', '400 AMOUNT_INVALID', '413 BODY_TOO_LARGE', '415 UNSUPPORTED_MEDIA_TYPE']) {
        assert.ok(codes.has(seen), `no ${seen} among ${JSON.stringify([...codes])}`);
      }
      assert.deepEqual(await snapshot(), before);
      // Every operator call the fuzzer made is in its node's admin log, refused, and the chains hold.
      let logged = 0;
      for (const d of net.dbs) {
        assert.equal((await verifyAdminLog(d.db)).ok, true);
        const statuses = await d.db.query("SELECT action, status FROM admin_log WHERE operator_id <> 'cli'");
        for (const r of statuses) {
          const passed = KEYLESS_NO_EFFECT.some((re) => re.test(String(r['action'])));
          assert.ok(Number(r['status']) >= 400 || passed, `${String(r['action'])} was logged as ${String(r['status'])}`);
        }
        logged += statuses.length;
      }
      assert.ok(logged > 100, `only ${logged} operator calls logged`);
    });

    test('an out-of-range path decimal is a typed 400, not an internal error', async () => {
      for (const url of ['/cb/issuer-keys/99999999999999999999', '/cb/issuer-keys/9999999999999999999', '/cb/policy/9223372036854775808']) {
        const r = await app.inject({ method: 'GET', url });
        assert.deepEqual([r.statusCode, r.json().error.code], [400, 'BAD_REQUEST'], url); // public routes: no credential needed
      }
      const ok = await app.inject({ method: 'GET', url: '/cb/issuer-keys/9223372036854775807' });
      assert.equal(ok.statusCode, 200, ok.body);
    });
  });
}
