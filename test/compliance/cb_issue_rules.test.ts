// Hard and soft fi.net_issuance rules at the CB's issue path (cb/aggregate_rules.ts screenIssue),
// through the real CB on SQLite and PostgreSQL: an issuance that takes the FI's net issuance in the
// window to the threshold goes through; one unit more is refused naming the rule and its alert,
// with no money moved. A hard rule refuses until the window moves on or a redemption makes room; a
// soft one refuses until a CB operator overrides its alert over HTTP, and the override lets one
// issuance through (the retry under the same key) and is then used up. The rule parser refuses
// hard and soft for fi.in_flight_share and fi.incident_burst.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { checkRules, DAY_MS, RulesCodecError, type Rule, type RuleSet } from '../../src/compliance/index.ts';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { ENGINES } from '../ledger/engines.ts';
import { openOfflineNet, type OfflineNet } from '../ledger/offline_world.ts';

const rule = (r: Partial<Rule> & Pick<Rule, 'id' | 'kind'>): Rule => ({ mode: 'monitor', severity: 'high', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 0n, ...r });
const CB_RULES: RuleSet = {
  version: 3n,
  rules: [
    rule({ id: 'issuance-cap', kind: 'fi.net_issuance', mode: 'hard', limitMinor: 2_000_000n, windowMs: BigInt(DAY_MS) }),
    rule({ id: 'issuance-review', kind: 'fi.net_issuance', mode: 'soft', limitMinor: 1_000_000n, windowMs: BigInt(DAY_MS) }),
  ],
};

const refusedWith = (code: string, pattern: RegExp) => (e: unknown) => e instanceof LedgerError && e.code === code && pattern.test(e.message);

test('the rule parser refuses hard or soft for fi.in_flight_share and fi.incident_burst, and takes them for fi.net_issuance', () => {
  for (const [kind, p] of [['fi.in_flight_share', { limitMinor: 10n, bandPercent: 50n }], ['fi.incident_burst', { count: 2n, windowMs: 1_000n }]] as const) {
    for (const mode of ['hard', 'soft'] as const) {
      assert.throws(() => checkRules({ version: 1n, rules: [rule({ id: 'x', kind, mode, ...p })] }),
        (e: unknown) => e instanceof RulesCodecError && e.code === 'PARAMS' && e.message.includes(`(${kind}) must be monitor, not ${mode}: what it measures exists only after the move`));
    }
    assert.doesNotThrow(() => checkRules({ version: 1n, rules: [rule({ id: 'x', kind, ...p })] }));
  }
  assert.doesNotThrow(() => checkRules(CB_RULES));
});

for (const engine of ENGINES) describe(`hard and soft fi.net_issuance at the CB's issue path on ${engine}`, () => {
  let net: OfflineNet;
  let app: FastifyInstance;
  let token: string;
  before(async () => {
    net = await openOfflineNet(engine, `cb-issue-rules-${engine}`, { cbRules: CB_RULES, verifyWorkers: 0 });
    token = (await addOperator(net.cb.db, { name: 'Cora Operator', role: 'cb-operator' })).token;
    app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA, net.fiB] });
  });
  after(async () => {
    await app?.close();
    await net?.cleanup();
  });
  const issue = (fiId: string, amountMinor: bigint, key: string) => net.cb.ledger.issue({ fiId, amountMinor, idempotencyKey: key });
  const reserve = (fiId: string) => net.cb.ledger.reserveBalance(fiId);
  const alertOf = async (fiId: string, ruleId: string) => (await net.cb.complianceAlerts(fiId)).find((a) => a.ruleId === ruleId);

  test('soft: up to the threshold goes through; one unit more needs an override, which lets that issuance through once', async () => {
    await issue('fi-a', 600_000n, 'a/1');
    await issue('fi-a', 400_000n, 'a/2');
    assert.equal(await reserve('fi-a'), 1_000_000n, 'exactly at the soft threshold: through');
    assert.equal(await alertOf('fi-a', 'issuance-review'), undefined, 'and no alert');
    await assert.rejects(issue('fi-a', 1n, 'a/3'), refusedWith('RULE_OVERRIDE_REQUIRED', /issuance-review .*net issuance 1000001 .*alerts alr_/));
    assert.equal(await reserve('fi-a'), 1_000_000n, 'no money moved');
    const alert = await alertOf('fi-a', 'issuance-review');
    assert.deepEqual([alert?.status, alert?.mode], ['open', 'soft']);
    const log = await net.cb.verifyComplianceLog();
    const override = (reason: string, key: string) =>
      app.inject({ method: 'POST', url: `/cb/compliance/alerts/${alert!.id}/override`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key }, payload: JSON.stringify({ reason }) });
    assert.equal((await override('', 'ov-empty')).statusCode, 400, 'a reason is needed');
    assert.deepEqual(await net.cb.verifyComplianceLog(), log, 'a refused override writes nothing');
    const granted = await override('quarter-end liquidity, agreed with the FI', 'ov-1');
    assert.equal(granted.statusCode, 200, granted.body);
    assert.equal(granted.json().alert.resolutionReason, 'override: quarter-end liquidity, agreed with the FI');
    await issue('fi-a', 1n, 'a/3');
    assert.equal(await reserve('fi-a'), 1_000_001n, 'the retry under the same key goes through after the override');
    await issue('fi-a', 1n, 'a/3');
    assert.equal(await reserve('fi-a'), 1_000_001n, 'a replay is answered, not screened nor moved again');
    await assert.rejects(issue('fi-a', 1n, 'a/4'), refusedWith('RULE_OVERRIDE_REQUIRED', /issuance-review/), 'the override is used up');
    assert.equal(await reserve('fi-a'), 1_000_001n);
    const actions = (await net.cb.db.query("SELECT action FROM compliance_log WHERE alert_id = $1 ORDER BY seq", [alert!.id])).map((r) => r['action']);
    assert.deepEqual(actions, ['alert.open', 'alert.override', 'alert.hit', 'alert.override-used', 'alert.hit']);
    assert.equal((await net.cb.verifyComplianceLog()).ok, true);
  });

  test('hard: up to the threshold goes through (with the soft rule overridden); one unit more is refused naming the rule, an override does not help', async () => {
    await net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 1_000_000n, idempotencyKey: 'b/1' });
    await assert.rejects(issue('fi-b', 1_000_000n, 'b/2'), refusedWith('RULE_OVERRIDE_REQUIRED', /issuance-review/));
    const soft = await alertOf('fi-b', 'issuance-review');
    await net.cb.overrideComplianceAlert(soft!.id, 'agreed', 'op-test');
    await issue('fi-b', 1_000_000n, 'b/2');
    assert.equal(await reserve('fi-b'), 2_000_000n, 'exactly at the hard threshold: through');
    assert.equal(await alertOf('fi-b', 'issuance-cap'), undefined);
    await assert.rejects(issue('fi-b', 1n, 'b/3'), refusedWith('RULE_REFUSED', /issuance-cap .*net issuance 2000001 .*above the limit 2000000.* refuses this issuance of 1 to FI fi-b/));
    assert.equal(await reserve('fi-b'), 2_000_000n, 'no money moved');
    const hard = await alertOf('fi-b', 'issuance-cap');
    assert.deepEqual([hard?.status, hard?.mode], ['open', 'hard']);
    await assert.rejects(net.cb.overrideComplianceAlert(hard!.id, 'please', 'op-test'), refusedWith('BAD_REQUEST', /only a soft rule can be overridden/));
    await assert.rejects(issue('fi-b', 1n, 'b/3'), refusedWith('RULE_REFUSED', /issuance-cap/), 'the retry is refused again');
    // A redemption makes room: net issuance is issued minus redeemed.
    await net.cb.ledger.redeem({ fiId: 'fi-b', amountMinor: 1n, idempotencyKey: 'b/redeem' });
    await assert.rejects(issue('fi-b', 1n, 'b/4'), refusedWith('RULE_OVERRIDE_REQUIRED', /issuance-review/), 'the soft rule still stands above 1 000 000');
    await net.cb.overrideComplianceAlert(soft!.id, 'agreed again', 'op-test');
    await issue('fi-b', 1n, 'b/4');
    assert.equal(await reserve('fi-b'), 2_000_000n);
  });
});
