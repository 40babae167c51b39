// Files that hold a secret or ledger state (SE NVM cells, device files, institution keys, SQLite
// books) are readable and writable by their owner only: 0600, in directories Tally creates 0700.
// The mode is set on the open descriptor (fchmod) before any byte is written, so neither the
// process umask nor a file left 0644 by an older version leaves a window where another user of
// the machine can read it. Directories that already exist (a user's own `--dir .`) are left as
// they are: only the ones made here are 0700.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` and any missing parents 0700 (existing ones keep their mode). */
export function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Opens `file` for writing (`flags` as for fs.openSync) and makes it 0600 before returning the descriptor. */
export function openPrivateFile(file: string, flags: 'w' | 'wx' | 'a'): number {
  const fd = fs.openSync(file, flags, PRIVATE_FILE_MODE);
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/** Creates `file` empty and 0600 if it does not exist; an existing file is not touched. */
export function ensurePrivateFile(file: string): void {
  let fd: number;
  try {
    fd = openPrivateFile(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  fs.closeSync(fd);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` atomically with `data`, mode 0600: a 0600 temporary beside it is written and
 * fsynced, then renamed over it, then the directory is fsynced. A crash leaves the old file or the
 * new one, never a torn one (a stale `.tmp-*` file may remain).
 */
export function writePrivateFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  const fd = openPrivateFile(tmp, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(path.dirname(file));
}
