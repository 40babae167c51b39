// Tally console: the warrants screen (docs/compliance.md). At the CB a regulator files a warrant
// naming one payment (by payment hash or nullifier), follows each warrant's quorum (n of t
// approvals, the refusals with their reasons) and, once the quorum is in, discloses and sees who
// paid; auditors and regulators see the disclosure log's chain check. On a key holder's own node
// (/holder/<i>) the holder sees pending warrants and approves — the node computes the partial with
// its own share — or refuses with a reason. The gate decides every answer; the page only asks.
'use strict';

(() => {
  const { el, table, when, load, send, screen, refresh } = window.TallyConsole;
  const seg = encodeURIComponent;

  function errorText(r) {
    return `${r.status} ${r.body.error?.code ?? ''}: ${r.body.error?.message ?? ''}`;
  }

  /** A form whose submit sends `request()` and refreshes the screen on success, else shows the error. */
  function action(id, fields, label, request) {
    const error = el('span', { class: 'error', id: `${id}-error` });
    const form = el('form', { class: 'action', id }, ...fields, el('button', { type: 'submit' }, label), error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await request();
      if (r.status >= 200 && r.status < 300) refresh();
      else error.textContent = errorText(r);
    });
    return form;
  }

  function fileForm() {
    const id = el('input', { type: 'text', id: 'warrant-id', placeholder: 'warrant id', maxlength: 256, required: 'required' });
    const kind = el('select', { id: 'warrant-payment-kind' }, el('option', { value: 'paymentHash' }, 'payment hash'), el('option', { value: 'nullifier' }, 'nullifier'));
    const payment = el('input', { type: 'text', id: 'warrant-payment', placeholder: 'hex', maxlength: 96, required: 'required', class: 'mono' });
    const authority = el('input', { type: 'text', id: 'warrant-authority', placeholder: 'issuing authority', maxlength: 256, required: 'required' });
    const reason = el('input', { type: 'text', id: 'warrant-reason', placeholder: 'warrant text', maxlength: 256, required: 'required' });
    return action('warrant-form', [id, kind, payment, authority, reason], 'File warrant', () =>
      send('POST', '/cb/warrants', { warrantId: id.value, [kind.value]: payment.value.trim().toLowerCase(), authority: authority.value, reason: reason.value }));
  }

  function refusalsCell(w) {
    return el('td', {}, w.refusals.map((r) => el('div', { class: 'reason' }, `holder ${r.holder}: ${r.reason}`)));
  }

  function disclosedCell(w) {
    if (w.disclosed === null) return el('td', {}, '');
    const d = w.disclosed;
    return el('td', { id: `disclosed-${w.warrantId}` }, el('strong', {}, d.customerId), ` at ${d.fiId}`, el('br', {}), el('span', { class: 'mono' }, `device ${d.deviceId}`), el('div', {}, `holders ${d.holders.join(', ')}`));
  }

  function quorum(w) {
    return el('td', { class: 'quorum', id: `quorum-${w.warrantId}` }, `${w.approvals.length} of ${w.threshold} approvals` + (w.approvals.length ? ` (holders ${w.approvals.join(', ')})` : ''));
  }

  function warrantRows(warrants, extra) {
    return warrants.map((w) => [
      el('td', { class: 'mono' }, w.warrantId), el('td', { class: 'mono' }, `${w.paymentHash.slice(0, 16)}…`),
      el('td', {}, el('strong', {}, w.authority), el('div', {}, w.reason)), when(w.createdMs), w.status, quorum(w), refusalsCell(w), disclosedCell(w), extra(w),
    ]);
  }

  const HEAD = ['warrant', 'payment', 'authority and text', 'filed', 'status', 'quorum', 'refusals', 'disclosed', ''];

  async function logCard() {
    const log = await load('/cb/disclosure/log');
    const c = log.check;
    const badge = c.intact ? `disclosure log: ${c.entries} entries, chain intact` : `disclosure log BROKEN at entry ${c.brokenAt}`;
    const rows = log.entries.map((e) => [String(e.seq), el('td', { class: 'mono' }, e.warrantId), e.kind, el('td', { class: 'mono' }, JSON.stringify(e.body)), when(e.createdMs)]);
    return el('section', { class: 'card', id: 'disclosure-log-card' }, el('h2', {}, 'Disclosure log'),
      el('p', { id: 'disclosure-log', class: c.intact ? 'badge ok' : 'badge bad' }, badge),
      table('disclosure-entries', ['#', 'warrant', 'step', 'detail', 'at'], rows));
  }

  async function cbView(who) {
    const { warrants } = await load('/cb/warrants');
    const regulator = who.role === 'regulator';
    const disclose = (w) => {
      if (!regulator || w.status !== 'open' || w.approvals.length < w.threshold) return el('td', {}, '');
      return el('td', {}, action(`disclose-${w.warrantId}`, [], 'Disclose', () => send('POST', `/cb/warrants/${seg(w.warrantId)}/disclose`, {})));
    };
    const cards = [];
    if (regulator) cards.push(el('section', { class: 'card', id: 'file-card' }, el('h2', {}, 'File a warrant'), fileForm()));
    cards.push(el('section', { class: 'card', id: 'warrants-card' }, el('h2', {}, 'Warrants'), table('warrants', HEAD, warrantRows(warrants, disclose))));
    if (who.role !== 'key-holder') cards.push(await logCard());
    return cards;
  }

  async function holderView(who) {
    const i = who.holderIndex;
    const { warrants } = await load(`/holder/${i}/warrants`);
    const answer = (w) => {
      const mine = w.approvals.includes(i) ? 'you approved' : w.refusals.some((r) => r.holder === i) ? 'you refused' : null;
      if (mine !== null || w.status !== 'open') return el('td', { class: 'answered' }, mine ?? '');
      const reason = el('input', { type: 'text', id: `refusal-${w.warrantId}`, placeholder: 'reason for refusing', maxlength: 256, required: 'required' });
      return el('td', {},
        action(`approve-${w.warrantId}`, [], 'Approve', () => send('POST', `/holder/${i}/warrants/${seg(w.warrantId)}/approve`, {})),
        action(`refuse-${w.warrantId}`, [reason], 'Refuse', () => send('POST', `/holder/${i}/warrants/${seg(w.warrantId)}/refuse`, { reason: reason.value })));
    };
    const pending = warrants.filter((w) => w.status === 'open');
    return [el('section', { class: 'card', id: 'warrants-card' }, el('h2', {}, `Warrants for key holder ${i}`),
      el('p', { id: 'pending' }, `${pending.length} open warrant(s)`), table('warrants', HEAD, warrantRows(warrants, answer)))];
  }

  screen({
    id: 'warrants', label: 'Warrants',
    shows: (who) => (who.node === 'cb' && ['regulator', 'auditor', 'key-holder'].includes(who.role)) || (who.node.startsWith('holder-') && who.role === 'key-holder'),
    render: (who) => (who.node === 'cb' ? cbView(who) : holderView(who)),
  });
})();
