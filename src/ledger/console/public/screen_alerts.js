// Tally console: the AML/CFT alerts screen of a bank (its staff and auditors) and of the CB (its
// operators and auditors: the alerts of its aggregate rules per FI). Reads /compliance/alerts and
// the compliance log's chain check of the node; an operator resolves an open alert with a reason
// typed into the page (an FI's POST /fi/<id>/compliance/alerts/:id {action: resolve}, the CB's
// POST /cb/compliance/alerts/:id/resolve). The gate decides every answer: an auditor gets no
// resolve form here, and the route refuses them anyway.
'use strict';

(() => {
  const { el, table, when, load, send, newKey, screen, refresh } = window.TallyConsole;

  /** Where the node keeps its alerts, and how one is resolved there. */
  function desk(who) {
    if (who.node === 'cb') {
      return {
        base: '/cb/compliance', operator: who.role === 'cb-operator', subject: 'bank', subjectOf: (a) => a.fiId,
        resolve: (alert, reason) => send('POST', `/cb/compliance/alerts/${encodeURIComponent(alert.id)}/resolve`, { reason }, { 'idempotency-key': newKey() }),
      };
    }
    const base = `/fi/${encodeURIComponent(who.node)}/compliance`;
    return {
      base, operator: who.role === 'fi-operator', subject: 'customer', subjectOf: (a) => a.customerId,
      resolve: (alert, reason) => send('POST', `${base}/alerts/${encodeURIComponent(alert.id)}`, { action: 'resolve', text: reason }, { 'idempotency-key': newKey() }),
    };
  }

  function resolveForm(d, alert) {
    const input = el('input', { type: 'text', id: `reason-${alert.id}`, placeholder: 'reason', maxlength: 500, required: 'required' });
    const error = el('span', { class: 'error', id: `resolve-error-${alert.id}` });
    const form = el('form', { class: 'resolve', id: `resolve-${alert.id}` }, input, el('button', { type: 'submit' }, 'Resolve'), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await d.resolve(alert, input.value);
      if (r.status === 200) refresh();
      else error.textContent = `${r.status} ${r.body.error?.code ?? ''}: ${r.body.error?.message ?? ''}`;
    });
    return el('td', {}, form);
  }

  screen({
    id: 'alerts', label: 'Alerts',
    shows: (who) => (who.node === 'cb' ? who.role === 'cb-operator' : who.role === 'fi-operator') || (who.role === 'auditor' && !who.node.startsWith('holder-')),
    async render(who) {
      const d = desk(who);
      const [{ alerts }, log] = await Promise.all([load(`${d.base}/alerts`), load(`${d.base}/log/check`)]);
      const operator = d.operator;
      const rows = [...alerts].reverse().map((a) => [
        el('td', { class: 'mono' }, a.id), el('td', { class: `severity ${a.severity}` }, a.severity), `${a.ruleId} (${a.mode})`,
        el('td', { class: 'mono' }, d.subjectOf(a)), String(a.count), when(a.lastSeenMs), a.status + (a.assignee ? ` → ${a.assignee}` : ''),
        el('td', {}, a.detail, a.resolutionReason ? el('div', { class: 'reason' }, `resolved: ${a.resolutionReason}`) : ''),
        operator && a.status !== 'resolved' ? resolveForm(d, a) : el('td', {}, ''),
      ]);
      const chain = log.ok ? `compliance log: ${log.entries} entries, chain intact` : `compliance log BROKEN at entry ${log.broken.seq}: ${log.broken.reason}`;
      return [
        el('section', { class: 'card', id: 'alerts-card' },
          el('h2', {}, `AML/CFT alerts at ${who.node}`),
          el('p', { id: 'compliance-log', class: log.ok ? 'badge ok' : 'badge bad' }, chain),
          table('alerts', ['alert', 'severity', 'rule', d.subject, 'hits', 'last seen', 'status', 'detail', ''], rows)),
      ];
    },
  });
})();
