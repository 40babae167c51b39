// The FI's watchlist (AML/CFT screening, docs/compliance.md): an operator's import replaces or
// extends the stored list in one transaction, logged in the chained compliance log; screening
// reads the entries in force (not expired at the event's time) and matches the customer's name,
// date of birth and country.
// The parse (src/compliance/watchlist_parse.ts) finishes before the transaction starts, so a list
// with one bad line changes nothing.

import { assert } from '../../crypto/assert.ts';
import {
  DAY_MS, RISK_LEVELS, WATCHLIST_ENTRIES_MAX, WatchlistParseError, matchIdentity, parseWatchlist, readSecondary, utcDateMs,
  type RiskLevel, type RuleSet, type ScreenedIdentity, type SecondaryField, type WatchlistEntry, type WatchlistEntryInput, type WatchlistFormat, type WatchlistMatch,
} from '../../compliance/index.ts';
import { newId, type RandomBytes } from '../context.ts';
import { rowBigint, rowNullableString, rowString, type Db, type Queryable } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { appendComplianceLog } from './compliance_log.ts';

export interface StoredWatchlistEntry extends WatchlistEntryInput {
  id: string;
  importId: string;
  importedMs: number;
  /** The first millisecond the entry no longer matches (00:00 UTC after its expiry date). */
  expiresMs: number;
}

export interface WatchlistImport {
  format: WatchlistFormat;
  mode: 'replace' | 'append';
  data: string;
}

export interface WatchlistImportResult {
  importId: string;
  imported: number;
  total: number;
}

function entryOf(r: Record<string, unknown>): StoredWatchlistEntry {
  const aliases = JSON.parse(rowString(r, 'aliases_json')) as unknown;
  assert(Array.isArray(aliases) && aliases.every((a) => typeof a === 'string'), `watchlist entry ${String(r['id'])} has aliases that are not a list of strings`);
  const risk = rowString(r, 'risk_level');
  assert((RISK_LEVELS as readonly string[]).includes(risk), `watchlist entry ${String(r['id'])} has risk level ${risk}`);
  return {
    id: rowString(r, 'id'), name: rowString(r, 'name'), aliases, dateOfBirth: rowNullableString(r, 'date_of_birth'), country: rowNullableString(r, 'country'),
    riskLevel: risk as RiskLevel, listSource: rowString(r, 'list_source'), expiryDate: rowString(r, 'expiry_date'),
    expiresMs: Number(rowBigint(r, 'expires_ms')), importId: rowString(r, 'import_id'), importedMs: Number(rowBigint(r, 'imported_ms')),
  };
}

function parseOrRefuse(input: WatchlistImport): WatchlistEntryInput[] {
  if (input.format !== 'csv' && input.format !== 'json') throw new LedgerError(LedgerErrorCode.badRequest, `Watchlist format must be csv or json, got ${JSON.stringify(input.format)}`);
  if (input.mode !== 'replace' && input.mode !== 'append') throw new LedgerError(LedgerErrorCode.badRequest, `Watchlist mode must be replace or append, got ${JSON.stringify(input.mode)}`);
  if (typeof input.data !== 'string') throw new LedgerError(LedgerErrorCode.badRequest, 'Watchlist data must be a string');
  try {
    return parseWatchlist(input.format, input.data);
  } catch (e) {
    if (e instanceof WatchlistParseError) throw new LedgerError(LedgerErrorCode.badRequest, `${e.message} (${e.code}; nothing imported)`);
    throw e;
  }
}

/** Replaces or extends the watchlist with a parsed import, logged under `actor`; all or nothing. */
export async function importWatchlist(d: { db: Db; rng: RandomBytes; nowMs: number }, actor: string, input: WatchlistImport): Promise<WatchlistImportResult> {
  const entries = parseOrRefuse(input);
  const importId = newId(d.rng, 'wli');
  return d.db.transaction(async (tx) => {
    if (input.mode === 'replace') await tx.run('DELETE FROM watchlist_entries');
    const kept = Number(rowBigint((await tx.query('SELECT CAST(COUNT(*) AS BIGINT) AS n FROM watchlist_entries'))[0]!, 'n'));
    if (kept + entries.length > WATCHLIST_ENTRIES_MAX) {
      throw new LedgerError(LedgerErrorCode.badRequest, `Watchlist would hold ${kept + entries.length} entries, the limit is ${WATCHLIST_ENTRIES_MAX} (nothing imported)`);
    }
    for (const [i, e] of entries.entries()) {
      const expiresMs = utcDateMs(e.expiryDate)! + DAY_MS;
      await tx.run(
        `INSERT INTO watchlist_entries (id, name, aliases_json, date_of_birth, country, risk_level, list_source, expiry_date, expires_ms, import_id, imported_ms, line_no)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [newId(d.rng, 'wle'), e.name, JSON.stringify(e.aliases), e.dateOfBirth, e.country, e.riskLevel, e.listSource, e.expiryDate, BigInt(expiresMs), importId, BigInt(d.nowMs), BigInt(i + 1)],
      );
    }
    const total = kept + entries.length;
    await appendComplianceLog(tx, { atMs: d.nowMs, actor, action: 'watchlist.import', alertId: importId, detail: { format: input.format, mode: input.mode, imported: entries.length, total } });
    return { importId, imported: entries.length, total };
  });
}

/** Every stored entry (expired ones too: the audit sees what was loaded), in import order. */
export async function listWatchlist(q: Queryable): Promise<StoredWatchlistEntry[]> {
  return (await q.query('SELECT * FROM watchlist_entries ORDER BY imported_ms, import_id, line_no')).map(entryOf);
}

/**
 * What a KYC identity record gives screening: its `name` (null when it gives none, and then
 * nothing is screened), and its `dateOfBirth` and `country` when well formed. Registration refuses
 * a malformed one (customers.ts checkKyc); a record stored before that check with one that is not
 * is screened as if it gave none (absence is not evidence, so the name score stands).
 */
export function identityOf(identity: unknown): ScreenedIdentity | null {
  const record = identity !== null && typeof identity === 'object' ? (identity as Record<string, unknown>) : {};
  const name = record['name'];
  if (typeof name !== 'string' || name.trim() === '') return null;
  const secondary = (field: SecondaryField): string | null => {
    const r = readSecondary(field, record[field]);
    return 'value' in r ? r.value : null;
  };
  return { name, dateOfBirth: secondary('dateOfBirth'), country: secondary('country') };
}

/**
 * The watchlist entries in force at `nowMs` that the customer matches (name, then date of birth
 * and country) at or above the lowest score any watchlist.match rule asks for; [] when no rule
 * screens names.
 */
export async function screenIdentity(q: Queryable, rules: RuleSet, who: ScreenedIdentity | null, nowMs: number): Promise<WatchlistMatch[]> {
  const thresholds = rules.rules.filter((r) => r.kind === 'watchlist.match').map((r) => Number(r.bandPercent));
  if (who === null || thresholds.length === 0) return [];
  const rows = await q.query('SELECT id, name, aliases_json, date_of_birth, country, risk_level, list_source FROM watchlist_entries WHERE expires_ms > $1', [BigInt(nowMs)]);
  const entries: WatchlistEntry[] = rows.map((r) => ({
    id: rowString(r, 'id'), name: rowString(r, 'name'), aliases: JSON.parse(rowString(r, 'aliases_json')) as string[],
    riskLevel: rowString(r, 'risk_level') as RiskLevel, listSource: rowString(r, 'list_source'),
    dateOfBirth: rowNullableString(r, 'date_of_birth'), country: rowNullableString(r, 'country'),
  }));
  return matchIdentity(entries, who, Math.min(...thresholds));
}
