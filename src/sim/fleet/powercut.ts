// SE power cuts in the fleet (issue 13): power fails in the middle of one of the commands of a
// payment (the payer's or the payee's side) or of a sync, at a chosen persistent write of the SE's
// NVM (src/se/nvm.ts FaultInjector: the write happens whole or torn, then the chip is dead). The SE
// restarts from its files (the NVM journal finishes or discards the interrupted transaction) and
// the run checks at once what must hold: no value created or lost between the two SEs, and the
// payment either completed (the payee holds it) or is reclaimable (the payer's SE keeps it
// unconfirmed, so its next syncs claim it back after the settlement window). A sync cut mid-way is
// resumed with the same idempotency keys; the midnight audit checks the books around it.

import { bytesToHex } from '@noble/hashes/utils.js';
import type { Device } from '../../device/index.ts';
import { memoryLinkPair } from '../../protocol/index.ts';
import { FaultInjector, FileBackend, Nvm, PowerCut, SeState } from '../../se/index.ts';
import { nullifierOf, type FleetArena, type Live } from './arena.ts';
import type { PaymentRecord } from './types.ts';

/** Persistent writes a payment's commands make on one side, at most (precompute, request or authorize, accept or confirm). */
const PAYMENT_WRITES_MAX = 8;
/** Persistent writes a sync makes, at most, that a cut is drawn among (export, ack, outcomes, policy, renewal). */
const SYNC_WRITES_MAX = 16;

const hex = bytesToHex;

/** One payment with power cut in the payer's or the payee's SE; checked and recorded. */
export async function payWithPowerCut(a: FleetArena, payer: Live, payee: Live, amountMinor: bigint, workload: string): Promise<void> {
  const victim = a.rand.chance(0.5) ? payer : payee;
  const cutAfterWrite = a.rand.int(1, PAYMENT_WRITES_MAX);
  const torn = a.rand.chance(0.5);
  const before = await sides(payer, payee);
  const unconfirmedBefore = new Set((await payer.device.se.getUnconfirmedPayments()).map((u) => hex(u.requestId)));
  const epoch = Number((await payer.device.info()).spendingEpoch);
  const injector = new FaultInjector(new FileBackend(victim.sim.nvmDir), { cutAfterWrite, torn });
  a.restartSe(victim, 'powercut', injector);
  const radio = a.radioFor(payer, payee);
  const [paid, received] = await exchange(payer.device, payee.device, amountMinor, radio);
  // Power back: the victim's SE restarts from its files.
  a.restartSe(victim, 'power-restored');
  const after = await sides(payer, payee);
  const kept = (await payer.device.se.getUnconfirmedPayments()).filter((u) => !unconfirmedBefore.has(hex(u.requestId)));
  const debited = before.payer - after.payer;
  const credited = after.payee - before.payee;
  const where = `${victim === payer ? 'payer' : 'payee'} ${victim.plan.name}, cut after write ${cutAfterWrite}${torn ? ' (torn)' : ''}`;
  if ((debited !== 0n && debited !== amountMinor) || (credited !== 0n && credited !== amountMinor) || credited > debited) {
    a.broken('power-cut-atomic', `${where}: payer debited ${debited}, payee credited ${credited}, of a payment of ${amountMinor}`);
  }
  const reclaimable = kept.some((u) => u.amountMinor === amountMinor);
  if (debited > 0n && credited === 0n && !reclaimable) {
    a.broken('power-cut-atomic', `${where}: the payer was debited ${debited} and the payee credited nothing, and the payer's SE keeps no payment to reclaim`);
  }
  const mtu = radio === 'ble' ? Math.min(payer.device.profile.bleMtu, payee.device.profile.bleMtu) : 0;
  const rec: PaymentRecord = {
    step: a.step, atMs: Number(a.now), payerDevice: payer.plan.name, payeeDevice: payee.plan.name, payerProfile: payer.plan.profile,
    payeeProfile: payee.plan.profile, amountMinor, epoch, nullifier: '', link: radio, mtu, bytesPayerToPayee: 0, bytesPayeeToPayer: 0,
    outcome: credited > 0n ? 'paid' : debited > 0n ? 'interrupted' : 'refused', workload,
  };
  const fired = injector.dead;
  if (credited > 0n) {
    rec.nullifier = paid.status === 'fulfilled' ? nullifierOf(paid.value) : newestReceiptNullifier(payee);
    a.credited(payee, rec.nullifier, amountMinor);
  }
  a.recordPayment(rec);
  const result = !fired ? 'not-reached' : credited > 0n ? 'completed' : debited > 0n ? 'stranded' : 'rolled-back';
  const f = a.fault('power-cut', `${victim === payer ? 'payer' : 'payee'}:${result}`, victim.plan.name);
  if (result === 'stranded') a.inv.stranded(payer.plan.name, amountMinor, f);
  void received;
}

/** A sync whose SE loses power at a chosen write; the SE restarts and the same sync is sent again. */
export async function syncWithPowerCut(a: FleetArena, d: Live, sync: () => Promise<unknown>): Promise<void> {
  const cutAfterWrite = a.rand.int(1, SYNC_WRITES_MAX);
  const torn = a.rand.chance(0.5);
  const injector = new FaultInjector(new FileBackend(d.sim.nvmDir), { cutAfterWrite, torn });
  a.restartSe(d, 'powercut', injector);
  let cut = false;
  try {
    await sync();
  } catch (e) {
    if (!isPowerCut(e)) throw e;
    cut = true;
  }
  a.restartSe(d, 'power-restored');
  // Resumable: the same batch ids and idempotency keys finish what the cut interrupted.
  if (cut) await sync();
  a.fault('power-cut', cut ? 'sync:resumed' : 'sync:not-reached', d.plan.name);
}

function isPowerCut(e: unknown): boolean {
  for (let x = e; x instanceof Error; x = (x as Error & { cause?: unknown }).cause) if (x instanceof PowerCut) return true;
  return false;
}

async function sides(payer: Live, payee: Live): Promise<{ payer: bigint; payee: bigint }> {
  return { payer: await payer.device.balanceMinor(), payee: await payee.device.balanceMinor() };
}

/** The nullifier of the newest receipt in the payee SE's log, read from its NVM files. */
function newestReceiptNullifier(payee: Live): string {
  const state = new SeState(Nvm.open(new FileBackend(payee.sim.nvmDir)));
  const entry = state.receipt(state.get('receipts').nextSeq - 1n);
  if (entry === null) throw new Error(`${payee.plan.name}: credited, but its receipt log is empty`);
  return hex(entry.nullifier);
}

/** Both sides of one payment over an in-memory link; never throws, so neither half is left running. */
async function exchange(payer: Device, payee: Device, amountMinor: bigint, radio: 'nfc' | 'ble') {
  const [l, r] = memoryLinkPair();
  const payerT = payer.transport(l, radio, payee.profile.bleMtu);
  const payeeT = payee.transport(r, radio, payer.profile.bleMtu);
  const paying = payer.pay(payerT, { maxAmountMinor: amountMinor }).then((o) => o.payment).finally(() => payerT.close());
  const receiving = payee.receive(payeeT, amountMinor).finally(() => payeeT.close());
  return Promise.allSettled([paying, receiving]);
}
