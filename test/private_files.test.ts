// A real network and device made through the CLI, under umask 0o022 (which would leave 0644 files
// and 0755 directories): every file that holds a key, SE state or a book is 0600 and every
// directory Tally made for them 0700 — the network and regulator-share files, the network PKI (tls/), the SQLite books of
// a `tally serve --role all` process with their -wal/-shm, the device file and every SE NVM cell.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/main.ts';

process.umask(0o022);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modeOf = (p: string): number => statSync(p).mode & 0o777;

async function cli(argv: string[]): Promise<void> {
  const out: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => out.push(l) });
  assert.equal(code, 0, `tally ${argv.join(' ')}:\n${out.join('\n')}`);
}

test('network init, serve --role all and device init leave only 0600 files in 0700 directories', { timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tally-modes-'));
  const netDir = path.join(tmp, 'net');
  const data = path.join(tmp, 'data');
  const dev = path.join(tmp, 'devices', 'watch');
  await cli(['network', 'init', '--dir', netDir, '--fi', 'bank-a']);
  const tokenFile = path.join(netDir, 'teller.token');
  await cli(['operator', 'add', '--db', `sqlite:${path.join(data, 'bank-a.sqlite')}`, '--role', 'fi-operator', '--name', 'Teller', '--token-file', tokenFile]);
  const child = spawn(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'serve', '--network', path.join(netDir, 'network.json'), '--role', 'all', '--db-dir', data, '--verify-workers', '1', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((c) => reject(new Error(`tally serve exited ${c} before listening`)));
    });
    const fiUrl = (JSON.parse(first) as { fiUrls: Record<string, string> }).fiUrls['bank-a']!;
    await cli(['device', 'init', '--dir', dev, '--profile', 'watch', '--network', path.join(netDir, 'network.json'), '--fi-url', fiUrl, '--token-file', tokenFile, '--customer', 'Bo']);

    const dirs = [netDir, path.join(netDir, 'tls'), data, path.join(tmp, 'devices'), dev, path.join(dev, 'se')];
    for (const d of dirs) assert.equal(modeOf(d), 0o700, d);
    const files = [
      ...readdirSync(netDir).filter((f) => f !== 'tls').map((f) => path.join(netDir, f)),
      ...readdirSync(path.join(netDir, 'tls')).map((f) => path.join(netDir, 'tls', f)),
      ...readdirSync(data).map((f) => path.join(data, f)),
      path.join(dev, 'device.json'),
      ...readdirSync(path.join(dev, 'se')).map((f) => path.join(dev, 'se', f)),
    ];
    const names = files.map((f) => path.relative(tmp, f));
    for (const n of ['net/network.json', 'net/regulator-holder-1.json', 'net/tls/ca-key.pem', 'net/tls/bank-a-key.pem', 'net/tls/cb-key.pem', 'net/tls/revoked.json', 'net/teller.token', 'data/cb.sqlite', 'data/cb.sqlite-wal', 'data/cb.sqlite-shm', 'data/bank-a.sqlite', 'data/bank-a.sqlite-wal', 'devices/watch/device.json']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    assert.ok(readdirSync(path.join(dev, 'se')).length >= 3, 'the SE wrote its cells');
    for (const f of files) assert.equal(modeOf(f), 0o600, path.relative(tmp, f));
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(tmp, { recursive: true, force: true });
  }
});
