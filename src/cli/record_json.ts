// run.json written a top-level array element at a time. A large run's RunRecord is bigger than
// V8's longest string (about 512 MiB: some 100 000 customer-days), so one JSON.stringify of it
// would throw at the end of a run that took hours; this writes the same bytes as
// `${toJson(record)}\n` (test/sim/record_json.test.ts) in chunks.

import { closeSync, openSync, writeSync } from 'node:fs';
import { toJson } from './command.ts';

/** Bytes gathered before a write (a few MiB: few system calls, a small string at a time). */
const CHUNK_CHARS_MAX = 4 * 1024 * 1024;

const indented = (json: string, spaces: number): string => json.replaceAll('\n', `\n${' '.repeat(spaces)}`);

/** Writes `record` (a plain object) to `file` exactly as `${toJson(record)}\n`, arrays element by element. */
export function writeRecordJson(file: string, record: Readonly<Record<string, unknown>>): void {
  const fd = openSync(file, 'w');
  let chunk = '';
  const put = (s: string) => {
    chunk += s;
    if (chunk.length >= CHUNK_CHARS_MAX) {
      writeSync(fd, chunk);
      chunk = '';
    }
  };
  try {
    // JSON.stringify leaves out keys whose value it cannot write (undefined, functions, symbols);
    // told by type, so no array is stringified whole to find out.
    const writable = (v: unknown) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
    const keys = Object.keys(record).filter((k) => writable(record[k]));
    if (keys.length === 0) put('{}');
    else {
      put('{\n');
      keys.forEach((k, i) => {
        const v = record[k];
        put(`  ${JSON.stringify(k)}: `);
        if (Array.isArray(v) && v.length > 0) {
          put('[\n');
          // In an array JSON.stringify writes what it cannot write as null.
          v.forEach((x, j) => put(`    ${indented(toJson(x) ?? 'null', 4)}${j === v.length - 1 ? '\n' : ',\n'}`));
          put('  ]');
        } else put(indented(toJson(v)!, 2));
        put(i === keys.length - 1 ? '\n' : ',\n');
      });
      put('}');
    }
    put('\n');
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}
