// FleetReport (JSON-able: bigints as decimal strings) and its renderers: Markdown and HTML here, the
// SVG plots in plots.ts (Vega-Lite). Deterministic: no timestamps, stable ordering, numbers printed
// with fixed precision.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POLICY, type PolicyTable } from '../../policy/limits.ts';
import type { RunRecord } from '../fleet/types.ts';
import { classFigures, type ClassFigures } from './figures.ts';
import { linkingAttack, type PrivacyFigures } from './privacy.ts';
import { PLOT_FILES, plots } from './plots.ts';

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

/** The fault rates the run set, for the report's first line (nothing when every rate was its default). */
const faultsSet = (r: FleetReport) => (r.options.faults === undefined ? '' : `; fault rates set: ${Object.entries(r.options.faults).map(([k, v]) => `${k}=${v}`).join(', ')}`);

export function renderMarkdown(r: FleetReport): string {
  const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
  return [
    `# Fleet simulation report`,
    ``,
    `Seed \`${r.seed}\`, ${r.options.customers} customers, ${f(r.days)} days, ${r.options.db}${faultsSet(r)}. Payments: ${r.payments.paid} paid of ${r.payments.total}; syncs: ${r.syncs}.`,
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
    ...PLOT_FILES.map((k) => `![${k}](${k})`),
    ``,
  ].join('\n');
}

export function renderHtml(r: FleetReport): string {
  const table = (head: string[], rows: string[][]) => `<table>\n<tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>\n${rows.map((x) => `<tr>${x.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}\n</table>`;
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>Fleet simulation report</title></head><body>\n<h1>Fleet simulation report</h1>\n<p>Seed ${esc(r.seed)}, ${r.options.customers} customers, ${esc(f(r.days))} days${esc(faultsSet(r))}. Payments: ${r.payments.paid} paid of ${r.payments.total}; syncs: ${r.syncs}.</p>\n<h2>Per device class</h2>\n${table(CLASS_HEAD, classRows(r))}\n<h2>Linking attack</h2>\n<p>${esc(r.privacy.baseline)}</p>\n${table(PRIV_HEAD, privRows(r))}\n<h2>Plots</h2>\n${PLOT_FILES.map((k) => `<img src="${k}" alt="${k}">`).join('\n')}\n</body></html>\n`;
}

export function reportJson(r: FleetReport): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v === Infinity ? 'Infinity' : v), 2) + '\n';
}

/** Writes report.md, report.html, report.json and the SVG plots (src/sim/analysis/plots.ts) into `dir`. */
export async function writeReport(r: FleetReport, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = { 'report.md': renderMarkdown(r), 'report.html': renderHtml(r), 'report.json': reportJson(r), ...(await plots(r)) };
  for (const name of Object.keys(files).sort()) writeFileSync(join(dir, name), files[name]!);
  return Object.keys(files).sort();
}
