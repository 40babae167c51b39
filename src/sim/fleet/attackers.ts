// The fleet's attackers beyond a restored snapshot (issue 13), each driven at a rate by the engine:
//
// - A broken SE: its owner extracts the chip's secrets (k, the credential, the policy) from an image
//   of its NVM and spends outside the SE, where no balance or limit applies: it replays counters the
//   SE already spent, whatever the balance, at terminals that have not seen them, each at an amount
//   from the run's seeded RNG in [the first spend's amount, cap(t)] (cap(t): the most one payment
//   carries). The terminal that took a replay defunds it at its next sync even while circulation
//   is short of it: the CB covers the shortfall within the incident's exposure
//   (src/ledger/cb/incident_draws.ts), and an honest merchant's defund is never refused
//   (honest-defund, invariants.ts). It tries what the proofs forbid (above cap, counter L), and it
//   asks its FI, through a clone of the chip, for credentials beyond the renewal gate. Each replay
//   is a double spend the ledger must pin on this device and customer, and the loss attributed to
//   it must stay within the printed bound (src/ledger/exposure.ts: CREDENTIALS_WITHOUT_SYNC_MAX × L × cap(t)).
// - An untrusted host around an honest SE: a tampered amount commitment, a replayed payment, a
//   payment re-addressed to another payee. Each is refused with no state change.
// - Colluding payees: the payer's original SE and its restored image split one counter across two
//   terminals, one of which takes it knowingly and holds its receipts back for a day or two.

import { bytesToHex } from '@noble/hashes/utils.js';
import { computeNullifier, decodeCounterSet, encodePaymentProof, provePayment, scalarFromBytes } from '../../crypto/index.ts';
import { brokenSeExposure, CREDENTIALS_WITHOUT_SYNC_MAX, LedgerError } from '../../ledger/index.ts';
import { limitsFor } from '../../policy/limits.ts';
import {
  PROTOCOL_VERSION, decodePayment, decodePaymentRequest, deriveSession, encodePayment, generateSessionKeyPair, paymentContextOf,
} from '../../protocol/index.ts';
import { FileBackend, Nvm, SeError, SeState, credentialForProof, paymentParamsFor, type AuthorizePaymentRequest } from '../../se/index.ts';
import { authorizeAsHost } from '../../se/payer_host.ts';
import { issueCredentialTo } from '../network.ts';
import type { FleetArena, Live } from './arena.ts';
import type { TerminalKind } from './population.ts';
import type { PaymentRecord } from './types.ts';

/** Counters a broken SE replays per attack: enough to show the loss per counter, few proofs. */
const REPLAYS_MAX = 3;
const HOUR_MS = 3_600_000n;

const hex = bytesToHex;

/** A broken SE's owner spends from the extracted state (see the file comment). */
export async function brokenSeAttack(a: FleetArena, d: Live): Promise<void> {
  const info = await d.device.info();
  const image = a.imageOf(d);
  const state = new SeState(Nvm.open(new FileBackend(image)));
  const k = state.get('identity').k;
  const policy = state.get('policy').table;
  const regulatorKey = state.get('anchors').regulatorKey;
  // The epoch it spends in: that of its spending counter once it paid in it, else the current one.
  const epochOf = (tier: number) => (info.paymentCounter > 0n ? info.spendingEpoch : a.now / limitsFor(policy, tier).epochMs);
  const cred = state.get('credentials').credentials.find((c) => c.epoch === epochOf(c.tier));
  if (cred === undefined) return void a.fault('broken-se', 'no-credential', d.plan.name);
  const limits = limitsFor(policy, cred.tier);
  const bound = brokenSeExposure(policy, new Map([[cred.tier, 1n]])).tiers.find((t) => t.tier === cred.tier)!.perDeviceMinor;
  /** A payment proved outside the SE, under the payer's cap(t) or a cap of the attacker's choosing. */
  const forge = async (payee: Live, counter: number, amountMinor: bigint, capMinor = limits.capMinor) => {
    const rng = a.rng(`${d.plan.name}/forge-${counter}-${amountMinor}`);
    const request = decodePaymentRequest(await payee.device.se.buildPaymentRequest(amountMinor));
    const keys = generateSessionKeyPair(rng);
    const session = deriveSession({ role: 'payer', own: keys, peerPublicKey: request.payeeSessionKey, requestId: request.requestId });
    const context = paymentContextOf(request, keys.publicKey);
    const proved = provePayment({
      params: paymentParamsFor(cred.issuerPublicKey, regulatorKey, { ...limits, capMinor }),
      credential: { ...credentialForProof(cred, k), counterSet: decodeCounterSet(cred.counterSet, limits.paymentsPerEpoch) },
      counter, amountMinor, context, rng,
    });
    const payment = encodePayment({
      v: PROTOCOL_VERSION, requestId: request.requestId, payerSessionKey: keys.publicKey,
      proof: encodePaymentProof(proved.statement, proved.proof),
      sealedOpening: session.seal({ amountMinor, rA: proved.opening.r_a }, context),
    });
    await payee.device.se.acceptPayment(payment);
    return hex(proved.statement.N.toBytes());
  };
  const record = (payee: Live, amountMinor: bigint, nullifier: string): PaymentRecord => {
    const rec: PaymentRecord = {
      step: a.step, atMs: Number(a.now), payerDevice: d.plan.name, payeeDevice: payee.plan.name, payerProfile: d.plan.profile,
      payeeProfile: payee.plan.profile, amountMinor, epoch: Number(cred.epoch), nullifier, link: 'nfc', mtu: 0,
      bytesPayerToPayee: 0, bytesPayeeToPayer: 0, outcome: 'paid', workload: 'broken-se',
    };
    a.recordPayment(rec);
    a.credited(payee, nullifier, amountMinor);
    return rec;
  };

  // Replays of spent counters, each at a terminal that has not seen its nullifier.
  let lossMinor = 0n;
  let replays = 0;
  for (let n = Number(info.paymentCounter) - 1; n >= 0 && replays < REPLAYS_MAX; n--) {
    const N = hex(computeNullifier(scalarFromBytes(k), BigInt(n), cred.epoch).toBytes());
    const firsts = a.paidWith(N);
    if (firsts.length !== 1 || firsts[0]!.payerDevice !== d.plan.name) continue; // spent at one payee, by this device, once
    const first = firsts[0]!;
    const kind = a.live(first.payeeDevice).plan.terminal;
    const other = kind === undefined ? [] : a.terminalsOf(kind).filter((t) => t.plan.name !== first.payeeDevice);
    if (other.length === 0) continue;
    const payee = a.rand.pick(other);
    const amountMinor = replayAmount(a, `${d.plan.name}/replay-${n}`, first.amountMinor, limits.capMinor);
    try {
      const got = await forge(payee, n, amountMinor);
      if (got !== N) a.broken('broken-se-bound', `${d.plan.name}: a forged payment at counter ${n} revealed another nullifier than the SE's`);
    } catch (e) {
      if (!(e instanceof SeError)) throw e;
      a.fault('broken-se', `replay-refused:${e.code}`, d.plan.name);
      continue;
    }
    const second = record(payee, amountMinor, N);
    lossMinor += amountMinor;
    replays++;
    const f = a.fault('broken-se', 'pending', d.plan.name);
    a.inv.doubleSpent(d.sim.customerId, first, second, [first.payeeDevice, payee.plan.name], f, d.sim.deviceId);
  }

  // What the proofs forbid: above cap(t) (proved under the largest cap the policy names, or cap(t) + 1
  // when cap(t) is the largest), and a counter past L. Neither may be taken.
  const target = a.rand.pick([...a.terminalsOf('pos'), ...a.terminalsOf('vending')]);
  const capMax = Object.values(policy.tiers).reduce((m, t) => (t.capMinor > m ? t.capMinor : m), limits.capMinor + 1n);
  const attempts = [[Number(info.paymentCounter), capMax, 'above-cap'], [limits.paymentsPerEpoch, limits.capMinor, 'counter-past-L']] as const;
  for (const [counter, amountMinor, what] of attempts) {
    let taken: string | null = null;
    try {
      taken = await forge(target, counter, amountMinor, amountMinor > limits.capMinor ? amountMinor : limits.capMinor);
    } catch {
      // The proof cannot be made, or the payee refuses it: what must happen.
    }
    if (taken !== null) {
      a.broken('broken-se-bound', `${target.plan.name} took a forged payment ${what} (counter ${counter}, ${amountMinor}; cap(t) ${limits.capMinor}, L ${limits.paymentsPerEpoch}) from ${d.plan.name}: its loss is no longer bounded by ${CREDENTIALS_WITHOUT_SYNC_MAX} × L × cap = ${bound}`);
    }
  }

  // A clone of the chip asks for credentials past the renewal gate (the next epoch is the last one offered).
  const fi = a.net.fis.get(d.plan.fiId)!;
  const current = a.now / limits.epochMs;
  const clone = a.openImage(d, image);
  for (const ahead of [CREDENTIALS_WITHOUT_SYNC_MAX, CREDENTIALS_WITHOUT_SYNC_MAX + 1n]) {
    try {
      await issueCredentialTo(fi, d.sim.deviceId, clone.se, `${d.plan.name}/broken/renew-${a.step}-${ahead}`, current + ahead);
    } catch (e) {
      if (!(e instanceof LedgerError || e instanceof SeError)) throw e;
    }
  }
  const grants = await fi.db.query('SELECT epoch FROM credential_grants WHERE device_id = $1', [d.sim.deviceId]);
  const live = BigInt(grants.filter((g) => BigInt(g['epoch'] as bigint) >= current).length);
  const exposure = live * BigInt(limits.paymentsPerEpoch) * limits.capMinor;
  if (lossMinor > bound || exposure > bound) {
    a.broken('broken-se-bound', `${d.plan.name} (customer ${a.inv.customerOf.get(d.sim.customerId)}): loss ${lossMinor} and ${live} live credential(s) (exposure ${exposure}) against the printed bound ${CREDENTIALS_WITHOUT_SYNC_MAX} × L ${limits.paymentsPerEpoch} × cap ${limits.capMinor} = ${bound}`);
  }
  a.fault('broken-se', replays > 0 ? `replayed-${replays}` : `nothing-to-replay-of-${info.paymentCounter}`, d.plan.name);
}

/**
 * A replay's amount, uniform in [first, cap] from the run's seeded RNG under its own label, so the
 * run's event stream is the same whatever the replays carry.
 */
function replayAmount(a: FleetArena, label: string, firstMinor: bigint, capMinor: bigint): bigint {
  if (firstMinor >= capMinor) return capMinor;
  const bytes = a.rng(label)(8);
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return firstMinor + (x % (capMinor - firstMinor + 1n));
}

/** An untrusted host around its honest SE tries one of three attacks; each must be refused with no state change. */
export async function hostAttack(a: FleetArena, payer: Live): Promise<void> {
  // In turn, so a short run sees each of them.
  const kinds = ['tampered-amount', 'replayed-payment', 'swapped-payee'] as const;
  const kind = kinds[a.next('host-attack') % kinds.length]!;
  const [shop, other] = pickTwo(a, 'pos');
  const amountMinor = 100n * BigInt(a.rand.int(2, 20));
  const refused = async (what: string, attempt: () => Promise<unknown>, devices: Live[]) => {
    const before = await Promise.all(devices.map(stateOf));
    let credited = false;
    try {
      const r = await attempt();
      // A payee given bytes it already took answers with the same receipt and credits nothing.
      credited = !(typeof r === 'object' && r !== null && 'resent' in r && r.resent === true);
    } catch (e) {
      if (!(e instanceof SeError)) a.broken('host-attack-refused', `${kind} (${what}) by ${payer.plan.name}'s host failed with ${(e as Error).message}, not an SE refusal`);
    }
    const after = await Promise.all(devices.map(stateOf));
    if (credited || JSON.stringify(after) !== JSON.stringify(before)) {
      a.broken('host-attack-refused', `${kind} (${what}) by ${payer.plan.name}'s host was taken or changed state: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    }
  };
  if (kind === 'tampered-amount') {
    // The host proves one amount and asks its SE to debit another.
    const part = await capturedPart(a, payer, await shop.device.se.buildPaymentRequest(amountMinor), amountMinor);
    const other = await capturedPart(a, payer, await shop.device.se.buildPaymentRequest(amountMinor + 100n), amountMinor + 100n);
    if (part === null || other === null) return void a.fault('host-attack', `${kind}:skipped`, payer.plan.name);
    await refused('commitment to another amount', () => payer.device.se.authorizePaymentCommand({ ...part, amountCommitment: other.amountCommitment }), [payer, shop]);
  } else {
    const { rec, payment } = await a.payOnce(payer, payer.device, shop, amountMinor, 'retail');
    if (payment === null) return void a.fault('host-attack', `${kind}:skipped-${rec.outcome}`, payer.plan.name);
    if (kind === 'replayed-payment') {
      await refused('to the same payee', () => shop.device.se.acceptPayment(payment), [payer, shop]);
      await refused('to another payee', () => other.device.se.acceptPayment(payment), [payer, other]);
    } else {
      const fresh = decodePaymentRequest(await other.device.se.buildPaymentRequest(amountMinor));
      const swapped = encodePayment({ ...decodePayment(payment), requestId: fresh.requestId });
      await refused('re-addressed to another payee', () => other.device.se.acceptPayment(swapped), [payer, shop, other]);
    }
  }
  a.fault('host-attack', `${kind}:refused`, payer.plan.name);
}

/**
 * A payer and a colluding payee: the payer's SE pays an honest terminal, its restored image pays the
 * same counter again at the colluder's terminal, which takes it knowingly and holds its receipts
 * back for a day or two. Once both have synced the CB must name the payer, and only the payer.
 */
export async function colludingDoubleSpend(a: FleetArena, payer: Live, kind: TerminalKind, amountMinor: bigint, workload: string): Promise<void> {
  const [honest, colluder] = pickTwo(a, kind);
  const image = a.imageOf(payer);
  const { rec: first } = await a.payOnce(payer, payer.device, honest, amountMinor, workload);
  if (first.outcome !== 'paid') return void a.fault('colluding-payee', `skipped-${first.outcome}`, payer.plan.name);
  const { rec: second } = await a.payOnce(payer, a.openImage(payer, image), colluder, amountMinor, workload);
  colluder.holdUntilMs = a.now + BigInt(a.rand.int(24, 48)) * HOUR_MS;
  const f = a.fault('colluding-payee', second.outcome === 'paid' ? 'pending' : 'refused-offline', payer.plan.name);
  if (second.outcome === 'paid') a.inv.doubleSpent(payer.sim.customerId, first, second, [honest.plan.name, colluder.plan.name], f, payer.sim.deviceId);
}

function pickTwo(a: FleetArena, kind: TerminalKind): [Live, Live] {
  const ts = a.terminalsOf(kind);
  const one = a.rand.pick(ts);
  const rest = ts.filter((t) => t !== one);
  return [one, rest.length > 0 ? a.rand.pick(rest) : one];
}

/** What a refused attack must leave unchanged on a device's SE. */
async function stateOf(d: Live): Promise<Record<string, string>> {
  const i = await d.device.info();
  const kept = await d.device.se.getUnconfirmedPayments().catch(() => []);
  return { device: d.plan.name, balance: String(i.balanceMinor), receipts: String(i.receiptCount), counter: String(i.paymentCounter), unconfirmed: String(kept.length) };
}

/** The host's part of AUTHORIZE_PAYMENT for `request`, made for real and captured instead of sent; null when the SE has nothing to pay with. */
async function capturedPart(a: FleetArena, payer: Live, request: Uint8Array, amountMinor: bigint): Promise<AuthorizePaymentRequest | null> {
  let part: AuthorizePaymentRequest | null = null;
  try {
    await authorizeAsHost({
      precomputePayment: (n) => payer.device.se.precomputePayment(n),
      authorizePaymentCommand: async (r) => ((part = r), { payment: new Uint8Array(0), balanceMinor: 0n, resent: false }),
    }, request, amountMinor, a.rng(`${payer.plan.name}/host-${amountMinor}`));
  } catch (e) {
    if (!(e instanceof SeError)) throw e;
    return null;
  }
  return part;
}
