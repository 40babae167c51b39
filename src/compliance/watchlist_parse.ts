// The FI's watchlist import (AML/CFT screening, docs/compliance.md): a list of names an operator
// loads as CSV (RFC 4180 quoting, a fixed header) or JSON Lines (one entry object per line), each
// entry a name, its aliases, an optional date of birth and country, a risk level, the list it
// came from and the date it expires.
//
// Why so strict: a watchlist decides who is refused service, so a half-read list is worse than
// none. The parser reads every line before it returns anything; the first line that does not fit
// throws a WatchlistParseError naming its line number and the field, and nothing is imported.
// Unknown columns or keys are refused rather than ignored (a newer list format must not lose a
// field silently). Newlines inside quoted CSV fields are refused too: names never hold one, and
// one record per line keeps the line numbers in errors the ones an operator sees in an editor.

import { RISK_LEVELS, type RiskLevel } from './rules.ts';

/** Bytes of one import: a list this size parses in well under a second and fits one request body. */
export const WATCHLIST_BYTES_MAX = 1_000_000;
/** Entries an FI holds: each screened event builds a fuzzy index over all of them (linear in it). */
export const WATCHLIST_ENTRIES_MAX = 5_000;
/** Aliases per entry: each one is another string in the index. */
export const WATCHLIST_ALIASES_MAX = 16;
/** Characters of a name or an alias. */
export const WATCHLIST_NAME_MAX = 200;
const LIST_SOURCE = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/;
const COUNTRY = /^[A-Z]{2}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
if (WATCHLIST_ENTRIES_MAX * 20 > WATCHLIST_BYTES_MAX) throw new Error('WATCHLIST_BYTES_MAX must hold WATCHLIST_ENTRIES_MAX short entries');

export const WATCHLIST_CSV_HEADER = ['name', 'aliases', 'date_of_birth', 'country', 'risk_level', 'list_source', 'expiry_date'] as const;
const JSON_KEYS = ['name', 'aliases', 'dateOfBirth', 'country', 'riskLevel', 'listSource', 'expiryDate'] as const;
const JSON_REQUIRED = ['name', 'riskLevel', 'listSource', 'expiryDate'];

export interface WatchlistEntryInput {
  name: string;
  aliases: string[];
  /** YYYY-MM-DD, or null when the list gives none. */
  dateOfBirth: string | null;
  /** ISO 3166-1 alpha-2, or null. */
  country: string | null;
  riskLevel: RiskLevel;
  listSource: string;
  /** YYYY-MM-DD: the entry matches through the end of this UTC day, never after. */
  expiryDate: string;
}

export type WatchlistFormat = 'csv' | 'json';
export type WatchlistParseCode = 'LENGTH' | 'HEADER' | 'MALFORMED' | 'FIELD' | 'COUNT';
export class WatchlistParseError extends Error {
  constructor(
    readonly code: WatchlistParseCode,
    /** 1-based line of the input, 0 for the input as a whole. */
    readonly line: number,
    message: string,
  ) {
    super(line === 0 ? `Watchlist: ${message}` : `Watchlist line ${line}: ${message}`);
    this.name = 'WatchlistParseError';
  }
}

/** 00:00 UTC of a valid YYYY-MM-DD, or null. */
export function utcDateMs(s: string): number | null {
  const m = DATE.exec(s);
  if (m === null) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : null;
}

/** The secondary identifiers a watchlist entry and a KYC identity record may both carry. */
export const SECONDARY_FIELDS = ['dateOfBirth', 'country'] as const;
export type SecondaryField = (typeof SECONDARY_FIELDS)[number];
const SECONDARY_FORM: Readonly<Record<SecondaryField, { ok: (s: string) => boolean; want: string }>> = {
  dateOfBirth: { ok: (s) => utcDateMs(s) !== null, want: 'a date YYYY-MM-DD' },
  country: { ok: (s) => COUNTRY.test(s), want: 'an ISO 3166-1 alpha-2 code (two capital letters)' },
};

/**
 * A secondary identifier as given (undefined, null or '' is absent: null), or an error saying what
 * was expected and what was found. One check for list entries and KYC records, so a value either
 * side accepts the other does too.
 */
export function readSecondary(field: SecondaryField, v: unknown): { value: string | null } | { error: string } {
  if (v === undefined || v === null || v === '') return { value: null };
  const form = SECONDARY_FORM[field];
  return typeof v === 'string' && form.ok(v) ? { value: v } : { error: `${field} must be ${form.want}, got ${JSON.stringify(v)}` };
}

function text(v: unknown, line: number, field: string, max: number): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
    throw new WatchlistParseError('FIELD', line, `${field} must be 1..${max} printable characters, got ${JSON.stringify(v)}`);
  }
  return v.trim();
}

function entryOf(raw: Record<string, unknown>, line: number): WatchlistEntryInput {
  const aliases = raw['aliases'] ?? [];
  if (!Array.isArray(aliases) || aliases.length > WATCHLIST_ALIASES_MAX) throw new WatchlistParseError('FIELD', line, `aliases must be a list of at most ${WATCHLIST_ALIASES_MAX} names`);
  const optional = (field: SecondaryField): string | null => {
    const r = readSecondary(field, raw[field]);
    if ('error' in r) throw new WatchlistParseError('FIELD', line, r.error);
    return r.value;
  };
  const risk = raw['riskLevel'];
  if (typeof risk !== 'string' || !(RISK_LEVELS as readonly string[]).includes(risk)) {
    throw new WatchlistParseError('FIELD', line, `riskLevel must be one of ${RISK_LEVELS.join(', ')}, got ${JSON.stringify(risk)}`);
  }
  const source = raw['listSource'];
  if (typeof source !== 'string' || !LIST_SOURCE.test(source)) throw new WatchlistParseError('FIELD', line, `listSource must be 1..64 of [A-Za-z0-9 ._:-], got ${JSON.stringify(source)}`);
  const expiry = raw['expiryDate'];
  if (typeof expiry !== 'string' || utcDateMs(expiry) === null) throw new WatchlistParseError('FIELD', line, `expiryDate must be a date YYYY-MM-DD, got ${JSON.stringify(expiry)}`);
  return {
    name: text(raw['name'], line, 'name', WATCHLIST_NAME_MAX),
    aliases: aliases.map((a, i) => text(a, line, `aliases[${i}]`, WATCHLIST_NAME_MAX)),
    dateOfBirth: optional('dateOfBirth'),
    country: optional('country'),
    riskLevel: risk as RiskLevel,
    listSource: source,
    expiryDate: expiry,
  };
}

/** One CSV record's fields (RFC 4180: "..." quotes a field, "" is a quote inside one). */
function csvFields(s: string, line: number): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new WatchlistParseError('MALFORMED', line, 'a quoted field is not closed (fields may not span lines)');
        if (s[i] === '"') {
          if (s[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ',') throw new WatchlistParseError('MALFORMED', line, `expected a comma after a quoted field at column ${i + 1}, got ${JSON.stringify(s[i])}`);
    } else {
      const end = s.indexOf(',', i);
      field = s.slice(i, end === -1 ? s.length : end);
      if (field.includes('"')) throw new WatchlistParseError('MALFORMED', line, 'a quote inside an unquoted field (quote the whole field and double the quote)');
      i = end === -1 ? s.length : end;
    }
    fields.push(field);
    if (i >= s.length) return fields;
    i++; // the comma
  }
}

function lines(input: string): string[] {
  const all = input.split(/\r?\n/);
  if (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all;
}

function parseCsv(input: string): WatchlistEntryInput[] {
  const rows = lines(input);
  const header = rows[0] === undefined ? [] : csvFields(rows[0], 1);
  if (header.join(',') !== WATCHLIST_CSV_HEADER.join(',')) throw new WatchlistParseError('HEADER', 1, `expected the header ${WATCHLIST_CSV_HEADER.join(',')}, got ${JSON.stringify(rows[0] ?? '')}`);
  const out: WatchlistEntryInput[] = [];
  rows.slice(1).forEach((row, i) => {
    const line = i + 2;
    const f = csvFields(row, line);
    if (f.length !== WATCHLIST_CSV_HEADER.length) throw new WatchlistParseError('MALFORMED', line, `expected ${WATCHLIST_CSV_HEADER.length} fields, got ${f.length}`);
    const aliases = f[1] === '' ? [] : f[1]!.split(';');
    out.push(entryOf({ name: f[0], aliases, dateOfBirth: f[2], country: f[3], riskLevel: f[4], listSource: f[5], expiryDate: f[6] }, line));
  });
  return out;
}

function parseJsonLines(input: string): WatchlistEntryInput[] {
  return lines(input).map((row, i) => {
    const line = i + 1;
    let v: unknown;
    try {
      v = JSON.parse(row);
    } catch (e) {
      throw new WatchlistParseError('MALFORMED', line, `not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WatchlistParseError('MALFORMED', line, 'expected one JSON object per line');
    const keys = Object.keys(v);
    const unknown = keys.filter((k) => !(JSON_KEYS as readonly string[]).includes(k));
    if (unknown.length > 0) throw new WatchlistParseError('FIELD', line, `unknown keys ${unknown.join(', ')} (expected ${JSON_KEYS.join(', ')})`);
    const missing = JSON_REQUIRED.filter((k) => !keys.includes(k));
    if (missing.length > 0) throw new WatchlistParseError('FIELD', line, `missing ${missing.join(', ')}`);
    return entryOf(v as Record<string, unknown>, line);
  });
}

/** Every entry of an import, or a WatchlistParseError naming the first line that does not fit. */
export function parseWatchlist(format: WatchlistFormat, input: string): WatchlistEntryInput[] {
  const bytes = new TextEncoder().encode(input).length;
  if (bytes > WATCHLIST_BYTES_MAX) throw new WatchlistParseError('LENGTH', 0, `expected at most ${WATCHLIST_BYTES_MAX} bytes, got ${bytes}`);
  const entries = format === 'csv' ? parseCsv(input) : parseJsonLines(input);
  if (entries.length > WATCHLIST_ENTRIES_MAX) throw new WatchlistParseError('COUNT', 0, `expected at most ${WATCHLIST_ENTRIES_MAX} entries, got ${entries.length}`);
  return entries;
}
