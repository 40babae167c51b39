// The console's read-only screens (incidents, policy and rules, logs, banks) in headless Chromium
// over the embedded app on SQLite, with a real double spend behind them: a payer at fi-a restores
// an SE snapshot and pays payees at both banks, the CB opens the incident, books the value and a
// warrant is filed. Signs in as the CB operator, the CB auditor, fi-a's operator, fi-b's operator
// and a customer: each sees exactly its screens, an FI never another FI's data, and a customer
// none of them. Saves a screenshot of every screen to docs/console/<role>-<screen>.png.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { bytesToHex } from '@noble/hashes/utils.js';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { fileWarrant } from '../../src/ledger/cb/disclosure.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { recordSyncIncident, SyncIncidentKind } from '../../src/ledger/fi/sync_incidents.ts';
import { LOG_ENTRIES_SHOWN } from '../../src/ledger/console/screens.ts';
import { consoleWorld, openScreen, shot, signIn, skipWithoutChromium, statusFrom, tab } from './browser.ts';
import { fundFi, load, newDevice, openSe, pay, snapshot, type TestDevice } from '../ledger/offline_world.ts';

const SCREEN_ROUTES = ['incidents', 'policy', 'logs'];
const navOf = (page: Page): Promise<string[]> => page.locator('#nav a').evaluateAll((as) => as.map((a) => a.id.replace(/^nav-/, '')));

describe('the read-only screens in headless Chromium', { skip: skipWithoutChromium('screens browser test') }, () => {
  let payer: TestDevice;
  let incidentId: string;
  const tokens: Record<string, string> = {};

  const w = consoleWorld('screens-browser', { verifyWorkers: 0 }, async (net) => {
    await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
    await fundFi(net, net.fiB, 400_000n, 'fund-b');
    payer = await newDevice(net, net.fiA, 'mallory', { depositMinor: 20_000n });
    const payeeA = await newDevice(net, net.fiA, 'payee-a');
    const payeeB = await newDevice(net, net.fiB, 'payee-b');
    await load(payer, 10_000n, 'mallory-load');
    const image = snapshot(payer.backend);
    await pay(payer, payeeA, 2_000n);
    await pay({ ...payer, ...openSe(net, 'mallory-restored', image) }, payeeB, 2_000n);
    await syncDevice(payeeA.client, net.fiA, { keyPrefix: 'payee-a' });
    const second = await syncDevice(payeeB.client, net.fiB, { keyPrefix: 'payee-b' });
    incidentId = second.rounds[0]!.incidentIds[0]!;
    await net.cb.bookIncidentValue({ amountMinor: 2_000n, reference: incidentId, idempotencyKey: `book-${incidentId}` });
    const [incident] = await net.cb.incidents();
    await fileWarrant(net.cb.db, Number(net.world.nowMs), { warrantId: 'w-console', paymentHash: incident!.firstPaymentHash, authority: 'District Court', reason: 'double spend inquiry' });
    // The writer the sync path calls when it refuses a receipt uploaded twice (fi/sync.ts).
    await recordSyncIncident(net.fiA.db, {
      deviceId: payer.deviceId, customerId: payer.customerId, kind: SyncIncidentKind.receiptUploadedTwice, paymentHash: incident!.firstPaymentHash,
      detail: 'this receipt was already uploaded', nowMs: Number(net.world.nowMs),
    });
    // More freezes and unfreezes than the logs screen shows on one page (LOG_ENTRIES_SHOWN): its "More" button pages the rest.
    for (let i = 0; i < LOG_ENTRIES_SHOWN + 6; i++) {
      await net.fiA.ledger.setFrozen({ customerId: payer.customerId, frozen: i % 2 === 0, reason: `review ${i}`, operatorId: 'op-screens', idempotencyKey: `screens-freeze-${i}` });
    }
    tokens['cb-operator'] = (await addOperator(net.cb.db, { name: 'Cora Operator', role: 'cb-operator' })).token;
    tokens['cb-auditor'] = (await addOperator(net.cb.db, { name: 'Ada Auditor', role: 'auditor' })).token;
    tokens['fi-operator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
    tokens['fi-b-operator'] = (await addOperator(net.fiB.db, { name: 'Bea Operator', role: 'fi-operator' })).token;
    tokens['customer'] = (await addOperator(net.fiA.db, { name: 'Mallory', role: 'customer', customerId: payer.customerId })).token;
  });

  async function cbScreens(role: 'cb-operator' | 'cb-auditor'): Promise<void> {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens[role]!);
    // The CB's auditors also read the warrants (not a CB operator's business: the regulator's and the key holders').
    assert.deepEqual(await navOf(page), ['overview', 'alerts', 'incidents', 'policy', 'logs', 'banks', ...(role === 'cb-auditor' ? ['warrants'] : [])]);

    await openScreen(page, 'incidents');
    const row = (await page.locator('#incidents tr', { hasText: incidentId }).textContent()) ?? '';
    assert.ok(row.includes('fi-a') && row.includes(payer.customerId), 'the bank and its pseudonymous customer id');
    assert.match(row, new RegExp(`${64n * 20_000n}.*2000`), 'exposure L × cap and the booked value');
    assert.equal((await page.textContent('body'))?.includes('mallory'), false, 'the CB has no customer name');
    assert.equal(await page.locator('#sync-incidents').count(), 0, "an FI's sync refusals stay at the FI");
    await shot(page, `${role}-incidents`);

    await openScreen(page, 'policy');
    assert.equal(await page.locator('#policy-tiers tbody tr').count(), 4);
    assert.match((await page.locator('#policy-tiers tr', { hasText: '64' }).first().textContent()) ?? '', /20000/, 'tier 1: cap 200.00, L 64');
    for (const fi of ['fi-a', 'fi-b']) assert.match((await page.textContent(`#rules-${fi} h3`)) ?? '', /rule set v1/);
    assert.ok(await page.locator('#rules-table-fi-a tr', { hasText: 'holding-watch' }).count() === 1);
    assert.match((await page.locator('#exposure tr', { hasText: /^1/ }).first().textContent()) ?? '', /^13/, 'tier 1: three devices');
    await shot(page, `${role}-policy`);

    await openScreen(page, 'logs');
    assert.match((await page.textContent('#admin-log-check')) ?? '', /chain intact/);
    assert.ok(await page.locator('#admin-log tr', { hasText: 'operator add' }).count() >= 2);
    assert.match((await page.textContent('#disclosure-log-check')) ?? '', /1 entries, chain intact/);
    assert.match((await page.locator('#disclosure-log tbody tr').textContent()) ?? '', /w-console.*warrant/);
    await shot(page, `${role}-logs`);

    await openScreen(page, 'banks');
    for (const fi of [w.net.fiA, w.net.fiB]) {
      const cells = await page.locator('#bank-rows tr', { hasText: fi.fiId }).locator('td').allTextContents();
      assert.equal(cells[1], String(await w.net.cb.ledger.reserveBalance(fi.fiId)));
    }
    assert.equal((await page.locator('#bank-rows tr', { hasText: 'fi-a' }).locator('td').allTextContents()).at(-1), '2', 'two devices at fi-a');
    assert.equal(await page.locator('#banks-chart .uplot canvas').count(), 1, 'uPlot drew the chart');
    await shot(page, `${role}-banks`);
    assert.deepEqual(errors, []);
    await page.context().close();
  }

  test('the CB operator sees incidents, policy, logs and banks', () => cbScreens('cb-operator'));
  test('the CB auditor sees the same screens', () => cbScreens('cb-auditor'));

  test("an FI operator sees its customers' incidents by name, its policy, rules and admin log; no banks, no CB log", async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['fi-operator']!);
    assert.deepEqual(await navOf(page), ['overview', 'alerts', 'incidents', 'policy', 'logs', 'cases', 'devices', 'watchlist']);
    await openScreen(page, 'incidents');
    const row = page.locator('#incidents tr', { hasText: incidentId });
    assert.equal(await row.locator('strong').textContent(), 'mallory');
    assert.match((await row.textContent()) ?? '', new RegExp(bytesToHex(payer.deviceId).slice(0, 12)));
    assert.match((await page.locator('#sync-incidents tbody tr').textContent()) ?? '', /RECEIPT_UPLOADED_TWICE.*mallory/);
    await shot(page, 'fi-operator-incidents');
    await openScreen(page, 'policy');
    assert.deepEqual(await page.locator('.rule-set').evaluateAll((d) => d.map((x) => x.id)), ['rules-fi-a'], 'its own rule set only');
    await shot(page, 'fi-operator-policy');
    await openScreen(page, 'logs');
    assert.match((await page.textContent('#admin-log-check')) ?? '', /chain intact/);
    assert.equal(await page.locator('#disclosure-log').count(), 0);
    // The compliance log holds the freezes, chained; a page of LOG_ENTRIES_SHOWN, then "More" appends the rest and goes away.
    const complianceEntries = (await w.net.fiA.verifyComplianceLog()).entries;
    assert.ok(complianceEntries > BigInt(LOG_ENTRIES_SHOWN));
    assert.match((await page.textContent('#compliance-log-check')) ?? '', new RegExp(`${complianceEntries} entries, chain intact`));
    assert.equal(await page.locator('#compliance-log tbody tr').count(), LOG_ENTRIES_SHOWN);
    assert.match((await page.locator('#compliance-log tbody tr').first().textContent()) ?? '', /customer\.unfreeze.*review 105/);
    await page.click('#more-compliance-log');
    await page.locator('#more-compliance-log').waitFor({ state: 'detached' });
    assert.equal(BigInt(await page.locator('#compliance-log tbody tr').count()), complianceEntries);
    assert.equal(await page.locator('#compliance-log tbody tr').last().locator('td').first().textContent(), '1');
    await shot(page, 'fi-operator-logs');
    for (const p of ['/console/cb/incidents', '/console/cb/banks', '/console/fi/fi-b/incidents']) assert.equal(await statusFrom(page, p, tokens['fi-operator']!), 401, `${p}: unknown to that node`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test("another FI's operator sees no incident of fi-a's customers and cannot read fi-a's screens", async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['fi-b-operator']!);
    await openScreen(page, 'incidents');
    assert.equal(await page.locator('#incidents tbody tr').count(), 0);
    assert.equal(await page.locator('#sync-incidents tbody tr').count(), 0);
    const body = (await page.textContent('body')) ?? '';
    assert.ok(!body.includes(payer.customerId) && !body.includes('mallory') && !body.includes(incidentId));
    for (const s of SCREEN_ROUTES) assert.equal(await statusFrom(page, `/console/fi/fi-a/${s}`, tokens['fi-b-operator']!), 401);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('a customer sees none of these screens, and every route refuses them', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['customer']!);
    assert.deepEqual(await navOf(page), ['overview']);
    for (const s of SCREEN_ROUTES) assert.equal(await statusFrom(page, `/console/fi/fi-a/${s}`, tokens['customer']!), 403, s);
    for (const s of [...SCREEN_ROUTES, 'banks']) assert.equal(await statusFrom(page, `/console/cb/${s}`, tokens['customer']!), 401, s);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
