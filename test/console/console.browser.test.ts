// The operators' console in a real browser: Debian's Chromium driven by playwright-core over the
// embedded app (CB and two FIs on real SQLite) on loopback HTTP. Signs in as a stranger, the CB
// auditor, an FI operator and a customer, and checks what each sees and what the node refuses
// them, with a customer named `<script>alert(1)</script>` shown as text and never run. Saves a
// screenshot of every screen under docs/console/. Outside CI a missing Chromium skips the suite
// with a message; in CI (process.env.CI) it fails.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { bytesToHex } from '@noble/hashes/utils.js';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { readAccount } from '../../src/ledger/book/journal.ts';
import { auditNetwork } from '../../src/ledger/network_audit.ts';
import { syncDevice } from '../../src/ledger/clients/device_sync.ts';
import { Tier } from '../../src/policy/limits.ts';
import { consoleWorld, shot, signIn as signInAt, skipWithoutChromium, statusFrom, tab as newTab, type Tab } from './browser.ts';
import { fundFi, load, newDevice, pay, type TestDevice } from '../ledger/offline_world.ts';

const XSS_NAME = '<script>alert(1)</script>';
const DATA_ROUTES = ['/console/cb/circulation', '/console/fi/fi-a/customers', '/console/fi/fi-a/me', '/console/cb/whoami', '/console/fi/fi-a/whoami'];
describe('the console in headless Chromium', { skip: skipWithoutChromium('console browser test') }, () => {
  let alice: TestDevice;
  let bob: TestDevice;
  let xssCustomerId: string;
  const tokens: Record<string, string> = {};

  const w = consoleWorld('console-browser', { verifyWorkers: 0 }, async (net) => {
    await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
    await fundFi(net, net.fiB, 400_000n, 'fund-b');
    alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
    bob = await newDevice(net, net.fiA, 'bob', { depositMinor: 20_000n });
    await newDevice(net, net.fiB, 'carol', { depositMinor: 30_000n });
    await load(alice, 10_000n, 'alice-load');
    await pay(alice, bob, 1_500n);
    await syncDevice(bob.client, net.fiA, { keyPrefix: 'bob-sync' });
    const xss = await net.fiA.ledger.registerCustomer({ tier: Tier.basic, identity: { name: XSS_NAME }, idempotencyKey: 'xss/kyc' });
    await net.fiA.ledger.openAccount({ customerId: xss.customerId, idempotencyKey: 'xss/open' });
    xssCustomerId = xss.customerId;
    tokens['auditor'] = (await addOperator(net.cb.db, { name: 'Ada Auditor', role: 'auditor' })).token;
    tokens['fiOperator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
    tokens['alice'] = (await addOperator(net.fiA.db, { name: 'Alice', role: 'customer', customerId: alice.customerId })).token;
  });
  const tab = (): Promise<Tab> => newTab(w.browser);
  const signIn = (page: Page, token: string): Promise<void> => signInAt(page, w.base, token);


  test('a stranger gets only the sign-in page: the overview sends them back, a made-up token is refused, every data route answers 401', async () => {
    const { page, errors } = await tab();
    const shell = await page.goto(`${w.base}/console/overview`);
    assert.match(shell?.headers()['content-security-policy'] ?? '', /script-src 'self';/, 'no inline script may run');
    await page.waitForURL(`${w.base}/console/`);
    assert.equal(await page.isVisible('#sign-in-form'), true);
    await shot(page, 'sign-in');
    await page.fill('#token', `tly1.op-0123456789abcdef.${'A'.repeat(43)}`);
    await page.click('#sign-in-button');
    await page.waitForSelector('#sign-in-error:not([hidden])');
    assert.match(await page.textContent('#sign-in-error') ?? '', /No node of this server knows that token/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(page.url(), `${w.base}/console/`);
    await shot(page, 'sign-in-refused');
    for (const p of DATA_ROUTES) assert.equal(await statusFrom(page, p, null), 401, `${p} without a token`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the CB auditor sees circulation totals, the chart and the banks, and no FI customer', async () => {
    const { page, errors } = await tab();
    await signIn(page, tokens['auditor']!);
    const totals = (await auditNetwork({ cb: w.net.cb, fis: [w.net.fiA, w.net.fiB] })).totals;
    const cells = async (table: string, label: string) => (await page.locator(`${table} tr`, { hasText: label }).first().locator('td').allTextContents()).join(' ');
    const row = (label: string) => cells('#totals', label);
    assert.equal(await row('issued'), `issued ${totals.issuedMinor}`);
    assert.equal(await row('FI accounts'), `FI accounts ${totals.accountsMinor}`);
    assert.equal(await row('inside SEs'), `inside SEs ${totals.seBalancesMinor}`);
    assert.equal(await row('in flight'), `in flight ${totals.inFlightMinor}`);
    assert.equal(totals.issuedMinor, 1_400_000n);
    for (const fi of [w.net.fiA, w.net.fiB]) {
      assert.equal(await cells('#banks', fi.fiId), `${fi.fiId} ${await w.net.cb.ledger.reserveBalance(fi.fiId)}`);
    }
    assert.equal(await page.locator('#audit-status').textContent(), 'audit clean');
    assert.equal(await page.locator('#chart .uplot canvas').count(), 1, 'uPlot drew the chart');
    assert.equal(await page.locator('#customers, #accounts').count(), 0);
    const body = await page.textContent('body') ?? '';
    assert.ok(!body.includes(alice.customerId) && !body.includes(XSS_NAME), 'no customer data on the CB screens');
    // Money moves, the page is loaded again: the chart's series grows by one sample per audit.
    await w.net.fiA.ledger.deposit({ accountId: alice.accountId, amountMinor: 7_000n, idempotencyKey: 'alice/deposit-2' });
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    const later = (await auditNetwork({ cb: w.net.cb, fis: [w.net.fiA, w.net.fiB] })).totals;
    assert.equal(await row('FI accounts'), `FI accounts ${later.accountsMinor}`);
    assert.equal(await page.locator('#chart .u-legend .u-series').count(), 5, 'time and four series in the legend');
    await shot(page, 'cb-overview');
    assert.equal(await statusFrom(page, '/console/fi/fi-a/customers', tokens['auditor']!), 401, "the CB's auditor is unknown to the FI node");
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('an FI operator sees its customers and devices with last sync, a script-like name as text, and no CB figure', async () => {
    const { page, dialogs, errors } = await tab();
    await signIn(page, tokens['fiOperator']!);
    const xssRow = page.locator('#customers tr', { hasText: xssCustomerId });
    assert.equal(await xssRow.locator('strong').textContent(), XSS_NAME, 'the name shows as its characters');
    assert.match(await xssRow.locator('strong').innerHTML(), /^&lt;script&gt;alert\(1\)&lt;\/script&gt;$/);
    assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script: only the shell\'s own files');
    assert.deepEqual(dialogs, [], 'nothing ran');
    for (const d of [alice, bob]) assert.equal(await page.locator('#customers tr', { hasText: d.customerId }).count(), 1);
    const bobDevice = (await page.locator('#devices tr', { hasText: bytesToHex(bob.deviceId) }).textContent()) ?? '';
    assert.match(bobDevice, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, 'bob synced: his last sync shows');
    assert.match((await page.locator('#devices tr', { hasText: bytesToHex(alice.deviceId) }).textContent()) ?? '', /never/, 'alice never synced');
    assert.equal(await page.locator('#devices tbody tr').count(), 2, "only fi-a's devices (carol is at fi-b)");
    assert.equal(await page.locator('#totals, #banks').count(), 0);
    assert.equal(await statusFrom(page, '/console/cb/circulation', tokens['fiOperator']!), 401, 'the FI operator is unknown to the CB node');
    await shot(page, 'fi-overview');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('a customer sees only their own accounts and devices', async () => {
    const { page, errors } = await tab();
    await signIn(page, tokens['alice']!);
    const balance = (await readAccount(w.net.fiA.db, alice.accountId))!.balanceMinor;
    assert.deepEqual(await page.locator('#accounts tbody tr td').allTextContents(), [alice.accountId, String(balance)]);
    assert.equal(await page.locator('#devices tbody tr').count(), 1);
    assert.match((await page.locator('#devices tbody tr').textContent()) ?? '', new RegExp(bytesToHex(alice.deviceId)));
    const body = await page.textContent('body') ?? '';
    assert.ok(!body.includes(bob.accountId) && !body.includes(XSS_NAME) && !body.includes(bytesToHex(bob.deviceId)), "no other customer's data");
    assert.equal(await page.locator('#totals, #customers').count(), 0);
    assert.equal(await statusFrom(page, '/console/fi/fi-a/customers', tokens['alice']!), 403, 'a customer may not list customers');
    assert.equal(await statusFrom(page, '/console/cb/circulation', tokens['alice']!), 401);
    await shot(page, 'customer-overview');
    await page.click('#sign-out');
    await page.waitForURL(`${w.base}/console/`);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the token');
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
