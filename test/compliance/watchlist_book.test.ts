// Watchlist screening, cases and the suspicious-activity export at an FI's book, on both engines:
// an import with one bad line changes nothing; expired entries never match; the name is screened
// at KYC, deposit and withdrawal with hard (refused, naming the rule), soft (refused until an
// operator overrides the alert) and monitor (alert only) rules; cases and notes land in the
// chained log, which a tampered note breaks; the export reads back from JSON and from CSV.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, type RuleSet } from '../../src/compliance/index.ts';
import { FiLedger } from '../../src/ledger/fi/book.ts';
import { changeAlert, listAlerts } from '../../src/ledger/fi/compliance.ts';
import { addCaseAlert, addCaseNote, closeCase, listCases, loadCase, openCase } from '../../src/ledger/fi/compliance_cases.ts';
import { CSV_COLUMNS, exportCase, exportCsv } from '../../src/ledger/fi/compliance_export.ts';
import { verifyComplianceLog } from '../../src/ledger/fi/compliance_log.ts';
import { importWatchlist, listWatchlist, screenIdentity } from '../../src/ledger/fi/watchlist.ts';
import { rowBigint } from '../../src/ledger/db/adapter.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { ENGINES, countingRng, fakeClock, freshDb, type FreshDb } from '../ledger/engines.ts';
import { parseCsv } from './csv.ts';

// Three rules of rising minimum risk: a high-risk entry hits all three (hard decides), a medium one
// the soft and the monitor rule, a low one the monitor rule only.
const RULES: RuleSet = {
  version: 1n,
  rules: [
    { id: 'wl-hard', kind: 'watchlist.match', mode: 'hard', severity: 'high', limitMinor: 0n, count: 3n, windowMs: 0n, bandPercent: 85n },
    { id: 'wl-soft', kind: 'watchlist.match', mode: 'soft', severity: 'medium', limitMinor: 0n, count: 2n, windowMs: 0n, bandPercent: 85n },
    { id: 'wl-watch', kind: 'watchlist.match', mode: 'monitor', severity: 'low', limitMinor: 0n, count: 1n, windowMs: 0n, bandPercent: 85n },
  ],
};
const code = (c: string, ...words: string[]) => (e: unknown) => e instanceof LedgerError && e.code === c && words.every((w) => e.message.includes(w));
const line = (name: string, risk: string, expiry = '2030-12-31', aliases = '') => `${name},${aliases},,,${risk},TEST-LIST,${expiry}`;
const HEADER = 'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date';
const EERO = { name: 'Eero Expiring', dateOfBirth: null, country: null };

for (const engine of ENGINES) {
  describe(`watchlist screening, cases and export on ${engine}`, () => {
    let fresh: FreshDb;
    let fi: FiLedger;
    const clock = fakeClock();
    const rng = countingRng(`watchlist-${engine}`);
    const d = () => ({ db: fi.db, rules: RULES, rng, nowMs: clock.nowMs() });
    const count = async (table: string) => rowBigint((await fi.db.query(`SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ${table}`))[0]!, 'n');
    const register = (name: string, key: string) => fi.registerCustomer({ tier: 1, identity: { name }, idempotencyKey: key });
    const append = (...lines: string[]) => importWatchlist(d(), 'op-list', { format: 'csv', mode: 'append', data: [HEADER, ...lines].join('\n') });

    before(async () => {
      fresh = await freshDb(engine);
      fi = await FiLedger.open({ db: fresh.db, fiId: 'fi-w', clock, rng, rules: RULES });
      await fi.creditTreasury({ amountMinor: 10_000_000n, idempotencyKey: 'treasury' });
    });
    after(async () => fresh.cleanup());

    test('an import with one malformed line imports nothing and names the line; replace and append are logged', async () => {
      await assert.rejects(append(line('Hana Hardy', 'high'), line('Bad Risk', 'severe')), code('BAD_REQUEST', 'Watchlist line 3', 'riskLevel', 'nothing imported'));
      await assert.rejects(importWatchlist(d(), 'op-list', { format: 'json', mode: 'replace', data: '{"name":"A","riskLevel":"low","listSource":"L","expiryDate":"2030-01-01"}\n{' }), code('BAD_REQUEST', 'Watchlist line 2'));
      assert.equal(await count('watchlist_entries'), 0n);
      assert.equal((await verifyComplianceLog(fi.db)).entries, 0n);
      assert.deepEqual(await append(line('Someone Else', 'low')), { importId: (await listWatchlist(fi.db))[0]?.importId ?? 'none', imported: 1, total: 1 });
      const r = await importWatchlist(d(), 'op-list', { format: 'csv', mode: 'replace', data: [HEADER, line('Hana Hardy', 'high'), line('Sofia Softer', 'medium'), line('Mona Watcher', 'low', '2030-12-31', 'Mona W.')].join('\n') });
      assert.deepEqual([r.imported, r.total], [3, 3]);
      assert.deepEqual((await listWatchlist(fi.db)).map((e) => [e.name, e.riskLevel, e.aliases]), [['Hana Hardy', 'high', []], ['Sofia Softer', 'medium', []], ['Mona Watcher', 'low', ['Mona W.']]]);
      const log = await fi.db.query("SELECT actor, detail FROM compliance_log WHERE action = 'watchlist.import' ORDER BY seq");
      assert.deepEqual(log.map((x) => [x['actor'], JSON.parse(String(x['detail'])).mode]), [['op-list', 'append'], ['op-list', 'replace']]);
    });

    test('an entry matches through its expiry date and never after', async () => {
      const today = new Date(clock.nowMs()).toISOString().slice(0, 10);
      await append(line('Eero Expiring', 'low', today));
      assert.deepEqual((await screenIdentity(fi.db, RULES, EERO, clock.nowMs())).map((m) => m.entryName), ['Eero Expiring']);
      const midnight = Date.parse(`${today}T00:00:00Z`) + DAY_MS;
      assert.deepEqual((await screenIdentity(fi.db, RULES, EERO, midnight - 1)).length, 1);
      assert.deepEqual(await screenIdentity(fi.db, RULES, EERO, midnight), []);
      clock.advance(midnight - clock.nowMs());
      const c = await register('Eero Expiring', 'eero/kyc');
      assert.deepEqual(await listAlerts(fi.db, c.customerId), [], 'an expired entry raises nothing');
    });

    test('KYC: a hard hit refuses registration naming the rule, with its alert and no customer', async () => {
      const customers = await count('customers');
      await assert.rejects(register('HARDY, Hana', 'hana/kyc'), code('RULE_REFUSED', 'wl-hard', 'Hana Hardy', 'score 100'));
      assert.equal(await count('customers'), customers);
      const alerts = await listAlerts(fi.db, 'applicant:hana/kyc');
      assert.deepEqual(alerts.map((a) => a.ruleId).sort(), ['wl-hard', 'wl-soft', 'wl-watch']);
      await assert.rejects(register('Hana Hardy', 'hana/kyc'), code('RULE_REFUSED'), 'a retry is screened again, not answered as stored');
    });

    test('KYC: a soft hit needs an override; the retry registers and the applicant\'s alerts become the customer\'s', async () => {
      await assert.rejects(register('Softer, Sofia', 'sofia/kyc'), code('RULE_OVERRIDE_REQUIRED', 'wl-soft'));
      const soft = (await listAlerts(fi.db, 'applicant:sofia/kyc')).find((a) => a.ruleId === 'wl-soft')!;
      const applicantCase = await openCase(d(), 'op-kyc', 'applicant:sofia/kyc', [soft.id]);
      await changeAlert(d(), soft.id, 'op-kyc', { action: 'override', reason: 'a different person: passport seen' });
      const { customerId } = await register('Softer, Sofia', 'sofia/kyc');
      assert.equal((await loadCase(fi.db, applicantCase.id)).customerId, customerId, 'the applicant\'s case follows the customer');
      assert.deepEqual(await listAlerts(fi.db, 'applicant:sofia/kyc'), []);
      const mine = await listAlerts(fi.db, customerId);
      assert.ok(mine.some((a) => a.id === soft.id), 'the overridden alert follows the customer');
      const links = await fi.db.query("SELECT alert_id FROM compliance_log WHERE action = 'alert.link' ORDER BY seq");
      assert.ok(links.some((r) => r['alert_id'] === soft.id), 'each moved alert is an alert.link entry');
      assert.equal((await verifyComplianceLog(fi.db)).ok, true);
    });

    test('KYC: a monitor hit registers and alerts', async () => {
      const { customerId } = await register('Mona W', 'mona/kyc');
      assert.deepEqual((await listAlerts(fi.db, customerId)).map((a) => [a.ruleId, a.status]), [['wl-watch', 'open']]);
      assert.match((await listAlerts(fi.db, customerId))[0]!.detail, /Mona Watcher.*as "Mona W\.".*score \d+/);
    });

    test('deposit and withdrawal: hard refuses, soft needs an override, monitor alerts; a refusal moves nothing', async () => {
      const onboard = async (name: string) => {
        const slug = name.replace(/ /g, '-');
        const { customerId } = await register(name, `${slug}/kyc`);
        const { accountId } = await fi.openAccount({ customerId, idempotencyKey: `${slug}/open` });
        await fi.deposit({ accountId, amountMinor: 5_000n, idempotencyKey: `${slug}/dep0` });
        return { customerId, accountId };
      };
      const hard = await onboard('Olli Hardliner');
      const soft = await onboard('Siiri Softline');
      const watch = await onboard('Milo Monitored');
      await append(line('Olli Hardliner', 'high'), line('Siiri Softline', 'medium'), line('Milo Monitored', 'low'));
      const before = [await fi.balance(hard.accountId), await count('journal_transactions'), await count('idempotency_keys')];
      for (const op of ['deposit', 'withdraw'] as const) {
        await assert.rejects(fi[op]({ accountId: hard.accountId, amountMinor: 100n, idempotencyKey: `olli/${op}` }), code('RULE_REFUSED', 'wl-hard', 'Olli Hardliner'));
      }
      assert.deepEqual([await fi.balance(hard.accountId), await count('journal_transactions'), await count('idempotency_keys')], before);
      await assert.rejects(fi.withdraw({ accountId: soft.accountId, amountMinor: 100n, idempotencyKey: 'siiri/wd' }), code('RULE_OVERRIDE_REQUIRED', 'wl-soft'));
      const alert = (await listAlerts(fi.db, soft.customerId)).find((a) => a.ruleId === 'wl-soft')!;
      await changeAlert(d(), alert.id, 'op-desk', { action: 'override', reason: 'known customer, name clash' });
      assert.equal((await fi.withdraw({ accountId: soft.accountId, amountMinor: 100n, idempotencyKey: 'siiri/wd' })).balanceMinor, 4_900n);
      await assert.rejects(fi.deposit({ accountId: soft.accountId, amountMinor: 100n, idempotencyKey: 'siiri/dep' }), code('RULE_OVERRIDE_REQUIRED'), 'an override is used once');
      assert.equal((await fi.deposit({ accountId: watch.accountId, amountMinor: 100n, idempotencyKey: 'milo/dep' })).balanceMinor, 5_100n);
      assert.equal((await fi.withdraw({ accountId: watch.accountId, amountMinor: 100n, idempotencyKey: 'milo/wd' })).balanceMinor, 5_000n);
      assert.deepEqual((await listAlerts(fi.db, watch.customerId)).map((a) => [a.ruleId, a.count]), [['wl-watch', 2n]]);
    });

    test('cases: opened on first assignment or by hand, alerts added, notes and closing in the chained log; a tampered note breaks it', async () => {
      const { customerId } = await register('Kaisa Casework', 'kaisa/kyc');
      const { accountId } = await fi.openAccount({ customerId, idempotencyKey: 'kaisa/open' });
      await fi.deposit({ accountId, amountMinor: 700n, idempotencyKey: 'kaisa/dep0' });
      clock.advance(1_000);
      await append(line('Kaisa Casework', 'low'));
      await fi.deposit({ accountId, amountMinor: 300n, idempotencyKey: 'kaisa/dep1' });
      const [first] = await listAlerts(fi.db, customerId);
      await changeAlert(d(), first!.id, 'op-case', { action: 'assign', assignee: 'Ann' });
      const [opened] = await listCases(fi.db, customerId);
      assert.deepEqual([opened!.status, opened!.alertIds, opened!.openedBy], ['open', [first!.id], 'op-case']);
      await assert.rejects(addCaseAlert(d(), 'op-case', opened!.id, first!.id), code('BAD_REQUEST', 'already'));
      const other = (await listAlerts(fi.db)).find((a) => a.customerId !== customerId)!;
      await assert.rejects(addCaseAlert(d(), 'op-case', opened!.id, other.id), code('BAD_REQUEST', 'of customer'));
      await assert.rejects(openCase(d(), 'op-case', 'cus_nobody'), code('NOT_FOUND'));
      await addCaseNote(d(), 'op-case', opened!.id, 'Called the customer: "salary", payslip requested.');
      await addCaseNote(d(), 'op-note', opened!.id, 'Payslip received, amounts match');
      await assert.rejects(addCaseNote(d(), 'op-note', opened!.id, '   '), code('BAD_REQUEST'));
      const closed = await closeCase(d(), 'op-case', opened!.id, 'explained by salary');
      assert.deepEqual([closed.status, closed.closeReason, closed.notes.map((n) => n.author)], ['closed', 'explained by salary', ['op-case', 'op-note']]);
      await assert.rejects(closeCase(d(), 'op-case', opened!.id, 'again'), code('BAD_REQUEST', 'closed already'));
      await assert.rejects(addCaseAlert(d(), 'op-case', opened!.id, first!.id), code('BAD_REQUEST'));
      const byHand = await openCase(d(), 'op-case', customerId);
      assert.deepEqual([byHand.alertIds, (await listCases(fi.db, customerId)).length], [[], 2]);
      const actions = (await fi.db.query('SELECT action, actor FROM compliance_log WHERE alert_id = $1 ORDER BY seq', [opened!.id])).map((r) => [r['action'], r['actor']]);
      assert.deepEqual(actions, [['case.open', 'op-case'], ['case.add-alert', 'op-case'], ['case.note', 'op-case'], ['case.note', 'op-note'], ['case.close', 'op-case']]);
      assert.equal((await verifyComplianceLog(fi.db)).ok, true);
      const seq = rowBigint((await fi.db.query("SELECT seq FROM compliance_log WHERE action = 'case.note' ORDER BY seq"))[0]!, 'seq');
      const original = String((await fi.db.query('SELECT detail FROM compliance_log WHERE seq = $1', [seq]))[0]!['detail']);
      await fi.db.run('UPDATE compliance_log SET detail = $1 WHERE seq = $2', ['{"text":"nothing to see"}', seq]);
      const broken = await verifyComplianceLog(fi.db);
      assert.deepEqual([broken.ok, broken.broken?.seq], [false, seq]);
      await fi.db.run('UPDATE compliance_log SET detail = $1 WHERE seq = $2', [original, seq]);
      assert.equal((await verifyComplianceLog(fi.db)).ok, true);
    });

    test('the export reads back from JSON and from CSV, with the KYC identity and the online events, and is logged with who exported', async () => {
      const c = (await listCases(fi.db, (await fi.db.query("SELECT id FROM customers WHERE identity_json LIKE '%Kaisa%'"))[0]!['id'] as string)).find((k) => k.status === 'closed');
      const x = await exportCase(fi.db, c!.id, 'auditor-1', 'json', clock.nowMs());
      const back = JSON.parse(JSON.stringify(x));
      assert.deepEqual(back.case.id, c!.id);
      assert.deepEqual(back.alerts.map((a: { id: string }) => a.id), c!.alertIds);
      assert.deepEqual(back.notes.map((n: { text: string }) => n.text), ['Called the customer: "salary", payslip requested.', 'Payslip received, amounts match']);
      assert.deepEqual(back.customer.identity, { name: 'Kaisa Casework' });
      assert.deepEqual(back.events.map((e: { kind: string; amountMinor: string }) => [e.kind, e.amountMinor]), [['deposit', '700'], ['deposit', '300']]);
      const rows = parseCsv(exportCsv(await exportCase(fi.db, c!.id, 'auditor-2', 'csv', clock.nowMs())));
      assert.deepEqual(rows[0], [...CSV_COLUMNS]);
      const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
      const section = (s: string) => rows.filter((r) => r[0] === s);
      assert.equal(section('case')[0]![col('id')], c!.id);
      assert.deepEqual(section('alert').map((r) => r[col('id')]), c!.alertIds);
      assert.deepEqual(section('note').map((r) => r[col('detail')]), back.notes.map((n: { text: string }) => n.text));
      assert.deepEqual(JSON.parse(section('customer')[0]![col('detail')]!), { name: 'Kaisa Casework' });
      assert.deepEqual(section('event').map((r) => [r[col('kind')], r[col('amount_minor')]]), [['deposit', '700'], ['deposit', '300']]);
      assert.ok(rows.every((r) => r.length === CSV_COLUMNS.length));
      const exports = (await fi.db.query("SELECT actor, detail FROM compliance_log WHERE action = 'case.export' AND alert_id = $1 ORDER BY seq", [c!.id])).map((r) => [r['actor'], JSON.parse(String(r['detail'])).format]);
      assert.deepEqual(exports, [['auditor-1', 'json'], ['auditor-2', 'csv']]);
      assert.equal((await verifyComplianceLog(fi.db)).ok, true);
      await assert.rejects(exportCase(fi.db, 'case_unknown', 'auditor-1', 'json', clock.nowMs()), code('NOT_FOUND'));
      assert.deepEqual((await loadCase(fi.db, c!.id)).notes.length, 2);
    });
  });
}
