// Shared parts of the console's browser tests: a suite's network, app and browser (consoleWorld),
// Debian's Chromium through playwright-core, a tab with its own sessionStorage that records dialogs
// and page errors, signing in with a token, and screenshots under docs/console/. Outside CI a missing Chromium skips a suite with a message; in
// CI (process.env.CI) it fails.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { openOfflineNet, type OfflineNet } from '../ledger/offline_world.ts';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));

/** The `skip` option of a browser suite: a reason outside CI when Chromium is missing, else false. */
export function skipWithoutChromium(suite: string): string | false {
  if (existsSync(CHROMIUM) || process.env['CI'] !== undefined) return false;
  console.log(`# ${suite} skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  return `no Chromium at ${CHROMIUM}`;
}

export async function launch(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `CI needs Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface Tab {
  page: Page;
  dialogs: string[];
  errors: string[];
}

/** A fresh tab (its own context, so its own sessionStorage) that records dialogs and page errors. */
export async function tab(browser: Browser): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, dialogs, errors };
}

/** Signs in with `token` on the console at `base` and waits for the first screen. */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.fill('#token', token);
  await page.click('#sign-in-button');
  await page.waitForURL(`${base}/console/overview`);
  await page.waitForSelector('body[data-ready="true"]');
}

/** Opens screen `id` from the nav and waits until it has rendered. */
export async function openScreen(page: Page, id: string): Promise<void> {
  await page.evaluate(() => { document.body.dataset.ready = 'false'; });
  await page.click(`#nav-${id}`);
  await page.waitForSelector(`body[data-ready="true"][data-screen="${id}"]`);
}

/** Status of a route fetched from inside the page, with `token` or with none. */
export function statusFrom(page: Page, path: string, token: string | null): Promise<number> {
  return page.evaluate(async ([p, t]) => (await fetch(p!, t === null ? {} : { headers: { authorization: `Bearer ${t}` } })).status, [path, token] as const);
}

export const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

/** What a console suite runs against; its fields are set by the suite's before hook. */
export interface ConsoleWorld {
  net: OfflineNet;
  /** The embedded app's root on loopback (the CB and both FIs). */
  base: string;
  browser: Browser;
}

/**
 * The before and after hooks of a console suite, registered in the calling describe block: an
 * offline network on SQLite (seed `seed`), staged by `stage` (funding, customers, the tokens the
 * suite signs in with), the embedded app serving its CB and both FIs on loopback, and Chromium.
 * After the suite, all three are closed.
 */
export function consoleWorld(seed: string, options: Parameters<typeof openOfflineNet>[2], stage: (net: OfflineNet) => Promise<void>): ConsoleWorld {
  const world = {} as ConsoleWorld;
  let app: FastifyInstance | undefined;
  before(async () => {
    world.net = await openOfflineNet('sqlite', seed, options);
    await stage(world.net);
    app = await createOfflineEmbeddedApp({ cb: world.net.cb, fis: [world.net.fiA, world.net.fiB] });
    world.base = await app.listen({ host: '127.0.0.1', port: 0 });
    world.browser = await launch();
  });
  after(async () => {
    await world.browser?.close();
    await app?.close();
    await world.net?.cleanup();
  });
  return world;
}
