// The warrants screen in headless Chromium over real servers on loopback (SQLite): a regulator at
// the CB files a warrant naming a settled payment by its nullifier; escrow key holders 1 and 2,
// each signed in to their own holder node in their own tab (separate sessions), see it pending and
// approve — their node computes the partial with its own share; the regulator sees the quorum
// reached, discloses, and sees who paid, with the disclosure log's chain check badge.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { bytesToHex } from '@noble/hashes/utils.js';
import { dealRegulatorKey, seededRng } from '../../src/crypto/index.ts';
import { addOperator } from '../../src/ledger/access/operators.ts';
import { createHolderApp, createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { cbWarrantClient } from '../../src/ledger/http/holder_routes.ts';
import { verifyDisclosureLog } from '../../src/ledger/cb/disclosure.ts';
import { freshDb, type FreshDb } from '../ledger/engines.ts';
import { fundFi, load, newDevice, openOfflineNet, pay, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';
import { launch, openScreen, shot, signIn, skipWithoutChromium, tab } from './browser.ts';

const WARRANT = 'court-2027-0042';

/** Clicks `selector` and waits until the screen has rendered again. */
async function clickAndWait(page: Page, selector: string): Promise<void> {
  await page.evaluate(() => { document.body.dataset.ready = 'false'; });
  await page.click(selector);
  // A refused action shows its error next to the form and the screen stays as it was.
  await Promise.race([
    page.waitForSelector('body[data-ready="true"][data-screen="warrants"]'),
    page.waitForSelector('form.action .error:not(:empty)').then(async (e) => assert.fail(`${selector}: ${await e.textContent()}`)),
  ]);
}

describe('the warrants screen in headless Chromium', { skip: skipWithoutChromium('warrants browser test') }, () => {
  const regulator = dealRegulatorKey({ threshold: 2, holders: 3, rng: seededRng('warrants-browser/dealing') });
  let net: OfflineNet;
  let cbApp: FastifyInstance;
  let cbBase: string;
  let browser: Browser;
  let alice: TestDevice;
  let nullifier: string;
  let regulatorToken: string;
  const holders: { app: FastifyInstance; base: string; db: FreshDb; token: string }[] = [];

  before(async () => {
    net = await openOfflineNet('sqlite', 'warrants-browser', { verifyWorkers: 0, regulator });
    await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
    alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
    const shop = await newDevice(net, net.fiA, 'corner-coffee');
    await load(alice, 10_000n, 'alice-load');
    await pay(alice, shop, 450n);
    const batch = await shop.client.exportSyncBatch();
    await net.cb.registerPayments({ fiId: 'fi-a', deviceId: shop.deviceId, records: batch.payments, idempotencyKey: 'coffee-sync' });
    const rows = await net.cb.db.query<{ nullifier: Uint8Array }>('SELECT nullifier FROM payment_evidence');
    assert.equal(rows.length, 1);
    nullifier = bytesToHex(rows[0]!.nullifier);
    regulatorToken = (await addOperator(net.cb.db, { name: 'Rhea Regulator', role: 'regulator' })).token;
    cbApp = await createOfflineEmbeddedApp({ cb: net.cb, fis: [net.fiA] });
    cbBase = await cbApp.listen({ host: '127.0.0.1', port: 0 });
    for (const share of regulator.shares.slice(0, 2)) {
      const cbToken = (await addOperator(net.cb.db, { name: `Key holder ${share.index}'s node`, role: 'key-holder', holderIndex: share.index })).token;
      const db = await freshDb('sqlite');
      const app = await createHolderApp({ db: db.db, share, rng: seededRng(`warrants-browser/holder-${share.index}`), cb: cbWarrantClient({ cbBase: `${cbBase}/cb`, token: cbToken }) });
      const token = (await addOperator(db.db, { name: `Holder ${share.index}`, role: 'key-holder', holderIndex: share.index })).token;
      holders.push({ app, base: await app.listen({ host: '127.0.0.1', port: 0 }), db, token });
    }
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    for (const h of holders) {
      await h.app.close();
      await h.db.cleanup();
    }
    await cbApp?.close();
    await net?.cleanup();
  });

  test('regulator files, two holders approve in their own sessions, regulator discloses the payer', async () => {
    const reg = await tab(browser);
    await signIn(reg.page, cbBase, regulatorToken);
    await openScreen(reg.page, 'warrants');
    await reg.page.fill('#warrant-id', WARRANT);
    await reg.page.selectOption('#warrant-payment-kind', 'nullifier');
    await reg.page.fill('#warrant-payment', nullifier);
    await reg.page.fill('#warrant-authority', 'District Court');
    await reg.page.fill('#warrant-reason', 'Fraud inquiry 0042: who paid Corner Coffee');
    await clickAndWait(reg.page, '#warrant-form button');
    assert.match(await reg.page.textContent(`#quorum-${WARRANT}`) ?? '', /^0 of 2 approvals/);
    assert.equal(await reg.page.locator(`#disclose-${WARRANT}`).count(), 0, 'no disclose before the quorum');
    assert.match(await reg.page.textContent('#disclosure-log') ?? '', /1 entries, chain intact/);
    await shot(reg.page, 'warrants-filed');

    for (const [n, h] of holders.entries()) {
      const ht = await tab(browser);
      await signIn(ht.page, h.base, h.token);
      await openScreen(ht.page, 'warrants');
      assert.match(await ht.page.textContent('#pending') ?? '', /1 open warrant/);
      assert.match(await ht.page.locator('#warrants tr', { hasText: WARRANT }).textContent() ?? '', /Fraud inquiry 0042/);
      if (n === 0) await shot(ht.page, 'warrants-holder');
      await clickAndWait(ht.page, `#approve-${WARRANT} button`);
      assert.match(await ht.page.locator('#warrants tr', { hasText: WARRANT }).textContent() ?? '', /you approved/);
      assert.match(await ht.page.textContent(`#quorum-${WARRANT}`) ?? '', new RegExp(`^${n + 1} of 2 approvals`));
      // This tab's session is holder n+1's alone: the regulator's screen is not in its nav.
      assert.equal(await ht.page.locator('#file-card').count(), 0);
      assert.deepEqual(ht.errors, []);
      await ht.page.context().close();
    }

    // The regulator's tab is still on the warrants screen: load it again.
    await reg.page.evaluate(() => { document.body.dataset.ready = 'false'; (window as unknown as { TallyConsole: { refresh(): void } }).TallyConsole.refresh(); });
    await reg.page.waitForSelector('body[data-ready="true"][data-screen="warrants"]');
    assert.match(await reg.page.textContent(`#quorum-${WARRANT}`) ?? '', /^2 of 2 approvals \(holders 1, 2\)/);
    await clickAndWait(reg.page, `#disclose-${WARRANT} button`);
    const disclosed = await reg.page.textContent(`#disclosed-${WARRANT}`) ?? '';
    assert.match(disclosed, new RegExp(`${alice.customerId} at fi-a`));
    assert.match(disclosed, new RegExp(bytesToHex(alice.deviceId)));
    const chain = await verifyDisclosureLog(net.cb.db);
    assert.deepEqual(chain, { intact: true, entries: 4, brokenAt: null });
    assert.match(await reg.page.textContent('#disclosure-log') ?? '', /4 entries, chain intact/);
    await shot(reg.page, 'warrants-disclosed');
    assert.deepEqual(reg.errors, []);
    await reg.page.context().close();
  });
});
