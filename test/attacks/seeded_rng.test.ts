// Attacker: a payee collecting two payments from one device process that restarts on the same
// NVM (issue 8, finding 6). A device process on a fixed-seed RNG replays one random stream on
// every start, so two payments made after two restarts reuse every proof nonce; the responses
// z = t + c·x of the two proofs then give c1 − c2 from the public amount and, from it, the device
// key k and the escrow randomness — checked here against E1 = u·G and E2 = k·g_K + u·Y_reg.
// The promise: the device process (test/support/tcp_peer.ts) draws fresh randomness on every
// start, and no file under src/ outside an explicit allow-list of test support and the simulator
// gives anything a seeded RNG.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  G1Point,
  decodePaymentProof,
  gK,
  pedersenG,
  scalarInv,
  scalarMul,
  paymentChallenge,
  scalarSub,
  seededRng,
  type PaymentStatement,
  type PaymentProof,
} from '../../src/crypto/index.ts';
import { PayeeReady, decodePayment, tcpListen } from '../../src/protocol/index.ts';
import { Device } from '../../src/device/device.ts';
import { PROFILES } from '../../src/device/profiles.ts';
import { provisionDevice } from '../support/provision.ts';
import { makeWorld } from '../support/world.ts';
import { paymentParamsFor } from '../../src/se/payment_inputs.ts';
import { limitsFor } from '../../src/policy/limits.ts';
import { CliError } from '../../src/cli/args.ts';
import { runCli } from '../../src/cli/main.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEER = path.join(repo, 'test/support/tcp_peer.ts');
const SEED = 'attack-seeded-rng';
const AMOUNT_MINOR = 500n;
/** Index of a's response among the payment's sigma responses (n, w, a, r_a, r_n, u). */
/** Index of z_u in the proof's sigma responses (w, v, u). */
const Z_U = 2;
/** How long the payee waits for the payer process's payment: generous, the suite shares 2 cores. */
const PAYMENT_WAIT_MS = 60_000;

interface Captured {
  statement: PaymentStatement;
  proof: PaymentProof;
}

/** Runs the real payer process once on `nvmDir`; the payee here captures the payment it sends. */
async function payOnce(payee: Device, nvmDir: string, fundMinor: bigint): Promise<Captured> {
  const listener = await tcpListen(0);
  const args = ['--import', 'tsx', PEER, 'payer', '--profile', 'wallet', '--seed', SEED, '--nvm', nvmDir, '--port', String(listener.port), '--fund', String(fundMinor), '--timeout-ms', String(PAYMENT_WAIT_MS)];
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const transport = await listener.accept(PAYMENT_WAIT_MS);
    let captured: Uint8Array | null = null;
    const ready = new PayeeReady(
      {
        buildRequest: (a) => payee.se.buildPaymentRequest(a),
        accept: (p) => ((captured = p), payee.se.acceptPayment(p)),
      },
      transport,
      PAYMENT_WAIT_MS,
    );
    await (await ready.sendRequest(AMOUNT_MINOR)).receivePayment();
    transport.close();
    assert.equal(await exited, 0, `payer process failed: ${err}`);
    assert.match(out, /"event":"done"/);
    assert.ok(captured !== null);
    const wire = decodePayment(captured);
    return decodePaymentProof(wire.proof, new Uint8Array(0));
  } finally {
    child.kill();
    await listener.close();
  }
}

/**
 * With one nonce stream the two payments' k~ and u~ are equal, so k = Δm^_k/Δc and u = Δz_u/Δc, the
 * challenges being public (paymentChallenge).
 */
function extractFromNonceReuse(p1: Captured, p2: Captured, w: ReturnType<typeof makeWorld>): { k: bigint; u: bigint } | null {
  const params = (p: Captured) => paymentParamsFor(w.issuerPublicKey.toBytes(), w.regulatorKey, limitsFor(w.policy, p.statement.tier));
  const dC = scalarSub(paymentChallenge(params(p1), p1.statement, p1.proof), paymentChallenge(params(p2), p2.statement, p2.proof));
  if (dC === 0n) return null;
  const k = scalarMul(scalarSub(p1.proof.bbsResponses.mHat[0]!, p2.proof.bbsResponses.mHat[0]!), scalarInv(dC));
  const u = scalarMul(scalarSub(p1.proof.sigmaResponses[Z_U]!, p2.proof.sigmaResponses[Z_U]!), scalarInv(dC));
  return { k, u };
}

test('device process restarted twice draws fresh randomness', { timeout: 180_000 }, async () => {
  const w = makeWorld(SEED);
  const payee = new Device({ profile: PROFILES.pos, name: 'attacker-pos', rng: seededRng('attacker-pos'), clock: w.clock, nvm: { kind: 'memory' } });
  await provisionDevice(w, payee);
  const nvmDir = mkdtempSync(path.join(tmpdir(), 'tally-seeded-rng-'));
  try {
    await payOnce(payee, nvmDir, 20_000n); // provisions, funds and pays once
    const first = await payOnce(payee, nvmDir, 0n); // restart 1, same NVM
    const second = await payOnce(payee, nvmDir, 0n); // restart 2, same NVM
    assert.ok(!first.statement.N.equals(second.statement.N), 'two payments, two counters');

    // The attacker's extraction: it must not reproduce the payments' own escrow.
    const Y_reg = G1Point.fromBytes(w.regulatorKey);
    const got = extractFromNonceReuse(first, second, w);
    const opens = (x: Captured) =>
      got !== null && got.u !== 0n && pedersenG().mul(got.u).equals(x.statement.E1) && gK().mul(got.k).add(Y_reg.mul(got.u)).equals(x.statement.E2);
    assert.ok(!opens(first), 'the device key k and the escrow randomness were extracted from two payments');

    // Fresh randomness shows in every random public value of the two payments.
    assert.ok(!first.statement.E1.equals(second.statement.E1), 'escrow randomness repeated across restarts');
    assert.ok(!first.statement.C_a.equals(second.statement.C_a), 'amount blinding repeated across restarts');
    first.proof.sigmaCommitments.forEach((c, i) => assert.ok(!c.equals(second.proof.sigmaCommitments[i]!), `sigma nonce commitment ${i} repeated`));
  } finally {
    rmSync(nvmDir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Static: who may call seededRng

/** Files under src/ allowed to make a seeded RNG, and why. Everything else must not. */
const SEEDED_RNG_ALLOWED: Readonly<Record<string, string>> = {
  'src/crypto/rng.ts': 'defines seededRng (for tests and the simulator)',
  'src/crypto/bbs_core.ts': 'defines the BBS draft mock seeded_random_scalars (fixture replay in tests)',
  'src/protocol/fixtures/tcp_payer.ts': 'test fixture process spawned by transport_tcp.test.ts',
  'src/sim/network.ts': 'the simulator: one process, one printed seed, fresh NVM every run',
  'src/sim/scenario.ts': 'the simulator: key holders of the demo warrant step',
  'src/sim/fleet/world.ts': 'the fleet simulator (tally sim): every SE and attacker key from the run\'s printed seed',
  'src/sim/fleet/random.ts': 'the fleet simulator\'s seeded choices and event queue',
  'src/ledger/verify/verify_batch.ts': 'batch weights seeded only when a test injects FiConfig.verifySeed',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|mjs|js)$/.test(name) && !/\.test\.ts$/.test(name) ? [full] : [];
  });
}

test('no file under src/ outside the allow-list makes a seeded RNG', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(path.join(repo, 'src'))) {
    const rel = path.relative(repo, file).split(path.sep).join('/');
    const text = readFileSync(file, 'utf8');
    const uses = /\bseededRng\s*\(|\bseededRandomScalars\s*\(/.test(text.replace(/^\s*(\/\/|\*).*$/gm, ''));
    if (uses && !(rel in SEEDED_RNG_ALLOWED)) offenders.push(rel);
  }
  assert.deepEqual(offenders, [], 'seeded RNG outside tests and the simulator');
  // The allow-list stays honest: every entry still exists, and none is a device process or the CLI.
  for (const rel of Object.keys(SEEDED_RNG_ALLOWED)) {
    assert.ok(statSync(path.join(repo, rel)).isFile(), `${rel} is allow-listed but gone`);
    assert.ok(!/^src\/(cli|device)\//.test(rel), `${rel}: the CLI and device processes never get a seeded RNG`);
  }
  // Only tests set the FI's verification seed.
  const setters: string[] = [];
  for (const file of sourceFiles(path.join(repo, 'src'))) {
    const rel = path.relative(repo, file).split(path.sep).join('/');
    if (/\bverifySeed\s*:/.test(readFileSync(file, 'utf8')) && !/^src\/ledger\/fi\/(financial_intermediary|sync)\.ts$/.test(rel)) setters.push(rel);
  }
  assert.deepEqual(setters, [], 'verifySeed set outside tests');
});

test('the CLI deals network keys from system randomness: two inits differ, and --seed is refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-seeded-cli-'));
  const quiet = { out: () => {}, err: () => {} };
  try {
    await assert.rejects(
      runCli(['network', 'init', '--dir', path.join(dir, 'a'), '--seed', 's'], quiet),
      (e: unknown) => e instanceof CliError && e.code === 'USAGE' && /--seed/.test(e.message),
    );
    for (const sub of ['a', 'b']) assert.equal(await runCli(['network', 'init', '--dir', path.join(dir, sub), '--fi', 'bank-a'], quiet), 0);
    const a = readFileSync(path.join(dir, 'a', 'network.json'), 'utf8');
    const b = readFileSync(path.join(dir, 'b', 'network.json'), 'utf8');
    assert.notEqual(a, b);
    const secretsOf = (text: string) => [...text.matchAll(/"secretKey":\s*"([0-9a-f]+)"/g)].map((m) => m[1]);
    const [sa, sb] = [secretsOf(a), secretsOf(b)];
    assert.ok(sa.length >= 3 && sa.length === sb.length, `expected the institutions' secret keys, found ${sa.length}`);
    sa.forEach((x, i) => assert.notEqual(x, sb[i], `secret key ${i} repeated across two key ceremonies`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
