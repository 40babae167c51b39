// Tally console: the devices screen of a bank (its staff and auditors). Reads /console/fi/<id>/devices:
// per device its customer, last sync (the SE's signed report time, the FI's acceptance time), newest
// credential epoch and the latest moment it can still pay offline, or "revoked at first sync" once
// the CB's signed list names it. An FI operator freezes or unfreezes a customer here with a reason
// (POST /fi/<id>/customers/<customer>/freeze|unfreeze); the gate decides, an auditor gets no form.
'use strict';

(() => {
  const { el, table, appendRows, moreButton, when, load, send, newKey, screen, refresh } = window.TallyConsole;

  function freezeForm(fiId, customerId, frozen) {
    const action = frozen ? 'unfreeze' : 'freeze';
    const input = el('input', { type: 'text', id: `reason-${customerId}`, placeholder: 'reason', maxlength: 500, required: 'required' });
    const error = el('span', { class: 'error', id: `freeze-error-${customerId}` });
    const form = el('form', { class: 'freeze', id: `${action}-${customerId}` }, input, el('button', { type: 'submit' }, frozen ? 'Unfreeze' : 'Freeze'), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const path = `/fi/${encodeURIComponent(fiId)}/customers/${encodeURIComponent(customerId)}/${action}`;
      const r = await send('POST', path, { reason: input.value }, { 'idempotency-key': newKey() });
      if (r.status === 200) refresh();
      else error.textContent = `${r.status} ${r.body.error?.code ?? ''}: ${r.body.error?.message ?? ''}`;
    });
    return form;
  }

  function offlineEnd(d) {
    if (d.revoked) {
      return el('td', { class: 'revoked', id: `offline-${d.deviceId}` }, `revoked at first sync (list v${d.revocationVersion})`,
        d.offlineUntilMs === null ? '' : el('div', { class: 'reason' }, `until then at the latest ${when(d.offlineUntilMs)}`));
    }
    return el('td', { id: `offline-${d.deviceId}` }, d.offlineUntilMs === null ? 'no credential' : when(d.offlineUntilMs));
  }

  screen({
    id: 'devices', label: 'Devices',
    shows: (who) => who.node !== 'cb' && (who.role === 'fi-operator' || who.role === 'auditor'),
    async render(who) {
      const { devices, more, listProblems } = await load(`${who.base}/devices`);
      const operator = who.role === 'fi-operator';
      const formShown = new Set();
      const rowOf = (d) => {
        // One freeze form per customer, on the row of their first device.
        const form = operator && !formShown.has(d.customerId) ? freezeForm(who.node, d.customerId, d.frozen) : '';
        formShown.add(d.customerId);
        return [
          el('td', { class: 'mono' }, d.deviceId.slice(0, 16) + '…'),
          el('td', {}, d.customerName ?? '', el('div', { class: 'mono' }, d.customerId)),
          el('td', { class: d.frozen ? 'severity high' : '', id: `status-${d.customerId}-${d.deviceId.slice(0, 8)}` }, d.frozen ? 'frozen' : 'active'),
          el('td', {}, `device ${when(d.deviceReportMs)}`, el('div', {}, `FI ${when(d.fiSyncMs)}`)),
          d.newestCredentialEpoch ?? 'none',
          offlineEnd(d),
          el('td', {}, form),
        ];
      };
      const t = table('devices', ['device', 'customer', 'status', 'last sync', 'newest credential epoch', 'can pay offline until', ''], devices.map(rowOf));
      // Oldest enrolment first; "More" appends the devices after the last one shown.
      let last = devices.length === 0 ? null : devices[devices.length - 1].deviceId;
      const button = moreButton('devices', async () => {
        const next = await load(`${who.base}/devices?after=${encodeURIComponent(last)}`);
        appendRows(t, next.devices.map(rowOf));
        if (next.devices.length > 0) last = next.devices[next.devices.length - 1].deviceId;
        return next.more;
      });
      return [
        el('section', { class: 'card', id: 'devices-card' },
          el('h2', {}, `Devices at ${who.node}`),
          ...listProblems.map((p) => el('p', { class: 'error list-problem' }, p)),
          el('p', {}, 'A device pays offline until its newest credential expires with its grace period; a frozen customer\'s devices stop at their first sync after the CB lists them.'),
          t, more && last !== null ? button : ''),
      ];
    },
  });
})();
