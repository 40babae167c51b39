// Fuzzy matching of a customer's name against the FI's watchlist (docs/compliance.md), pure: the
// FI passes in the entries in force and the name; no clock, no storage.
//
// Names are normalised first: Unicode compatibility decomposition with the combining marks
// dropped (é → e), a few letters that do not decompose spelt out (ß → ss, ø → o, ł → l), lower
// case, every run of other characters (punctuation, hyphens, spaces) one space, and the words
// sorted, so "Dubois, Marie-Claire" and "marie claire DUBOIS" are the same string.
//
// fuse.js then scores each name and alias by Bitap: 1 − errors / pattern length, the errors
// being the fewest insertions, deletions and substitutions that make the customer's name a
// substring of the entry's. Bitap rewards a short name found inside a long one ("Ivan" inside
// "ivan petrov" scores 1), so the score is scaled by the customer's name's share of the entry's
// length when it is the shorter. The score reported is that similarity in whole percent, rounded
// down: 100 is the same normalised name. Dates of birth and countries then confirm or discount
// each name hit (watchlist_secondary.ts); a rule's threshold is compared with the final score.

import Fuse from 'fuse.js';
import { RISK_LEVELS, type RiskLevel } from './rules.ts';
import type { SecondaryField } from './watchlist_parse.ts';

export interface WatchlistEntry {
  id: string;
  name: string;
  aliases: readonly string[];
  riskLevel: RiskLevel;
  listSource: string;
  /** YYYY-MM-DD and ISO 3166-1 alpha-2 as the list gives them; absent or null when it gives none. */
  dateOfBirth?: string | null;
  country?: string | null;
}

/**
 * How one secondary identifier both sides give compared (watchlist_secondary.ts): `agrees`, a
 * date of birth with day and month swapped (`transposed`), one in the same year but another day
 * (`same-year`) or another year (`other-year`, which drops the hit), a country that `differs`.
 */
export type SecondaryOutcome = 'agrees' | 'transposed' | 'same-year' | 'other-year' | 'differs';
export interface SecondaryCheck {
  field: SecondaryField;
  /** The customer's value and the entry's. */
  customer: string;
  entry: string;
  outcome: SecondaryOutcome;
  /** Points taken off the name score (0 when it agrees or is only transposed). */
  discount: number;
}

export interface WatchlistMatch {
  entryId: string;
  /** The entry's name, and the name or alias that matched. */
  entryName: string;
  matched: string;
  riskLevel: RiskLevel;
  listSource: string;
  /** The final score in whole percent, 0..100: the name score less the secondary identifiers' discounts. */
  score: number;
  /** The name's similarity alone, in whole percent. */
  nameScore: number;
  /** The secondary identifiers both sides give and that agree. */
  confirmedBy: SecondaryField[];
  /** Every secondary identifier both sides give, agreeing or not (absent ones are not listed). */
  secondary: SecondaryCheck[];
}

const SPELT_OUT: Readonly<Record<string, string>> = { ß: 'ss', ø: 'o', ł: 'l', đ: 'd', æ: 'ae', œ: 'oe', þ: 'th', ı: 'i' };

/** The form both sides are compared in (case, diacritics, punctuation and word order removed). */
export function normaliseName(name: string): string {
  const folded = name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[ßøłđæœþı]/g, (c) => SPELT_OUT[c] ?? c);
  return folded.replace(/[^\p{L}\p{N}]+/gu, ' ').trim().split(' ').filter((w) => w !== '').sort().join(' ');
}

export const riskRank = (level: RiskLevel): number => RISK_LEVELS.indexOf(level) + 1;

/**
 * The entries `name` matches with a score of at least `minScore` (1..100), best first, one per
 * entry (its best-scoring name or alias), on the name alone. An empty name matches nothing.
 */
export function matchName(entries: readonly WatchlistEntry[], name: string, minScore: number): WatchlistMatch[] {
  if (!(minScore >= 1 && minScore <= 100)) throw new RangeError(`matchName: minScore must be 1..100, got ${minScore}`);
  const pattern = normaliseName(name);
  if (pattern === '' || entries.length === 0) return [];
  const names = entries.flatMap((e, index) => [e.name, ...e.aliases].map((n) => ({ index, original: n, text: normaliseName(n) }))).filter((n) => n.text !== '');
  const fuse = new Fuse(names, {
    keys: ['text'], includeScore: true, ignoreLocation: true, ignoreFieldNorm: true, isCaseSensitive: true, shouldSort: false,
    // Bitap's own cut-off, in its units (0 = exact): looser than minScore, the scaling below only lowers scores.
    threshold: Math.min(1, 1 - minScore / 100 + 0.01),
  });
  const best = new Map<number, WatchlistMatch>();
  for (const r of fuse.search(pattern)) {
    const coverage = Math.min(1, pattern.length / r.item.text.length);
    const score = Math.floor(100 * (1 - (r.score ?? 1)) * coverage + 1e-9);
    if (score < minScore) continue;
    const e = entries[r.item.index]!;
    const was = best.get(r.item.index);
    if (was !== undefined && was.score >= score) continue;
    best.set(r.item.index, { entryId: e.id, entryName: e.name, matched: r.item.original, riskLevel: e.riskLevel, listSource: e.listSource, score, nameScore: score, confirmedBy: [], secondary: [] });
  }
  return [...best.values()].sort((a, b) => b.score - a.score || (a.entryId < b.entryId ? -1 : 1));
}
