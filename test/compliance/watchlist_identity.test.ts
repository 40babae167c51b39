// Watchlist screening by date of birth and country at an FI's book, on both engines: the KYC
// record's dateOfBirth and country confirm or discount a name hit (another birth year drops it,
// a transposed day and month keeps it, another country lowers a borderline name under the
// threshold and keeps an exact one, a field on one side only changes nothing); the alert's
// detail, its chained log entry and the case export say which identifiers agreed; a malformed
// identifier is refused at registration with no customer and no alert.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuleSet } from '../../src/compliance/index.ts';
import { FiLedger } from '../../src/ledger/fi/book.ts';
import { listAlerts } from '../../src/ledger/fi/compliance.ts';
import { openCase } from '../../src/ledger/fi/compliance_cases.ts';
import { exportCase } from '../../src/ledger/fi/compliance_export.ts';
import { verifyComplianceLog } from '../../src/ledger/fi/compliance_log.ts';
import { importWatchlist } from '../../src/ledger/fi/watchlist.ts';
import { rowBigint } from '../../src/ledger/db/adapter.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { ENGINES, countingRng, fakeClock, freshDb, type FreshDb } from '../ledger/engines.ts';

// A high-risk hit refuses (hard); any risk alerts (monitor). Both at the default score 85.
const RULES: RuleSet = {
  version: 1n,
  rules: [
    { id: 'wl-hard', kind: 'watchlist.match', mode: 'hard', severity: 'high', limitMinor: 0n, count: 3n, windowMs: 0n, bandPercent: 85n },
    { id: 'wl-watch', kind: 'watchlist.match', mode: 'monitor', severity: 'low', limitMinor: 0n, count: 1n, windowMs: 0n, bandPercent: 85n },
  ],
};
const LIST = [
  'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date',
  'Ivan Petrov,,1970-02-03,RU,high,UN 1267,2030-12-31',
  'Marie-Claire Dubois,,,FR,low,national:FR,2030-12-31',
].join('\n');
const code = (c: string, ...words: string[]) => (e: unknown) => e instanceof LedgerError && e.code === c && words.every((w) => e.message.includes(w));

for (const engine of ENGINES) {
  describe(`watchlist screening by date of birth and country on ${engine}`, () => {
    let fresh: FreshDb;
    let fi: FiLedger;
    const clock = fakeClock();
    const rng = countingRng(`watchlist-identity-${engine}`);
    const count = async (table: string) => rowBigint((await fi.db.query(`SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ${table}`))[0]!, 'n');
    const register = (key: string, identity: Record<string, unknown>) => fi.registerCustomer({ tier: 1, identity, idempotencyKey: key });
    const rulesHit = async (customerId: string) => (await listAlerts(fi.db, customerId)).map((a) => a.ruleId).sort();

    before(async () => {
      fresh = await freshDb(engine);
      fi = await FiLedger.open({ db: fresh.db, fiId: 'fi-id', clock, rng, rules: RULES });
      await fi.creditTreasury({ amountMinor: 1_000_000n, idempotencyKey: 'treasury' });
      await importWatchlist({ db: fi.db, rng, nowMs: clock.nowMs() }, 'op-list', { format: 'csv', mode: 'replace', data: LIST });
    });
    after(async () => fresh.cleanup());

    test('KYC: a malformed dateOfBirth or country is BAD_REQUEST naming the field, and creates no customer and no alert', async () => {
      const [customers, alerts] = [await count('customers'), await count('compliance_alerts')];
      await assert.rejects(register('bad/dob', { name: 'Ivan Petrov', dateOfBirth: '03.02.1970' }), code('BAD_REQUEST', 'dateOfBirth', '03.02.1970'));
      await assert.rejects(register('bad/day', { name: 'Ivan Petrov', dateOfBirth: '1970-02-30' }), code('BAD_REQUEST', 'dateOfBirth'));
      await assert.rejects(register('bad/type', { name: 'Ivan Petrov', dateOfBirth: 19700203 }), code('BAD_REQUEST', 'dateOfBirth'));
      await assert.rejects(register('bad/country', { name: 'Ivan Petrov', country: 'Russia' }), code('BAD_REQUEST', 'country', 'Russia'));
      assert.deepEqual([await count('customers'), await count('compliance_alerts')], [customers, alerts]);
      const { customerId } = await register('bad/dob', { name: 'Nobody Listed', dateOfBirth: '1970-02-03', country: 'SE' });
      assert.deepEqual(await rulesHit(customerId), [], 'the key was not taken by the refusal; a well-formed record registers');
    });

    test('KYC: the same name and date of birth refuses, confirmed; another birth year registers with no alert', async () => {
      await assert.rejects(register('ivan/same', { name: 'Ivan Petrov', dateOfBirth: '1970-02-03' }), code('RULE_REFUSED', 'wl-hard', 'score 100', 'date of birth 1970-02-03: agrees'));
      const { customerId } = await register('ivan/other-year', { name: 'Ivan Petrov', dateOfBirth: '1971-02-03', country: 'RU' });
      assert.deepEqual(await rulesHit(customerId), []);
      const { accountId } = await fi.openAccount({ customerId, idempotencyKey: 'ivan/open' });
      await fi.deposit({ accountId, amountMinor: 100n, idempotencyKey: 'ivan/dep' });
      assert.deepEqual(await rulesHit(customerId), [], 'a deposit is screened with the stored date of birth too');
    });

    test('KYC: a day and month transposed still refuses at the name score; no date of birth leaves the name score', async () => {
      await assert.rejects(register('ivan/swap', { name: 'Ivan Petrov', dateOfBirth: '1970-03-02' }), code('RULE_REFUSED', 'wl-hard', 'score 100', 'day and month transposed'));
      await assert.rejects(register('ivan/bare', { name: 'Ivan Petrov' }), code('RULE_REFUSED', 'wl-hard', 'score 100 (threshold 85; name score 100; no date of birth'));
      await assert.rejects(register('ivan/same-year', { name: 'Ivan Petrov', dateOfBirth: '1970-06-30' }), code('RULE_REFUSED', 'score 90', 'same year, another day −10'));
    });

    test('another country: a borderline name (89) falls under 85, a one-letter variant (90) and an exact name stay', async () => {
      const borderline = await register('marie/de', { name: 'Marie Clare Dubois', country: 'DE' });
      assert.deepEqual(await rulesHit(borderline.customerId), []);
      const home = await register('marie/fr', { name: 'Marie Clare Dubois', country: 'FR' });
      assert.match((await listAlerts(fi.db, home.customerId))[0]!.detail, /score 89 \(threshold 85; name score 89; country FR: agrees\)$/);
      const exact = await register('marie/exact', { name: 'Dubois, Marie-Claire', country: 'DE' });
      assert.match((await listAlerts(fi.db, exact.customerId))[0]!.detail, /score 95 .*country DE, the entry's FR: differs −5/);
      await assert.rejects(register('ivan/variant', { name: 'Ivan Petrof', country: 'FI' }), code('RULE_REFUSED', 'score 85', 'name score 90'));
    });

    test('the alert\'s chained log entry and the case export carry the name score and what agreed', async () => {
      const { customerId } = await register('marie/export', { name: 'Marie-Claire Dubois', dateOfBirth: '1985-07-01', country: 'FR' });
      const [alert] = await listAlerts(fi.db, customerId);
      assert.ok(alert !== undefined);
      assert.match(alert.detail, /score 100 \(threshold 85; name score 100; country FR: agrees\)$/, 'the entry gives no date: only the country is checked');
      const logged = await fi.db.query("SELECT detail FROM compliance_log WHERE alert_id = $1 AND action = 'alert.open'", [alert.id]);
      assert.equal(JSON.parse(String(logged[0]!['detail'])).detail, alert.detail);
      const c = await openCase({ db: fi.db, rng, nowMs: clock.nowMs() }, 'op-case', customerId, [alert.id]);
      const x = await exportCase(fi.db, c.id, 'auditor', 'json', clock.nowMs());
      assert.deepEqual([x.alerts[0]!.detail, x.customer?.identity['dateOfBirth']], [alert.detail, '1985-07-01']);
      assert.equal((await verifyComplianceLog(fi.db)).ok, true);
    });

    test('a stored record whose date of birth predates the check is screened on the name alone', async () => {
      const { customerId } = await register('ivan/legacy', { name: 'Ivan Petrov', dateOfBirth: '1971-02-03' });
      await fi.db.run('UPDATE customers SET identity_json = $1 WHERE id = $2', [JSON.stringify({ name: 'Ivan Petrov', dateOfBirth: 'Feb 1971' }), customerId]);
      const { accountId } = await fi.openAccount({ customerId, idempotencyKey: 'legacy/open' });
      await assert.rejects(fi.deposit({ accountId, amountMinor: 100n, idempotencyKey: 'legacy/dep' }), code('RULE_REFUSED', 'wl-hard', 'name score 100; no date of birth'));
    });
  });
}
