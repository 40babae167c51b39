// The fleet report's plots: Vega-Lite specifications compiled to Vega and rendered headless to SVG
// strings (renderer 'none', no canvas, no DOM). Deterministic by construction: no temporal fields
// (time is hours since the first sample, so no time zone reaches an axis), non-finite numbers are
// left out of the data, the SVG id counters (clip paths, gradients) are reset before each render,
// and without the optional `canvas` package Vega measures text by its fixed estimate, so the same
// report gives byte-identical files.

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FleetReport } from './report.ts';

const HOUR_MS = 3_600_000;
const WIDTH = 560;
const HEIGHT = 260;
/** Colours of the two value series and of the analytic/observed pair (ColorBrewer, colour-blind safe). */
const SERIES_COLOURS = ['#c0392b', '#2c7fb8'];

/** File names of the plots, in the order the report shows them. */
export const PLOT_FILES = ['value.svg', 'syncs_per_hour.svg', 'tap_latency.svg', 'offline_period.svg', 'linking_advantage.svg'] as const;
export type PlotFile = (typeof PLOT_FILES)[number];

type Row = Record<string, string | number>;

const finite = (rows: Row[]): Row[] => rows.filter((r) => Object.values(r).every((v) => typeof v === 'string' || Number.isFinite(v)));

function base(title: string, rows: Row[]) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: null }, legend: { orient: 'bottom' } },
    data: { values: finite(rows) },
  } as const;
}

/** The Vega-Lite specification of each plot (pure data; exported so tests can read what is drawn). */
export function plotSpecs(r: FleetReport): Record<PlotFile, TopLevelSpec> {
  const t0 = r.totals[0]?.atMs ?? 0;
  const value: Row[] = r.totals.flatMap((t) => [
    { hours: (t.atMs - t0) / HOUR_MS, where: 'in SEs', units: Number(t.seBalancesMinor) / 100 },
    { hours: (t.atMs - t0) / HOUR_MS, where: 'in accounts', units: Number(t.accountsMinor) / 100 },
  ]);
  const tap: Row[] = r.classes.flatMap((c) => c.tapSamples.map((ms) => ({ class: c.profile, ms })));
  const offline: Row[] = r.classes.flatMap((c) => [
    { profile: c.profile, figure: 'analytic', days: c.maxOfflineDays.analytic },
    ...(c.maxOfflineDays.simulated === null ? [] : [{ profile: c.profile, figure: 'observed', days: c.maxOfflineDays.simulated }]),
  ]);
  const linking: Row[] = r.privacy.adversaries.map((a) => ({ adversary: a.adversary.split(' (')[0]!, advantage: a.advantage }));
  const pair = { domain: ['analytic', 'observed'], range: SERIES_COLOURS };
  // One tick a simulated day on the hourly axis.
  const dayTicks = Array.from({ length: Math.floor(r.syncsPerHour.length / 24) + 1 }, (_, d) => d * 24);
  return {
    'value.svg': {
      ...base('Value in SEs vs in accounts over time', value),
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'hours', type: 'quantitative', title: 'hours since the first sample' },
        y: { field: 'units', type: 'quantitative', title: 'units' },
        color: { field: 'where', type: 'nominal', title: null, scale: { domain: ['in SEs', 'in accounts'], range: SERIES_COLOURS } },
      },
    },
    'syncs_per_hour.svg': {
      ...base('Syncs per hour', r.syncsPerHour.map((n, hour) => ({ hour, end: hour + 1, syncs: n }))),
      mark: { type: 'bar', color: '#4a7ab5' },
      encoding: {
        // Pre-binned: each bar spans its hour [hour, hour + 1).
        x: { field: 'hour', type: 'quantitative', bin: { binned: true, step: 1 }, title: 'hour of the run', axis: { values: dayTicks } },
        x2: { field: 'end' },
        y: { field: 'syncs', type: 'quantitative', title: 'syncs' },
      },
    },
    'tap_latency.svg': {
      ...base('Tap latency per payer class (cost model + link), ms', tap),
      mark: { type: 'boxplot', extent: 'min-max', size: 28, median: { color: 'black' } },
      encoding: {
        x: { field: 'class', type: 'nominal', title: 'payer class', axis: { labelAngle: 0 } },
        y: { field: 'ms', type: 'quantitative', title: 'tap ms', scale: { zero: false } },
      },
    },
    'offline_period.svg': {
      ...base('Max offline period per profile, days: analytic vs observed', offline),
      mark: 'bar',
      encoding: {
        x: { field: 'profile', type: 'nominal', title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'figure', type: 'nominal', scale: { domain: pair.domain } },
        y: { field: 'days', type: 'quantitative', title: 'days' },
        color: { field: 'figure', type: 'nominal', title: null, scale: pair },
      },
    },
    'linking_advantage.svg': {
      ...base('Linking advantage per adversary (AUC − 0.5)', linking),
      mark: { type: 'bar', color: '#4a7ab5' },
      encoding: {
        x: { field: 'adversary', type: 'nominal', title: null, axis: { labelAngle: 0 }, sort: null },
        y: { field: 'advantage', type: 'quantitative', title: 'advantage' },
      },
    },
  };
}

/** One Vega-Lite specification to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  vega.resetSVGDefIds();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    if (!svg.startsWith('<svg')) throw new Error(`Vega returned no SVG document (got ${svg.slice(0, 40)})`);
    return `${svg}\n`;
  } finally {
    view.finalize();
  }
}

/** Every plot of the report, by file name. */
export async function plots(r: FleetReport): Promise<Record<PlotFile, string>> {
  const specs = plotSpecs(r);
  const out = {} as Record<PlotFile, string>;
  // One after another: the SVG id counters are module state.
  for (const name of PLOT_FILES) out[name] = await renderSvg(specs[name]);
  return out;
}
