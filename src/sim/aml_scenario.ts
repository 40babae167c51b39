// The AML/CFT part of `tally demo`: a network of its own (databases under DATA/aml) whose CB signs
// a demonstration rule set with one rule of every kind and thresholds small enough for a few
// customers to reach, and a little story per kind — a deposit above the per-transaction limit, a
// day's deposits past the soft daily limit and the operator's override, a month's deposits,
// savings above the holding threshold, rapid load/unload cycles, deposits kept just under a
// reporting line, a merchant terminal's sync burst (a hard rule: the customer is held), a stall's
// receipts, a wallet spending close to its offline limit, a new wallet moving much at once, one
// customer's three devices, a bank's net issuance, its share of value in flight, and a burst of
// double spends. Each story's alert is checked to exist; the summary prints one row per kind.

import { cpSync } from 'node:fs';
import path from 'node:path';
import { DAY_MS, RULE_KINDS, type Rule, type RuleKind, type RuleSet } from '../compliance/index.ts';
import { PROFILES } from '../device/index.ts';
import { LedgerError, syncDevice, type FinancialIntermediary } from '../ledger/index.ts';
import { Tier } from '../policy/limits.ts';
import { enrolDevice, fundOnline, issueToFi, openDevice, openSimNetwork, payOffline, registerCustomer, type SimDevice, type SimNetwork } from './network.ts';
import { ScenarioFailure, type ScenarioLog, units } from './report.ts';

const rule = (id: string, kind: RuleKind, mode: Rule['mode'], p: Partial<Rule>): Rule => ({ id, kind, mode, severity: mode === 'monitor' ? 'medium' : 'high', limitMinor: 0n, count: 0n, windowMs: 0n, bandPercent: 0n, ...p });
const DAY = BigInt(DAY_MS);

/** One rule per kind; only the per-transaction (hard), daily (soft) and sync-burst (hard) rules stop anything. */
export const AML_DEMO_RULES: RuleSet = {
  version: 1n,
  rules: [
    rule('tx-max', 'online.per_transaction', 'hard', { limitMinor: units(2_000) }),
    rule('daily-max', 'online.daily', 'soft', { limitMinor: units(5_000) }),
    rule('monthly-watch', 'online.monthly', 'monitor', { limitMinor: units(2_500), windowMs: 30n * DAY }),
    rule('holding-watch', 'holding.total', 'monitor', { limitMinor: units(2_000) }),
    rule('rapid-cycles', 'funding.rapid_cycles', 'monitor', { count: 2n, windowMs: DAY }),
    rule('structuring-under-1000', 'structuring', 'monitor', { limitMinor: units(1_000), count: 3n, windowMs: 7n * DAY, bandPercent: 10n }),
    rule('sync-burst-hold', 'sync.burst', 'hard', { count: 3n }),
    rule('receiving-watch', 'receiving.total', 'monitor', { limitMinor: units(1_000), windowMs: 30n * DAY }),
    rule('offline-edge', 'offline.edge', 'monitor', { bandPercent: 70n }),
    rule('new-device-watch', 'device.new_activity', 'monitor', { limitMinor: units(1_500), windowMs: 7n * DAY }),
    rule('device-velocity', 'velocity.devices', 'monitor', { limitMinor: units(2_500), count: 3n, windowMs: DAY }),
    rule('watchlist-screen', 'watchlist.match', 'monitor', { count: 1n, bandPercent: 85n }),
    rule('fi-issuance-day', 'fi.net_issuance', 'monitor', { limitMinor: units(1_500_000), windowMs: DAY }),
    rule('fi-share', 'fi.in_flight_share', 'monitor', { limitMinor: units(1_000), bandPercent: 70n }),
    rule('fi-incident-burst', 'fi.incident_burst', 'monitor', { count: 2n, windowMs: DAY }),
  ],
};

export interface AmlRow {
  kind: RuleKind;
  ruleId: string;
  /** The customer (at an FI) or the FI (at the CB) the alert is about. */
  subject: string;
  decision: string;
}

export interface AmlRun {
  rows: AmlRow[];
  /** The network, still open when the caller asked to keep it (tally demo --serve); else closed. */
  net: SimNetwork | null;
}

interface Expected {
  kind: RuleKind;
  ruleId: string;
  label: string;
  at: { fi: FinancialIntermediary; customerId: string } | { fiId: string };
}

const expect = (cond: unknown, why: string): void => {
  if (!cond) throw new ScenarioFailure('AML/CFT rules', why);
};

async function refusedWith(code: string, run: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await run();
  } catch (e) {
    expect(e instanceof LedgerError && e.code === code, `${what}: refused with ${(e as { code?: string }).code ?? (e as Error).message}, not ${code}`);
    return;
  }
  throw new ScenarioFailure('AML/CFT rules', `${what} was not refused`);
}

export async function runAmlScenario(opts: { dataDir: string; seed: string; log: ScenarioLog; keepOpen?: boolean }): Promise<AmlRun> {
  const net = await openSimNetwork({ dataDir: path.join(opts.dataDir, 'aml'), seed: `${opts.seed}/aml`, fiIds: ['bank-a', 'bank-b'], verifyWorkers: 2, rules: AML_DEMO_RULES });
  try {
    const rows = await stories(net, opts.log);
    if (opts.keepOpen) return { rows, net };
    await net.close();
    return { rows, net: null };
  } catch (e) {
    await net.close();
    throw e;
  }
}

async function stories(net: SimNetwork, log: ScenarioLog): Promise<AmlRow[]> {
  const bankA = net.fis.get('bank-a')!;
  const bankB = net.fis.get('bank-b')!;
  const expected: Expected[] = [];
  const saw = (kind: RuleKind, ruleId: string, label: string, at: Expected['at']) => expected.push({ kind, ruleId, label, at });
  const wallet = async (fi: FinancialIntermediary, name: string, owner: { customerId: string; accountId: string }) =>
    log.progress(`${name} enrolled`, () => enrolDevice(net, fi, { name, profile: PROFILES.wallet, owner }));

  log.step('AML/CFT rules', 'a network whose CB signs one rule of every kind, with thresholds a few customers reach');
  for (const fi of [bankA, bankB]) await issueToFi(net, fi, units(1_000_000), `aml/alloc/${fi.fiId}`);
  await issueToFi(net, bankA, units(600_000), 'aml/top-up/bank-a');
  log.note('bank-a asks for a top-up of 600 000.00 the same day: its net issuance passes 1 500 000.00');
  saw('fi.net_issuance', 'fi-issuance-day', 'bank-a', { fiId: 'bank-a' });

  const dana = await registerCustomer(bankA, 'Dana', Tier.full);
  await refusedWith('RULE_REFUSED', () => bankA.ledger.deposit({ accountId: dana.accountId, amountMinor: units(2_500), idempotencyKey: 'aml/dana/deposit' }), 'Dana\'s deposit of 2 500.00');
  log.note('Dana deposits 2 500.00 in one go: refused, above the 2 000.00 per-transaction limit');
  saw('online.per_transaction', 'tx-max', 'Dana', { fi: bankA, customerId: dana.customerId });

  const erin = await registerCustomer(bankA, 'Erin', Tier.full);
  const erinDeposit = (n: number) => bankA.ledger.deposit({ accountId: erin.accountId, amountMinor: units(1_800), idempotencyKey: `aml/erin/deposit-${n}` });
  await erinDeposit(1);
  await erinDeposit(2);
  await refusedWith('RULE_OVERRIDE_REQUIRED', () => erinDeposit(3), 'Erin\'s third deposit of the day');
  const daily = (await bankA.alerts(erin.customerId)).find((a) => a.ruleId === 'daily-max');
  expect(daily !== undefined, 'Erin\'s refused deposit opened no daily-max alert');
  await bankA.overrideRule(daily!.id, 'house sale proceeds, contract seen', 'demo-operator');
  await erinDeposit(3);
  log.note('Erin\'s third deposit of 1 800.00 in a day needs an override of the soft daily limit; an operator gives it, the retry passes');
  saw('online.daily', 'daily-max', 'Erin', { fi: bankA, customerId: erin.customerId });

  const finn = await registerCustomer(bankA, 'Finn', Tier.full);
  for (const n of [1, 2]) await bankA.ledger.deposit({ accountId: finn.accountId, amountMinor: units(1_300), idempotencyKey: `aml/finn/deposit-${n}` });
  log.note('Finn deposits 1 300.00 twice: 2 600.00 in 30 days, above the monthly watch');
  saw('online.monthly', 'monthly-watch', 'Finn', { fi: bankA, customerId: finn.customerId });

  const gus = await registerCustomer(bankA, 'Gus', Tier.full);
  for (const [n, a] of [[1, 1_500], [2, 700]] as const) await bankA.ledger.deposit({ accountId: gus.accountId, amountMinor: units(a), idempotencyKey: `aml/gus/deposit-${n}` });
  log.note('Gus saves 2 200.00: his holding passes the 2 000.00 watch');
  saw('holding.total', 'holding-watch', 'Gus', { fi: bankA, customerId: gus.customerId });

  const hana = await registerCustomer(bankA, 'Hana', Tier.full);
  for (const [n, a] of [[1, 950], [2, 980], [3, 920]] as const) await bankA.ledger.deposit({ accountId: hana.accountId, amountMinor: units(a), idempotencyKey: `aml/hana/deposit-${n}` });
  log.note('Hana deposits 950.00, 980.00 and 920.00: three amounts just under the 1 000.00 reporting line');
  saw('structuring', 'structuring-under-1000', 'Hana', { fi: bankA, customerId: hana.customerId });

  const ivan = await registerCustomer(bankA, 'Ivan', Tier.full, units(1_000));
  const ivanWallet = await wallet(bankA, 'ivan-wallet', ivan);
  for (const n of [1, 2]) {
    await fundOnline(ivanWallet, units(300), `aml/ivan/load-${n}`);
    await bankA.applyUnloadRecord((await ivanWallet.device.se.makeUnloadRecord(units(200))).record);
  }
  log.note('Ivan loads 300.00 and unloads 200.00, twice in a day: rapid funding cycles');
  saw('funding.rapid_cycles', 'rapid-cycles', 'Ivan', { fi: bankA, customerId: ivan.customerId });

  const lena = await registerCustomer(bankA, 'Lena', Tier.full, units(1_800));
  const lenaWallet = await wallet(bankA, 'lena-wallet', lena);
  await fundOnline(lenaWallet, units(1_600), 'aml/lena/load');
  log.note('Lena\'s wallet, enrolled minutes ago, loads 1 600.00 at once');
  saw('device.new_activity', 'new-device-watch', 'Lena', { fi: bankA, customerId: lena.customerId });

  const max = await registerCustomer(bankB, 'Max', Tier.full, units(600));
  for (const n of [1, 2, 3]) await fundOnline(await wallet(bankB, `max-wallet-${n}`, max), units(100), `aml/max/load-${n}`);
  log.note('Max loads three wallets of his within the day: velocity across devices');
  saw('velocity.devices', 'device-velocity', 'Max', { fi: bankB, customerId: max.customerId });
  saw('fi.in_flight_share', 'fi-share', 'bank-a', { fiId: 'bank-a' });

  const list = 'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date\r\nOlga Marchenko,O. Marchenko,,,high,demo sanctions list,2099-12-31\r\n';
  await bankA.compliance.importWatchlist({ format: 'csv', mode: 'replace', data: list }, 'demo-operator');
  const olga = await registerCustomer(bankA, 'Olga Marchenco', Tier.full);
  log.note('bank-a imports a sanctions list naming Olga Marchenko; "Olga Marchenco" opens an account and her KYC screening matches it (one letter apart)');
  saw('watchlist.match', 'watchlist-screen', 'Olga', { fi: bankA, customerId: olga.customerId });

  await offlineStories(net, log, saw, wallet);
  return rows(net, expected);
}

/** The stories that need offline payments: the payer's edge, the terminals' burst and receipts, a double spender. */
async function offlineStories(
  net: SimNetwork, log: ScenarioLog, saw: (kind: RuleKind, ruleId: string, label: string, at: Expected['at']) => void,
  wallet: (fi: FinancialIntermediary, name: string, owner: { customerId: string; accountId: string }) => Promise<SimDevice>,
): Promise<void> {
  const bankA = net.fis.get('bank-a')!;
  const bankB = net.fis.get('bank-b')!;
  const cafe = await registerCustomer(bankA, 'Harbour Cafe', Tier.merchant);
  const stall = await registerCustomer(bankB, 'Kim\'s Market Stall', Tier.merchant);
  const pos = await log.progress('Harbour Cafe POS enrolled', () => enrolDevice(net, bankA, { name: 'cafe-pos', profile: PROFILES.pos, owner: cafe }));
  const till = await log.progress('market stall till enrolled', () => enrolDevice(net, bankB, { name: 'stall-till', profile: PROFILES.pos, owner: stall }));

  const jo = await registerCustomer(bankA, 'Jo', Tier.full, units(2_000));
  const joWallet = await wallet(bankA, 'jo-wallet', jo);
  await fundOnline(joWallet, units(1_900), 'aml/jo/load');
  for (const a of [20, 20, 20]) await payOffline(joWallet.device, pos.device, units(a), 'nfc');
  for (const a of [400, 400, 300]) await payOffline(joWallet.device, till.device, units(a), 'nfc');

  const otto = await registerCustomer(bankA, 'Otto', Tier.full, units(500));
  const ottoWallet = await wallet(bankA, 'otto-wallet', otto);
  await fundOnline(ottoWallet, units(100), 'aml/otto/load');
  const image = path.join(net.dataDir, 'devices', 'otto-wallet-image');
  cpSync(ottoWallet.nvmDir, image, { recursive: true });
  for (const a of [10, 10]) await payOffline(ottoWallet.device, pos.device, units(a), 'nfc');
  const clone = openDevice(net, 'otto-wallet-clone', PROFILES.wallet, image);
  for (const a of [10, 10]) await payOffline(clone, till.device, units(a), 'nfc');
  log.note('Jo spends 1 160.00 offline; Otto pays the cafe twice, then restores an image of his SE and pays the stall with the same counters');

  await log.progress('Jo\'s wallet syncs', () => syncDevice(joWallet.device.se, bankA, { keyPrefix: 'aml/jo-1' }));
  log.note('Jo spent 1 160.00 of the 3 000.00 a wallet may spend before a sync: within 70 % of the edge');
  saw('offline.edge', 'offline-edge', 'Jo', { fi: bankA, customerId: jo.customerId });
  const cafeSync = await log.progress('Harbour Cafe POS syncs 5 receipts', () => syncDevice(pos.device.se, bankA, { keyPrefix: 'aml/pos-1' }));
  expect(cafeSync.rounds[0]?.renewal.offered === false, 'the cafe\'s burst did not hold its credential renewal');
  log.note('5 receipts in one batch: the hard sync-burst rule settles the batch and holds the cafe until an operator resolves it');
  saw('sync.burst', 'sync-burst-hold', 'Harbour Cafe', { fi: bankA, customerId: cafe.customerId });
  await log.progress('market stall till syncs', () => syncDevice(till.device.se, bankB, { keyPrefix: 'aml/till-1' }));
  log.note('the stall received 1 120.00: above the 1 000.00 receiving watch; two of its receipts reuse Otto\'s nullifiers');
  saw('receiving.total', 'receiving-watch', 'Kim\'s Market Stall', { fi: bankB, customerId: stall.customerId });
  saw('fi.incident_burst', 'fi-incident-burst', 'bank-a', { fiId: 'bank-a' });
}

const decisionOf = (a: { mode: string; holds?: boolean; overrideReason?: string | null; status: string }): string =>
  a.holds ? `hold (${a.status})` : a.mode === 'hard' ? 'refused' : a.mode === 'soft' ? (a.overrideReason ? 'overridden' : 'override needed') : 'alert';

async function rows(net: SimNetwork, expected: readonly Expected[]): Promise<AmlRow[]> {
  const out: AmlRow[] = [];
  for (const e of expected) {
    const alert = 'fiId' in e.at
      ? (await net.cb.complianceAlerts(e.at.fiId)).find((a) => a.ruleId === e.ruleId)
      : (await e.at.fi.alerts(e.at.customerId)).find((a) => a.ruleId === e.ruleId);
    expect(alert !== undefined, `${e.label}'s story raised no ${e.kind} alert (rule ${e.ruleId})`);
    out.push({ kind: e.kind, ruleId: e.ruleId, subject: 'fiId' in e.at ? `${e.label} (at the CB)` : `${e.label} (${e.at.fi.fiId})`, decision: decisionOf(alert!) });
  }
  const missing = RULE_KINDS.filter((k) => !out.some((r) => r.kind === k));
  expect(missing.length === 0, `no story raises ${missing.join(', ')}`);
  return RULE_KINDS.map((k) => out.find((r) => r.kind === k)!);
}
