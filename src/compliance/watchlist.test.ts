// The watchlist's pure parts: the strict import parser (CSV and JSON Lines; a bad line is refused
// with its line number and nothing is returned), name normalisation, the fuzzy score at and just
// under a rule's threshold, and the watchlist.match rule's modes and minimum risk level.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluate } from './evaluate.ts';
import { checkRules, decodeRules, encodeRules, RulesCodecError, type Rule, type RuleSet } from './rules.ts';
import { matchName, normaliseName, type WatchlistEntry } from './watchlist_match.ts';
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
  assert.equal(at('hard').hits[0]!.detail, 'name matches watchlist entry wle_a "Ivan Petrov" (as "Ivan Petrov"; list UN, risk high) with score 100 (threshold 85)');
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
