// Tally console: the logs screen. The node's admin log (who did what, when, with what result) and
// its compliance log (alerts, cases, watchlist imports, freezes and unfreezes of customers), newest
// entries first, each with its hash chain's check; at the CB also the disclosure log (warrants,
// partial decryptions, disclosures) and its chain check, without entry bodies (a disclosure names
// a customer). Each log shows a page (GET /console/<node>/logs); a "More" button under a log asks
// for the entries below the last one shown (?adminBefore= | complianceBefore= | disclosureBefore=)
// and appends them. Read-only, for each node's staff and auditors.
'use strict';

(() => {
  const { el, table, appendRows, moreButton, when, load, screen } = window.TallyConsole;

  const staff = (who) => who.role === 'auditor' || (who.node === 'cb' ? who.role === 'cb-operator' : who.role === 'fi-operator');

  function badge(id, what, c) {
    const text = c.ok ? `${what}: ${c.entries} entries, chain intact (head ${c.headHash.slice(0, 16)}…)` : `${what} BROKEN at entry ${c.broken.seq}: ${c.broken.reason}`;
    return el('p', { id, class: c.ok ? 'badge ok' : 'badge bad' }, text);
  }

  /** A log's table with a "More" button while older entries exist: each click appends the next page. */
  function paged(who, log, page, head, rowOf) {
    const t = table(`${log}-log`, head, page.entries.map(rowOf));
    let last = page.entries.length === 0 ? null : page.entries[page.entries.length - 1].seq;
    const more = moreButton(`${log}-log`, async () => {
      const next = (await load(`${who.base}/logs?${log}Before=${encodeURIComponent(last)}`))[log];
      appendRows(t, next.entries.map(rowOf));
      if (next.entries.length > 0) last = next.entries[next.entries.length - 1].seq;
      return next.more;
    });
    return [t, page.more && last !== null ? more : ''];
  }

  function disclosureCard(who, d) {
    const c = d.check;
    const text = c.intact ? `disclosure log: ${c.entries} entries, chain intact` : `disclosure log BROKEN at entry ${c.brokenAt}`;
    return el('section', { class: 'card', id: 'disclosure-log-card' }, el('h2', {}, 'Disclosure log'),
      el('p', { id: 'disclosure-log-check', class: c.intact ? 'badge ok' : 'badge bad' }, text),
      ...paged(who, 'disclosure', d, ['#', 'when', 'warrant', 'step', 'entry hash'],
        (e) => [String(e.seq), when(e.atMs), el('td', { class: 'mono' }, e.warrantId), e.kind, el('td', { class: 'mono' }, `${e.entryHash}…`)]));
  }

  screen({
    id: 'logs', label: 'Logs',
    shows: staff,
    async render(who) {
      const data = await load(`${who.base}/logs`);
      const adminRow = (e) => [String(e.seq), when(e.atMs), el('td', { class: 'mono' }, e.operatorId), e.role, e.action,
        String(e.status) + (e.code ? ` ${e.code}` : ''), el('td', { class: 'mono detail' }, e.detail)];
      const complianceRow = (e) => [String(e.seq), when(e.atMs), el('td', { class: 'mono' }, e.actor), e.action,
        el('td', { class: 'mono' }, e.subject), el('td', { class: 'mono detail' }, e.detail)];
      return [
        el('section', { class: 'card', id: 'admin-log-card' }, el('h2', {}, `Admin log of ${who.node}`),
          badge('admin-log-check', 'admin log', data.admin.check), ...paged(who, 'admin', data.admin, ['#', 'when', 'operator', 'role', 'action', 'result', 'detail'], adminRow)),
        el('section', { class: 'card', id: 'compliance-log-card' }, el('h2', {}, `Compliance log of ${who.node} (alerts, cases, freezes)`),
          badge('compliance-log-check', 'compliance log', data.compliance.check), ...paged(who, 'compliance', data.compliance, ['#', 'when', 'by', 'action', 'subject', 'detail'], complianceRow)),
        ...(data.disclosure === null ? [] : [disclosureCard(who, data.disclosure)]),
      ];
    },
  });
})();
