// Tally console: the AML/CFT alerts screen of a bank (its staff and auditors). Reads the FI's
// /compliance/alerts and the compliance log's chain check; an FI operator resolves an open alert
// with a reason typed into the page (POST /compliance/alerts/:id). The gate decides every answer:
// an auditor gets no resolve form here, and the route refuses them anyway.
'use strict';

(() => {
  const { el, table, when, load, send, screen, refresh } = window.TallyConsole;

  function resolveForm(fiId, alert) {
    const input = el('input', { type: 'text', id: `reason-${alert.id}`, placeholder: 'reason', maxlength: 500, required: 'required' });
    const error = el('span', { class: 'error', id: `resolve-error-${alert.id}` });
    const form = el('form', { class: 'resolve', id: `resolve-${alert.id}` }, input, el('button', { type: 'submit' }, 'Resolve'), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await send('POST', `/fi/${encodeURIComponent(fiId)}/compliance/alerts/${encodeURIComponent(alert.id)}`, { action: 'resolve', text: input.value });
      if (r.status === 200) refresh();
      else error.textContent = `${r.status} ${r.body.error?.code ?? ''}: ${r.body.error?.message ?? ''}`;
    });
    return el('td', {}, form);
  }

  screen({
    id: 'alerts', label: 'Alerts',
    shows: (who) => who.node !== 'cb' && (who.role === 'fi-operator' || who.role === 'auditor'),
    async render(who) {
      const fi = encodeURIComponent(who.node);
      const [{ alerts }, log] = await Promise.all([load(`/fi/${fi}/compliance/alerts`), load(`/fi/${fi}/compliance/log/check`)]);
      const operator = who.role === 'fi-operator';
      const rows = [...alerts].reverse().map((a) => [
        el('td', { class: 'mono' }, a.id), el('td', { class: `severity ${a.severity}` }, a.severity), `${a.ruleId} (${a.mode})`,
        el('td', { class: 'mono' }, a.customerId), String(a.count), when(a.lastSeenMs), a.status + (a.assignee ? ` → ${a.assignee}` : ''),
        el('td', {}, a.detail, a.resolutionReason ? el('div', { class: 'reason' }, `resolved: ${a.resolutionReason}`) : ''),
        operator && a.status !== 'resolved' ? resolveForm(who.node, a) : el('td', {}, ''),
      ]);
      const chain = log.ok ? `compliance log: ${log.entries} entries, chain intact` : `compliance log BROKEN at entry ${log.broken.seq}: ${log.broken.reason}`;
      return [
        el('section', { class: 'card', id: 'alerts-card' },
          el('h2', {}, `AML/CFT alerts at ${who.node}`),
          el('p', { id: 'compliance-log', class: log.ok ? 'badge ok' : 'badge bad' }, chain),
          table('alerts', ['alert', 'severity', 'rule', 'customer', 'hits', 'last seen', 'status', 'detail', ''], rows)),
      ];
    },
  });
})();
