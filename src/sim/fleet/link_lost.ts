// The fleet's lost-link fault: the link drops after the payer's SE debited and before the payee's
// SE saw the payment. The payer re-sends over a new link (the payee credits once), or the payment
// stays stranded: the payer's SE keeps it and every sync files a reclaim claim, credited after the
// settlement window (the invariants check both ends).

import { PROFILES } from '../../device/index.ts';
import { PayeeReady, PayerLinkLost, memoryLinkPair } from '../../protocol/index.ts';
import { nullifierOf, type FleetArena, type Live } from './arena.ts';

/** One payment whose link is lost mid-way; `resendRate` of them are re-sent at once. */
export async function payLinkLost(arena: FleetArena, resendRate: number, payer: Live, payee: Live, amount: bigint, workload: string): Promise<void> {
  const radio = arena.radioFor(payer, payee);
  const mtu = radio === 'ble' ? Math.min(PROFILES[payer.plan.profile].bleMtu, PROFILES[payee.plan.profile].bleMtu) : 0;
  const epoch = Number((await payer.device.info()).spendingEpoch);
  const [a, b] = memoryLinkPair();
  const payeeSide = payee.device.transport(b, radio, PROFILES[payer.plan.profile].bleMtu);
  const paying = payer.device.pay(payer.device.transport(a, radio, PROFILES[payee.plan.profile].bleMtu), { maxAmountMinor: amount });
  const ready = new PayeeReady({ buildRequest: (x) => payee.device.se.buildPaymentRequest(x), accept: (x) => payee.device.se.acceptPayment(x) }, payeeSide);
  try {
    await ready.sendRequest(amount);
    await payeeSide.receive();
  } catch {
    // The payer refused before paying (a limit): nothing was debited.
  } finally {
    payeeSide.close();
  }
  const lost = await paying.then(() => null, (e: unknown) => e);
  const base = { step: arena.step, atMs: Number(arena.now), payerDevice: payer.plan.name, payeeDevice: payee.plan.name, payerProfile: payer.plan.profile, payeeProfile: payee.plan.profile, amountMinor: amount, epoch, link: radio, mtu, workload } as const;
  if (!(lost instanceof PayerLinkLost)) {
    arena.recordPayment({ ...base, nullifier: '', bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'refused' });
    return;
  }
  const kept = await payer.device.se.getUnconfirmedPayments();
  const mine = kept.at(-1)!;
  if (!arena.rand.chance(resendRate)) {
    arena.recordPayment({ ...base, nullifier: '', bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'interrupted' });
    arena.inv.stranded(payer.plan.name, amount, arena.fault('link-lost', 'stranded', payer.plan.name));
    return;
  }
  const [c, d] = memoryLinkPair();
  const [out, got] = await Promise.all([
    payer.device.resend(payer.device.transport(c, radio, PROFILES[payee.plan.profile].bleMtu), { requestId: mine.requestId }),
    payee.device.receive(payee.device.transport(d, radio, PROFILES[payer.plan.profile].bleMtu), amount),
  ]);
  if (got.amountMinor !== amount) arena.broken('resend-credits-once', `re-sent payment credited ${got.amountMinor}, expected ${amount}`);
  const nullifier = nullifierOf(out.payment);
  arena.recordPayment({ ...base, nullifier, bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'paid' });
  arena.credited(payee, nullifier, amount);
  arena.fault('link-lost', 'recovered', payer.plan.name);
}
