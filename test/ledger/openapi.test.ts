// The OpenAPI documents of a network's nodes: docs/openapi/*.json match what the apps generate
// today, list every route exactly once, are what GET /openapi.json answers, and hold together
// (every path parameter declared, operation ids unique, every $ref resolving, every error code
// enumerated). A small app pins the translation of one route of each kind.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HTTP_STATUS, LedgerErrorCode } from '../../src/ledger/errors.ts';
import type { Access } from '../../src/ledger/access/gate.ts';
import { ledgerApp, ledgerRoutes } from '../../src/ledger/http/app.ts';
import { name, noBody, object, routeSchema } from '../../src/ledger/http/schema.ts';
import { addOpenApiRoute, listedRoutes, OPENAPI_PATH, openApiDocument, openApiPath } from '../../src/ledger/http/openapi.ts';
import { DOCUMENT_NAMES, documentApps, documentFile, documentText, type DocumentApps } from '../../scripts/openapi.ts';

type Doc = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** What is structurally wrong with a document; empty when nothing is. */
function documentProblems(doc: Doc): string[] {
  const problems: string[] = [];
  if (doc['openapi'] !== '3.1.0') problems.push(`openapi is ${String(doc['openapi'])}`);
  if (typeof doc['info']?.title !== 'string' || typeof doc['info']?.version !== 'string') problems.push('info needs a title and a version');
  const resolve = (ref: string): unknown => ref.replace(/^#\//, '').split('/').reduce<any>((o, k) => o?.[k], doc);
  const walk = (v: unknown, where: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && (typeof x !== 'string' || resolve(x) === undefined)) problems.push(`${where}: $ref ${String(x)} does not resolve`);
        walk(x, `${where}.${k}`);
      }
    }
  };
  walk(doc, '#');
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc['paths'] as Doc)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
    for (const [method, op] of Object.entries(item as Doc)) {
      const where = `${method} ${path}`;
      if (!METHODS.includes(method)) problems.push(`${where}: not a method`);
      if (typeof op.operationId !== 'string' || ids.has(op.operationId)) problems.push(`${where}: operationId ${String(op.operationId)} missing or repeated`);
      ids.add(op.operationId);
      const params = ((op.parameters ?? []) as Doc[]).map((p) => (p['$ref'] ? (resolve(p['$ref']) as Doc) : p));
      const inPath = params.filter((p) => p['in'] === 'path');
      if (JSON.stringify(inPath.map((p) => p['name']).sort()) !== JSON.stringify(templated)) problems.push(`${where}: path parameters ${JSON.stringify(inPath.map((p) => p['name']))} ≠ ${JSON.stringify(templated)}`);
      if (inPath.some((p) => p['required'] !== true)) problems.push(`${where}: a path parameter is not required`);
      if (params.some((p) => !['path', 'query', 'header'].includes(p['in']) || typeof p['schema'] !== 'object')) problems.push(`${where}: a parameter without place or schema`);
      const statuses = Object.keys(op.responses ?? {});
      if (!statuses.some((s) => /^2\d\d$/.test(s))) problems.push(`${where}: no success response`);
      if (method === 'get' && op.requestBody !== undefined) problems.push(`${where}: a GET with a body`);
    }
  }
  return problems;
}

describe('OpenAPI documents of the network nodes', () => {
  let world: DocumentApps;
  before(async () => {
    world = await documentApps();
  });
  after(async () => {
    await world.close();
  });

  for (const docName of DOCUMENT_NAMES) {
    describe(docName, () => {
      const generate = () => openApiDocument(world.apps[docName].app, { title: world.apps[docName].title }) as Doc;

      test(`docs/openapi/${docName}.json is what the app generates`, () => {
        const checkedIn = readFileSync(documentFile(docName), 'utf8');
        assert.deepEqual(JSON.parse(checkedIn), generate(), `docs/openapi/${docName}.json is stale: run \`npm run openapi\``);
        assert.equal(checkedIn, documentText(generate()), `docs/openapi/${docName}.json is not as the script writes it: run \`npm run openapi\``);
      });

      test('every route of the app appears exactly once, HEAD twins left out', () => {
        const doc = generate();
        const routes = ledgerRoutes(world.apps[docName].app);
        const listed = listedRoutes(routes);
        assert.ok(listed.length < routes.length && listed.every((r) => r.method !== 'HEAD'), 'the HEAD twin of each GET is left out');
        const keys = listed.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`);
        assert.equal(new Set(keys).size, keys.length, 'a route registered twice');
        const operations = Object.entries(doc['paths'] as Doc).flatMap(([path, item]) => Object.keys(item as Doc).map((m) => `${m} ${path}`));
        assert.deepEqual([...operations].sort(), [...keys].sort());
        assert.ok(operations.includes(`get ${OPENAPI_PATH}`));
        assert.deepEqual(Object.keys(doc['paths'] as Doc), Object.keys(doc['paths'] as Doc).sort(), 'paths sorted');
      });

      test('GET /openapi.json answers the same document', async () => {
        const res = await world.apps[docName].app.inject({ method: 'GET', url: OPENAPI_PATH });
        assert.equal(res.statusCode, 200, res.body);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        assert.deepEqual(res.json(), generate());
        const refused = await world.apps[docName].app.inject({ method: 'GET', url: `${OPENAPI_PATH}?x=1` });
        assert.equal(refused.statusCode, 400, 'its schema closes the query like every other route');
      });

      test('the document holds together and enumerates every error code', () => {
        const doc = generate();
        assert.deepEqual(documentProblems(doc), []);
        const responses = doc['components'].responses as Doc;
        const enumerated = Object.entries(responses).flatMap(([key, r]) => {
          const codes = r.content['application/json'].schema.properties.error.properties.code.enum as string[];
          for (const c of codes) assert.equal(`Error${HTTP_STATUS[c as LedgerErrorCode]}`, key, `${c} listed under ${key}`);
          return codes;
        });
        assert.deepEqual(enumerated.sort(), Object.values(LedgerErrorCode).sort());
      });
    });
  }

  test('the structural check finds an undeclared path parameter, a repeated operationId and a dangling $ref', () => {
    const doc = structuredClone(openApiDocument(world.apps.fi.app, { title: 'x' })) as Doc;
    const paths = doc['paths'] as Doc;
    const templated = Object.keys(paths).find((p) => p.includes('{'))!;
    const [first, second] = Object.keys(paths).filter((p) => !p.includes('{'));
    for (const op of Object.values(paths[templated] as Doc)) op.parameters = (op.parameters as Doc[]).filter((p) => p['in'] !== 'path');
    (Object.values(paths[second!] as Doc)[0] as Doc).operationId = (Object.values(paths[first!] as Doc)[0] as Doc).operationId;
    delete doc['components'].responses.Error404;
    const problems = documentProblems(doc);
    assert.ok(problems.some((p) => p.includes(templated) && p.includes('path parameters')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('operationId')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('Error404')), problems.join('\n'));
  });
});

describe('openApiDocument of one small app', () => {
  test('path, query, header, body, success status and errors of each kind of route', async () => {
    const app = ledgerApp();
    addOpenApiRoute(app, 'Small');
    const config = (access: Access) => ({ access });
    app.get('/things/:thingId', { schema: routeSchema({ params: { thingId: name }, querystring: { verbose: { type: 'string', maxLength: 1 } } }), config: config({ grants: [{ anyone: true }] }) }, async () => ({}));
    app.post('/things', { schema: routeSchema({ body: object({ label: name }), status: 201 }), config: config({ grants: [{ role: 'fi-operator' }, { customer: () => null }], limit: 'audit' }) }, async () => ({}));
    app.post('/things/:thingId/touch', { schema: routeSchema({ params: { thingId: name }, body: noBody }), config: config({ grants: [{ device: () => null }, { institution: () => null }] }) }, async () => ({}));
    await app.ready();
    const doc = openApiDocument(app, { title: 'Small' }) as Doc;
    assert.deepEqual(Object.keys(doc['paths']), ['/openapi.json', '/things', '/things/{thingId}', '/things/{thingId}/touch']);
    const get = doc['paths']['/things/{thingId}'].get as Doc;
    assert.deepEqual(Object.keys(doc['paths']['/things/{thingId}']), ['get'], 'no HEAD operation');
    assert.equal(get['operationId'], 'getThingsThingId');
    assert.deepEqual(get['parameters'], [
      { name: 'thingId', in: 'path', required: true, schema: name },
      { name: 'verbose', in: 'query', required: false, schema: { type: 'string', maxLength: 1 } },
    ]);
    assert.equal(get['requestBody'], undefined);
    assert.deepEqual(Object.keys(get['responses']), ['200', '400', '401', '403', '404', '409', '422', '429', '500', '502'], 'no 413/415 without a body');
    assert.deepEqual([get['security'], get['x-tally-access']], [[{}], ['anyone']], 'a public route needs no credential');
    const create = doc['paths']['/things'].post as Doc;
    assert.deepEqual(create['parameters'], [{ $ref: '#/components/parameters/IdempotencyKey' }]);
    assert.deepEqual(create['requestBody'], { required: true, content: { 'application/json': { schema: object({ label: name }) } } });
    assert.deepEqual(Object.keys(create['responses']), ['201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '500', '502']);
    assert.deepEqual([create['security'], create['x-tally-access'], create['x-tally-rate-class']], [[{ bearerToken: [] }], ['fi-operator', 'customer (its own)'], 'audit']);
    const touch = doc['paths']['/things/{thingId}/touch'].post as Doc;
    assert.equal(touch['requestBody'].required, false, 'a body that may be absent');
    assert.deepEqual(touch['security'], [{ deviceSignature: [] }, { fiCertificate: [] }], 'either credential, sorted');
    assert.deepEqual(Object.keys(doc['components'].securitySchemes), ['bearerToken', 'fiCertificate', 'deviceSignature']);
    assert.equal(doc['info'].version, (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
    assert.deepEqual(documentProblems(doc), []);
    await app.close();
  });
});
