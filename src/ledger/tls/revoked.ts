// The network's revocation list: a JSON file of revoked node-certificate serials (lower-case hex)
// that `tally network revoke` appends to and the CB reads. The CB reads it at start (a missing or
// malformed file stops the node) and re-reads it when it changes: each check stats the file at
// most once per `recheckMs`, and a new inode, size or mtime means a new list (writers replace the
// file atomically, so a reader never sees half of one). A file that turns unreadable later fails
// closed: every institution call is refused until it reads again.

import { readFileSync, statSync } from 'node:fs';
import { writePrivateFileAtomic } from '../../se/index.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { normalizeSerial } from './pki.ts';

export const REVOKED_FILE_KIND = 'tally-revoked-certificates';
export const REVOKED_FILE_VERSION = 1;
/** How often (at most) the CB stats the file: a revocation takes effect within this delay. */
export const REVOCATION_RECHECK_MS = 1000;
/** Far above any network's count of node certificates; bounds the list the CB holds in memory. */
export const REVOKED_SERIALS_MAX = 100_000;
const SERIAL_RE = /^[0-9a-f]{1,40}$/;

/** Parses a revocation file; throws Error saying what is wrong. */
export function parseRevokedFile(text: string, file: string): Set<string> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
  const r = o as { kind?: unknown; version?: unknown; serials?: unknown } | null;
  if (r === null || typeof r !== 'object' || r.kind !== REVOKED_FILE_KIND || r.version !== REVOKED_FILE_VERSION) {
    throw new Error(`${file} is not a revocation list (expected kind ${REVOKED_FILE_KIND} version ${REVOKED_FILE_VERSION})`);
  }
  if (!Array.isArray(r.serials) || r.serials.length > REVOKED_SERIALS_MAX) throw new Error(`${file}: serials must be a list of at most ${REVOKED_SERIALS_MAX}`);
  const out = new Set<string>();
  r.serials.forEach((s: unknown, i) => {
    if (typeof s !== 'string' || !SERIAL_RE.test(s)) throw new Error(`${file}: serials[${i}] must be lower-case hex (got ${JSON.stringify(s)?.slice(0, 50)})`);
    out.add(normalizeSerial(s));
  });
  return out;
}

export function readRevokedFile(file: string): Set<string> {
  return parseRevokedFile(readFileSync(file, 'utf8'), file);
}

/** Writes the list atomically, mode 0600, serials sorted. */
export function writeRevokedFile(file: string, serials: Iterable<string>): void {
  const list = [...new Set([...serials].map(normalizeSerial))].sort();
  writePrivateFileAtomic(file, `${JSON.stringify({ kind: REVOKED_FILE_KIND, version: REVOKED_FILE_VERSION, serials: list }, null, 2)}\n`);
}

/** Adds `serial` to the list in `file`; false when it was already there. */
export function revokeSerial(file: string, serial: string): boolean {
  const serials = readRevokedFile(file);
  const s = normalizeSerial(serial);
  if (serials.has(s)) return false;
  serials.add(s);
  writeRevokedFile(file, serials);
  return true;
}

function fingerprint(file: string): string {
  const st = statSync(file, { bigint: true });
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

/** The CB's view of the revocation list, kept current with the file. */
export class RevokedSerials {
  private serials: Set<string>;
  private seen: string;
  private checkedAtMs: number;
  private failure: string | null = null;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly recheckMs: number,
    private readonly nowMs: () => number,
  ) {
    // At start the list must read: a CB that cannot tell what is revoked does not serve.
    this.seen = fingerprint(file);
    this.serials = readRevokedFile(file);
    this.checkedAtMs = nowMs();
  }

  static open(file: string, options: { recheckMs?: number; nowMs?: () => number } = {}): RevokedSerials {
    return new RevokedSerials(file, options.recheckMs ?? REVOCATION_RECHECK_MS, options.nowMs ?? Date.now);
  }

  /** Whether `serial` is revoked; throws UNAUTHENTICATED while the file cannot be read. */
  has(serial: string): boolean {
    this.refresh();
    if (this.failure !== null) throw new LedgerError(LedgerErrorCode.unauthenticated, `Cannot check certificate revocation: ${this.failure}`);
    return this.serials.has(normalizeSerial(serial));
  }

  get size(): number {
    return this.serials.size;
  }

  close(): void {
    this.closed = true;
  }

  private refresh(): void {
    if (this.closed) throw new Error('RevokedSerials used after close()');
    const now = this.nowMs();
    if (now - this.checkedAtMs < this.recheckMs && this.failure === null) return;
    this.checkedAtMs = now;
    try {
      const fp = fingerprint(this.file);
      if (fp !== this.seen || this.failure !== null) {
        this.serials = readRevokedFile(this.file);
        this.seen = fp;
      }
      this.failure = null;
    } catch (e) {
      this.failure = (e as Error).message.slice(0, 300);
    }
  }
}
