// Tally console: the compliance cases screen of a bank (its staff and auditors). Lists the FI's
// cases (GET /compliance/cases), newest first; each opens in place (a <details> element) to show
// its alerts and notes. An FI operator opens a case for a customer and adds a note typed into the
// page (POST /compliance/cases, POST /compliance/cases/:id/notes); an auditor gets no forms here,
// and the routes refuse them anyway.
'use strict';

(() => {
  const { el, table, when, load, send, newKey, screen, refresh } = window.TallyConsole;
  // Cases the reader opened stay open when the screen refreshes (after a note, say).
  const opened = new Set();
  const failed = (r) => `${r.status} ${r.body.error?.code ?? ''}: ${r.body.error?.message ?? ''}`;

  function noteForm(fiId, c) {
    const input = el('textarea', { id: `note-text-${c.id}`, placeholder: 'note', maxlength: 4000, required: 'required' });
    const error = el('span', { class: 'error', id: `note-error-${c.id}` });
    const form = el('form', { class: 'note', id: `note-${c.id}` }, input, el('button', { type: 'submit' }, 'Add note'), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await send('POST', `/fi/${encodeURIComponent(fiId)}/compliance/cases/${encodeURIComponent(c.id)}/notes`, { text: input.value }, { 'idempotency-key': newKey() });
      if (r.status === 200) refresh();
      else error.textContent = failed(r);
    });
    return form;
  }

  function openForm(fiId) {
    const input = el('input', { type: 'text', id: 'case-customer', placeholder: 'customer id', maxlength: 128, required: 'required' });
    const error = el('span', { class: 'error', id: 'case-open-error' });
    const form = el('form', { class: 'open-case', id: 'case-open' }, input, el('button', { type: 'submit' }, 'Open case'), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await send('POST', `/fi/${encodeURIComponent(fiId)}/compliance/cases`, { customerId: input.value }, { 'idempotency-key': newKey() });
      if (r.status === 201) refresh();
      else error.textContent = failed(r);
    });
    return form;
  }

  function caseView(fiId, c, alerts, operator) {
    const state = c.status === 'closed' ? `closed ${when(c.closedMs)}: ${c.closeReason}` : 'open';
    const alertRows = c.alertIds.map((id) => {
      const a = alerts.get(id);
      return a === undefined ? [el('td', { class: 'mono' }, id), '', '', '']
        : [el('td', { class: 'mono' }, id), el('td', { class: `severity ${a.severity}` }, a.severity), `${a.ruleId} (${a.mode})`, a.detail];
    });
    const noteRows = c.notes.map((n) => [when(n.atMs), el('td', { class: 'mono' }, n.author), el('td', { class: 'note-text' }, n.text)]);
    const view = el('details', { class: 'case', id: `case-${c.id}`, ...(opened.has(c.id) ? { open: 'open' } : {}) },
      el('summary', {}, el('span', { class: 'mono' }, c.id), ` · customer ${c.customerId} · ${c.alertIds.length} alerts · ${c.notes.length} notes · ${state}`),
      el('p', {}, `opened ${when(c.openedMs)} by ${c.openedBy}`),
      table(`case-alerts-${c.id}`, ['alert', 'severity', 'rule', 'detail'], alertRows),
      table(`case-notes-${c.id}`, ['at', 'by', 'note'], noteRows),
      operator ? noteForm(fiId, c) : '');
    view.addEventListener('toggle', () => (view.open ? opened.add(c.id) : opened.delete(c.id)));
    return view;
  }

  screen({
    id: 'cases', label: 'Cases',
    shows: (who) => who.node !== 'cb' && (who.role === 'fi-operator' || who.role === 'auditor'),
    async render(who) {
      const fi = encodeURIComponent(who.node);
      const [{ cases }, { alerts }] = await Promise.all([load(`/fi/${fi}/compliance/cases`), load(`/fi/${fi}/compliance/alerts`)]);
      const byId = new Map(alerts.map((a) => [a.id, a]));
      const operator = who.role === 'fi-operator';
      return [
        el('section', { class: 'card', id: 'cases-card' },
          el('h2', {}, `Compliance cases at ${who.node}`),
          operator ? openForm(who.node) : '',
          cases.length === 0 ? el('p', { id: 'no-cases' }, 'No cases.') : '',
          el('div', { id: 'cases' }, ...[...cases].reverse().map((c) => caseView(who.node, c, byId, operator)))),
      ];
    },
  });
})();
