// The README's "Several processes" walk-through, run as written: every step is a `tally` child
// process. A demo network's CB and two FIs run as three ledger processes; a wallet at bank-a and
// a POS at bank-b are made and funded in their own processes; the ledger is stopped and the wallet
// pays the POS 12.34 over TCP between two device processes (after refusing a request above its --max); the ledger restarts on the same
// databases and ports; both devices sync; every book audits clean, the POS's merchant account holds
// the 12.34, and the same databases served as one process (--role all) pass the network audit
// with nothing in flight. Between the sync and the one-process run, a regulator's warrant for the
// till's payment is answered by three key-holder processes (two approve, one refuses) and the payer
// disclosed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tally = path.join(repo, 'bin/tally.mjs');
const STEP_TIMEOUT_MS = 30_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

/** One foreground `tally` command; resolves when it exits. */
function tallyRun(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tally, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await tallyRun(args);
  assert.equal(r.status, 0, `tally ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface Background {
  child: ChildProcess;
  firstLine: string;
  rest: Promise<Run>;
}

/** A long-running `tally` command; resolves with its first stdout line. */
function tallyStart(args: string[]): Promise<Background> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tally, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stderr = '';
    const lines: string[] = [];
    child.stderr.on('data', (d) => (stderr += d));
    const rest = new Promise<Run>((done) => child.on('exit', (status) => {
      children.delete(child);
      done({ status, stdout: lines.join('\n'), stderr });
    }));
    const timer = setTimeout(() => reject(new Error(`tally ${args.join(' ')}: no output in ${STEP_TIMEOUT_MS} ms\n${stderr}`)), STEP_TIMEOUT_MS);
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      if (lines.length === 1) {
        clearTimeout(timer);
        resolve({ child, firstLine: l, rest });
      }
    });
    void rest.then((r) => {
      clearTimeout(timer);
      if (lines.length === 0) reject(new Error(`tally ${args.join(' ')} exited ${r.status} before printing:\n${r.stderr}`));
    });
  });
}

async function stop(b: Background): Promise<void> {
  b.child.kill('SIGTERM');
  const r = await b.rest;
  assert.equal(r.status, 0, `a ledger process did not stop cleanly:\n${r.stderr}`);
}

const urlOf = (line: string): string => /listening on (https?:\/\/\S+)/.exec(line)?.[1] ?? assert.fail(`no URL in '${line}'`);
const portOf = (url: string): string => new URL(url).port;

test('README walk-through: separate CB, FI and device processes; offline payment over TCP; sync; clean audits', { timeout: 600_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tally-walkthrough-'));
  const net = path.join(tmp, 'net');
  const data = path.join(tmp, 'data');
  const networkFile = path.join(net, 'network.json');
  const wallet = path.join(tmp, 'wallet');
  const pos = path.join(tmp, 'pos');
  try {
    await ok(['network', 'init', '--dir', net, '--fi', 'bank-a', '--fi', 'bank-b']);
    assert.equal(statSync(networkFile).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(net, 'regulator-holder-2.json')).mode & 0o777, 0o600);
    const token = (name: string) => path.join(net, `${name}.token`);
    const operator = (db: string, role: string, name: string, file: string) =>
      ok(['operator', 'add', '--db', `sqlite:${path.join(data, `${db}.sqlite`)}`, '--role', role, '--name', name, '--token-file', token(file)]);
    await operator('bank-a', 'fi-operator', 'Bank A teller', 'bank-a-teller');
    await operator('bank-b', 'fi-operator', 'Bank B teller', 'bank-b-teller');
    await operator('cb', 'auditor', 'CB auditor', 'cb-auditor');
    await operator('bank-a', 'auditor', 'Bank A auditor', 'bank-a-auditor');
    assert.equal(statSync(token('cb-auditor')).mode & 0o777, 0o600);
    const ca = path.join(net, 'tls', 'ca.pem');

    const serveCb = (port: string) => tallyStart(['serve', '--network', networkFile, '--role', 'cb', '--db', `sqlite:${path.join(data, 'cb.sqlite')}`, '--port', port]);
    const serveFi = (fiId: string, cbUrl: string, port: string) =>
      tallyStart(['serve', '--network', networkFile, '--role', 'fi', '--fi-id', fiId, '--cb-url', cbUrl, '--db', `sqlite:${path.join(data, `${fiId}.sqlite`)}`, '--port', port, '--verify-workers', '1']);
    let cb = await serveCb('0');
    const cbUrl = urlOf(cb.firstLine);
    let [fiA, fiB] = await Promise.all([serveFi('bank-a', cbUrl, '0'), serveFi('bank-b', cbUrl, '0')]);
    const aUrl = urlOf(fiA.firstLine);
    const bUrl = urlOf(fiB.firstLine);

    await Promise.all([
      ok(['device', 'init', '--dir', wallet, '--profile', 'wallet', '--network', networkFile, '--fi-url', aUrl, '--token-file', token('bank-a-teller'), '--customer', 'Alice', '--deposit', '150.00']),
      ok(['device', 'init', '--dir', pos, '--profile', 'pos', '--network', networkFile, '--fi-url', bUrl, '--token-file', token('bank-b-teller'), '--customer', 'Corner Shop']),
    ]);
    // Without the teller's token the bank does no KYC: 401, and the command says what is missing.
    const anonymous = await tallyRun(['device', 'init', '--dir', path.join(tmp, 'nobody'), '--profile', 'wallet', '--network', networkFile, '--fi-url', aUrl, '--customer', 'Mallory']);
    assert.equal(anonymous.status, 2);
    assert.match(anonymous.stderr, /--token-file is required/);
    await ok(['device', 'fund', '--dir', wallet, '--amount', '100.00']);

    await Promise.all([stop(cb), stop(fiA), stop(fiB)]);
    // A request above the payer's --max is refused on both sides and moves nothing.
    const greedy = await tallyStart(['device', 'receive', '--dir', pos, '--amount', '50.00', '--port', '0']);
    const refused = await tallyRun(['device', 'pay', '--dir', wallet, '--to', `127.0.0.1:${(JSON.parse(greedy.firstLine) as { port: number }).port}`, '--max', '20.00']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refused: the payee asked for 50\.00, more than --max 20\.00/);
    assert.equal((await greedy.rest).status, 1);

    const receiving = await tallyStart(['device', 'receive', '--dir', pos, '--amount', '12.34', '--port', '0']);
    const { port } = JSON.parse(receiving.firstLine) as { event: string; port: number };
    const paid = JSON.parse(await ok(['device', 'pay', '--dir', wallet, '--to', `127.0.0.1:${port}`, '--max', '20.00', '--json'])) as Record<string, string>;
    assert.equal(paid['amountMinor'], '1234');
    assert.equal(paid['balanceMinor'], '8766');
    const received = await receiving.rest;
    assert.equal(received.status, 0, received.stderr);
    const receipt = JSON.parse(received.stdout.split('\n')[1]!) as Record<string, unknown>;
    assert.equal(receipt['event'], 'received');
    assert.equal(receipt['amountMinor'], '1234');
    // The receipt reached the wallet's SE: it keeps no unconfirmed payment, so there is nothing to re-send.
    const shown = JSON.parse(await ok(['device', 'show', '--dir', wallet, '--json'])) as { unconfirmed: unknown[] };
    assert.deepEqual(shown.unconfirmed, []);
    const resend = await tallyRun(['device', 'pay', '--dir', wallet, '--to', `127.0.0.1:${port}`, '--resend']);
    assert.equal(resend.status, 1);
    assert.match(resend.stderr, /nothing to re-send: this SE keeps no unconfirmed payment/);

    cb = await serveCb(portOf(cbUrl));
    [fiA, fiB] = await Promise.all([serveFi('bank-a', cbUrl, portOf(aUrl)), serveFi('bank-b', cbUrl, portOf(bUrl))]);
    const walletSync = JSON.parse(await ok(['device', 'sync', '--dir', wallet, '--json'])) as Record<string, unknown>;
    assert.equal(walletSync['balanceMinor'], '8766');
    const posSync = JSON.parse(await ok(['device', 'sync', '--dir', pos, '--defund', '--json'])) as Record<string, unknown>;
    assert.equal(posSync['receiptsUploaded'], 1);
    assert.equal(posSync['accountBalanceMinor'], '1234', 'the POS merchant account holds the payment');
    assert.match(await ok(['audit', '--url', cbUrl, '--ca', ca, '--token-file', token('cb-auditor')]), /clean/);
    assert.match(await ok(['audit', '--url', aUrl, '--token-file', token('bank-a-auditor')]), /clean/);
    assert.match(await ok(['audit', '--url', bUrl, '--token-file', token('bank-b-teller')]), /clean/, 'a bank\'s operator reads its audit too');
    // A token of another node is refused: the CB does not know bank-a's auditor.
    const wrong = await tallyRun(['audit', '--url', cbUrl, '--ca', ca, '--token-file', token('bank-a-auditor')]);
    assert.equal(wrong.status, 1, wrong.stderr);
    assert.match(wrong.stderr, /HTTP 401/);

    // 5b. A warrant for the till's payment, named by the nullifier its receipt showed: holders 1
    // and 2 approve from their own nodes (each with its share and its token at the CB), holder 3
    // refuses, the regulator discloses the payer, the disclosure log's chain holds.
    const cbDb = `sqlite:${path.join(data, 'cb.sqlite')}`;
    await ok(['operator', 'add', '--db', cbDb, '--role', 'regulator', '--name', 'Regulator', '--token-file', token('regulator')]);
    const holderDb = (i: number) => `sqlite:${path.join(data, `holder-${i}.sqlite`)}`;
    for (const i of [1, 2, 3]) {
      await ok(['operator', 'add', '--db', cbDb, '--role', 'key-holder', '--holder', String(i), '--name', `Holder ${i} at the CB`, '--token-file', token(`holder-${i}-at-cb`)]);
      await ok(['operator', 'add', '--db', holderDb(i), '--role', 'key-holder', '--holder', String(i), '--name', `Holder ${i}`, '--token-file', token(`holder-${i}`)]);
    }
    const serveHolder = (i: number) => tallyStart([
      'serve', '--network', networkFile, '--role', 'key-holder', '--share', path.join(net, `regulator-holder-${i}.json`), '--cb-url', cbUrl,
      '--cb-token-file', token(`holder-${i}-at-cb`), '--db', holderDb(i), '--port', '0',
    ]);
    // A holder node whose CB token is not holder 1's (an auditor's, holder 2's) does not start.
    const misconfigured = await tallyRun(['serve', '--network', networkFile, '--role', 'key-holder', '--share', path.join(net, 'regulator-holder-1.json'),
      '--cb-url', cbUrl, '--cb-token-file', token('cb-auditor'), '--db', holderDb(1), '--port', '0']);
    assert.equal(misconfigured.status, 1, misconfigured.stderr);
    assert.match(misconfigured.stderr, /key holder 1 cannot read the CB's warrants.*as auditor, not as key holder 1/);
    const swapped = await tallyRun(['serve', '--network', networkFile, '--role', 'key-holder', '--share', path.join(net, 'regulator-holder-1.json'),
      '--cb-url', cbUrl, '--cb-token-file', token('holder-2-at-cb'), '--db', holderDb(1), '--port', '0']);
    assert.equal(swapped.status, 1, swapped.stderr);
    assert.match(swapped.stderr, /as key-holder 2, not as key holder 1/);
    const holders = await Promise.all([1, 2, 3].map((i) => serveHolder(i)));
    const holderUrl = holders.map((h) => urlOf(h.firstLine));
    assert.match(holderUrl[0]!, /^http:\/\/127\.0\.0\.1:\d+\/holder\/1$/);
    const warrant = (args: string[]) => tallyRun(['warrant', ...args]);
    const atCb = (who: string) => ['--url', cbUrl, '--ca', ca, '--token-file', token(who)];
    const filed = JSON.parse(await ok(['warrant', 'file', ...atCb('regulator'), '--id', 'W-2026-1', '--nullifier', String(receipt['nullifier']),
      '--authority', 'District Court, case 41/2026', '--reason', 'payment to a shop under investigation', '--json'])) as { warrant: { paymentHash: string; approvals: number[] } };
    assert.deepEqual(filed.warrant.approvals, []);
    // Only the regulator files: an auditor's token is refused, and nothing is filed.
    const byAuditor = await warrant(['file', ...atCb('cb-auditor'), '--id', 'W-other', '--nullifier', String(receipt['nullifier']), '--authority', 'x', '--reason', 'y']);
    assert.equal(byAuditor.status, 1);
    assert.match(byAuditor.stderr, /HTTP 403/);
    await ok(['warrant', 'approve', '--url', holderUrl[0]!, '--token-file', token('holder-1'), '--id', 'W-2026-1']);
    // Holder 2's token is not one of holder 1's node, and the quorum is not in yet.
    const wrongHolder = await warrant(['approve', '--url', holderUrl[0]!, '--token-file', token('holder-2'), '--id', 'W-2026-1']);
    assert.equal(wrongHolder.status, 1);
    assert.match(wrongHolder.stderr, /HTTP 401/);
    const early = await warrant(['disclose', ...atCb('regulator'), '--id', 'W-2026-1']);
    assert.equal(early.status, 1);
    assert.match(early.stderr, /refused \(HTTP 4\d\d\)/);
    assert.match(await ok(['warrant', 'refuse', '--url', holderUrl[2]!, '--token-file', token('holder-3'), '--id', 'W-2026-1', '--reason', 'the warrant names no offence']), /refused by holder 3: the warrant names no offence/);
    assert.match(await ok(['warrant', 'approve', '--url', holderUrl[1]!, '--token-file', token('holder-2'), '--id', 'W-2026-1']), /approvals 2\/2 of 3 holders \(1, 2\)/);
    const walletId = (JSON.parse(await ok(['device', 'show', '--dir', wallet, '--json'])) as { device: { deviceId: string } }).device.deviceId;
    const disclosed = JSON.parse(await ok(['warrant', 'disclose', ...atCb('regulator'), '--id', 'W-2026-1', '--json'])) as { disclosed: { fiId: string; deviceId: string } };
    assert.equal(disclosed.disclosed.fiId, 'bank-a');
    assert.equal(disclosed.disclosed.deviceId, walletId, 'the payer is Alice\'s wallet');
    assert.match(await ok(['warrant', 'log', ...atCb('cb-auditor')]), /chain intact/);
    // A key holder reads the warrant without the disclosed identity.
    assert.doesNotMatch(await ok(['warrant', 'list', '--url', holderUrl[1]!, '--token-file', token('holder-2')]), /payer/);
    await Promise.all(holders.map(stop));

    await Promise.all([stop(cb), stop(fiA), stop(fiB)]);

    const all = await tallyStart(['serve', '--network', networkFile, '--role', 'all', '--db-dir', data, '--port', '0', '--json', '--verify-workers', '1']);
    const { auditUrl } = JSON.parse(all.firstLine) as { auditUrl: string };
    const audit = JSON.parse(await ok(['audit', '--url', `${auditUrl}?quiescent=1`, '--token-file', token('cb-auditor'), '--json'])) as { clean: boolean; totals: Record<string, string> };
    assert.equal(audit.clean, true);
    assert.equal(audit.totals['inFlightMinor'], '0');
    assert.equal(audit.totals['circulationMinor'], '8766', 'only the wallet still holds value offline');
    assert.equal(audit.totals['issuedMinor'], '200000000');
    await stop(all);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});
