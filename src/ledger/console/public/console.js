// Tally console, the page script of both shells (sign_in.html, overview.html). Plain browser
// JavaScript with no build step. The token lives in this tab's sessionStorage and goes out as
// `Authorization: Bearer` on each data call, so the node's gate decides every answer; the page
// only chooses which screens to ask for. Every value is put into the page as a text node
// (textContent), never as markup: a customer named `<script>` shows as those characters.
'use strict';

const SESSION_KEY = 'tally.console.session';

/** An element with text-only children: strings become text nodes, never HTML. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

function table(id, head, rows) {
  return el('table', { id }, el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => (c instanceof Node ? c : el('td', {}, c)))))));
}

/** Appends rows (each an array of cells, as table() takes them) to a table table() made. */
function appendRows(t, rows) {
  t.querySelector('tbody').append(...rows.map((r) => el('tr', {}, r.map((c) => (c instanceof Node ? c : el('td', {}, c))))));
}

/**
 * The "More" control under a paged list: each click awaits `next()`, which appends the next page
 * and resolves to whether more follow; the button goes when nothing follows, a failure shows beside it.
 */
function moreButton(id, next) {
  const button = el('button', { type: 'button', id: `more-${id}`, class: 'more' }, 'More');
  const error = el('span', { class: 'error', id: `more-${id}-error` });
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.textContent = '';
    try {
      if (await next()) button.disabled = false;
      else button.remove();
    } catch (e) {
      error.textContent = String(e.message ?? e);
      button.disabled = false;
    }
  });
  return el('p', {}, button, error);
}

const amount = (minor) => el('td', { class: 'amount' }, String(minor));
const when = (ms) => (ms === null || ms === undefined ? 'never' : new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) + ' UTC');

function session() {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw === null ? null : JSON.parse(raw);
}

async function call(path, token) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` }, credentials: 'omit' });
  const body = await res.json();
  return { status: res.status, body };
}

/** The node whose database knows the token, asked in the order /console/nodes lists them. */
async function identify(token) {
  const { nodes } = await (await fetch('/console/nodes', { credentials: 'omit' })).json();
  for (const n of nodes) {
    const r = await call(`${n.base}/whoami`, token);
    if (r.status === 200) return { token, base: n.base, ...r.body };
  }
  return null;
}

function signInPage() {
  const form = document.getElementById('sign-in-form');
  const error = document.getElementById('sign-in-error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const token = document.getElementById('token').value.trim();
    const who = /^[\x21-\x7e]{1,200}$/.test(token) ? await identify(token) : null;
    if (who === null) {
      error.textContent = 'No node of this server knows that token (unknown, revoked or mistyped).';
      error.hidden = false;
      return;
    }
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(who));
    location.assign('/console/overview');
  });
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  location.assign('/console/');
}

function circulationChart(samples) {
  const box = el('div', { id: 'chart' });
  const xs = samples.map((s) => Math.floor(s.atMs / 1000));
  const series = ['issuedMinor', 'accountsMinor', 'seBalancesMinor', 'inFlightMinor'];
  // The chart draws doubles; the exact amounts are in the totals table next to it.
  const data = [xs, ...series.map((k) => samples.map((s) => Number(s[k])))];
  const colours = ['#1b2430', '#2f7ed8', '#0d9f6e', '#d9822b'];
  const opts = {
    width: 720, height: 260, title: 'Circulation (minor units), one sample per audit',
    axes: [{}, { size: 90, values: (_u, ticks) => ticks.map((v) => String(v)) }],
    series: [{}, ...['issued', 'FI accounts', 'inside SEs', 'in flight'].map((label, i) => ({ label, stroke: colours[i], width: 2, points: { show: true } }))],
  };
  // eslint-disable-next-line no-undef
  new uPlot(opts, data, box);
  return box;
}

function cbScreen(data) {
  const t = data.totals;
  const status = el('span', { id: 'audit-status', class: data.clean ? 'badge ok' : 'badge bad' }, data.clean ? 'audit clean' : `${data.violations} violation(s), ${data.alarms} alarm(s)`);
  const totals = table('totals', ['figure', 'minor units'], [
    ['issued', amount(t.issuedMinor)], ['FI reserves', amount(t.reservesMinor)], ['FI accounts', amount(t.accountsMinor)],
    ['inside SEs', amount(t.seBalancesMinor)], ['in flight', amount(t.inFlightMinor)], ['booked incidents', amount(t.incidentValueMinor)],
  ]);
  const banks = table('banks', ['bank', 'reserve at the CB'], data.banks.map((b) => [b.fiId, amount(b.reserveMinor)]));
  return [
    el('section', { class: 'card', id: 'circulation' }, el('h2', {}, 'Circulation '), status, totals, el('p', {}, `audited ${when(data.checkedAtMs)}`)),
    el('section', { class: 'card', id: 'chart-card' }, el('h2', {}, 'Over time'), circulationChart(data.samples)),
    el('section', { class: 'card', id: 'banks-card' }, el('h2', {}, 'Banks'), banks),
  ];
}

function devicesTable(id, devices) {
  return table(id, ['device', 'tier', 'balance last reported', 'last sync'], devices.map(deviceRow));
}

function notShown(n, what) {
  return n > 0 ? el('div', { class: 'note' }, `+${n} more ${what}`) : '';
}

function customerRow(c) {
  return [
    el('td', {}, el('strong', {}, c.name ?? '(no name)'), el('br', {}), el('span', { class: 'mono' }, c.customerId)),
    String(c.tier) + (c.frozen ? ' (frozen)' : ''),
    el('td', {}, c.accounts.map((a) => el('div', { class: 'mono' }, `${a.accountId}: ${a.balanceMinor}`)), notShown(c.accountsNotShown, 'accounts')),
    el('td', {}, c.devices.map((d) => el('div', { class: 'mono' }, `${d.deviceId.slice(0, 12)}… synced ${when(d.lastSyncMs)}`)), notShown(c.devicesNotShown, 'devices (see Devices)')),
  ];
}

function deviceRow(d) {
  return [el('td', { class: 'mono' }, d.deviceId), String(d.tier), amount(d.reportedBalanceMinor), when(d.lastSyncMs)];
}

/** An FI's customers, oldest registration first; "More" appends the next page (and its devices). */
function fiScreen(data, base) {
  const customers = table('customers', ['customer', 'tier', 'accounts', 'devices'], data.customers.map(customerRow));
  const devices = devicesTable('devices', data.customers.flatMap((c) => c.devices));
  let last = data.customers.length === 0 ? null : data.customers[data.customers.length - 1].customerId;
  const more = moreButton('customers', async () => {
    const next = await load(`${base}/customers?after=${encodeURIComponent(last)}`);
    appendRows(customers, next.customers.map(customerRow));
    appendRows(devices, next.customers.flatMap((c) => c.devices.map(deviceRow)));
    if (next.customers.length > 0) last = next.customers[next.customers.length - 1].customerId;
    return next.more;
  });
  return [
    el('section', { class: 'card', id: 'customers-card' }, el('h2', {}, `Customers of ${data.fiId}`), customers,
      data.more && last !== null ? more : ''),
    el('section', { class: 'card', id: 'devices-card' }, el('h2', {}, 'Devices and sync status'), devices),
  ];
}

function customerScreen(data) {
  const c = data.customer;
  if (c === null) return [el('p', { class: 'error' }, 'No customer record.')];
  return [
    el('section', { class: 'card', id: 'my-accounts' }, el('h2', {}, `Your accounts at ${data.fiId}`),
      table('accounts', ['account', 'balance'], c.accounts.map((a) => [el('td', { class: 'mono' }, a.accountId), amount(a.balanceMinor)])),
      notShown(c.accountsNotShown, 'accounts not listed here; your bank has them all')),
    el('section', { class: 'card', id: 'my-devices' }, el('h2', {}, 'Your devices'), devicesTable('devices', c.devices),
      notShown(c.devicesNotShown, 'devices not listed here; your bank has them all')),
  ];
}

/**
 * The screens, in nav order. Each screen script (screen_*.js, loaded after this file) calls
 * TallyConsole.screen({ id, label, shows(who), render(who) }) where render returns the elements
 * to show (or throws a LoadError). The nav lists the screens whose shows(who) is true; the URL
 * hash (#alerts, …) picks one, the first by default. The gate refuses anything else anyway.
 */
const SCREENS = [];

class LoadError extends Error {
  constructor(status, body) {
    super(`${status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? ''}`);
    this.status = status;
  }
}

/** GET a data route as the signed-in caller; throws LoadError unless 200. */
async function load(path) {
  const who = session();
  const r = await call(path, who.token);
  if (r.status === 401) signOut();
  if (r.status !== 200) throw new LoadError(r.status, r.body);
  return r.body;
}

/** POST (or PUT/DELETE) JSON as the signed-in caller: { status, body } whatever the status. */
async function send(method, path, body, headers) {
  const who = session();
  const res = await fetch(path, {
    method, credentials: 'omit',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json', ...(headers ?? {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A fresh Idempotency-Key per submitted form: a second click of the same form is a new decision. */
function newKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `console-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

function screen(def) {
  SCREENS.push(def);
}

screen({
  id: 'overview', label: 'Overview',
  shows: (who) => who.role === 'customer' || who.role === 'auditor' || (who.node === 'cb' ? who.role === 'cb-operator' : who.role === 'fi-operator'),
  async render(who) {
    if (who.node === 'cb') return cbScreen(await load(`${who.base}/circulation`));
    if (who.role === 'customer') return customerScreen(await load(`${who.base}/me`));
    return fiScreen(await load(`${who.base}/customers`), who.base);
  },
});

async function showScreen(who, main, nav) {
  const visible = SCREENS.filter((s) => s.shows(who));
  const wanted = location.hash.slice(1);
  const current = visible.find((s) => s.id === wanted) ?? visible[0];
  nav.replaceChildren(...visible.map((s) => el('a', { href: `#${s.id}`, id: `nav-${s.id}`, class: s === current ? 'current' : '' }, s.label)));
  document.body.dataset.ready = 'false';
  if (current === undefined) {
    main.replaceChildren(el('p', { id: 'no-screen' }, `The console has no screen for the ${who.role} role yet.`));
    document.body.dataset.ready = 'true';
    return;
  }
  document.body.dataset.screen = current.id;
  try {
    main.replaceChildren(...(await current.render(who)));
  } catch (e) {
    main.replaceChildren(el('p', { class: 'error', id: 'load-error' }, e instanceof LoadError ? e.message : String(e)));
  }
  document.body.dataset.ready = 'true';
}

async function overviewPage() {
  const who = session();
  if (who === null) return location.replace('/console/');
  document.getElementById('sign-out').addEventListener('click', signOut);
  document.getElementById('who').textContent = `${who.name} — ${who.role} at ${who.node}`;
  const main = document.getElementById('screen');
  const nav = document.getElementById('nav');
  window.addEventListener('hashchange', () => void showScreen(who, main, nav));
  await showScreen(who, main, nav);
}

/** What screen scripts use. */
window.TallyConsole = { el, table, appendRows, moreButton, amount, when, session, load, send, newKey, screen, LoadError, refresh: () => window.dispatchEvent(new HashChangeEvent('hashchange')) };

document.addEventListener('DOMContentLoaded', () => {
  if (document.body.dataset.page === 'sign-in') signInPage();
  else void overviewPage();
});
