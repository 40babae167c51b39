// The CLI's contract with people and scripts: usage mistakes (unknown command or option, a
// missing option, a bad amount or address, options that do not go together) fail with a clear
// one-line message and exit code 2 before anything is touched; a ledger that does not answer is
// UNREACHABLE (exit 1); amounts convert exactly between currency units and minor units.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { formatAmount, parseAmount } from '../src/cli/amount.ts';
import { CliError } from '../src/cli/args.ts';
import { runCli } from '../src/cli/main.ts';
import { readNetwork } from '../src/cli/network_config.ts';
import { CbLedger, migrate, MIGRATIONS, type Db } from '../src/ledger/index.ts';
import { ENGINES, freshDb } from './ledger/engines.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function cli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out };
}

async function usageError(argv: string[], message: RegExp): Promise<void> {
  await assert.rejects(cli(argv), (e: unknown) => {
    assert.ok(e instanceof CliError, `expected a CliError, got ${String(e)}`);
    assert.equal(e.code, 'USAGE');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, message);
    return true;
  });
}

test('the tally process exits 2 with one clear line for an unknown command or a bad amount', () => {
  const unknown = spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'frobnicate'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^tally: unknown command 'frobnicate' \(try: .*device.*\)\n$/);
  const amount = spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'device', 'fund', '--dir', '/nonexistent', '--amount', '12.345'], { encoding: 'utf8' });
  assert.equal(amount.status, 2);
  assert.match(amount.stderr, /^tally: --amount must be an amount in currency units with up to 2 decimals \(e\.g\. 15\.00\), got '12\.345'\n$/);
});

test('usage errors name what is wrong: unknown subcommand, unknown option, missing options', async () => {
  await usageError(['device', 'teleport'], /unknown command 'teleport' \(try: init, show, fund, receive, pay, sync\)/);
  await usageError(['device', 'show', '--dri', 'x'], /unknown option --dri/);
  await usageError(['device', 'init', '--dir', 'x'], /--profile is required/);
  await usageError(['device', 'init', '--dir', 'x', '--profile', 'toaster'], /unknown device profile "toaster"/);
  await usageError(['device', 'receive', '--dir', 'x'], /--amount is required/);
  await usageError(['device', 'pay', '--dir', 'x'], /--to is required/);
  await usageError(['device', 'pay', '--dir', 'x', '--to', 'localhost'], /--to must be HOST:PORT/);
  await usageError(['device', 'pay', '--dir', 'x', '--to', '127.0.0.1:99999'], /--to must be HOST:PORT/);
  await usageError(['device', 'pay', '--dir', 'x', '--to', '127.0.0.1:9', '--resend', 'beef'], /a request id is 32 hex digits/);
  await usageError(['device', 'pay', '--dir', 'x', '--to', '127.0.0.1:9', 'beef'], /unexpected argument 'beef'/);
  await usageError(['device', 'show', '--dir', path.join(os.tmpdir(), 'tally-no-such-device')], /holds no device/);
  await usageError(['network', 'init'], /--dir is required/);
  await usageError(['network', 'init', '--dir', 'x', '--fi', 'Bank A'], /--fi must be lower-case/);
  await usageError(['network', 'init', '--dir', 'x', '--fi', 'a', '--fi', 'a'], /must be distinct/);
});

test('serve refuses options that do not go together', async () => {
  await usageError(['serve', '--role', 'all', '--db-dir', 'd'], /--role all needs --network/);
  await usageError(['serve', '--role', 'cb', '--db', 'sqlite:x', '--cb-url', 'http://x'], /--cb-url needs --network/);
  await usageError(['serve', '--network', 'n.json', '--role', 'fi', '--fi-id', 'a', '--db', 'sqlite:x'], /--cb-url is required with --role fi/);
  await usageError(['serve', '--network', 'n.json', '--role', 'all', '--db', 'sqlite:x', '--db-dir', 'd'], /--db does not go with --role all/);
  await usageError(['serve', '--network', 'n.json', '--role', 'cb'], /--db is required/);
  await usageError(['serve', '--role', 'key-holder', '--db', 'sqlite:x'], /--role key-holder needs --network/);
  await usageError(['serve', '--network', 'n.json', '--role', 'key-holder', '--db', 'sqlite:x', '--cb-url', 'https://x/cb', '--cb-token-file', 't'], /--share is required with --role key-holder/);
  await usageError(['serve', '--network', 'n.json', '--role', 'key-holder', '--share', 's', '--db', 'sqlite:x', '--cb-url', 'https://x/cb', '--cb-token-file', 't', '--tls'], /--tls does not go with --role key-holder/);
  await usageError(['serve', '--network', 'n.json', '--role', 'cb', '--db', 'sqlite:x', '--share', 's'], /--share goes with --role key-holder only/);
});

test('a key holder node starts only with its own network\'s share, intact, and an https CB', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-cli-holder-'));
  try {
    const [one, two] = [path.join(dir, 'one'), path.join(dir, 'two')];
    for (const d of [one, two]) assert.equal((await cli(['network', 'init', '--dir', d, '--fi', 'bank-a'])).code, 0);
    const tokenFile = path.join(dir, 'holder.token');
    writeFileSync(tokenFile, `tly1.op-0123456789abcdef.${'A'.repeat(43)}\n`, { mode: 0o600 });
    const serve = (share: string, cbUrl = 'https://127.0.0.1:9/cb') =>
      ['serve', '--network', path.join(one, 'network.json'), '--role', 'key-holder', '--share', share, '--cb-url', cbUrl, '--cb-token-file', tokenFile, '--db', `sqlite:${path.join(dir, 'h.sqlite')}`];
    const share = (d: string, i: number) => path.join(d, `regulator-holder-${i}.json`);
    await usageError(serve(share(two, 1)), /verificationKey is not holder 1's in .*a share of another network/);
    await usageError(serve(share(one, 1), 'http://127.0.0.1:9/cb'), /--cb-url must be https/);
    const edited = (change: (o: Record<string, unknown>) => void) => {
      const o = JSON.parse(readFileSync(share(one, 2), 'utf8')) as Record<string, unknown>;
      change(o);
      const f = path.join(dir, 'edited.json');
      writeFileSync(f, JSON.stringify(o));
      return f;
    };
    await usageError(serve(edited((o) => (o['index'] = 1))), /verificationKey is not holder 1's/);
    await usageError(serve(edited((o) => (o['index'] = 4))), /index must be 1\.\.3/);
    await usageError(serve(edited((o) => (o['secret'] = `${'0'.repeat(63)}1`))), /its secret does not match its verificationKey/);
    await usageError(serve(edited((o) => (o['secret'] = 'f'.repeat(64)))), /secret is not a scalar/);
    await usageError(serve(edited((o) => (o['kind'] = 'x'))), /kind must be tally-regulator-share/);
    assert.equal(existsSync(path.join(dir, 'h.sqlite')), false, 'no database made for a refused share');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help prints the usage of each level and exits 0', async () => {
  for (const argv of [['device', '--help'], ['device', 'pay', '--help'], ['serve', '--help'], ['network', 'init', '--help']]) {
    const r = await cli(argv);
    assert.equal(r.code, 0);
    assert.match(r.out.join('\n'), /^usage: tally /);
  }
  assert.match((await cli(['serve', '--help'])).out.join('\n'), /--role all --db-dir DIR/);
});

test('amounts: up to two decimals convert exactly to minor units and back; anything else is refused', () => {
  assert.equal(parseAmount('15', 'a'), 1500n);
  assert.equal(parseAmount('15.00', 'a'), 1500n);
  assert.equal(parseAmount('7.5', 'a'), 750n);
  assert.equal(parseAmount('0.01', 'a'), 1n);
  assert.equal(parseAmount('0', 'a', { allowZero: true }), 0n);
  for (const bad of ['', '0', '0.00', '1.234', '-1', '+1', '1e3', '.5', '5.', '1,5', ' 1', '12345678901234', 'NaN']) {
    assert.throws(() => parseAmount(bad, '--amount'), (e: unknown) => e instanceof CliError && e.code === 'USAGE', bad);
  }
  fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n - 1n }), (minor) => parseAmount(formatAmount(minor), 'a') === minor));
  assert.equal(formatAmount(-5n), '-0.05');
});

test('a network file that is not one is a usage error, and an FI that does not answer is UNREACHABLE', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-cli-test-'));
  try {
    const junk = path.join(dir, 'junk.json');
    writeFileSync(junk, '{"kind":"something-else"}');
    assert.throws(() => readNetwork(junk), /is not a Tally network file/);
    assert.equal((await cli(['network', 'init', '--dir', dir, '--fi', 'bank-a'])).code, 0);
    await usageError(['network', 'init', '--dir', dir], /already exists/);
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const tokenFile = path.join(dir, 'teller.token');
    writeFileSync(tokenFile, `tly1.op-0123456789abcdef.${'A'.repeat(43)}\n`, { mode: 0o600 });
    const argv = ['device', 'init', '--dir', path.join(dir, 'dev'), '--profile', 'watch', '--network', path.join(dir, 'network.json'), '--fi-url', `http://127.0.0.1:${port}/fi/bank-a`, '--token-file', tokenFile, '--customer', 'Bo'];
    await assert.rejects(cli(argv), (e: unknown) => e instanceof CliError && e.code === 'UNREACHABLE' && e.exitCode === 1 && /cannot reach/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tally --version names the curve engine; TALLY_ENGINE picks one and refuses an unknown name', () => {
  const run = (engine: string | undefined) =>
    spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), '--version'], {
      encoding: 'utf8',
      env: { ...process.env, TALLY_ENGINE: engine ?? '' },
    });
  const mcl = run('mcl');
  assert.equal(mcl.status, 0, mcl.stderr);
  assert.match(mcl.stdout, /^tally \d+\.\d+\.\d+\ncurve engine: mcl — mcl-wasm/);
  const byDefault = run(undefined);
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.match(byDefault.stdout, process.env.TALLY_NATIVE === '0' ? /curve engine: mcl .*fallback/ : /curve engine: blst — blst/);
  const bad = run('gmp');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /TALLY_ENGINE must be "blst" or "mcl", not "gmp"/);
});

function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

test('serve refuses a non-loopback --host without TLS: exit 2, one line naming the address, no database, nothing listening', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-cli-host-'));
  try {
    const db = path.join(dir, 'data', 'cb.sqlite');
    const port = await freePort();
    const r = spawnSync(process.execPath, [path.join(repo, 'bin/tally.mjs'), 'serve', '--role', 'cb', '--db', `sqlite:${db}`, '--host', '0.0.0.0', '--port', String(port)], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^tally: --host 0\.0\.0\.0 is not a loopback address \(127\.0\.0\.0\/8, ::1, localhost\): .*without TLS.*\n$/);
    assert.equal(existsSync(path.join(dir, 'data')), false, 'nothing was created');
    assert.equal(await connects(port), false);
    for (const host of ['::', '192.168.1.10', 'example.com', '::ffff:10.0.0.1']) {
      await usageError(['serve', '--role', 'cb', '--db', `sqlite:${db}`, '--host', host], /is not a loopback address/);
      await usageError(['serve', '--network', path.join(dir, 'n.json'), '--role', 'all', '--db-dir', dir, '--host', host], /is not a loopback address/);
    }
    assert.equal(existsSync(path.join(dir, 'data')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const migrationRows = async (db: Db) =>
  (await db.query('SELECT version, name, applied_ms FROM schema_migrations ORDER BY version')).map((r) => [r['version'], r['name'], r['applied_ms']]);

async function refused(argv: string[], code: 'FAILED' | 'USAGE', message: RegExp): Promise<void> {
  await assert.rejects(cli(argv), (e: unknown) => e instanceof CliError && e.code === code && message.test(e.message));
}
const auditRefused = (spec: string, code: 'FAILED' | 'USAGE', message: RegExp) => refused(['audit', '--db', spec], code, message);

for (const engine of ENGINES) {
  test(`audit --db and exposure --db on ${engine} run no migration: a current book audits clean and its migrations table is unchanged; a missing or older schema is refused`, async () => {
    const current = await freshDb(engine);
    const older = await freshDb(engine);
    const bare = await freshDb(engine);
    try {
      const cb = await CbLedger.open({ db: current.db });
      await cb.registerFi({ fiId: 'bank-a', idempotencyKey: 'reg-a' });
      await migrate(older.db, () => 7, MIGRATIONS.slice(0, MIGRATIONS.length - 1));
      const specOf = (f: typeof current) => (f.spec.engine === 'sqlite' ? `sqlite:${f.spec.filename}` : f.spec.connectionString);
      const before = { current: await migrationRows(current.db), older: await migrationRows(older.db) };
      let file: { bytes: string; mtimeMs: number } | undefined;
      if (current.spec.engine === 'sqlite') {
        await current.db.close(); // checkpoints the WAL into the file, so the file alone is the book
        const f = current.spec.filename;
        file = { bytes: createHash('sha256').update(readFileSync(f)).digest('hex'), mtimeMs: statSync(f).mtimeMs };
      }
      const r = await cli(['audit', '--db', specOf(current), '--json']);
      assert.equal(r.code, 0, r.out.join('\n'));
      assert.equal((JSON.parse(r.out.join('\n')) as { clean: boolean }).clean, true);
      if (current.spec.engine === 'sqlite') {
        const f = current.spec.filename;
        assert.deepEqual({ bytes: createHash('sha256').update(readFileSync(f)).digest('hex'), mtimeMs: statSync(f).mtimeMs }, file);
      }
      const reopened = current.reopen();
      assert.deepEqual(await migrationRows(reopened), before.current);

      await auditRefused(specOf(older), 'FAILED', new RegExp(`refusing to audit .*schema version ${MIGRATIONS.length - 1}, older than this Tally's ${MIGRATIONS.length}`));
      await refused(['exposure', '--db', specOf(older)], 'FAILED', /refusing to read the exposure of .*older than/);
      assert.deepEqual(await migrationRows(older.db), before.older);
      await auditRefused(specOf(bare), 'FAILED', /refusing to audit .*no Tally schema/);
      await refused(['exposure', '--db', specOf(bare)], 'FAILED', /refusing to read the exposure of .*no Tally schema/);
      const tables = engine === 'sqlite'
        ? await bare.db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        : await bare.db.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()");
      assert.deepEqual(tables, [], 'the bare database stays bare');
    } finally {
      await current.cleanup();
      await older.cleanup();
      await bare.cleanup();
    }
  });
}

test('audit --db of a SQLite file that does not exist is a usage error and creates nothing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-cli-audit-'));
  try {
    const missing = path.join(dir, 'nope.sqlite');
    await auditRefused(`sqlite:${missing}`, 'USAGE', /cannot open sqlite:.*nope\.sqlite for audit/);
    assert.equal(existsSync(missing), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
