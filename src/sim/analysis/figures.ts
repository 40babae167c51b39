// The seed's three figures per device class (issue 13): tap-time latency, energy per payment and the
// maximum sustainable offline period, computed from the cost model (src/device/cost_model.ts), a
// link model below, the policy (src/policy/limits.ts) and a run's observed workload rates; then
// set beside what the simulation saw (RunRecord.offlineRuns). Pure and deterministic.

import { estimate, stepOps } from '../../device/cost_model.ts';
import { PROFILES, receiptLogCapacityOf, type ProfileName } from '../../device/profiles.ts';
import { DEFAULT_POLICY, limitsFor, type PolicyTable } from '../../policy/limits.ts';
import type { RunRecord, SyncRecord } from '../fleet/types.ts';

const DAY_MS = 86_400_000;

/**
 * Link model (ESTIMATE, not measured): NFC at ISO 14443's 424 kbit/s with a frame of at most
 * NFC_FRAME_BYTES and NFC_TURNAROUND_MS per frame; BLE 1M PHY sending one ATT packet of MTU − 3
 * payload bytes per connection event of BLE_CONN_INTERVAL_MS (the minimum interval, 7.5 ms).
 */
export const NFC_BYTES_PER_MS = 424_000 / 8 / 1000;
export const NFC_FRAME_BYTES = 256;
export const NFC_TURNAROUND_MS = 1;
export const BLE_CONN_INTERVAL_MS = 7.5;

export function linkMs(link: 'nfc' | 'ble', mtu: number, bytes: number): number {
  if (bytes <= 0) return 0;
  if (link === 'nfc') return bytes / NFC_BYTES_PER_MS + Math.ceil(bytes / NFC_FRAME_BYTES) * NFC_TURNAROUND_MS;
  const payload = Math.max(1, mtu - 3);
  return Math.ceil(bytes / payload) * BLE_CONN_INTERVAL_MS;
}

/**
 * Time at the tap, as DESIGN §3.2 "what runs when" and §8 budget it: the payer SE's tap step (its
 * idle precomputation excluded), the payer host's tap step and the link. The payee's SE work
 * (request build and accept with the proof check) runs on the payee's hardware and is reported
 * beside it as payeeMs, not added: on SE classes it is far above the tap budget, which the report
 * states rather than hides.
 */
export function tapCostMs(payer: ProfileName, payee: ProfileName, link: 'nfc' | 'ble', mtu: number, bytes: number): { seMs: number; hostMs: number; linkMs: number; totalMs: number; payeeMs: number } {
  const seMs = estimate(stepOps('payer.se.tap'), PROFILES[payer].hardware).timeMs;
  const hostMs = estimate(stepOps('payer.host.tap'), 'host').timeMs;
  const payeeMs = estimate(stepOps('payee.se.build'), PROFILES[payee].hardware).timeMs + estimate(stepOps('payee.se.accept'), PROFILES[payee].hardware).timeMs;
  const l = linkMs(link, mtu, bytes);
  return { seMs, hostMs, linkMs: l, totalMs: seMs + hostMs + l, payeeMs };
}

/** Payer SE energy of one payment (precompute + tap) from the cost model's activeMw (an ESTIMATE per class). */
export function payerEnergyMj(payer: ProfileName): number {
  const hw = PROFILES[payer].hardware;
  return estimate(stepOps('payer.se.precompute'), hw).energyMj + estimate(stepOps('payer.se.tap'), hw).energyMj;
}

export interface WorkloadRates {
  paymentsPerDay: number;
  receiptsPerDay: number;
  /** Mean paid amount (minor units) of the payments this device made / received. */
  meanPaidMinor: number;
  meanReceivedMinor: number;
}

export type Binding = SyncRecord['reason'];

export interface OfflineLimit {
  days: number;
  binding: Binding;
  /** Every constraint's days (Infinity when it never binds). */
  each: Partial<Record<Binding, number>>;
}

/** The maximum offline period: the smallest of the days each limit allows, and which one it is. */
export function maxOfflineDays(profile: ProfileName, rates: WorkloadRates, policy: PolicyTable = DEFAULT_POLICY): OfflineLimit {
  const p = PROFILES[profile];
  const lim = limitsFor(policy, p.tier);
  const per = (budget: number, rate: number) => (rate > 0 ? budget / rate : Infinity);
  const each: Partial<Record<Binding, number>> = {
    'epoch-end': Number(lim.epochMs + lim.graceMs) / DAY_MS,
    'receipt-log-full': per(receiptLogCapacityOf(p), rates.receiptsPerDay),
    'holding-limit': per(Number(lim.holdingLimitMinor), rates.receiptsPerDay * rates.meanReceivedMinor),
  };
  if (rates.paymentsPerDay > 0) {
    each['counter-limit'] = per(lim.paymentsPerEpoch, rates.paymentsPerDay);
    each['offline-spend-limit'] = per(Number(lim.offlineSpendBeforeSyncMinor), rates.paymentsPerDay * rates.meanPaidMinor);
  }
  let binding: Binding = 'epoch-end';
  for (const k of Object.keys(each).sort() as Binding[]) if (each[k]! < each[binding]!) binding = k;
  return { days: each[binding]!, binding, each };
}

export interface ClassFigures {
  profile: ProfileName;
  payments: number;
  tapMs: { mean: number; p50: number; p95: number; seMs: number; linkMs: number; payeeMs: number };
  /** Sorted tap times of this class's paid payments as payer (the latency distribution). */
  tapSamples: number[];
  energyMj: number;
  energySource: string;
  workloads: { workload: string; rates: WorkloadRates; analytic: OfflineLimit; simulated: { runs: number; meanDays: number; forcedBy: Record<string, number> } }[];
  maxOfflineDays: { analytic: number; binding: Binding; simulated: number | null; forcedBy: Binding | null };
}

const quantile = (xs: number[], q: number) => (xs.length === 0 ? 0 : xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!);
const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

export function classFigures(record: RunRecord, policy: PolicyTable = DEFAULT_POLICY): ClassFigures[] {
  const days = Math.max(1e-9, (record.endMs - record.startMs) / DAY_MS);
  const profileOf = new Map(record.devices.map((d) => [d.id, d.profile]));
  const paid = record.payments.filter((p) => p.outcome === 'paid');
  const out: ClassFigures[] = [];
  for (const profile of Object.keys(PROFILES).sort() as ProfileName[]) {
    const devices = record.devices.filter((d) => d.profile === profile).map((d) => d.id);
    if (devices.length === 0) continue;
    const asPayer = paid.filter((p) => p.payerProfile === profile);
    const costs = asPayer.map((p) => tapCostMs(p.payerProfile, p.payeeProfile, p.link, p.mtu, p.bytesPayerToPayee + p.bytesPayeeToPayer));
    const samples = costs.map((c) => c.totalMs).sort((a, b) => a - b);
    // Workloads this profile takes part in, as payer or payee.
    const workloads = [...new Set(paid.filter((p) => p.payerProfile === profile || p.payeeProfile === profile).map((p) => p.workload).concat(record.offlineRuns.filter((r) => r.profile === profile).map((r) => r.workload)))].sort();
    const ws = workloads.map((workload) => {
      const inW = paid.filter((p) => p.workload === workload);
      const paidBy = inW.filter((p) => profileOf.get(p.payerDevice) === profile);
      const recvBy = inW.filter((p) => profileOf.get(p.payeeDevice) === profile);
      const rates: WorkloadRates = {
        paymentsPerDay: paidBy.length / devices.length / days,
        receiptsPerDay: recvBy.length / devices.length / days,
        meanPaidMinor: mean(paidBy.map((p) => Number(p.amountMinor))),
        meanReceivedMinor: mean(recvBy.map((p) => Number(p.amountMinor))),
      };
      const runs = record.offlineRuns.filter((r) => r.profile === profile && r.workload === workload);
      const forcedBy: Record<string, number> = {};
      for (const r of runs) forcedBy[r.forcedBy] = (forcedBy[r.forcedBy] ?? 0) + 1;
      return { workload, rates, analytic: maxOfflineDays(profile, rates, policy), simulated: { runs: runs.length, meanDays: mean(runs.map((r) => r.days)), forcedBy } };
    });
    const worst = ws.reduce<(typeof ws)[number] | null>((a, w) => (a === null || w.analytic.days < a.analytic.days ? w : a), null);
    const analytic = worst?.analytic ?? maxOfflineDays(profile, { paymentsPerDay: 0, receiptsPerDay: 0, meanPaidMinor: 0, meanReceivedMinor: 0 }, policy);
    const runs = record.offlineRuns.filter((r) => r.profile === profile);
    const counts: Record<string, number> = {};
    for (const r of runs) counts[r.forcedBy] = (counts[r.forcedBy] ?? 0) + 1;
    const top = Object.keys(counts).sort((a, b) => counts[b]! - counts[a]! || (a < b ? -1 : 1))[0] as Binding | undefined;
    out.push({
      profile,
      payments: asPayer.length,
      tapMs: { mean: mean(samples), p50: quantile(samples, 0.5), p95: quantile(samples, 0.95), seMs: mean(costs.map((c) => c.seMs)), linkMs: mean(costs.map((c) => c.linkMs)), payeeMs: mean(costs.map((c) => c.payeeMs)) },
      tapSamples: samples,
      energyMj: asPayer.length > 0 || PROFILES[profile].tier !== 3 ? payerEnergyMj(profile) : 0,
      energySource: `cost model: payer.se.precompute + payer.se.tap on ${PROFILES[profile].hardware} at its activeMw (ESTIMATE)`,
      workloads: ws,
      maxOfflineDays: { analytic: analytic.days, binding: analytic.binding, simulated: runs.length > 0 ? Math.min(...runs.map((r) => r.days)) : null, forcedBy: top ?? null },
    });
  }
  return out;
}
