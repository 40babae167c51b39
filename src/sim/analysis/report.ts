// FleetReport (JSON-able: bigints as decimal strings) and its renderers: Markdown, HTML and SVG
// plots. Deterministic: no timestamps, stable ordering, numbers printed with fixed precision.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLICY, type PolicyTable } from '../../policy/limits.ts';
import type { RunRecord } from '../fleet/types.ts';
import { classFigures, type ClassFigures } from './figures.ts';
import { linkingAttack, type PrivacyFigures } from './privacy.ts';

const HOUR_MS = 3_600_000;

export interface FleetReport {
  seed: string;
  options: RunRecord['options'];
  days: number;
  payments: { total: number; paid: number };
  syncs: number;
  faults: Record<string, Record<string, number>>;
  classes: ClassFigures[];
  privacy: PrivacyFigures;
  /** Value over time: bigints as strings. */
  totals: { atMs: number; issuedMinor: string; accountsMinor: string; seBalancesMinor: string; inFlightMinor: string }[];
  syncsPerHour: number[];
}

export function analyse(record: RunRecord, policy: PolicyTable = DEFAULT_POLICY): FleetReport {
  const faults: FleetReport['faults'] = {};
  for (const f of record.faults) (faults[f.kind] ??= {})[f.result] = (faults[f.kind]![f.result] ?? 0) + 1;
  const hours = Math.max(1, Math.ceil((record.endMs - record.startMs) / HOUR_MS));
  const syncsPerHour = new Array<number>(hours).fill(0);
  for (const s of record.syncs) syncsPerHour[Math.min(hours - 1, Math.max(0, Math.floor((s.atMs - record.startMs) / HOUR_MS)))]!++;
  return {
    seed: record.seed,
    options: record.options,
    days: (record.endMs - record.startMs) / 86_400_000,
    payments: { total: record.payments.length, paid: record.payments.filter((p) => p.outcome === 'paid').length },
    syncs: record.syncs.length,
    faults: Object.fromEntries(Object.keys(faults).sort().map((k) => [k, Object.fromEntries(Object.keys(faults[k]!).sort().map((r) => [r, faults[k]![r]!]))])),
    classes: classFigures(record, policy),
    privacy: linkingAttack(record),
    totals: [...record.totals].sort((a, b) => a.atMs - b.atMs).map((t) => ({ atMs: t.atMs, issuedMinor: String(t.issuedMinor), accountsMinor: String(t.accountsMinor), seBalancesMinor: String(t.seBalancesMinor), inFlightMinor: String(t.inFlightMinor) })),
    syncsPerHour,
  };
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '∞');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function classRows(r: FleetReport): string[][] {
  return r.classes.map((c) => [c.profile, String(c.payments), f(c.tapMs.mean), f(c.tapMs.p95), f(c.tapMs.payeeMs), f(c.energyMj, 3), f(c.maxOfflineDays.analytic), c.maxOfflineDays.binding, c.maxOfflineDays.simulated === null ? '—' : f(c.maxOfflineDays.simulated), c.maxOfflineDays.forcedBy ?? '—']);
}
const CLASS_HEAD = ['class', 'payments', 'tapMs mean', 'tapMs p95', 'payee SE ms (beside the tap)', 'energyMj', 'maxOfflineDays (analytic)', 'binding', 'maxOfflineDays (simulated)', 'forced by'];
const PRIV_HEAD = ['adversary', 'pairs', 'base rate', 'AUC', 'advantage'];
const privRows = (r: FleetReport) => r.privacy.adversaries.map((a) => [a.adversary, String(a.pairs), f(a.baseRate, 4), f(a.auc, 4), f(a.advantage, 4)]);

// ---- SVG plots (own minimal renderer: fixed layout, fixed precision) -------------------------------

const W = 640;
const H = 320;
const M = 48;
function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">\n<rect width="${W}" height="${H}" fill="white"/>\n<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>\n<line x1="${M}" y1="${H - M}" x2="${W - 16}" y2="${H - M}" stroke="black"/>\n<line x1="${M}" y1="${M / 2 + 8}" x2="${M}" y2="${H - M}" stroke="black"/>\n${body}</svg>\n`;
}
function bars(title: string, items: { label: string; value: number }[]): string {
  const vals = items.map((i) => (Number.isFinite(i.value) ? i.value : 0));
  const max = Math.max(1e-9, ...vals.map(Math.abs));
  const bw = (W - M - 16) / Math.max(1, items.length);
  const y0 = H - M;
  const hgt = H - M - (M / 2 + 8);
  const body = items
    .map((it, i) => {
      const v = vals[i]!;
      const h = (Math.abs(v) / max) * hgt;
      const x = M + i * bw + bw * 0.1;
      return `<rect x="${f(x)}" y="${f(y0 - h)}" width="${f(bw * 0.8)}" height="${f(h)}" fill="#4a7ab5"/>\n<text x="${f(x + bw * 0.4)}" y="${f(y0 - h - 3)}" text-anchor="middle">${esc(f(it.value))}</text>\n<text x="${f(x + bw * 0.4)}" y="${y0 + 14}" text-anchor="middle">${esc(it.label)}</text>\n`;
    })
    .join('');
  return frame(title, body);
}
function lines(title: string, xs: number[], series: { label: string; ys: number[]; color: string }[]): string {
  const all = series.flatMap((s) => s.ys);
  const max = Math.max(1e-9, ...all);
  const xmin = Math.min(...xs, 0);
  const xmax = Math.max(...xs, xmin + 1);
  const px = (x: number) => M + ((x - xmin) / (xmax - xmin)) * (W - M - 16);
  const py = (y: number) => H - M - (y / max) * (H - M - (M / 2 + 8));
  const body = series
    .map((s, k) => `<polyline fill="none" stroke="${s.color}" points="${s.ys.map((y, i) => `${f(px(xs[i]!))},${f(py(y))}`).join(' ')}"/>\n<text x="${W - 120}" y="${40 + k * 14}" fill="${s.color}">${esc(s.label)}</text>\n`)
    .join('');
  return frame(title, body + `<text x="${M}" y="${H - 16}">max ${esc(f(max))}</text>\n`);
}

export function plots(r: FleetReport): Record<string, string> {
  // Hours since the first sample (the samples carry the simulated epoch-ms clock).
  const t0 = r.totals[0]?.atMs ?? 0;
  const xs = r.totals.map((t) => (t.atMs - t0) / HOUR_MS);
  return {
    'value.svg': lines('Value in SEs vs in accounts (units) over time (h)', xs, [
      { label: 'in SEs', ys: r.totals.map((t) => Number(t.seBalancesMinor) / 100), color: '#c0392b' },
      { label: 'in accounts', ys: r.totals.map((t) => Number(t.accountsMinor) / 100), color: '#2c7fb8' },
    ]),
    'syncs_per_hour.svg': bars('Syncs per hour', r.syncsPerHour.map((v, i) => ({ label: i % 6 === 0 ? String(i) : '', value: v }))),
    'tap_latency.svg': bars('Tap latency per class, ms (mean; p95 in table)', r.classes.filter((c) => c.payments > 0).map((c) => ({ label: c.profile, value: c.tapMs.mean }))),
    'offline_period.svg': bars('Max offline period per profile, days (analytic)', r.classes.map((c) => ({ label: c.profile, value: c.maxOfflineDays.analytic }))),
    'linking_advantage.svg': bars('Linking advantage (AUC − 0.5)', r.privacy.adversaries.map((a) => ({ label: a.adversary.split(' (')[0]!, value: a.advantage }))),
  };
}

export function renderMarkdown(r: FleetReport): string {
  const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
  return [
    `# Fleet simulation report`,
    ``,
    `Seed \`${r.seed}\`, ${r.options.customers} customers, ${f(r.days)} days, ${r.options.db}. Payments: ${r.payments.paid} paid of ${r.payments.total}; syncs: ${r.syncs}.`,
    ``,
    `## Per device class`,
    ``,
    table(CLASS_HEAD, classRows(r)),
    ``,
    `Energy: ${r.classes[0]?.energySource.replace(/ on \S+ /, ' on the class hardware ') ?? 'cost model'}. Tap time: the payer's SE and host tap steps of the cost model + link model (NFC 424 kbit/s, BLE one MTU−3 packet per 7.5 ms event) on the bytes sent.`,
    ``,
    `## Linking attack`,
    ``,
    r.privacy.baseline,
    ``,
    table(PRIV_HEAD, privRows(r)),
    ``,
    `## Plots`,
    ``,
    ...Object.keys(plots(r)).map((k) => `![${k}](${k})`),
    ``,
  ].join('\n');
}

export function renderHtml(r: FleetReport): string {
  const table = (head: string[], rows: string[][]) => `<table>\n<tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>\n${rows.map((x) => `<tr>${x.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}\n</table>`;
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>Fleet simulation report</title></head><body>\n<h1>Fleet simulation report</h1>\n<p>Seed ${esc(r.seed)}, ${r.options.customers} customers, ${esc(f(r.days))} days. Payments: ${r.payments.paid} paid of ${r.payments.total}; syncs: ${r.syncs}.</p>\n<h2>Per device class</h2>\n${table(CLASS_HEAD, classRows(r))}\n<h2>Linking attack</h2>\n<p>${esc(r.privacy.baseline)}</p>\n${table(PRIV_HEAD, privRows(r))}\n<h2>Plots</h2>\n${Object.keys(plots(r)).map((k) => `<img src="${k}" alt="${k}">`).join('\n')}\n</body></html>\n`;
}

export function reportJson(r: FleetReport): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v === Infinity ? 'Infinity' : v), 2) + '\n';
}

/** Writes report.md, report.html, report.json and the SVG plots into `dir`. */
export function writeReport(r: FleetReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = { 'report.md': renderMarkdown(r), 'report.html': renderHtml(r), 'report.json': reportJson(r), ...plots(r) };
  for (const name of Object.keys(files).sort()) writeFileSync(join(dir, name), files[name]!);
  return Object.keys(files).sort();
}
