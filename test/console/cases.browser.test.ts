// The cases screen in headless Chromium over the embedded app on SQLite: a customer on the
// watchlist raises an alert, a bank's operator opens a case for the customer in the page, the
// assignment-free case lists, the operator opens it and adds a note typed into the page, and the
// note lands in the chained compliance log; the bank's auditor sees the case but gets no forms.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { consoleWorld, openScreen, shot, signIn, skipWithoutChromium, tab } from './browser.ts';
import { Tier } from '../../src/policy/limits.ts';
import { fundFi, newCustomer } from '../ledger/offline_world.ts';

describe('the cases screen in headless Chromium', { skip: skipWithoutChromium('cases browser test') }, () => {
  let customerId: string;
  const tokens: Record<string, string> = {};

  const w = consoleWorld('cases-browser', { verifyWorkers: 0 }, async (net) => {
    await fundFi(net, net.fiA, 100_000n, 'fund-a');
    const c = await newCustomer(net.fiA, 'kalle-katsottu', Tier.full);
    customerId = c.customerId;
    tokens['operator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
    tokens['auditor'] = (await addOperator(net.fiA.db, { name: 'Audrey Auditor', role: 'auditor' })).token;
    // The default rules' watchlist.match is soft: a listed customer's deposit needs an override, and raises the alert.
    await net.fiA.compliance.importWatchlist({ format: 'json', mode: 'replace', data: JSON.stringify({ name: 'Kalle Katsottu', riskLevel: 'medium', listSource: 'TEST', expiryDate: '2030-12-31' }) }, 'op-list');
    await assert.rejects(net.fiA.ledger.deposit({ accountId: c.accountId, amountMinor: 100n, idempotencyKey: 'kalle/dep' }));
  });

  test('the operator opens a case in the page, opens it and adds a note; the note is in the chained log', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['operator']!);
    await openScreen(page, 'cases');
    assert.match(await page.textContent('#cases-card') ?? '', /No cases\./);
    await page.fill('#case-customer', customerId);
    await page.evaluate(() => { document.body.dataset.ready = 'false'; });
    await page.click('#case-open button');
    await page.waitForSelector('body[data-ready="true"][data-screen="cases"]');
    const [c] = await w.net.fiA.compliance.cases(customerId);
    assert.ok(c !== undefined, 'the form opened a case');
    await page.click(`#case-${c.id} summary`);
    await page.fill(`#note-text-${c.id}`, 'Customer called: name clash, passport copy requested');
    await page.evaluate(() => { document.body.dataset.ready = 'false'; });
    await page.click(`#note-${c.id} button`);
    await page.waitForSelector('body[data-ready="true"][data-screen="cases"]');
    assert.equal(await page.locator(`#case-${c.id}[open]`).count(), 1, 'the case stays open after the refresh');
    assert.match(await page.textContent(`#case-notes-${c.id}`) ?? '', /name clash, passport copy requested/);
    const stored = await w.net.fiA.compliance.case(c.id);
    assert.deepEqual(stored.notes.map((n) => n.text), ['Customer called: name clash, passport copy requested']);
    assert.equal((await w.net.fiA.verifyComplianceLog()).ok, true);
    await shot(page, 'fi-cases');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the auditor sees the case but gets no forms, and the note route answers 403', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['auditor']!);
    await openScreen(page, 'cases');
    const [c] = await w.net.fiA.compliance.cases(customerId);
    assert.equal(await page.locator(`#case-${c!.id}`).count(), 1);
    assert.equal(await page.locator('form').count(), 0);
    const status = await page.evaluate(async ([t, id]) => (await fetch(`/fi/fi-a/compliance/cases/${id}/notes`, {
      method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'not mine to write' }),
    })).status, [tokens['auditor']!, c!.id] as const);
    assert.equal(status, 403);
    assert.equal((await w.net.fiA.compliance.case(c!.id)).notes.length, 1);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
