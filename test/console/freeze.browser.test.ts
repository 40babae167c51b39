// The devices screen in headless Chromium over the embedded app on SQLite: a bank's operator sees
// a device with its newest credential epoch and the latest moment it can still pay offline, freezes
// its customer with a reason typed into the page, and then sees "revoked at first sync" (the CB's
// signed list names the device); the freeze is logged under the operator. A blank reason is refused
// by the page's route with nothing changed; the auditor sees the screen without a freeze form.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { limitsFor } from '../../src/policy/limits.ts';
import { consoleWorld, openScreen, shot, signIn, skipWithoutChromium, tab } from './browser.ts';
import { fundFi, newDevice, type TestDevice } from '../ledger/offline_world.ts';

const utc = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

describe('the devices screen in headless Chromium', { skip: skipWithoutChromium('freeze browser test') }, () => {
  let dora: TestDevice;
  const tokens: Record<string, string> = {};

  const w = consoleWorld('freeze-browser', { verifyWorkers: 0 }, async (net) => {
    await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
    dora = await newDevice(net, net.fiA, 'dora', { depositMinor: 5_000n });
    tokens['operator'] = (await addOperator(net.fiA.db, { name: 'Finn Operator', role: 'fi-operator' })).token;
    tokens['auditor'] = (await addOperator(net.fiA.db, { name: 'Audrey Auditor', role: 'auditor' })).token;
  });

  test('the operator sees the offline end date, freezes the customer with a reason, and sees the device revoked at first sync', async () => {
    const deviceHex = Buffer.from(dora.deviceId).toString('hex');
    const epoch = BigInt((await w.net.fiA.db.query('SELECT MAX(epoch) AS e FROM credential_grants WHERE device_id = $1', [dora.deviceId]))[0]!['e'] as bigint);
    const limits = limitsFor(await w.net.cb.currentPolicy(), dora.tier);
    const until = Number((epoch + 1n) * limits.epochMs + limits.graceMs);
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['operator']!);
    await openScreen(page, 'devices');
    const row = page.locator('#devices tr', { hasText: dora.customerId });
    assert.match(await row.textContent() ?? '', new RegExp(`active.*${epoch}`));
    assert.equal(await page.textContent(`#offline-${deviceHex}`), utc(until));
    await shot(page, 'fi-devices');

    // A blank reason: the route refuses it and nothing changes.
    await page.fill(`#reason-${dora.customerId}`, '   ');
    await page.click(`#freeze-${dora.customerId} button`);
    await page.waitForFunction((id) => (document.getElementById(`freeze-error-${id}`)?.textContent ?? '') !== '', dora.customerId);
    assert.match(await page.textContent(`#freeze-error-${dora.customerId}`) ?? '', /400 BAD_REQUEST/);
    assert.equal((await w.net.fiA.ledger.customer(dora.customerId)).frozen, false);

    await page.fill(`#reason-${dora.customerId}`, 'Court order 2026/118');
    await page.evaluate(() => { document.body.dataset.ready = 'false'; });
    await page.click(`#freeze-${dora.customerId} button`);
    await page.waitForSelector('body[data-ready="true"][data-screen="devices"]');
    assert.match(await page.locator('#devices tr', { hasText: dora.customerId }).textContent() ?? '', /frozen/);
    assert.match(await page.textContent(`#offline-${deviceHex}`) ?? '', new RegExp(`revoked at first sync.*${utc(until)}`));
    assert.equal(await page.locator(`#unfreeze-${dora.customerId}`).count(), 1, 'the form now offers unfreeze');
    const [entry] = await w.net.fiA.freezeLog(dora.customerId);
    assert.deepEqual([entry!.frozen, entry!.reason], [true, 'Court order 2026/118']);
    assert.match(entry!.operatorId, /^op/);
    const listed = await w.net.cb.deviceRevocations();
    assert.deepEqual(listed.map((d) => Buffer.from(d.deviceId).toString('hex')), [deviceHex]);
    await shot(page, 'fi-devices-frozen');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the auditor sees the devices but no freeze form, and the freeze route answers 403', async () => {
    const { page, errors } = await tab(w.browser);
    await signIn(page, w.base, tokens['auditor']!);
    await openScreen(page, 'devices');
    assert.ok(await page.locator('#devices tbody tr').count() >= 1);
    assert.equal(await page.locator('form.freeze').count(), 0);
    const status = await page.evaluate(async ([t, id]) => (await fetch(`/fi/fi-a/customers/${id}/unfreeze`, {
      method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json', 'idempotency-key': 'auditor-try' }, body: JSON.stringify({ reason: 'not mine' }),
    })).status, [tokens['auditor']!, dora.customerId] as const);
    assert.equal(status, 403);
    assert.equal((await w.net.fiA.ledger.customer(dora.customerId)).frozen, true);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});
