// Tally console: the logs screen. The node's admin log (who did what, when, with what result),
// newest entries first, and its hash chain's check; at the CB also the disclosure log (warrants,
// partial decryptions, disclosures) and its chain check, without entry bodies (a disclosure names
// a customer). Read-only, for each node's staff and auditors.
'use strict';

(() => {
  const { el, table, when, load, screen } = window.TallyConsole;

  const staff = (who) => who.role === 'auditor' || (who.node === 'cb' ? who.role === 'cb-operator' : who.role === 'fi-operator');

  function adminCheck(c) {
    const text = c.ok ? `admin log: ${c.entries} entries, chain intact (head ${c.headHash.slice(0, 16)}…)` : `admin log BROKEN at entry ${c.broken.seq}: ${c.broken.reason}`;
    return el('p', { id: 'admin-log-check', class: c.ok ? 'badge ok' : 'badge bad' }, text);
  }

  function disclosureCard(d) {
    const c = d.check;
    const text = c.intact ? `disclosure log: ${c.entries} entries, chain intact` : `disclosure log BROKEN at entry ${c.brokenAt}`;
    return el('section', { class: 'card', id: 'disclosure-log-card' }, el('h2', {}, 'Disclosure log'),
      el('p', { id: 'disclosure-log-check', class: c.intact ? 'badge ok' : 'badge bad' }, text),
      table('disclosure-log', ['#', 'when', 'warrant', 'step', 'entry hash'],
        d.entries.map((e) => [String(e.seq), when(e.atMs), el('td', { class: 'mono' }, e.warrantId), e.kind, el('td', { class: 'mono' }, `${e.entryHash}…`)])));
  }

  screen({
    id: 'logs', label: 'Logs',
    shows: staff,
    async render(who) {
      const data = await load(`${who.base}/logs`);
      const rows = data.admin.entries.map((e) => [String(e.seq), when(e.atMs), el('td', { class: 'mono' }, e.operatorId), e.role, e.action,
        String(e.status) + (e.code ? ` ${e.code}` : ''), el('td', { class: 'mono detail' }, e.detail)]);
      return [
        el('section', { class: 'card', id: 'admin-log-card' }, el('h2', {}, `Admin log of ${who.node} (newest ${data.admin.entries.length})`),
          adminCheck(data.admin.check), table('admin-log', ['#', 'when', 'operator', 'role', 'action', 'result', 'detail'], rows)),
        ...(data.disclosure === null ? [] : [disclosureCard(data.disclosure)]),
      ];
    },
  });
})();
