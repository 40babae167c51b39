// How the scenario talks: numbered steps, a progress line for every slow operation (with its
// time), notes, a failure type that names the step, and the closing summary table. Output goes
// through a `write` function so tests can capture it.

import type { AmlRow } from './aml_scenario.ts';
import type { ScenarioResult } from './scenario.ts';

/** An expected outcome did not happen: which step, and why. */
export class ScenarioFailure extends Error {
  constructor(
    readonly step: string,
    readonly why: string,
  ) {
    super(`step '${step}' failed: ${why}`);
    this.name = 'ScenarioFailure';
  }
}

/** Whole currency units → minor units (2 decimals), and back for display. */
export function units(n: number): bigint {
  return BigInt(n) * 100n;
}
units.show = (minor: bigint): string => {
  const sign = minor < 0n ? '-' : '';
  const a = minor < 0n ? -minor : minor;
  const whole = (a / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${sign}${whole}.${(a % 100n).toString().padStart(2, '0')}`;
};

export class ScenarioLog {
  private stepNo = 0;
  constructor(private readonly write: (line: string) => void) {}

  step(title: string, detail: string): void {
    this.stepNo++;
    this.write(`\n${String(this.stepNo).padStart(2)}. ${title} — ${detail}`);
  }

  note(text: string): void {
    this.write(`      ${text}`);
  }

  /** Runs a slow operation, printing it before and its time after. */
  async progress<T>(label: string, run: () => Promise<T>): Promise<T> {
    this.write(`    … ${label}`);
    const t0 = performance.now();
    const value = await run();
    this.write(`    ✓ ${label} (${Math.round(performance.now() - t0)} ms)`);
    return value;
  }

  summary(r: ScenarioResult, wallMs: number): void {
    const rows: Array<[string, string]> = [
      ['offline payments made', String(r.payments)],
      ['payments settled at the CB', String(r.settled)],
      ...r.refused.map((x): [string, string] => [`refused: ${x.what}`, x.why]),
      ['double spends found', String(r.doubleSpends)],
      ['HTTP calls refused at the gates / admitted', `${r.gates.refused} / ${r.gates.admitted}`],
      ['time per payment (request → receipt)', `${r.msPerPayment.toFixed(0)} ms`],
      ['bytes per payment (3 messages)', `${r.bytesPerPayment.toFixed(0)} B`],
      ['final audit', r.auditClean ? 'clean' : 'VIOLATIONS'],
      ['whole run', `${(wallMs / 1000).toFixed(1)} s`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length)) + 2;
    this.write('\nSummary');
    this.write(`  ${'-'.repeat(w + 28)}`);
    for (const [k, v] of rows) this.write(`  ${k.padEnd(w)}${v}`);
    this.write(`  ${'-'.repeat(w + 28)}`);
  }

  /** The AML/CFT scenario's alerts: one row per rule kind. */
  amlTable(rows: readonly AmlRow[]): void {
    const head: AmlRow = { kind: 'rule kind' as AmlRow['kind'], ruleId: 'rule id', subject: 'customer', decision: 'decision' };
    const all = [head, ...rows];
    const w = (f: (r: AmlRow) => string) => Math.max(...all.map((r) => f(r).length)) + 2;
    const [wk, wr, ws] = [w((r) => r.kind), w((r) => r.ruleId), w((r) => r.subject)];
    const line = (r: AmlRow) => `  ${r.kind.padEnd(wk)}${r.ruleId.padEnd(wr)}${r.subject.padEnd(ws)}${r.decision}`;
    this.write(`\nAML/CFT alerts raised (${rows.length} rule kinds)`);
    this.write(line(head));
    this.write(`  ${'-'.repeat(wk + wr + ws + 12)}`);
    for (const r of rows) this.write(line(r));
  }
}
