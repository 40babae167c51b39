// Secondary identifiers in watchlist screening (docs/compliance.md "Matching"), pure: a name hit
// (watchlist_match.ts) is confirmed or discounted by the date of birth and the country when the
// customer's KYC record and the entry both give them, as screening products do, so that "Ivan
// Petrov born 1970-02-28" is not raised against every Ivan Petrov.
//
// Why discounts and never a bonus: an agreeing date or country says the name hit is the listed
// person only if the name matched in the first place; adding points would let a common birth date
// or a large country lift a weak name hit over the threshold. So agreement is recorded
// (`confirmedBy`) and leaves the name score as it is, and absence is no evidence either way (most
// lists lack dates for many entries, older KYC records lack both fields): the name score stands.
// Only a birth year that differs outright is taken as "another person" and drops the hit.

import { DEFAULT_RULES } from './rules.ts';
import { matchName, type SecondaryCheck, type SecondaryOutcome, type WatchlistEntry, type WatchlistMatch } from './watchlist_match.ts';
import type { SecondaryField } from './watchlist_parse.ts';

/**
 * Points off when both dates of birth fall in the same year on another day (and are not the same
 * day and month swapped). Lists often hold an approximate date (the 1st of January or of July when
 * only the year is known), so a same-year difference is weak evidence: 10 keeps an exact name (90)
 * at the default threshold 85 and drops a one-letter variant (Ivan Petrof, 90 → 80).
 */
export const DOB_SAME_YEAR_DISCOUNT = 10;
/**
 * Points off when both give a country and they differ. Weaker still than a date: a list's country
 * may be nationality, residence or birthplace, and people move and hold two passports. 5 drops a
 * name at the edge of the default threshold (85..89 → 80..84) and keeps a one-letter variant of a
 * longer name (90 → 85) and any exact one.
 */
export const COUNTRY_MISMATCH_DISCOUNT = 5;

// Both discounts together never clear an exact name under the default rule: only another birth
// year may say on its own that an identical name is another person.
const DEFAULT_THRESHOLD = Number(DEFAULT_RULES.rules.find((r) => r.kind === 'watchlist.match')?.bandPercent ?? 0n);
if (!(DEFAULT_THRESHOLD > 0 && 100 - DOB_SAME_YEAR_DISCOUNT - COUNTRY_MISMATCH_DISCOUNT >= DEFAULT_THRESHOLD)) {
  throw new Error(`watchlist discounts ${DOB_SAME_YEAR_DISCOUNT} + ${COUNTRY_MISMATCH_DISCOUNT} would clear an exact name under the default threshold ${DEFAULT_THRESHOLD}`);
}

/** What screening knows of the customer: the KYC record's name and its optional identifiers. */
export interface ScreenedIdentity {
  name: string;
  dateOfBirth: string | null;
  country: string | null;
}

const ymd = (s: string): [string, string, string] => {
  const [y, m, d] = s.split('-');
  if (y === undefined || m === undefined || d === undefined) throw new RangeError(`date of birth must be YYYY-MM-DD, got ${JSON.stringify(s)}`);
  return [y, m, d];
};

/** How two valid YYYY-MM-DD dates of birth compare. */
export function compareDateOfBirth(customer: string, entry: string): SecondaryOutcome {
  if (customer === entry) return 'agrees';
  const [cy, cm, cd] = ymd(customer);
  const [ey, em, ed] = ymd(entry);
  if (cy !== ey) return 'other-year';
  // 1970-02-03 against 1970-03-02: the day and month read in the other order (US against
  // European forms), the commonest slip in keyed-in dates. Neither evidence for nor against.
  return cm === ed && cd === em ? 'transposed' : 'same-year';
}

// Points off per outcome; another year takes all 100 (weighMatch drops the hit before it counts).
const DISCOUNT: Readonly<Record<SecondaryOutcome, number>> = {
  agrees: 0, transposed: 0, 'same-year': DOB_SAME_YEAR_DISCOUNT, 'other-year': 100, differs: COUNTRY_MISMATCH_DISCOUNT,
};

/** The checks of every secondary identifier both sides give, in a fixed order (date of birth, country). */
export function checkSecondary(customer: Omit<ScreenedIdentity, 'name'>, entry: Pick<WatchlistEntry, 'dateOfBirth' | 'country'>): SecondaryCheck[] {
  const checks: SecondaryCheck[] = [];
  const add = (field: SecondaryField, c: string, e: string, outcome: SecondaryOutcome) => checks.push({ field, customer: c, entry: e, outcome, discount: DISCOUNT[outcome] });
  const [cDob, eDob] = [customer.dateOfBirth, entry.dateOfBirth ?? null];
  if (cDob !== null && eDob !== null) add('dateOfBirth', cDob, eDob, compareDateOfBirth(cDob, eDob));
  const [cCountry, eCountry] = [customer.country, entry.country ?? null];
  if (cCountry !== null && eCountry !== null) add('country', cCountry, eCountry, cCountry === eCountry ? 'agrees' : 'differs');
  return checks;
}

/** A name hit weighed by its secondary checks: null when they drop it (another birth year), else its final score. */
export function weighMatch(m: WatchlistMatch, checks: readonly SecondaryCheck[]): WatchlistMatch | null {
  if (checks.some((c) => c.outcome === 'other-year')) return null;
  const score = Math.max(0, m.nameScore - checks.reduce((s, c) => s + c.discount, 0));
  if (score > m.nameScore) throw new RangeError(`weighMatch raised ${m.nameScore} to ${score}`);
  return { ...m, score, confirmedBy: checks.filter((c) => c.outcome === 'agrees').map((c) => c.field), secondary: [...checks] };
}

/**
 * The entries the customer matches with a final score of at least `minScore` (1..100), best
 * first: the name hits of matchName, each weighed by the date of birth and country.
 */
export function matchIdentity(entries: readonly WatchlistEntry[], who: ScreenedIdentity, minScore: number): WatchlistMatch[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const out: WatchlistMatch[] = [];
  for (const m of matchName(entries, who.name, minScore)) {
    const entry = byId.get(m.entryId);
    if (entry === undefined) throw new RangeError(`matchName returned entry ${m.entryId}, which it was not given`);
    const weighed = weighMatch(m, checkSecondary(who, entry));
    if (weighed !== null && weighed.score >= minScore) out.push(weighed);
  }
  return out.sort((a, b) => b.score - a.score || (a.entryId < b.entryId ? -1 : 1));
}

const FIELD_WORDS: Readonly<Record<SecondaryField, string>> = { dateOfBirth: 'date of birth', country: 'country' };
const OUTCOME_WORDS: Readonly<Record<SecondaryOutcome, string>> = {
  agrees: 'agrees', transposed: 'day and month transposed, not discounted', 'same-year': 'same year, another day', 'other-year': 'another year', differs: 'differs',
};

/** For an alert's detail: the name score and what each secondary identifier did to it. */
export function describeSecondary(m: WatchlistMatch): string {
  const checks = m.secondary.map((c) => {
    const values = c.outcome === 'agrees' ? c.customer : `${c.customer}, the entry's ${c.entry}`;
    return `${FIELD_WORDS[c.field]} ${values}: ${OUTCOME_WORDS[c.outcome]}${c.discount > 0 ? ` −${c.discount}` : ''}`;
  });
  return [`name score ${m.nameScore}`, ...(checks.length > 0 ? checks : ['no date of birth or country on both sides'])].join('; ');
}
