// The watchlist screen and the CB's alerts screen in headless Chromium over the embedded app on
// SQLite. A bank's operator pastes a list with one bad line: the page shows the node's refusal
// naming the line and nothing is imported; the corrected list imports and lists. The bank's
// auditor sees the entries with no form and the import route answers 403. At the CB, a bank's
// issuance above the CB's aggregate rule raises an alert that the CB operator resolves with a
// reason typed into the page, logged in the CB's chain; the CB's auditor gets no form.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { RuleSet } from '../../src/compliance/index.ts';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { consoleWorld, openScreen, shot, signIn, skipWithoutChromium, statusFrom, tab } from './browser.ts';
import { fundFi } from '../ledger/offline_world.ts';

const HEADER = 'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date';
const GOOD = `${HEADER}\r\nOlga Marchenko,O. Marchenko;Olha Marchenko,1970-02-03,UA,high,TEST sanctions,2099-12-31\r\nKarl Beispiel,,,,low,TEST pep,2099-06-30\r\n`;
const BAD_LINE_3 = `${HEADER}\r\nOlga Marchenko,,,,high,TEST sanctions,2099-12-31\r\nKarl Beispiel,,,,severe,TEST pep,2099-06-30\r\n`;

/** One issuance to an FI above this in a day raises the CB's alert. */
const CB_RULES: RuleSet = {
  version: 1n,
  rules: [{ id: 'fi-issuance-day', kind: 'fi.net_issuance', mode: 'monitor', severity: 'medium', limitMinor: 50_000n, count: 0n, windowMs: 86_400_000n, bandPercent: 0n }],
};

async function submitAndWait(page: Page, button: string, screen: string): Promise<void> {
  await page.evaluate(() => { document.body.dataset.ready = 'false'; });
  await page.click(button);
  await page.waitForSelector(`body[data-ready="true"][data-screen="${screen}"]`);
}

describe('the watchlist and CB alerts screens in headless Chromium', { skip: skipWithoutChromium('watchlist browser test') }, () => {
  const tokens: Record<string, string> = {};

  const w = consoleWorld('watchlist-browser', { verifyWorkers: 0, cbRules: CB_RULES }, async (net) => {
    await fundFi(net, net.fiA, 100_000n, 'fund-a');
    tokens['operator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
    tokens['auditor'] = (await addOperator(net.fiA.db, { name: 'Audrey Auditor', role: 'auditor' })).token;
    tokens['cb-operator'] = (await addOperator(net.cb.db, { name: 'Cora CB', role: 'cb-operator' })).token;
    tokens['cb-auditor'] = (await addOperator(net.cb.db, { name: 'Abe CB Auditor', role: 'auditor' })).token;
  });

  test('a list with a bad line is refused naming the line and imports nothing; the corrected one lists', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['operator']!);
    await openScreen(page, 'watchlist');
    assert.match(await page.textContent('#watchlist-card h2') ?? '', /0 entries/);
    await page.fill('#watchlist-data', BAD_LINE_3);
    await page.click('#watchlist-import button');
    await page.waitForSelector('#watchlist-import-status.error');
    assert.match(await page.textContent('#watchlist-import-status') ?? '', /^400 .*line 3/);
    assert.deepEqual(await w.net.fiA.compliance.watchlist(), []);
    await page.fill('#watchlist-data', GOOD);
    await page.selectOption('#watchlist-mode', 'replace');
    await submitAndWait(page, '#watchlist-import button', 'watchlist');
    const text = await page.textContent('#watchlist') ?? '';
    assert.match(text, /Olga Marchenko/);
    assert.match(text, /aka O\. Marchenko; Olha Marchenko/);
    assert.match(text, /Karl Beispiel/);
    assert.deepEqual((await w.net.fiA.compliance.watchlist()).map((e) => e.name).sort(), ['Karl Beispiel', 'Olga Marchenko']);
    assert.equal((await w.net.fiA.verifyComplianceLog()).ok, true);
    await shot(page, 'fi-watchlist');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the bank auditor sees the entries, no import form, and the import route answers 403', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['auditor']!);
    await openScreen(page, 'watchlist');
    assert.equal(await page.locator('#watchlist-import').count(), 0);
    const before = (await w.net.fiA.compliance.watchlist()).length;
    const status = await page.evaluate(async ([t, data]) => (await fetch('/fi/fi-a/compliance/watchlist', {
      method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ format: 'csv', mode: 'replace', data }),
    })).status, [tokens['auditor']!, `${HEADER}\r\n`] as const);
    assert.equal(status, 403);
    assert.equal((await w.net.fiA.compliance.watchlist()).length, before);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the CB operator resolves the aggregate alert a bank raised; the CB auditor gets no form', async () => {
    const [alert] = await w.net.cb.complianceAlerts('fi-a');
    assert.ok(alert !== undefined && alert.status === 'open', 'the funding above the CB rule raised an open alert');
    const auditor = await tab(w.browser);
    await signIn(auditor.page, w.base, tokens['cb-auditor']!);
    await openScreen(auditor.page, 'alerts');
    assert.match(await auditor.page.textContent('#alerts') ?? '', /fi-issuance-day/);
    assert.equal(await auditor.page.locator('form').count(), 0);
    assert.equal(await statusFrom(auditor.page, '/cb/compliance/alerts', tokens['cb-auditor']!), 200);
    await auditor.page.context().close();

    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['cb-operator']!);
    await openScreen(page, 'alerts');
    assert.match(await page.textContent('#alerts') ?? '', /fi-a/);
    await page.fill(`#reason-${alert.id}`, 'quarterly reserve top-up agreed with the bank');
    await submitAndWait(page, `#resolve-${alert.id} button`, 'alerts');
    const [after] = await w.net.cb.complianceAlerts('fi-a');
    assert.equal(after!.status, 'resolved');
    assert.equal(after!.resolutionReason, 'quarterly reserve top-up agreed with the bank');
    assert.equal((await w.net.cb.verifyComplianceLog()).ok, true);
    await shot(page, 'cb-alerts');
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
