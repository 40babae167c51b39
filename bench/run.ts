// `npm run bench` runs every benchmark file in bench/ and prints a table; `-- --json` prints one
// JSON document `{ machine, results }` to stdout (progress goes to stderr); `-- --only GROUP`
// runs one group.

import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { machine, type Benchmark, type BenchResult } from './harness.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;

const dir = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { benchmarks: Benchmark[] };
  for (const b of mod.benchmarks) {
    if (only !== undefined && b.group !== only) continue;
    process.stderr.write(`bench: ${b.group} ...\n`);
    results.push(...(await b.run()));
  }
}

const doc = { machine: machine(), results };
if (json) {
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
} else {
  const m = doc.machine;
  console.log(`machine: ${m.cpu}, ${m.cores} cores, node ${m.node}, engine ${m.engine}`);
  console.log('name'.padEnd(40) + 'median'.padStart(14) + 'p95'.padStart(12) + 'n'.padStart(6));
  for (const r of results) {
    if ('median_ms' in r) {
      console.log(r.name.padEnd(40) + `${r.median_ms} ms`.padStart(14) + `${r.p95_ms} ms`.padStart(12) + String(r.n).padStart(6));
    } else {
      console.log(r.name.padEnd(40) + `${r.value} ${r.unit}`.padStart(14));
    }
  }
}
process.exit(0);
