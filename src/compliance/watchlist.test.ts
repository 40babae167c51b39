// The watchlist's pure parts: the strict import parser (CSV and JSON Lines; a bad line is refused
// with its line number and nothing is returned), name normalisation, the fuzzy score at and just
// under a rule's threshold, dates of birth and countries confirming or discounting a name hit on
// both sides of each boundary, and the watchlist.match rule's modes and minimum risk level.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluate } from './evaluate.ts';
import { checkRules, decodeRules, encodeRules, RulesCodecError, type Rule, type RuleSet } from './rules.ts';
import { matchName, normaliseName, type WatchlistEntry } from './watchlist_match.ts';
import { COUNTRY_MISMATCH_DISCOUNT, DOB_SAME_YEAR_DISCOUNT, compareDateOfBirth, matchIdentity, type ScreenedIdentity } from './watchlist_secondary.ts';
import { WATCHLIST_CSV_HEADER, WATCHLIST_ENTRIES_MAX, WatchlistParseError, parseWatchlist } from './watchlist_parse.ts';

const HEADER = WATCHLIST_CSV_HEADER.join(',');
const parseError = (format: 'csv' | 'json', input: string): { code: string; line: number } => {
  try {
    parseWatchlist(format, input);
  } catch (e) {
    assert.ok(e instanceof WatchlistParseError, String(e));
    return { code: e.code, line: e.line };
  }
  assert.fail(`parsed: ${JSON.stringify(input)}`);
};

test('parseWatchlist reads CSV with RFC 4180 quoting and JSON Lines into the same entries', () => {
  const csv = `${HEADER}\r\n"Petrov, Ivan",Iwan Petroff;I. Petrov,1970-02-28,RU,high,UN 1267,2030-12-31\r\n"Anna ""the Fox"" Berg",,,,low,national:SE,2027-01-01\r\n`;
  const json = [
    JSON.stringify({ name: 'Petrov, Ivan', aliases: ['Iwan Petroff', 'I. Petrov'], dateOfBirth: '1970-02-28', country: 'RU', riskLevel: 'high', listSource: 'UN 1267', expiryDate: '2030-12-31' }),
    JSON.stringify({ name: 'Anna "the Fox" Berg', riskLevel: 'low', listSource: 'national:SE', expiryDate: '2027-01-01' }),
  ].join('\n');
  const expected = [
    { name: 'Petrov, Ivan', aliases: ['Iwan Petroff', 'I. Petrov'], dateOfBirth: '1970-02-28', country: 'RU', riskLevel: 'high', listSource: 'UN 1267', expiryDate: '2030-12-31' },
    { name: 'Anna "the Fox" Berg', aliases: [], dateOfBirth: null, country: null, riskLevel: 'low', listSource: 'national:SE', expiryDate: '2027-01-01' },
  ];
  assert.deepEqual(parseWatchlist('csv', csv), expected);
  assert.deepEqual(parseWatchlist('json', json), expected);
  assert.deepEqual(parseWatchlist('csv', `${HEADER}\n`), []);
});

test('parseWatchlist refuses a malformed line with its number and code, whatever lines come before it', () => {
  const good = 'Ivan Petrov,,,,high,UN,2030-12-31';
  const cases: [string, string, number][] = [
    ['name,aliases,dob,country,risk_level,list_source,expiry_date', 'HEADER', 1],
    [`${HEADER}\n${good}\n${good},extra`, 'MALFORMED', 3],
    [`${HEADER}\n${good}\n"Ivan Petrov,,,,high,UN,2030-12-31`, 'MALFORMED', 3],
    [`${HEADER}\n${good}\nIvan "P" Petrov,,,,high,UN,2030-12-31`, 'MALFORMED', 3],
    [`${HEADER}\n${good}\n,,,,high,UN,2030-12-31`, 'FIELD', 3],
    [`${HEADER}\n${good}\nIvan Petrov,,,,severe,UN,2030-12-31`, 'FIELD', 3],
    [`${HEADER}\n${good}\nIvan Petrov,,,,high,UN,2030-02-30`, 'FIELD', 3],
    [`${HEADER}\n${good}\nIvan Petrov,,1970-13-01,,high,UN,2030-12-31`, 'FIELD', 3],
    [`${HEADER}\n${good}\nIvan Petrov,,,Russia,high,UN,2030-12-31`, 'FIELD', 3],
    [`${HEADER}\n${good}\nIvan Petrov,,,,high,,2030-12-31`, 'FIELD', 3],
    [`${HEADER}\n${good}\n${good}\nIvan Petrov,${Array(17).fill('x').join(';')},,,high,UN,2030-12-31`, 'FIELD', 4],
  ];
  for (const [input, code, line] of cases) assert.deepEqual(parseError('csv', input), { code, line }, input);
  const entry = { name: 'Ivan Petrov', riskLevel: 'high', listSource: 'UN', expiryDate: '2030-12-31' };
  const ok = JSON.stringify(entry);
  const jsonCases: [string, string, number][] = [
    [`${ok}\n{"name": "Ivan"`, 'MALFORMED', 2],
    [`${ok}\n${ok}\n[1, 2]`, 'MALFORMED', 3],
    [`${ok}\n${JSON.stringify({ ...entry, nickname: 'x' })}`, 'FIELD', 2],
    [`${ok}\n${JSON.stringify({ name: 'Ivan', riskLevel: 'high', listSource: 'UN' })}`, 'FIELD', 2],
    [`${ok}\n${JSON.stringify({ ...entry, aliases: 'Iwan' })}`, 'FIELD', 2],
    [`${ok}\n${JSON.stringify({ ...entry, riskLevel: 3 })}`, 'FIELD', 2],
  ];
  for (const [input, code, line] of jsonCases) assert.deepEqual(parseError('json', input), { code, line }, input);
});

test('parseWatchlist bounds the number of entries and the bytes', () => {
  const row = 'A B,,,,low,L,2030-01-01';
  assert.equal(parseWatchlist('csv', [HEADER, ...Array(WATCHLIST_ENTRIES_MAX).fill(row)].join('\n')).length, WATCHLIST_ENTRIES_MAX);
  assert.deepEqual(parseError('csv', [HEADER, ...Array(WATCHLIST_ENTRIES_MAX + 1).fill(row)].join('\n')), { code: 'COUNT', line: 0 });
  assert.deepEqual(parseError('csv', `${HEADER}\n${'x'.repeat(1_000_001)}`), { code: 'LENGTH', line: 0 });
});

test('any name survives a CSV round trip through RFC 4180 quoting', () => {
  const quote = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '' && !/[\u0000-\u001f\u007f;]/.test(s)), (name) => {
    const parsed = parseWatchlist('csv', `${HEADER}\n${quote(name)},${quote(name)},,,low,L,2030-01-01\n`);
    assert.deepEqual([parsed[0]!.name, parsed[0]!.aliases], [name.trim(), [name.trim()]]);
  }));
});

test('normaliseName drops case, diacritics, punctuation and word order', () => {
  assert.equal(normaliseName('Dubois, Marie-Claire'), 'claire dubois marie');
  assert.equal(normaliseName('  MARIE  claire  DÜBOIS '), 'claire dubois marie');
  assert.equal(normaliseName('José García'), normaliseName('jose garcia'));
  assert.equal(normaliseName('Øster Strauß'), 'oster strauss');
  assert.equal(normaliseName('...'), '');
});

const ENTRIES: WatchlistEntry[] = [
  { id: 'wle_a', name: 'Ivan Petrov', aliases: ['Iwan Petroff'], riskLevel: 'high', listSource: 'UN' },
  { id: 'wle_b', name: 'Marie-Claire Dubois', aliases: [], riskLevel: 'low', listSource: 'EU' },
];

test('matchName: the same normalised name scores 100; one wrong letter in eleven scores 90, a hit at 90 and a near miss at 91', () => {
  assert.deepEqual(matchName(ENTRIES, 'PETROV, Ivan', 85).map((m) => [m.entryId, m.score]), [['wle_a', 100]]);
  assert.deepEqual(matchName(ENTRIES, 'Dübois Marie Claire', 85).map((m) => [m.entryId, m.matched, m.score]), [['wle_b', 'Marie-Claire Dubois', 100]]);
  assert.deepEqual(matchName(ENTRIES, 'Ivan Petrof', 90).map((m) => [m.entryId, m.score]), [['wle_a', 90]]);
  assert.deepEqual(matchName(ENTRIES, 'Ivan Petrof', 91), [], 'just under the threshold');
  assert.deepEqual(matchName(ENTRIES, 'Iwan Petroff', 99).map((m) => m.matched), ['Iwan Petroff'], 'an alias matches as itself');
});

test('matchName: a short name inside a longer one does not score as the same name', () => {
  assert.deepEqual(matchName(ENTRIES, 'Ivan', 50), []);
  assert.deepEqual(matchName(ENTRIES, 'Bob', 1).filter((m) => m.score >= 50), []);
  assert.deepEqual(matchName(ENTRIES, '', 1), []);
  assert.deepEqual(matchName([], 'Ivan Petrov', 1), []);
});

const watchRule = (mode: Rule['mode'], minRisk: bigint, score = 85n): Rule =>
  ({ id: `wl-${mode}`, kind: 'watchlist.match', mode, severity: 'high', limitMinor: 0n, count: minRisk, windowMs: 0n, bandPercent: score });

test('watchlist.match: hard refuses, soft needs an override unless given, monitor allows; the detail names the entry and the score', () => {
  const ctx = { history: [], holdingMinor: 0n, watchlist: matchName(ENTRIES, 'Ivan Petrov', 85) };
  const at = (mode: Rule['mode'], kind: 'register' | 'deposit' | 'defund' | 'sync' = 'deposit', overrides = new Set<string>()) =>
    evaluate({ version: 1n, rules: [watchRule(mode, 1n)] }, { kind, customerId: 'c', amountMinor: 1n, atMs: 0 }, { ...ctx, overrides });
  assert.equal(at('hard').decision, 'refuse');
  assert.equal(at('hard', 'register').decision, 'refuse');
  assert.equal(at('soft').decision, 'override-needed');
  assert.equal(at('soft', 'deposit', new Set(['wl-soft'])).decision, 'allow');
  assert.equal(at('monitor').decision, 'allow');
  assert.equal(at('monitor').hits.length, 1);
  assert.equal(at('hard', 'defund').decision, 'hold', 'defunding is after the fact');
  assert.deepEqual(at('hard', 'sync').hits, [], 'a sync is not screened by name');
  assert.equal(at('hard').hits[0]!.detail, 'name matches watchlist entry wle_a "Ivan Petrov" (as "Ivan Petrov"; list UN, risk high) with score 100 (threshold 85; name score 100; no date of birth or country on both sides)');
});

test('watchlist.match fires only at or above its minimum risk level and score', () => {
  const low = { history: [], holdingMinor: 0n, watchlist: matchName(ENTRIES, 'Marie Claire Dubois', 50) };
  const e = { kind: 'deposit' as const, customerId: 'c', amountMinor: 1n, atMs: 0 };
  const rules = (r: Rule): RuleSet => ({ version: 1n, rules: [r] });
  assert.equal(evaluate(rules(watchRule('hard', 1n)), e, low).decision, 'refuse');
  assert.equal(evaluate(rules(watchRule('hard', 2n)), e, low).decision, 'allow', 'a low-risk entry under a medium minimum');
  const near = { history: [], holdingMinor: 0n, watchlist: matchName(ENTRIES, 'Ivan Petrof', 50) };
  assert.equal(evaluate(rules(watchRule('hard', 3n, 90n)), e, near).decision, 'refuse');
  assert.equal(evaluate(rules(watchRule('hard', 3n, 91n)), e, near).decision, 'allow');
});

// Ivan Petrov born 1970-02-03 in RU; Marie-Claire Dubois born 1985-07-01 in FR.
const LISTED: WatchlistEntry[] = [
  { ...ENTRIES[0]!, dateOfBirth: '1970-02-03', country: 'RU' },
  { ...ENTRIES[1]!, dateOfBirth: '1985-07-01', country: 'FR' },
];
const who = (name: string, dateOfBirth: string | null = null, country: string | null = null): ScreenedIdentity => ({ name, dateOfBirth, country });
const scores = (w: ScreenedIdentity, minScore = 85) => matchIdentity(LISTED, w, minScore).map((m) => [m.entryId, m.nameScore, m.score, m.confirmedBy]);

test('matchIdentity: a date of birth that agrees keeps the hit and confirms it; another birth year drops it whatever the name scores', () => {
  assert.deepEqual(scores(who('Ivan Petrov', '1970-02-03')), [['wle_a', 100, 100, ['dateOfBirth']]]);
  assert.deepEqual(scores(who('Ivan Petrov', '1970-02-03', 'RU')), [['wle_a', 100, 100, ['dateOfBirth', 'country']]]);
  assert.deepEqual(scores(who('Ivan Petrov', '1971-02-03')), [], 'one year later: another person');
  assert.deepEqual(scores(who('Ivan Petrov', '1969-02-03', 'RU'), 1), [], 'another year drops the hit even with the country agreeing');
  assert.deepEqual(compareDateOfBirth('1970-02-03', '1970-02-03'), 'agrees');
  assert.deepEqual(compareDateOfBirth('1971-02-03', '1970-02-03'), 'other-year');
});

test('matchIdentity: a day and month transposed keeps the name score, unconfirmed; a same-year date takes DOB_SAME_YEAR_DISCOUNT off', () => {
  assert.equal(DOB_SAME_YEAR_DISCOUNT, 10);
  const transposed = matchIdentity(LISTED, who('Ivan Petrov', '1970-03-02'), 85);
  assert.deepEqual(transposed.map((m) => [m.score, m.confirmedBy, m.secondary.map((c) => c.outcome)]), [[100, [], ['transposed']]]);
  assert.deepEqual(scores(who('Ivan Petrov', '1970-03-03')), [['wle_a', 100, 90, []]], 'same year, not a swap: 100 − 10');
  assert.equal(compareDateOfBirth('1970-02-02', '1970-02-03'), 'same-year', 'one field apart is no transposition');
  // Both sides of the default threshold 85: a name score of 95 stays at 85, one of 94 falls to 84.
  assert.deepEqual(scores(who('Marie Claire Duboiss', '1985-01-07')), [['wle_b', 95, 95, []]], 'transposed');
  assert.deepEqual(scores(who('Marie Claire Duboiss', '1985-07-02')), [['wle_b', 95, 85, []]]);
  assert.deepEqual(scores(who('Mari Claire Dubois', '1985-07-02')), []);
  assert.deepEqual(scores(who('Mari Claire Dubois', '1985-07-02'), 84), [['wle_b', 94, 84, []]]);
  assert.deepEqual(scores(who('Mari Claire Dubois')), [['wle_b', 94, 94, []]], 'without a date the name score stands');
});

test('matchIdentity: another country takes COUNTRY_MISMATCH_DISCOUNT off: a borderline name falls under the threshold, an exact one stays', () => {
  assert.equal(COUNTRY_MISMATCH_DISCOUNT, 5);
  assert.deepEqual(scores(who('Ivan Petrov', null, 'FI')), [['wle_a', 100, 95, []]]);
  assert.deepEqual(scores(who('Ivan Petrof', null, 'FI')), [['wle_a', 90, 85, []]], '90 − 5 is still at the threshold');
  assert.deepEqual(scores(who('Marie Clare Dubois', null, 'DE')), [], '89 − 5 = 84 is under it');
  assert.deepEqual(scores(who('Marie Clare Dubois', null, 'FR')), [['wle_b', 89, 89, ['country']]]);
  assert.deepEqual(scores(who('Marie Clare Dubois')), [['wle_b', 89, 89, []]]);
  assert.deepEqual(scores(who('Ivan Petrov', '1970-03-03', 'FI')), [['wle_a', 100, 85, []]], 'both discounts leave an exact name at the default threshold');
});

test('matchIdentity: a field on one side only leaves the name score and lists no check', () => {
  const bare = matchName(LISTED, 'Ivan Petrof', 50);
  for (const w of [who('Ivan Petrof'), who('Ivan Petrof', '1999-09-09', 'SE')]) {
    const unlisted = matchIdentity(ENTRIES, w, 50);
    assert.deepEqual(unlisted.map((m) => [m.score, m.nameScore, m.secondary]), bare.map((m) => [m.score, m.score, []]));
  }
  assert.deepEqual(matchIdentity(LISTED, who('Ivan Petrof'), 50), bare);
});

test('the watchlist.match detail gives the name score, the final score and what each identifier did', () => {
  const e = { kind: 'register' as const, customerId: 'c', amountMinor: 0n, atMs: 0 };
  const detail = (w: ScreenedIdentity) => evaluate({ version: 1n, rules: [watchRule('monitor', 1n)] }, e, { history: [], holdingMinor: 0n, watchlist: matchIdentity(LISTED, w, 85) }).hits[0]?.detail;
  assert.equal(detail(who('Ivan Petrov', '1970-03-03', 'RU')),
    'name matches watchlist entry wle_a "Ivan Petrov" (as "Ivan Petrov"; list UN, risk high) with score 90 (threshold 85; name score 100; date of birth 1970-03-03, the entry\'s 1970-02-03: same year, another day −10; country RU: agrees)');
  assert.match(detail(who('Ivan Petrov', '1970-03-02', 'FI')) ?? '', /score 95 .*date of birth 1970-03-02, the entry's 1970-02-03: day and month transposed, not discounted; country FI, the entry's RU: differs −5\)$/);
  assert.equal(detail(who('Ivan Petrov', '1980-02-03')), undefined);
});

const date = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2020-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const country = fc.constantFrom('FI', 'SE', 'RU', 'FR', 'DE');
const listed = fc.array(fc.record({ name: fc.constantFrom('Ivan Petrov', 'Iwan Petroff', 'Marie-Claire Dubois', 'Olga Marchenko', 'Ivana Petrova'), dateOfBirth: date, country }), { minLength: 1, maxLength: 5 })
  .map((xs) => xs.map((x, i): WatchlistEntry => ({ id: `wle_${i}`, aliases: [], riskLevel: 'high', listSource: 'UN', ...x })));
const probe = fc.constantFrom('Ivan Petrov', 'Ivan Petrof', 'Petrov Iwan', 'Marie Clare Dubois', 'Olga Marchenco', 'Ivana Petrov');
const byEntry = (ms: readonly { entryId: string; score: number }[]) => new Map(ms.map((m) => [m.entryId, m.score]));

test('agreeing secondary identifiers never lower a score; a disagreeing one never raises it nor adds a hit', () => {
  fc.assert(fc.property(listed, probe, fc.integer({ min: 1, max: 100 }), fc.nat(), date, country, (entries, name, minScore, pick, otherDate, otherCountry) => {
    const bare = byEntry(matchIdentity(entries, who(name), minScore));
    const target = entries[pick % entries.length]!;
    const agreeing = byEntry(matchIdentity(entries, who(name, target.dateOfBirth ?? null, target.country ?? null), minScore));
    assert.equal(agreeing.get(target.id), bare.get(target.id), 'agreement neither lowers nor raises the score');
    for (const w of [who(name, otherDate), who(name, null, otherCountry), who(name, otherDate, otherCountry)]) {
      for (const [id, score] of byEntry(matchIdentity(entries, w, minScore))) {
        assert.ok(bare.has(id) && score <= bare.get(id)!, `entry ${id}: ${score} against ${bare.get(id)} on the name alone`);
      }
    }
  }));
});

test('the codec keeps watchlist.match strict: both thresholds above 0, a risk level of at most 3, nothing else', () => {
  const codeOf = (r: Rule) => {
    try {
      checkRules({ version: 1n, rules: [r] });
      return 'ok';
    } catch (e) {
      return (e as RulesCodecError).code;
    }
  };
  assert.equal(codeOf(watchRule('soft', 3n)), 'ok');
  assert.equal(codeOf(watchRule('soft', 4n)), 'PARAMS');
  assert.equal(codeOf(watchRule('soft', 0n)), 'PARAMS');
  assert.equal(codeOf(watchRule('soft', 1n, 0n)), 'PARAMS');
  assert.equal(codeOf(watchRule('soft', 1n, 100n)), 'PARAMS');
  assert.equal(codeOf({ ...watchRule('soft', 1n), limitMinor: 5n }), 'PARAMS');
  assert.deepEqual(decodeRules(encodeRules({ version: 2n, rules: [watchRule('monitor', 2n)] })).rules, [watchRule('monitor', 2n)]);
});
