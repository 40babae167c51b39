// `tally demo` (also `npm start`): the end-to-end scenario on the embedded default — one process,
// SQLite files under a data directory (a fresh temporary one unless --data-dir is given) — then
// the AML/CFT scenario (sim/aml_scenario.ts) on a network of its own, which raises an alert of
// every rule kind. With --serve that network stays up behind its HTTP gates with the console, and
// the command prints its URL and a fresh operator token per role (CB operator, FI operator,
// auditor) so a person can sign in; Ctrl-C (SIGINT) closes it.

import { engineInfo } from '../crypto/engine/index.ts';
import { mkdtempSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runScenario } from '../sim/scenario.ts';
import { runAmlScenario } from '../sim/aml_scenario.ts';
import type { SimNetwork } from '../sim/network.ts';
import { ScenarioFailure, ScenarioLog } from '../sim/report.ts';
import { addOperator, createOfflineEmbeddedApp } from '../ledger/index.ts';
import { CliError, flag, optionInt, optionString } from './args.ts';
import { JSON_OPTION, toJson, type Command } from './command.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the whole system end to end in one process on SQLite and check every outcome.',
  usage: 'tally demo [--data-dir DIR] [--seed SEED] [--json] [--serve [--port N]]',
  options: [
    { name: 'serve', value: false, help: 'after the scenarios, keep the AML network up with the console and print operator tokens; Ctrl-C stops it' },
    { name: 'port', value: true, help: 'loopback port for --serve (default: any free one)' },
    { name: 'data-dir', value: true, help: 'empty or new directory for the databases and SE memories (default: a temporary one)' },
    { name: 'seed', value: true, help: 'seed for every key and random choice (printed; replays a run)' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const given = optionString(p, 'data-dir');
    if (given !== undefined && existsSync(given) && readdirSync(given).length > 0) {
      throw new CliError('USAGE', `--data-dir ${given} is not empty; the scenario starts from nothing`);
    }
    const dataDir = given ?? mkdtempSync(path.join(os.tmpdir(), 'tally-demo-'));
    const seed = optionString(p, 'seed') ?? `demo-${Date.now()}`;
    const json = flag(p, 'json');
    const log = new ScenarioLog(json ? () => {} : io.out);
    if (!json) io.out(`Tally end-to-end scenario\n  data directory: ${dataDir}\n  seed: ${seed}  (tally demo --seed ${seed} replays this run)\n  curve engine: ${engineInfo.name} (${engineInfo.reason})`);
    const t0 = performance.now();
    const serve = flag(p, 'serve');
    try {
      const result = await runScenario({ dataDir, seed, log });
      const aml = await runAmlScenario({ dataDir, seed, log, keepOpen: serve });
      const wallMs = performance.now() - t0;
      if (json) io.out(toJson({ ok: true, seed, dataDir, wallMs: Math.round(wallMs), ...result, aml: aml.rows }));
      else {
        log.summary(result, wallMs);
        log.amlTable(aml.rows);
      }
      if (aml.net !== null) await serveUntilInterrupted(aml.net, optionInt(p, 'port') ?? 0, io.out);
      return 0;
    } catch (e) {
      if (e instanceof ScenarioFailure) {
        if (json) io.out(toJson({ ok: false, seed, dataDir, step: e.step, why: e.why }));
        throw new CliError('CHECK_FAILED', `${e.message} (seed ${seed})`);
      }
      throw e;
    }
  },
};

/** Serves the network on loopback with the console until SIGINT; prints the URL and one token per role. */
async function serveUntilInterrupted(net: SimNetwork, port: number, out: (line: string) => void): Promise<void> {
  const fis = [...net.fis.values()];
  const app = await createOfflineEmbeddedApp({ cb: net.cb, fis });
  try {
    const url = await app.listen({ host: '127.0.0.1', port });
    const nowMs = Number(net.clock.nowMs);
    const cbOperator = await addOperator(net.cb.db, { name: 'Demo CB operator', role: 'cb-operator', nowMs });
    const fiOperator = await addOperator(fis[0]!.db, { name: `Demo ${fis[0]!.fiId} operator`, role: 'fi-operator', nowMs });
    const auditor = await addOperator(net.cb.db, { name: 'Demo auditor', role: 'auditor', nowMs });
    out(`\nServing the AML network: console at ${url}/console/  (Ctrl-C stops)`);
    out(`  CB operator token:          ${cbOperator.token}`);
    out(`  FI operator token (${fis[0]!.fiId}): ${fiOperator.token}`);
    out(`  auditor token (CB):         ${auditor.token}`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    out('Stopping.');
  } finally {
    await app.close();
    await net.close();
  }
}
