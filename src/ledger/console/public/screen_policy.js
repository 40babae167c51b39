// Tally console: the policy and rules screen. The CB-signed policy in force (per tier: cap,
// holding limit, L, offline spend before a forced sync, epoch, grace, online limits, the current
// epoch), the AML/CFT rule set each bank runs, and the broken-SE worst-case loss table (the same
// numbers as `tally exposure`). Read-only, for each node's staff and auditors.
'use strict';

(() => {
  const { el, table, amount, load, screen } = window.TallyConsole;

  const staff = (who) => who.role === 'auditor' || (who.node === 'cb' ? who.role === 'cb-operator' : who.role === 'fi-operator');
  const DAY_MS = 86400000n;
  const duration = (ms) => {
    const v = BigInt(ms);
    return v % DAY_MS === 0n ? `${v / DAY_MS} d` : `${v} ms`;
  };
  const PARAMS = [['limitMinor', 'limit'], ['count', 'count'], ['windowMs', 'window'], ['bandPercent', 'band %']];
  const thresholds = (r) => PARAMS.filter(([k]) => BigInt(r[k]) !== 0n).map(([k, label]) => `${label} ${k === 'windowMs' ? duration(r[k]) : r[k]}`).join(', ');

  function tiers(data) {
    return table('policy-tiers', ['tier', 'cap per payment', 'holding limit', 'L per epoch', 'offline spend before sync', 'epoch', 'grace', 'daily online', 'monthly online', 'current epoch'],
      data.tiers.map((t) => [String(t.tier), amount(t.capMinor), amount(t.holdingLimitMinor), String(t.paymentsPerEpoch), amount(t.offlineSpendBeforeSyncMinor),
        duration(t.epochMs), duration(t.graceMs), amount(t.dailyOnlineLimitMinor), amount(t.monthlyOnlineLimitMinor), String(t.currentEpoch)]));
  }

  function ruleSet(set) {
    return el('div', { class: 'rule-set', id: `rules-${set.fiId}` },
      el('h3', {}, `${set.fiId}: rule set v${set.version} (${set.source})`),
      table(`rules-table-${set.fiId}`, ['rule', 'kind', 'mode', 'severity', 'thresholds'],
        set.rules.map((r) => [el('td', { class: 'mono' }, r.id), r.kind, r.mode, el('td', { class: `severity ${r.severity}` }, r.severity), thresholds(r)])));
  }

  function exposure(e) {
    const rows = e.tiers.map((t) => [String(t.tier), String(t.devices), String(t.paymentsPerEpoch), amount(t.capMinor), amount(t.perCredentialMinor), amount(t.perDeviceMinor), amount(t.totalMinor)]);
    return [
      table('exposure', ['tier', 'devices', 'L', 'cap', 'L × cap per credential', `× ${e.credentialsWithoutSyncMax} per device`, 'total'], rows),
      el('p', { id: 'exposure-total' }, `Unaccounted if every device stops syncing: ${e.totalMinor}; per epoch if they keep syncing with consistent lies: ${e.perEpochIfSyncingMinor} (caught in aggregate by the discrepancy alarm).`),
    ];
  }

  screen({
    id: 'policy', label: 'Policy and rules',
    shows: staff,
    async render(who) {
      const data = await load(`${who.base}/policy`);
      return [
        el('section', { class: 'card', id: 'policy-card' }, el('h2', {}, `Policy v${data.policyVersion} (CB-signed, in force)`), tiers(data)),
        el('section', { class: 'card', id: 'rules-card' }, el('h2', {}, 'AML/CFT rules'),
          data.ruleSets.length === 0 ? el('p', { id: 'no-rules' }, 'No AML/CFT rule set installed.') : data.ruleSets.map(ruleSet)),
        el('section', { class: 'card', id: 'exposure-card' }, el('h2', {}, `Worst-case loss to broken SEs (policy v${data.exposure.policyVersion})`), exposure(data.exposure)),
      ];
    },
  });
})();
