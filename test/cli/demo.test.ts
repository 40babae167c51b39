// `tally demo --serve` as a person runs it, in a child process: the end-to-end scenario, then the
// AML/CFT scenario whose summary table names every rule kind in RULE_KINDS (imported, so a kind
// added without a demo story fails here), then the network served on loopback with the console —
// /console/nodes answers over HTTP, the printed operator tokens sign in — until SIGINT stops it
// with exit code 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE_KINDS } from '../../src/compliance/index.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('tally demo --serve: every rule kind in the AML table, the console answers, SIGINT stops it', async () => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'tally-demo-test-')), 'data');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--serve', '--seed', 'demo-test', '--data-dir', dataDir], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /console at (http:\/\/127\.0\.0\.1:\d+)\/console\/[\s\S]*auditor token \(CB\): +(\S+)\n/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`demo exited (${code}) before serving:\n${out}\n${err}`)));
    });
    assert.match(out, /curve engine: /);
    assert.match(out, /final audit +clean/);
    const table = out.slice(out.indexOf('AML/CFT alerts raised'));
    for (const kind of RULE_KINDS) assert.match(table, new RegExp(`^  ${kind.replace('.', '\\.')} +\\S+ +.+ +\\S`, 'm'), `the AML table has no row for ${kind}`);
    for (const role of ['CB operator', 'FI operator', 'auditor']) assert.match(out, new RegExp(`${role} token[^:]*: +\\S{16,}`), `no ${role} token printed`);

    const nodes = await fetch(`${url}/console/nodes`);
    assert.equal(nodes.status, 200);
    assert.deepEqual((await nodes.json() as { nodes: Array<{ node: string }> }).nodes.map((n) => n.node), ['cb', 'bank-a', 'bank-b']);
    const token = /CB operator token: +(\S+)/.exec(out)![1]!;
    const alerts = await fetch(`${url}/cb/compliance/alerts`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(alerts.status, 200, 'the printed CB operator token signs in');
    assert.ok((await alerts.json() as { alerts: unknown[] }).alerts.length >= 3);
    assert.equal((await fetch(`${url}/cb/compliance/alerts`)).status, 401, 'without a token: refused');

    child.kill('SIGINT');
    assert.equal(await exited, 0, `${out}\n${err}`);
    await assert.rejects(fetch(`${url}/console/nodes`), 'the node is closed');
  } finally {
    child.kill('SIGKILL');
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
});
