// The alerts screen in headless Chromium over the embedded app on SQLite: money moved past a rule
// raises an alert, a bank's operator sees it and resolves it with a reason typed into the page,
// the compliance log's chain stays intact; the bank's auditor sees the alert but gets no resolve
// form, and the route refuses them.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { consoleWorld, openScreen, shot, signIn, skipWithoutChromium, tab } from './browser.ts';
import { Tier } from '../../src/policy/limits.ts';
import { fundFi, newCustomer } from '../ledger/offline_world.ts';

describe('the alerts screen in headless Chromium', { skip: skipWithoutChromium('alerts browser test') }, () => {
  let customerId: string;
  const tokens: Record<string, string> = {};

  const w = consoleWorld('alerts-browser', { verifyWorkers: 0 }, async (net) => {
    await fundFi(net, net.fiA, 12_000_000n, 'fund-a');
    const eve = await newCustomer(net.fiA, 'eve', Tier.full);
    customerId = eve.customerId;
    // The default rule set watches holdings above 100 000.00 (holding-watch, monitor): two deposits
    // of 60 000.00 go through and the second raises the alert.
    for (const k of ['1', '2']) await net.fiA.ledger.deposit({ accountId: eve.accountId, amountMinor: 6_000_000n, idempotencyKey: `eve/deposit-${k}` });
    tokens['operator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
    tokens['auditor'] = (await addOperator(net.fiA.db, { name: 'Audrey Auditor', role: 'auditor' })).token;
  });

  test('exceeding a rule raises an alert; the operator resolves it in the page; the log chain holds', async () => {
    const [alert] = (await w.net.fiA.alerts(customerId)).filter((a) => a.ruleId === 'holding-watch');
    assert.ok(alert !== undefined && alert.status === 'open', 'the second deposit raised the holding alert');
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['operator']!);
    await openScreen(page, 'alerts');
    const row = page.locator('#alerts tr', { hasText: alert.id });
    assert.match(await row.textContent() ?? '', /holding-watch \(monitor\).*open/);
    assert.match(await page.textContent('#compliance-log') ?? '', /chain intact/);
    await shot(page, 'fi-alerts');
    await page.fill(`#reason-${alert.id}`, 'Salary and savings, documents seen');
    await page.evaluate(() => { document.body.dataset.ready = 'false'; });
    await page.click(`#resolve-${alert.id} button`);
    await page.waitForSelector('body[data-ready="true"][data-screen="alerts"]');
    assert.match(await page.locator('#alerts tr', { hasText: alert.id }).textContent() ?? '', /resolved.*Salary and savings, documents seen/);
    assert.equal(await page.locator(`#resolve-${alert.id}`).count(), 0, 'no resolve form on a resolved alert');
    const stored = (await w.net.fiA.alerts(customerId)).find((a) => a.id === alert.id)!;
    assert.equal(stored.status, 'resolved');
    assert.equal(stored.resolutionReason, 'Salary and savings, documents seen');
    const check = await w.net.fiA.verifyComplianceLog();
    assert.equal(check.ok, true);
    assert.match(await page.textContent('#compliance-log') ?? '', new RegExp(`${check.entries} entries, chain intact`));
    await shot(page, 'fi-alerts-resolved');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the auditor sees the alerts but cannot resolve one: no form, and the route answers 403', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['auditor']!);
    await openScreen(page, 'alerts');
    assert.ok(await page.locator('#alerts tbody tr').count() >= 1);
    assert.equal(await page.locator('form.resolve').count(), 0);
    const [alert] = await w.net.fiA.alerts(customerId);
    const status = await page.evaluate(async ([t, id]) => (await fetch(`/fi/fi-a/compliance/alerts/${id}`, {
      method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'resolve', text: 'not mine to close' }),
    })).status, [tokens['auditor']!, alert!.id] as const);
    assert.equal(status, 403);
    assert.equal((await w.net.fiA.alerts(customerId)).find((a) => a.id === alert!.id)!.resolutionReason === 'not mine to close', false, 'nothing changed');
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
