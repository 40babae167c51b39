// The console's static files: two page shells (sign-in, overview) that carry no data, the page
// script and style, and uPlot's script and style served from node_modules (no CDN). All are read
// once at start-up into memory, so a request never touches the file system and the set of files
// is fixed: a request names an asset from ASSETS, nothing else.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface Asset {
  type: string;
  body: Buffer;
}

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const own = (file: string): Buffer => readFileSync(new URL(`./public/${file}`, import.meta.url));
const dependency = (specifier: string): Buffer => readFileSync(require.resolve(specifier));

/** The pages, by route. */
export const PAGES = {
  signIn: { type: HTML, body: own('sign_in.html') },
  overview: { type: HTML, body: own('overview.html') },
} as const satisfies Record<string, Asset>;

/** The files under /console/assets/, by name. */
export const ASSETS: Readonly<Record<string, Asset>> = {
  'console.js': { type: JS, body: own('console.js') },
  'console.css': { type: CSS, body: own('console.css') },
  'screen_alerts.js': { type: JS, body: own('screen_alerts.js') },
  'screen_incidents.js': { type: JS, body: own('screen_incidents.js') },
  'screen_policy.js': { type: JS, body: own('screen_policy.js') },
  'screen_logs.js': { type: JS, body: own('screen_logs.js') },
  'screen_banks.js': { type: JS, body: own('screen_banks.js') },
  'screen_cases.js': { type: JS, body: own('screen_cases.js') },
  'screen_devices.js': { type: JS, body: own('screen_devices.js') },
  'screen_warrants.js': { type: JS, body: own('screen_warrants.js') },
  'screen_watchlist.js': { type: JS, body: own('screen_watchlist.js') },
  'uPlot.iife.min.js': { type: JS, body: dependency('uplot/dist/uPlot.iife.min.js') },
  'uPlot.min.css': { type: CSS, body: dependency('uplot/dist/uPlot.min.css') },
};

/**
 * Headers of every console answer. The policy allows scripts and styles from this origin only
 * (no inline script, no eval), so even a value that escaped the page's text-only rendering could
 * not run; the token lives in sessionStorage, which only this origin's scripts read. uPlot sets
 * element styles from script, which style-src does not govern for CSSOM writes.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
