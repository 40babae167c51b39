// Tally console: the banks screen at the CB (its staff and auditors). Per bank, aggregates only:
// reserve at the CB, its accounts total, the value its devices last reported inside their SEs,
// the value it moved into offline circulation and what of it is in flight, when the CB last
// received settlement evidence from it and when one of its devices last synced, and its device
// count; a uPlot bar chart of accounts and SE value per bank.
'use strict';

(() => {
  const { el, table, amount, when, load, screen } = window.TallyConsole;

  const maybe = (v) => (v === null ? el('td', {}, 'not hosted here') : amount(v));

  function chart(banks) {
    const box = el('div', { id: 'banks-chart' });
    const xs = banks.map((_b, i) => i);
    // Two bars per bank, side by side (the reserve mirrors the accounts, so it is left out). The
    // chart draws doubles; the exact amounts are in the table.
    const series = [['accountsMinor', 'accounts', '#2f7ed8', -1], ['seBalancesMinor', 'inside SEs', '#0d9f6e', 1]];
    const data = [xs, ...series.map(([k]) => banks.map((b) => (b[k] === null ? null : Number(b[k]))))];
    const opts = {
      width: 720, height: 240, title: 'Accounts and value inside SEs per bank (minor units)',
      scales: { x: { time: false, range: [-0.5, banks.length - 0.5] } },
      axes: [{ values: (_u, ticks) => ticks.map((t) => banks[t]?.fiId ?? ''), splits: () => xs }, { size: 90, values: (_u, ticks) => ticks.map((v) => String(v)) }],
      // eslint-disable-next-line no-undef
      series: [{ label: 'bank', value: (_u, v) => (v === null ? '--' : banks[v]?.fiId ?? '--') }, ...series.map(([, label, stroke, align]) => ({ label, stroke, fill: stroke, width: 1, paths: uPlot.paths.bars({ size: [0.35, 80], align }), points: { show: false } }))],
    };
    // eslint-disable-next-line no-undef
    new uPlot(opts, data, box);
    return box;
  }

  screen({
    id: 'banks', label: 'Banks',
    shows: (who) => who.node === 'cb' && (who.role === 'auditor' || who.role === 'cb-operator'),
    async render(who) {
      const { banks } = await load(`${who.base}/banks`);
      const rows = banks.map((b) => [b.fiId, amount(b.reserveMinor), maybe(b.accountsMinor), maybe(b.seBalancesMinor), amount(b.circulationMinor), maybe(b.inFlightMinor),
        when(b.lastSettlementMs), when(b.lastSyncMs), String(b.devices)]);
      return [
        el('section', { class: 'card', id: 'bank-rows-card' }, el('h2', {}, 'Banks'),
          table('bank-rows', ['bank', 'reserve at the CB', 'accounts', 'inside its SEs', 'into circulation', 'in flight', 'last settlement', 'last device sync', 'devices'], rows)),
        el('section', { class: 'card', id: 'banks-chart-card' }, el('h2', {}, 'Per bank'), chart(banks)),
      ];
    },
  });
})();
