// The overview's customers list in headless Chromium over the embedded app on SQLite: an FI with
// more customers than one page (CONSOLE_ROWS_MAX) shows the first page and a More button; a click
// appends the rest, each customer once, and the button goes when none follow.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { CONSOLE_ROWS_MAX } from '../../src/ledger/console/index.ts';
import { Tier } from '../../src/policy/limits.ts';
import { consoleWorld, signIn, skipWithoutChromium, tab } from './browser.ts';
import { fundFi, newCustomer, newDevice } from '../ledger/offline_world.ts';

/** One page and two more. */
const CUSTOMERS = CONSOLE_ROWS_MAX + 2;

describe('the customers list in headless Chromium', { skip: skipWithoutChromium('customers browser test') }, () => {
  const ids: string[] = [];
  let token = '';

  const w = consoleWorld('customers-browser', { verifyWorkers: 0 }, async (net) => {
    await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
    ids.push((await newDevice(net, net.fiA, 'first-with-device')).customerId);
    for (let i = 1; i < CUSTOMERS; i++) ids.push((await newCustomer(net.fiA, `customer-${String(i).padStart(4, '0')}`, Tier.basic)).customerId);
    token = (await addOperator(net.fiA.db, { name: 'Audrey Auditor', role: 'auditor' })).token;
  });

  test('the first page, then More appends the rest once; the button goes when none follow', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, token);
    const rows = page.locator('#customers tbody tr');
    assert.equal(await rows.count(), CONSOLE_ROWS_MAX);
    assert.equal(await page.locator('#devices tbody tr').count(), 1, "the first customer's device");
    await page.click('#more-customers');
    await page.locator('#more-customers').waitFor({ state: 'detached' });
    assert.equal(await rows.count(), CUSTOMERS);
    const shown = await page.locator('#customers tbody tr td:first-child span.mono').allTextContents();
    assert.deepEqual([...shown].sort(), [...ids].sort(), 'every customer once');
    assert.deepEqual(errors, []);
  });
});
