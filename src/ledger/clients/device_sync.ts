// The host side of sync (phone app, terminal firmware, IoT MCU): moves bytes between an SE and its
// FI and never decides anything. Two routes (DESIGN §2.4):
//   syncDevice  — straight to the FI: (optionally defund the SE into its account), export the
//                 batch, send it, apply the FI's ack, install newer policy / revocation list, renew
//                 the credential when the FI offers a nonce. Repeats while the SE still holds
//                 receipts or its exported report predates its last change, so one call leaves an
//                 SE fully reported.
//   SyncCarrier — store-and-forward through the owner's wallet: collect() exports an IoT SE's
//                 batch into plain data the wallet keeps, deliver() sends every carried batch when
//                 the wallet is online, handBack() applies the acks and the distribution to the SE.
// Both are idempotent: a batch sent twice is answered with the same ack, an ack applied twice
// frees nothing more, so any step can be repeated after a crash or a lost link.

import type { SeClient } from '../../se/client.ts';
import type { FinancialIntermediary, SyncRequest, SyncResult } from '../fi/financial_intermediary.ts';
import type { Distribution } from '../cb/distribution.ts';

/** Rounds one syncDevice call may take (a stale pending batch, then a fresh one, then a spare). */
export const SYNC_ROUNDS_MAX = 4;

export type FiSyncPort = Pick<FinancialIntermediary, 'sync' | 'issueCredential'>;

export interface SyncDeviceOptions {
  /** Unload the SE's whole balance to its account first (merchant terminals do, at every sync). */
  defundAll?: boolean;
  /** Take the renewal the FI offers (default true). */
  renew?: boolean;
  /** Prefix of the idempotency keys this call uses (renewal). */
  keyPrefix?: string;
}

export interface SyncDeviceResult {
  rounds: SyncResult[];
  renewedEpoch: bigint | null;
}

/**
 * Installs the CB's policy and revocation list on the SE when they are newer than its own, and the
 * issuer keys of every tier's current and next epoch (the SE verifies each certificate).
 */
export async function installDistribution(se: SeClient, d: Distribution): Promise<void> {
  const info = await se.getInfo();
  if (d.policyVersion > info.policyVersion) await se.installPolicy(d.signedPolicy);
  if (d.revocationVersion > info.revocationVersion) await se.installRevocationList(d.signedRevocationList);
  if (d.issuerKeys.length > 0) await se.installIssuerKeys(d.issuerKeys.map((k) => k.cert));
}

/** Hands the CB's reclaim refusals to the SE; true when any was new (another round is due). */
async function applyRefusals(se: SeClient, refusals: readonly Uint8Array[]): Promise<boolean> {
  let any = false;
  for (const r of refusals) if ((await se.applyReclaimRefusal(r)).applied) any = true;
  return any;
}

async function renew(se: SeClient, fi: FiSyncPort, last: SyncResult, keyPrefix: string): Promise<bigint | null> {
  const offer = last.renewal;
  if (!offer.offered) return null;
  const info = await se.getInfo();
  if (info.credentialEpochs.includes(offer.epoch) || info.tier === null) return null;
  // The epoch's issuer key certificate rides in the same answer's distribution (current and next epoch).
  const key = last.distribution.issuerKeys.find((k) => k.epoch === offer.epoch);
  if (key === undefined) return null;
  const request = await se.beginIssuance({ issuerNonce: offer.issuerNonce, epoch: offer.epoch, tier: info.tier, issuerKeyCert: key.cert });
  const issued = await fi.issueCredential({
    deviceId: last.deviceId,
    issuerNonce: offer.issuerNonce,
    request,
    idempotencyKey: `${keyPrefix}/renew/${Buffer.from(offer.issuerNonce).toString('hex')}`,
  });
  await se.finishIssuance({ epoch: issued.epoch, tier: issued.tier, issuerKeyCert: issued.issuerKeyCert, response: issued.response, counterSet: issued.counterSet });
  return issued.epoch;
}

/** Straight sync of one SE with its FI (see the file comment). */
export async function syncDevice(se: SeClient, fi: FiSyncPort, options: SyncDeviceOptions = {}): Promise<SyncDeviceResult> {
  const rounds: SyncResult[] = [];
  for (let i = 0; i < SYNC_ROUNDS_MAX; i++) {
    const before = await se.getInfo();
    const fresh = before.pendingBatchId === null;
    if (fresh && options.defundAll && before.balanceMinor > 0n) await se.makeUnloadRecord(before.balanceMinor);
    // The last unload record rides along every sync: the FI credits it once however often it
    // arrives, so a record whose delivery a crash or a lost link interrupted is never lost.
    const lastUnload = await se.getLastUnloadRecord();
    const unloadRecords = lastUnload === null ? [] : [lastUnload];
    const batch = await se.exportSyncBatch();
    // Every payment the SE holds no receipt for rides along as a reclaim claim; the FI keeps them,
    // credits back those whose window is over and no payee settled, and names the ones done with.
    const reclaimClaims = await se.exportReclaimClaims();
    const result = await fi.sync({ report: batch.report, payments: batch.payments, unloadRecords, reclaimClaims });
    await se.applySyncAck(result.ack);
    if (result.reclaim !== null) await se.applyPaymentOutcomes(result.reclaim.outcomes);
    // A reclaimed payment this SE had credited: it reverses what it holds (an unload record the
    // next round carries), and that round lets the FI collect the rest from the owner's account.
    const reversed = await applyRefusals(se, result.refusals);
    await installDistribution(se, result.distribution);
    rounds.push(result);
    const after = await se.getInfo();
    if (fresh && after.receiptCount === 0 && !reversed) break;
  }
  const last = rounds.at(-1)!;
  const renewedEpoch = options.renew === false ? null : await renew(se, fi, last, options.keyPrefix ?? 'sync');
  return { rounds, renewedEpoch };
}

/** A batch an owner's wallet carries for one of its IoT devices (plain data: the wallet may persist it). */
export interface CarriedBatch {
  request: SyncRequest;
  result: SyncResult | null;
}

/** Store-and-forward through the owner's wallet (see the file comment). */
export class SyncCarrier {
  readonly carried: CarriedBatch[] = [];

  /** Takes the IoT SE's batch (and, if asked, an unload of its whole balance) while in range. */
  async collect(se: SeClient, options: { defundAll?: boolean } = {}): Promise<CarriedBatch> {
    const before = await se.getInfo();
    if (before.pendingBatchId === null && options.defundAll && before.balanceMinor > 0n) await se.makeUnloadRecord(before.balanceMinor);
    const lastUnload = await se.getLastUnloadRecord();
    const unloadRecords = lastUnload === null ? [] : [lastUnload];
    const batch = await se.exportSyncBatch();
    const reclaimClaims = await se.exportReclaimClaims();
    const carried: CarriedBatch = { request: { report: batch.report, payments: batch.payments, unloadRecords, reclaimClaims }, result: null };
    this.carried.push(carried);
    return carried;
  }

  /** Sends every carried batch not yet answered; safe to call again after a failure. */
  async deliver(fi: Pick<FinancialIntermediary, 'sync'>): Promise<SyncResult[]> {
    const out: SyncResult[] = [];
    for (const c of this.carried) {
      if (c.result === null) c.result = await fi.sync(c.request);
      out.push(c.result);
    }
    return out;
  }

  /** Back in range: applies each answered batch's ack and the newest distribution, forgets them. */
  async handBack(se: SeClient): Promise<number> {
    let applied = 0;
    for (const c of [...this.carried]) {
      if (c.result === null) continue;
      await se.applySyncAck(c.result.ack);
      if (c.result.reclaim !== null) await se.applyPaymentOutcomes(c.result.reclaim.outcomes);
      await applyRefusals(se, c.result.refusals);
      await installDistribution(se, c.result.distribution);
      this.carried.splice(this.carried.indexOf(c), 1);
      applied++;
    }
    return applied;
  }
}
