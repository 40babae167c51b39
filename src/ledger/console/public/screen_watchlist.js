// Tally console: the watchlist screen of a bank (its staff and auditors). Lists the entries the FI
// screens names against (GET /fi/<id>/compliance/watchlist), expired ones marked; an FI operator
// imports a list pasted into the page, CSV or JSON Lines, replacing the list or appending to it
// (POST /fi/<id>/compliance/watchlist). The route parses strictly: a bad line is refused with its
// number and nothing is imported, and the page shows that refusal as the node wrote it.
'use strict';

(() => {
  const { el, table, when, load, send, newKey, screen, refresh } = window.TallyConsole;
  const failed = (r) => `${r.status} ${r.body.error?.code ?? ''}: ${r.body.error?.message ?? ''}`;

  function choice(id, options) {
    return el('select', { id }, options.map((o) => el('option', { value: o }, o)));
  }

  function importForm(base) {
    const data = el('textarea', { id: 'watchlist-data', rows: 6, cols: 90, required: 'required', placeholder: 'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date' });
    const format = choice('watchlist-format', ['csv', 'json']);
    const mode = choice('watchlist-mode', ['append', 'replace']);
    const status = el('span', { id: 'watchlist-import-status' });
    const form = el('form', { class: 'action', id: 'watchlist-import' },
      data, el('label', {}, 'format ', format), el('label', {}, 'mode ', mode), el('button', { type: 'submit' }, 'Import'), status);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await send('POST', `${base}/watchlist`, { format: format.value, mode: mode.value, data: data.value }, { 'idempotency-key': newKey() });
      if (r.status === 200) refresh();
      else {
        status.className = 'error';
        status.textContent = failed(r);
      }
    });
    return form;
  }

  screen({
    id: 'watchlist', label: 'Watchlist',
    shows: (who) => who.node !== 'cb' && !who.node.startsWith('holder-') && (who.role === 'fi-operator' || who.role === 'auditor'),
    async render(who) {
      const base = `/fi/${encodeURIComponent(who.node)}/compliance`;
      const { entries } = await load(`${base}/watchlist`);
      const now = Date.now();
      const rows = entries.map((e) => [
        el('td', {}, el('strong', {}, e.name), e.aliases.length > 0 ? el('div', { class: 'reason' }, `aka ${e.aliases.join('; ')}`) : ''),
        e.dateOfBirth ?? '', e.country ?? '', el('td', { class: `severity ${e.riskLevel === 'high' ? 'high' : e.riskLevel === 'medium' ? 'medium' : 'low'}` }, e.riskLevel),
        e.listSource, el('td', { class: e.expiresMs <= now ? 'expired' : '' }, e.expiresMs <= now ? `${e.expiryDate} (expired)` : e.expiryDate),
        when(e.importedMs),
      ]);
      return [
        el('section', { class: 'card', id: 'watchlist-card' },
          el('h2', {}, `Watchlist at ${who.node}: ${entries.length} entries`),
          el('p', {}, 'Names are screened at KYC, funding, defunding, deposit and withdrawal; the watchlist.match rule sets the score and risk that hit.'),
          who.role === 'fi-operator' ? importForm(base) : '',
          table('watchlist', ['name', 'date of birth', 'country', 'risk', 'list', 'expires', 'imported'], rows)),
      ];
    },
  });
})();
