import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { estimate, stepOps } from '../../src/device/cost_model.ts';
import { PROFILES } from '../../src/device/profiles.ts';
import { DEFAULT_POLICY, Tier } from '../../src/policy/limits.ts';
import { analyse, linkMs, linkingAttack, maxOfflineDays, payerEnergyMj, plots, plotSpecs, renderSvg, tapCostMs, writeReport } from '../../src/sim/analysis/index.ts';
import type { PaymentRecord, RunRecord, SyncRecord } from '../../src/sim/fleet/types.ts';

const HOUR = 3_600_000;

/** A small deterministic PRNG (xorshift32) so each synthetic record is fixed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * A week-long record: 12 watches pay 6 POS terminals. `linked`: each payer always pays the same
 * payee, at a time just before that payee syncs. Otherwise payer, payee and times are random.
 */
function record(seed: number, linked: boolean): RunRecord {
  const r = rng(seed);
  const payers = Array.from({ length: 12 }, (_, i) => `w${i}`);
  const payees = Array.from({ length: 6 }, (_, i) => `p${i}`);
  const payments: PaymentRecord[] = [];
  const syncs: SyncRecord[] = [];
  let step = 0;
  const pay = (payer: string, payee: string, atMs: number): PaymentRecord => ({
    step: step++, atMs, payerDevice: payer, payeeDevice: payee, payerProfile: 'watch', payeeProfile: 'pos', amountMinor: 300n + BigInt(Math.floor(r() * 200)),
    epoch: 0, nullifier: `n${step}`, link: 'nfc', mtu: 256, bytesPayerToPayee: 900, bytesPayeeToPayer: 400, outcome: 'paid', workload: 'retail',
  });
  const sync = (device: string, atMs: number, ns: PaymentRecord[]): SyncRecord => ({
    step: step++, atMs, device, profile: 'pos', fiId: device < 'p3' ? 'fiA' : 'fiB', receipts: ns.length, nullifiers: ns.map((p) => p.nullifier),
    receivedMinor: ns.reduce((a, p) => a + p.amountMinor, 0n), balanceMinor: 0n, reason: 'link',
  });
  if (linked) {
    for (let round = 0; round < 14; round++)
      payers.forEach((payer, i) => {
        const t = round * 12 * HOUR + i * 0.9 * HOUR + r() * 0.2 * HOUR;
        const batch = [pay(payer, payees[i % payees.length]!, t), pay(payer, payees[i % payees.length]!, t + 60_000)];
        payments.push(...batch);
        syncs.push(sync(payees[i % payees.length]!, t + 5 * 60_000, batch));
      });
  } else {
    for (let k = 0; k < 300; k++) payments.push(pay(payers[Math.floor(r() * payers.length)]!, payees[Math.floor(r() * payees.length)]!, Math.floor(r() * 7 * 24 * HOUR)));
    const pending = new Map<string, PaymentRecord[]>();
    for (const p of [...payments].sort((a, b) => a.atMs - b.atMs)) pending.set(p.payeeDevice, [...(pending.get(p.payeeDevice) ?? []), p]);
    // Each payee uploads in syncs at random times: a payment goes in the first sync after it.
    for (const payee of payees) {
      const times = Array.from({ length: 10 }, () => Math.floor(r() * 7 * 24 * HOUR)).sort((a, b) => a - b).concat([7 * 24 * HOUR]);
      const mine = pending.get(payee) ?? [];
      let from = 0;
      for (const t of times) {
        const batch = mine.filter((p, i) => i >= from && p.atMs <= t);
        from += batch.length;
        syncs.push(sync(payee, t, batch));
      }
    }
  }
  return {
    seed: String(seed), options: { customers: 12, days: 7, db: 'sqlite' }, startMs: 0, endMs: 7 * 24 * HOUR,
    devices: [...payers.map((id) => ({ id, profile: 'watch' as const, owner: `c-${id}`, fiId: 'fiA' })), ...payees.map((id) => ({ id, profile: 'pos' as const, owner: `m-${id}`, fiId: id < 'p3' ? 'fiA' : 'fiB' }))],
    payments, syncs,
    totals: Array.from({ length: 8 }, (_, d) => ({ atMs: d * 24 * HOUR, issuedMinor: 100_000n, accountsMinor: 60_000n + BigInt(d) * 1000n, seBalancesMinor: 40_000n - BigInt(d) * 1000n, inFlightMinor: 0n })),
    faults: [{ step: 1, atMs: 5, kind: 'se-power-cut', device: 'w1', result: 'recovered' }],
    offlineRuns: [{ device: 'w0', profile: 'watch', workload: 'retail', days: 3, forcedBy: 'counter-limit' }],
  };
}

test('tap time and energy are the cost model for the steps plus the link model', () => {
  const hw = PROFILES.watch.hardware;
  const pos = PROFILES.pos.hardware;
  const se = estimate(stepOps('payer.se.tap'), hw).timeMs;
  const host = estimate(stepOps('payer.host.tap'), 'host').timeMs;
  const payee = estimate(stepOps('payee.se.build'), pos).timeMs + estimate(stepOps('payee.se.accept'), pos).timeMs;
  const t = tapCostMs('watch', 'pos', 'ble', 185, 1300);
  assert.equal(t.seMs, se);
  assert.equal(t.payeeMs, payee);
  assert.equal(t.totalMs, se + host + t.linkMs, 'the payee\'s SE work is reported beside the tap time, not in it');
  assert.equal(t.linkMs, Math.ceil(1300 / 182) * 7.5);
  assert.ok(linkMs('ble', 23, 1300) > linkMs('ble', 247, 1300), 'a small MTU takes more connection events');
  assert.equal(payerEnergyMj('ring'), estimate(stepOps('payer.se.precompute'), 'se-smartcard').energyMj + estimate(stepOps('payer.se.tap'), 'se-smartcard').energyMj);
  const figs = analyse(record(1, false)).classes.find((c) => c.profile === 'watch')!;
  assert.ok(Math.abs(figs.tapMs.mean - tapCostMs('watch', 'pos', 'nfc', 256, 1300).totalMs) < 1e-6);
  assert.equal(figs.tapMs.p50, tapCostMs('watch', 'pos', 'nfc', 256, 1300).totalMs);
});

test('maxOfflineDays names the binding limit, and it flips when one limit changes', () => {
  const rates = { paymentsPerDay: 10, receiptsPerDay: 0, meanPaidMinor: 500, meanReceivedMinor: 0 };
  const a = maxOfflineDays('watch', rates);
  assert.equal(a.binding, 'counter-limit');
  assert.equal(a.days, 32 / 10);
  const raisedL = { ...DEFAULT_POLICY, tiers: { ...DEFAULT_POLICY.tiers, [Tier.iot]: { ...DEFAULT_POLICY.tiers[Tier.iot], paymentsPerEpoch: 64 } } };
  const b = maxOfflineDays('watch', rates, raisedL);
  assert.equal(b.binding, 'offline-spend-limit');
  assert.equal(b.days, 25_000 / (10 * 500));
  assert.equal(maxOfflineDays('watch', { ...rates, paymentsPerDay: 0.1 }).binding, 'epoch-end');
});

test('the linking attack finds nothing in random timing and links a payer that always precedes one payee’s sync', () => {
  const random = linkingAttack(record(7, false));
  const linked = linkingAttack(record(7, true));
  const cbR = random.adversaries[0]!;
  const cbL = linked.adversaries[0]!;
  assert.ok(Math.abs(cbR.advantage) < 0.06, `random: CB advantage ${cbR.advantage}`);
  assert.ok(cbL.advantage > 0.2, `linked: CB advantage ${cbL.advantage}`);
  assert.ok(cbR.baseRate > 0 && cbR.baseRate < 0.2);
  for (const fi of random.adversaries.slice(1)) assert.ok(Math.abs(fi.advantage) < 0.06, `random: ${fi.adversary} ${fi.advantage}`);
  if (process.env.SIMX_PRINT) console.log(JSON.stringify([random.adversaries, linked.adversaries]));
  assert.ok(linked.adversaries.slice(1).some((fi) => fi.advantage > 0.05), 'an FI sees its own customers’ batches');
});

test('the report is byte-identical across two runs of the analysis', async () => {
  const d1 = mkdtempSync(join(tmpdir(), 'simx-'));
  const d2 = mkdtempSync(join(tmpdir(), 'simx-'));
  try {
    const files = await writeReport(analyse(record(3, false)), d1);
    if (process.env.SIMX_KEEP) await writeReport(analyse(record(3, false)), process.env.SIMX_KEEP);
    assert.deepEqual(await writeReport(analyse(record(3, false)), d2), files);
    assert.ok(files.includes('report.md') && files.includes('report.html') && files.includes('tap_latency.svg'));
    for (const f of files) assert.equal(readFileSync(join(d1, f), 'utf8'), readFileSync(join(d2, f), 'utf8'), f);
    assert.match(readFileSync(join(d1, 'report.md'), 'utf8'), /\| watch \|/);
  } finally {
    rmSync(d1, { recursive: true, force: true });
    rmSync(d2, { recursive: true, force: true });
  }
});

/** The aria-label texts Vega writes on each mark of an SVG (the data each mark draws). */
const labels = (svg: string) => [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!);

test('the tap latency plot draws each class’s distribution (min, quartiles, max), not only its mean', async () => {
  const r = analyse(record(3, false));
  const watch = r.classes.find((c) => c.profile === 'watch')!;
  watch.tapSamples = [10, 20, 30, 40, 50, 60, 70, 80, 90];
  const svg = (await plots(r))['tap_latency.svg'];
  const box = labels(svg).find((l) => l.startsWith('payer class: watch;'));
  assert.ok(box !== undefined, 'a box for the watch class');
  const shown = Object.fromEntries(box.split('; ').map((kv) => kv.split(': ') as [string, string]));
  assert.deepEqual([shown['Min of tap ms'], shown['Q1 of tap ms'], shown['Median of tap ms'], shown['Q3 of tap ms'], shown['Max of tap ms']], ['10', '30', '50', '70', '90']);
  assert.ok(!labels(svg).some((l) => l.startsWith('payer class: pos;')), 'a class that never paid draws no box');
});

test('the offline plot sets the analytic bound beside the observed period, and only where one was observed', async () => {
  const r = analyse(record(3, false));
  const bars = labels((await plots(r))['offline_period.svg']).filter((l) => l.startsWith('profile: '));
  const drawn = bars.map((l) => Object.fromEntries(l.split('; ').map((kv) => kv.split(': ') as [string, string])));
  assert.deepEqual(drawn.map((b) => `${b['profile']} ${b['figure']}`).sort(), ['pos analytic', 'watch analytic', 'watch observed'], 'no observed bar for a profile never forced offline');
  assert.equal(drawn.find((b) => b['figure'] === 'observed')!['days'], '3');
  for (const b of drawn.filter((x) => x['figure'] === 'analytic')) {
    const analytic = r.classes.find((c) => c.profile === b['profile'])!.maxOfflineDays.analytic;
    assert.ok(Math.abs(Number(b['days']) - analytic) < 0.01, `${b['profile']}: drawn ${b['days']}, analytic ${analytic}`);
  }
});

test('a plot renders to the same bytes whatever was rendered before it', async () => {
  const specs = plotSpecs(analyse(record(5, false)));
  const first = await renderSvg(specs['value.svg']);
  await renderSvg(specs['offline_period.svg']);
  await renderSvg(specs['tap_latency.svg']);
  assert.equal(await renderSvg(specs['value.svg']), first);
  assert.match(first, /^<svg /);
  assert.ok(labels(first).some((l) => l.includes('where: in SEs')) && labels(first).some((l) => l.includes('where: in accounts')), 'both series drawn');
});

test('the syncs plot draws one bar per hour of the run with that hour’s count', async () => {
  const r = analyse(record(3, false));
  const svg = (await plots(r))['syncs_per_hour.svg'];
  const bars = labels(svg).filter((l) => l.startsWith('hour of the run: '));
  assert.equal(bars.length, r.syncsPerHour.length);
  assert.ok(r.syncsPerHour.some((n) => n > 0));
  r.syncsPerHour.forEach((n, hour) => assert.ok(bars.includes(`hour of the run: ${hour} – ${hour + 1}; syncs: ${n}`), `hour ${hour}: ${n} syncs`));
  // Each bar rises from zero: its drawn height (the path's v) is its count times one scale.
  const heights = [...svg.matchAll(/aria-label="hour of the run: (\d+) – \d+; syncs: (\d+)"[^>]* d="M[^h]*h[^v]*v([\d.]+)h/g)].map((m) => ({ n: Number(m[2]), h: Number(m[3]) }));
  assert.equal(heights.length, r.syncsPerHour.length, 'every bar drawn as a rectangle');
  const perSync = heights.find((x) => x.n > 0)!.h / heights.find((x) => x.n > 0)!.n;
  for (const x of heights) assert.ok(Math.abs(x.h - x.n * perSync) < 1e-6, `a bar of ${x.n} syncs is ${x.h} px high, expected ${x.n * perSync}`);
});
