// Secret-holding files are 0600 and the directories made for them 0700 whatever the umask lets
// through (the tests run under 0o022, the common default that yields 0644 files): the SE's NVM
// cells including an interrupted commit's journal, and the atomic whole-file writer the CLI uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaultInjector, FileBackend, Nvm, PowerCut } from './nvm.ts';
import { ensurePrivateFile, makePrivateDir, writePrivateFileAtomic } from './private_files.ts';

process.umask(0o022);
const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function inTemp(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-private-'));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the NVM file backend makes its directories 0700 and every cell 0600, the journal of a cut commit too', () => {
  inTemp((tmp) => {
    const dir = path.join(tmp, 'device', 'se');
    const nvm = Nvm.open(new FileBackend(dir));
    nvm.commit(new Map([['wallet', enc('secret')], ['log/0001', enc('r1')]]));
    assert.equal(modeOf(path.join(tmp, 'device')), 0o700);
    assert.equal(modeOf(dir), 0o700);
    const cut = Nvm.open(new FaultInjector(new FileBackend(dir), { cutAfterWrite: 1 }));
    assert.throws(() => cut.commit(new Map([['wallet', enc('two')]])), PowerCut);
    const files = fs.readdirSync(dir);
    assert.deepEqual([...files].sort(), ['log+0001', 'wallet', '~journal']);
    for (const f of files) assert.equal(modeOf(path.join(dir, f)), 0o600, f);
  });
});

test('a cell file left 0644 (by an older version) is 0600 once the SE writes it again', () => {
  inTemp((dir) => {
    fs.writeFileSync(path.join(dir, 'wallet'), 'old', { mode: 0o644 });
    assert.equal(modeOf(path.join(dir, 'wallet')), 0o644);
    new FileBackend(dir).write('wallet', enc('new'));
    assert.equal(modeOf(path.join(dir, 'wallet')), 0o600);
    assert.equal(modeOf(dir), 0o700, 'mkdtemp made it 0700 and nothing loosened it');
  });
});

test('a directory that already exists keeps its mode: only the ones Tally makes are 0700', () => {
  inTemp((dir) => {
    fs.chmodSync(dir, 0o755);
    makePrivateDir(path.join(dir, 'a', 'b'));
    assert.equal(modeOf(dir), 0o755);
    assert.equal(modeOf(path.join(dir, 'a')), 0o700);
    assert.equal(modeOf(path.join(dir, 'a', 'b')), 0o700);
  });
});

test('the atomic writer replaces a 0644 file with a 0600 one and leaves no temporary behind', () => {
  inTemp((dir) => {
    const file = path.join(dir, 'device.json');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    writePrivateFileAtomic(file, '{"new":true}\n');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"new":true}\n');
    assert.equal(modeOf(file), 0o600);
    const fresh = path.join(dir, 'network.json');
    writePrivateFileAtomic(fresh, enc('x'));
    assert.equal(modeOf(fresh), 0o600);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['device.json', 'network.json']);
  });
});

test('ensurePrivateFile creates an empty 0600 file and leaves an existing one untouched', () => {
  inTemp((dir) => {
    const file = path.join(dir, 'book.sqlite');
    ensurePrivateFile(file);
    assert.equal(modeOf(file), 0o600);
    assert.equal(fs.statSync(file).size, 0);
    fs.writeFileSync(file, 'kept');
    fs.chmodSync(file, 0o640);
    ensurePrivateFile(file);
    assert.equal(fs.readFileSync(file, 'utf8'), 'kept');
    assert.equal(modeOf(file), 0o640);
  });
});
