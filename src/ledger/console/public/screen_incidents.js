// Tally console: the double-spend incidents screen. At the CB (its staff and auditors): every
// incident with the named customer's bank, that bank's pseudonymous customer id, the device, the
// exposure bound L × cap(t) and the value the CB booked for it. At a bank: the incidents naming
// its own customers, with the customer's name, and its own incidents found at sync (a receipt
// for another payee, or uploaded twice). Each list shows the newest page (up to 500 rows) and a
// "More" button while older rows exist. Read-only; the gate decides every answer.
'use strict';

(() => {
  const { el, table, appendRows, moreButton, amount, when, load, screen } = window.TallyConsole;

  const staff = (who) => who.role === 'auditor' || (who.node === 'cb' ? who.role === 'cb-operator' : who.role === 'fi-operator');
  const mono = (s) => el('td', { class: 'mono' }, s ?? '—');
  const id = (s) => el('td', { class: 'mono wrap' }, s);
  const short = (hex) => (hex === null ? '—' : `${hex.slice(0, 12)}…`);
  const person = (name, id) => el('td', {}, el('strong', {}, name ?? '(no name)'), el('br', {}), el('span', { class: 'mono' }, id ?? '—'));
  const sum = (list, key) => list.reduce((s, i) => s + BigInt(i[key]), 0n);

  function cbRows(incidents) {
    return incidents.map((i) => [
      id(i.id), String(i.epoch), String(i.tier), i.fiId ?? (i.uploaderFiId ? `payee at ${i.uploaderFiId}` : 'not named yet'),
      mono(i.customerId), mono(short(i.deviceId)), amount(i.exposureMinor), BigInt(i.bookedMinor) === 0n ? el('td', {}, 'not booked') : amount(i.bookedMinor), when(i.createdMs),
    ]);
  }

  function fiRows(incidents) {
    return incidents.map((i) => [
      id(i.id), String(i.epoch), String(i.tier),
      person(i.customerName, i.customerId),
      mono(short(i.deviceId)), amount(i.exposureMinor), when(i.createdMs),
    ]);
  }

  const syncRows = (list) => list.map((i) => [i.kind, person(i.customerName, i.customerId), mono(short(i.deviceId)), mono(`${i.paymentHash.slice(0, 12)}…`), i.detail, when(i.createdMs)]);

  /**
   * A list's table with a "More" button while more rows exist: a click asks for the rows below the
   * last one shown (`?<cursor>=<its id>`) and appends them.
   */
  function paged(who, tableId, head, list, more, rowsOf, cursor, pick) {
    const t = table(tableId, head, rowsOf(list));
    let last = list.length === 0 ? null : list[list.length - 1].id;
    const button = moreButton(tableId, async () => {
      const next = pick(await load(`${who.base}/incidents?${cursor}=${encodeURIComponent(last)}`));
      appendRows(t, rowsOf(next.list));
      if (next.list.length > 0) last = next.list[next.list.length - 1].id;
      return next.more;
    });
    return [t, more && last !== null ? button : ''];
  }

  function syncCard(who, data) {
    return el('section', { class: 'card', id: 'sync-incidents-card' }, el('h2', {}, 'Refused at sync (receipts that would credit a payment twice)'),
      ...paged(who, 'sync-incidents', ['kind', 'customer', 'device', 'payment', 'detail', 'when'], data.syncIncidents, data.syncMore, syncRows, 'syncBefore',
        (d) => ({ list: d.syncIncidents, more: d.syncMore })));
  }

  screen({
    id: 'incidents', label: 'Incidents',
    shows: staff,
    async render(who) {
      const data = await load(`${who.base}/incidents`);
      const list = data.incidents;
      const cb = who.node === 'cb';
      const summary = `${list.length}${data.more ? '+' : ''} incident(s)${data.more ? ' (the newest shown; More reads on)' : ''}; exposure bound Σ L × cap ${sum(list, 'exposureMinor')}` + (cb ? `; value booked ${sum(list, 'bookedMinor')}` : '');
      const head = cb
        ? ['incident (epoch, nullifier)', 'epoch', 'tier', 'bank', 'customer (pseudonymous)', 'device', 'exposure L × cap', 'value booked', 'opened']
        : ['incident', 'epoch', 'tier', 'customer', 'device', 'exposure L × cap', 'opened'];
      const note = !cb && data.heldByCb ? el('p', { id: 'incidents-note' }, 'Double-spend incidents are held by the CB, which this server does not host.') : '';
      return [
        el('section', { class: 'card', id: 'incidents-card' },
          el('h2', {}, cb ? 'Double-spend incidents at the CB' : `Double-spend incidents naming customers of ${who.node}`),
          el('p', { id: 'incidents-summary' }, summary), note,
          ...paged(who, 'incidents', head, list, data.more, cb ? cbRows : fiRows, 'before', (d) => ({ list: d.incidents, more: d.more }))),
        ...(cb ? [] : [syncCard(who, data)]),
      ];
    },
  });
})();
