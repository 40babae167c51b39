// The network PKI through the CLI: `tally network init` writes DIR/tls/ (the CA, the CB's and each
// FI's certificate and key, an empty revocation list), every file 0600 in a 0700 directory, and
// network.json (version 2) names them; a version-1 file is refused with a clear message. A CB
// started with `tally serve --network … --role cb` serves HTTPS: an FI node started with
// `--role fi --cb-url https://…` opens against it with its certificate; `tally network revoke`
// makes the running CB refuse that certificate, and `tally network cert` issues a new one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { runCli } from '../src/cli/main.ts';
import { parseArgs } from '../src/cli/args.ts';
import { serveCommand } from '../src/cli/cmd_serve.ts';
import { readNetwork } from '../src/cli/network_config.ts';
import { serveNetworkRole } from '../src/cli/serve_network.ts';
import { tlsFetch } from '../src/ledger/tls/index.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modeOf = (f: string) => statSync(f).mode & 0o777;

async function cli(argv: string[]): Promise<string[]> {
  const out: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => out.push(l) });
  assert.equal(code, 0, out.join('\n'));
  return out;
}

test('network init writes the network PKI 0600 in a 0700 tls/ and network.json names it; a version-1 file is refused', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-pki-'));
  try {
    await cli(['network', 'init', '--dir', dir, '--fi', 'bank-a,bank-b', '--tls-host', 'cb.example.test']);
    const tls = path.join(dir, 'tls');
    assert.equal(modeOf(tls), 0o700);
    const names = ['ca.pem', 'ca-key.pem', 'cb.pem', 'cb-key.pem', 'bank-a.pem', 'bank-a-key.pem', 'bank-b.pem', 'bank-b-key.pem', 'revoked.json'];
    for (const n of names) assert.equal(modeOf(path.join(tls, n)), 0o600, n);
    const net = readNetwork(path.join(dir, 'network.json'));
    assert.deepEqual(net.tls.fis['bank-a'], { cert: 'tls/bank-a.pem', key: 'tls/bank-a-key.pem' });
    const ca = new X509Certificate(readFileSync(path.join(tls, 'ca.pem')));
    assert.equal(ca.ca, true);
    const cb = new X509Certificate(readFileSync(path.join(tls, 'cb.pem')));
    const a = new X509Certificate(readFileSync(path.join(tls, 'bank-a.pem')));
    for (const c of [cb, a]) assert.equal(c.verify(ca.publicKey), true);
    assert.match(cb.subjectAltName!, /^URI:urn:tally:cb, DNS:localhost, IP Address:127\.0\.0\.1, DNS:cb\.example\.test$/);
    assert.match(a.subjectAltName!, /^URI:urn:tally:fi:bank-a,/);
    assert.deepEqual(JSON.parse(readFileSync(path.join(tls, 'revoked.json'), 'utf8')).serials, []);
    const raw = JSON.parse(readFileSync(path.join(dir, 'network.json'), 'utf8'));
    writeFileSync(path.join(dir, 'old.json'), JSON.stringify({ ...raw, version: 1, tls: undefined }));
    assert.throws(() => readNetwork(path.join(dir, 'old.json')), /version 1, from before the network had TLS certificates: run `tally network init` again/);
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ ...raw, tls: { ...raw.tls, ca: '../../etc/ca.pem' } }));
    assert.throws(() => readNetwork(path.join(dir, 'bad.json')), /tls\.ca must be a path inside its directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts `tally serve … --role cb` as its own process; resolves with its https URL. */
async function startCb(networkFile: string, db: string) {
  const child = spawn(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'serve', '--network', networkFile, '--role', 'cb', '--db', `sqlite:${db}`, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const line = (await once(createInterface({ input: child.stdout! }), 'line'))[0] as string;
  return { url: JSON.parse(line).url as string, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

test('serve --role cb speaks https; an FI node reaches it with its certificate until network revoke, and network cert issues a new one', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-pki-serve-'));
  const networkFile = path.join(dir, 'net', 'network.json');
  await cli(['network', 'init', '--dir', path.join(dir, 'net'), '--fi', 'bank-a', '--allocation', '1000.00']);
  const cb = await startCb(networkFile, path.join(dir, 'cb.sqlite'));
  const files = (fi: string) => ({ ca: readFileSync(path.join(dir, 'net/tls/ca.pem'), 'utf8'), cert: readFileSync(path.join(dir, `net/tls/${fi}.pem`), 'utf8'), key: readFileSync(path.join(dir, `net/tls/${fi}-key.pem`), 'utf8') });
  const reserve = async (fi: string) => {
    const f = tlsFetch(files(fi));
    try {
      const r = await f(`${cb.url}/fis/bank-a/reserve`);
      return { status: r.status, body: await r.json() as Record<string, unknown> };
    } finally {
      f.close();
    }
  };
  try {
    assert.match(cb.url, /^https:\/\/127\.0\.0\.1:\d+\/cb$/);
    const argv = ['--network', networkFile, '--role', 'fi', '--fi-id', 'bank-a', '--cb-url', cb.url, '--db', `sqlite:${path.join(dir, 'bank-a.sqlite')}`, '--verify-workers', '1'];
    await assert.rejects(serveNetworkRole(parseArgs([...argv.slice(0, 7), cb.url.replace('https:', 'http:'), ...argv.slice(8)], serveCommand.options), {}), /--cb-url must be https:\/\//);
    const fi = await serveNetworkRole(parseArgs(argv, serveCommand.options), {});
    try {
      assert.match(fi.url, /^http:\/\/127\.0\.0\.1:\d+\/fi\/bank-a$/, 'without --tls the FI serves its devices on loopback HTTP');
    } finally {
      await fi.close();
    }
    assert.deepEqual(await reserve('bank-a'), { status: 200, body: { fiId: 'bank-a', balanceMinor: '100000' } });
    const revoked = await cli(['network', 'revoke', '--dir', path.join(dir, 'net'), '--fi', 'bank-a', '--json']);
    const serial = JSON.parse(revoked[0]!).serial as string;
    assert.equal(modeOf(path.join(dir, 'net/tls/revoked.json')), 0o600);
    // The CB stats revoked.json at most once a second.
    await new Promise((r) => setTimeout(r, 1_100));
    const refused = await reserve('bank-a');
    assert.equal(refused.status, 401);
    assert.match(String((refused.body['error'] as { message: string }).message), new RegExp(`serial ${serial} is revoked`));
    await assert.rejects(serveNetworkRole(parseArgs(argv, serveCommand.options), {}), /revoked/, 'an FI with a revoked certificate cannot open');
    const reissued = JSON.parse((await cli(['network', 'cert', '--dir', path.join(dir, 'net'), '--fi', 'bank-a', '--json']))[0]!);
    assert.notEqual(reissued.serial, serial);
    assert.equal(reissued.previousRevoked, true);
    assert.equal(modeOf(path.join(dir, 'net/tls/bank-a-key.pem')), 0o600);
    assert.equal((await reserve('bank-a')).status, 200, 'the new certificate is accepted');
  } finally {
    await cb.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve --role all --tls serves the one-process network over https with the CB certificate; --tls needs --network', { timeout: 120_000 }, async () => {
  await assert.rejects(cli(['serve', '--role', 'cb', '--db', 'sqlite:x', '--tls']), /--tls needs --network/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-pki-all-'));
  const networkFile = path.join(dir, 'net', 'network.json');
  try {
    await cli(['network', 'init', '--dir', path.join(dir, 'net'), '--fi', 'bank-a', '--allocation', '5.00']);
    const argv = ['--network', networkFile, '--role', 'all', '--db-dir', path.join(dir, 'data'), '--verify-workers', '1'];
    const plain = await serveNetworkRole(parseArgs(argv, serveCommand.options), {});
    await plain.close();
    assert.match(plain.url, /^http:\/\//, 'without --tls the in-process network stays on plain HTTP');
    const node = await serveNetworkRole(parseArgs([...argv, '--tls'], serveCommand.options), {});
    try {
      assert.match(node.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const read = (f: string) => readFileSync(path.join(dir, 'net/tls', f), 'utf8');
      const f = tlsFetch({ ca: read('ca.pem'), cert: read('bank-a.pem'), key: read('bank-a-key.pem') });
      try {
        assert.deepEqual(await (await f(`${node.url}/cb/fis/bank-a/reserve`)).json(), { fiId: 'bank-a', balanceMinor: '500' });
      } finally {
        f.close();
      }
    } finally {
      await node.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
