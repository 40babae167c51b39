// Without TLS a node listens on loopback only: every spelling of 127.0.0.0/8, ::1 and localhost
// passes; wildcards, routable addresses, mapped non-loopback addresses and other names are refused,
// and serveNode refuses before it opens (and so creates) its database. With TLS any address may
// be bound, and serveNode given certificates answers over https (the test itself stays on
// loopback: it does not open a port to the machine's network).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLoopbackHost, ListenAddressError, requireLoopbackListen } from './listen_address.ts';
import { serveNode } from './serve.ts';
import { createNetworkCa, issueNodeCertificate } from '../tls/index.ts';

test('loopback addresses pass and every other address or name is refused', () => {
  for (const h of ['127.0.0.1', '127.255.255.254', '127.0.0.2', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.10', '128.0.0.1', '::ffff:10.0.0.1', '::2', 'fe80::1', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io', '']) {
    assert.equal(isLoopbackHost(h), false, h);
    assert.throws(() => requireLoopbackListen(h), (e: unknown) => e instanceof ListenAddressError && e.code === 'NOT_LOOPBACK' && e.message.includes(`listen on ${h}:`));
  }
  requireLoopbackListen(undefined);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) requireLoopbackListen(h, true);
});

test('serveNode refuses 0.0.0.0 before it opens its database', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-listen-'));
  try {
    const filename = path.join(dir, 'cb.sqlite');
    await assert.rejects(serveNode({ role: 'cb' }, { database: { engine: 'sqlite', filename }, host: '0.0.0.0', port: 0 }), ListenAddressError);
    assert.equal(fs.existsSync(filename), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('serveNode with TLS files answers over https', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-listen-'));
  try {
    const ca = await createNetworkCa();
    const cert = await issueNodeCertificate(ca, { role: 'cb' });
    const node = await serveNode({ role: 'cb' }, { database: { engine: 'sqlite', filename: path.join(dir, 'cb.sqlite') }, host: '127.0.0.1', port: 0, tls: { key: cert.key, cert: cert.cert, ca: ca.cert } });
    try {
      assert.match(node.url, /^https:/);
      const port = new URL(node.url).port;
      const body = await new Promise<string>((resolve, reject) => {
        https.get(`https://127.0.0.1:${port}/health`, { ca: ca.cert }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.deepEqual(JSON.parse(body), { ok: true, node: 'cb' });
    } finally {
      await node.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
