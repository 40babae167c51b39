// Non-volatile memory of the simulated SE: a key → bytes store whose transactions commit all
// their writes or none, over a backend of named cells (a directory of files, or a Map in tests).
//
// Why this shape: Java Card commits a transaction through a journal in EEPROM; this does the same
// with a redo journal. A commit (1) writes one journal cell holding every put/delete and a
// SHA-256 of itself, (2) writes each data cell in place, (3) removes the journal. Opening the
// store replays a complete journal (the transaction happened) or discards a torn one (it did
// not): a power cut at any write therefore leaves the state exactly before or after, and torn
// data cells are repaired by the replay. Every backend write or remove is one "persistent write";
// FaultInjector counts them and cuts power after write #i, optionally tearing that write.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { encode, decode } from 'cborg';
import { assert } from '../crypto/assert.ts';
import { concat, equalBytes } from './bytes.ts';
import { makePrivateDir, openPrivateFile } from './private_files.ts';

/** Journal cell name; data keys may not use it. */
const JOURNAL = '~journal';
const CHECKSUM_BYTES = 32;
/** Keys are short ASCII paths so they map to file names one to one. */
const KEY_PATTERN = /^[a-z0-9_.-]+(\/[a-z0-9_.-]+)*$/;
export const NVM_KEY_BYTES_MAX = 64;
/** Largest single cell and largest transaction: bounds what a corrupted journal can make us allocate. */
export const NVM_CELL_BYTES_MAX = 1 << 20;
export const NVM_TX_BYTES_MAX = 4 << 20;

/** Where cells live. Each `write` or `remove` is one persistent write. */
export interface NvmBackend {
  read(name: string): Uint8Array | null;
  write(name: string, bytes: Uint8Array): void;
  remove(name: string): void;
  list(): string[];
}

export class MemoryBackend implements NvmBackend {
  readonly cells = new Map<string, Uint8Array>();
  read(name: string): Uint8Array | null {
    const v = this.cells.get(name);
    return v ? v.slice() : null;
  }
  write(name: string, bytes: Uint8Array): void {
    this.cells.set(name, bytes.slice());
  }
  remove(name: string): void {
    this.cells.delete(name);
  }
  list(): string[] {
    return [...this.cells.keys()];
  }
}

/**
 * One file per cell in `dir`; every write is fsynced, and so is the directory after create/remove.
 * Cells hold the SE's secrets: files are 0600 and a directory made here 0700 (private_files.ts).
 */
export class FileBackend implements NvmBackend {
  constructor(readonly dir: string) {
    makePrivateDir(dir);
  }
  private file(name: string): string {
    return path.join(this.dir, name.replaceAll('/', '+'));
  }
  read(name: string): Uint8Array | null {
    try {
      return new Uint8Array(fs.readFileSync(this.file(name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }
  write(name: string, bytes: Uint8Array): void {
    const fd = openPrivateFile(this.file(name), 'w');
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.syncDir();
  }
  remove(name: string): void {
    fs.rmSync(this.file(name), { force: true });
    this.syncDir();
  }
  list(): string[] {
    return fs.readdirSync(this.dir).map((f) => f.replaceAll('+', '/'));
  }
  private syncDir(): void {
    const fd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Thrown by FaultInjector when the simulated power goes; the SE object is dead afterwards. */
export class PowerCut extends Error {
  constructor(readonly afterWrite: number) {
    super(`power cut after persistent write #${afterWrite}`);
    this.name = 'PowerCut';
  }
}

export interface FaultPlan {
  /** Cut power once write #cutAfterWrite (1-based) has happened; undefined = never. */
  cutAfterWrite?: number;
  /** Tear that last write: only a prefix of the new bytes reaches the cell (a remove is lost). */
  torn?: boolean;
}

/** Wraps a backend, counts persistent writes and cuts power as planned. */
export class FaultInjector implements NvmBackend {
  writes = 0;
  dead = false;
  constructor(
    private readonly inner: NvmBackend,
    private readonly plan: FaultPlan = {},
  ) {}
  read(name: string): Uint8Array | null {
    this.checkAlive();
    return this.inner.read(name);
  }
  list(): string[] {
    this.checkAlive();
    return this.inner.list();
  }
  write(name: string, bytes: Uint8Array): void {
    this.step(() => this.inner.write(name, bytes), () => this.tear(name, bytes));
  }
  remove(name: string): void {
    this.step(() => this.inner.remove(name), () => undefined);
  }
  private step(full: () => void, torn: () => void): void {
    this.checkAlive();
    this.writes += 1;
    if (this.writes !== this.plan.cutAfterWrite) return full();
    if (this.plan.torn) torn();
    else full();
    this.dead = true;
    throw new PowerCut(this.writes);
  }
  /** In-place overwrite interrupted half way: new prefix, old suffix. */
  private tear(name: string, bytes: Uint8Array): void {
    const old = this.inner.read(name) ?? new Uint8Array(0);
    const cut = bytes.length >> 1;
    const mixed = concat(bytes.subarray(0, cut), old.subarray(cut, Math.max(cut, Math.min(old.length, bytes.length))));
    this.inner.write(name, mixed);
  }
  private checkAlive(): void {
    if (this.dead) throw new PowerCut(this.writes);
  }
}

/** A transaction's writes: key → new bytes, or null to delete. */
export type NvmWrites = ReadonlyMap<string, Uint8Array | null>;

export class Nvm {
  private readonly cache = new Map<string, Uint8Array>();

  private constructor(private readonly backend: NvmBackend) {}

  /** Opens the store: finishes or discards an interrupted transaction, then loads every cell. */
  static open(backend: NvmBackend): Nvm {
    const nvm = new Nvm(backend);
    nvm.recover();
    for (const name of backend.list()) {
      if (name === JOURNAL) continue;
      const bytes = backend.read(name);
      assert(bytes !== null, `nvm: cell ${name} vanished while loading`);
      nvm.cache.set(name, bytes);
    }
    return nvm;
  }

  get(key: string): Uint8Array | null {
    const v = this.cache.get(key);
    return v ? v.slice() : null;
  }

  /** Keys starting with `prefix`, sorted. */
  keys(prefix = ''): string[] {
    return [...this.cache.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Every cell, for tests that compare whole states. */
  snapshot(): Map<string, Uint8Array> {
    return new Map([...this.cache].map(([k, v]) => [k, v.slice()]));
  }

  /** Commits all writes atomically. On PowerCut the in-memory view is stale: reopen the store. */
  commit(writes: NvmWrites): void {
    if (writes.size === 0) return;
    let total = 0;
    for (const [key, value] of writes) {
      assert(KEY_PATTERN.test(key) && key.length <= NVM_KEY_BYTES_MAX, `nvm: bad key ${JSON.stringify(key)}`);
      assert(value === null || value.length <= NVM_CELL_BYTES_MAX, `nvm: cell ${key} too large`);
      total += key.length + (value?.length ?? 0);
    }
    assert(total <= NVM_TX_BYTES_MAX, `nvm: transaction of ${total} bytes exceeds ${NVM_TX_BYTES_MAX}`);
    const ops = [...writes].sort(([a], [b]) => (a < b ? -1 : 1));
    const body = encode(ops.map(([k, v]) => [k, v]));
    this.backend.write(JOURNAL, concat(body, sha256(body)));
    this.apply(ops);
    this.backend.remove(JOURNAL);
    for (const [key, value] of ops) {
      if (value === null) this.cache.delete(key);
      else this.cache.set(key, value.slice());
    }
  }

  private apply(ops: ReadonlyArray<readonly [string, Uint8Array | null]>): void {
    for (const [key, value] of ops) {
      if (value === null) this.backend.remove(key);
      else this.backend.write(key, value);
    }
  }

  private recover(): void {
    const journal = this.backend.read(JOURNAL);
    if (journal === null) return;
    const ops = parseJournal(journal);
    if (ops) this.apply(ops); // complete journal: redo (idempotent)
    this.backend.remove(JOURNAL); // torn journal: the transaction never happened
  }
}

/** A journal is valid only if its checksum matches; anything else is a torn write. */
function parseJournal(bytes: Uint8Array): Array<[string, Uint8Array | null]> | null {
  if (bytes.length < CHECKSUM_BYTES || bytes.length > NVM_TX_BYTES_MAX + 1024) return null;
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  if (!equalBytes(sha256(body), bytes.subarray(bytes.length - CHECKSUM_BYTES))) return null;
  const ops = decode(body) as unknown;
  assert(Array.isArray(ops), 'nvm: journal with a valid checksum is not a list');
  return ops.map((op: unknown) => {
    assert(Array.isArray(op) && op.length === 2 && typeof op[0] === 'string', 'nvm: bad journal entry');
    assert(op[1] === null || op[1] instanceof Uint8Array, 'nvm: bad journal value');
    return [op[0], op[1]] as [string, Uint8Array | null];
  });
}
