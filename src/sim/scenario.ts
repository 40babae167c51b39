// The end-to-end scenario behind `npm start` / `tally demo`: one process, SQLite files under a data
// directory, a CB and two FIs, customers with phone wallets, IoT devices and merchant terminals,
// funding, offline payments with no network, late and duplicated syncs, settlement, a double spend
// from a restored SE snapshot, a regulator warrant, and a final audit. Every expected outcome is
// checked; the first one that does not happen stops the run with the step and the reason
// (ScenarioFailure), so the exit code can be trusted.

import { cpSync } from 'node:fs';
import path from 'node:path';
import { decodePaymentProof, seededRng } from '../crypto/index.ts';
import { PROFILES } from '../device/index.ts';
import {
  FiHttpClient, SyncCarrier, addOperator, answerWarrant, auditNetwork, createOfflineEmbeddedApp, disclose, fileWarrant, formatNetworkAudit, signedHeaders,
  submitPartial, syncDevice, verifyDisclosureLog, type FinancialIntermediary,
} from '../ledger/index.ts';
import { decodePayment } from '../protocol/index.ts';
import { Tier } from '../policy/limits.ts';
import { SeError } from '../se/status.ts';
import {
  enrolDevice,
  fundOnline,
  issueCredential,
  issueToFi,
  openDevice,
  openSimNetwork,
  payOffline,
  registerCustomer,
  type SimDevice,
  type SimNetwork,
} from './network.ts';
import { ScenarioFailure, ScenarioLog, units } from './report.ts';

export interface ScenarioOptions {
  dataDir: string;
  seed: string;
  log: ScenarioLog;
}

export interface ScenarioResult {
  payments: number;
  settled: number;
  refused: Array<{ what: string; why: string }>;
  doubleSpends: number;
  msPerPayment: number;
  bytesPerPayment: number;
  auditClean: boolean;
  /** Calls the demo made through the HTTP gates: refused (401/403) and admitted. */
  gates: { refused: number; admitted: number };
}

function expect(cond: unknown, step: string, why: string): asserts cond {
  if (!cond) throw new ScenarioFailure(step, why);
}

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const { log } = opts;
  const net = await openSimNetwork({ dataDir: opts.dataDir, seed: opts.seed, fiIds: ['bank-a', 'bank-b'], verifyWorkers: 2 });
  try {
    return await play(net, log);
  } finally {
    await net.close();
  }
}

async function play(net: SimNetwork, log: ScenarioLog): Promise<ScenarioResult> {
  const bankA = net.fis.get('bank-a')!;
  const bankB = net.fis.get('bank-b')!;
  const stats = { payments: 0, ms: 0, bytes: 0, refused: [] as Array<{ what: string; why: string }> };

  log.step('Issuance and allocation', 'the central bank issues 1 000 000.00 to each bank');
  for (const fi of [bankA, bankB]) await issueToFi(net, fi, units(1_000_000), `alloc/${fi.fiId}`);
  expect((await net.cb.ledger.issuedTotal()) === units(2_000_000), 'Issuance', 'the CB did not record 2 000 000.00 issued');

  log.step('Customers', 'KYC at each bank: two people with phone wallets, three merchants');
  const alice = await registerCustomer(bankA, 'Alice', Tier.full, units(5_000));
  const bob = await registerCustomer(bankB, 'Bob', Tier.full, units(5_000));
  const coffee = await registerCustomer(bankA, 'Corner Coffee', Tier.merchant);
  const transit = await registerCustomer(bankB, 'City Transit', Tier.merchant);
  const charging = await registerCustomer(bankA, 'VoltCharge', Tier.merchant);

  log.step('Devices', 'manufactured, attested, enrolled and given a blind credential for this epoch');
  const devices: Array<[string, () => Promise<SimDevice>]> = [
    ['Alice\'s phone wallet', () => enrolDevice(net, bankA, { name: 'alice-wallet', profile: PROFILES.wallet, owner: alice })],
    ['Alice\'s watch', () => enrolDevice(net, bankA, { name: 'alice-watch', profile: PROFILES.watch, owner: alice })],
    ['Bob\'s phone wallet', () => enrolDevice(net, bankB, { name: 'bob-wallet', profile: PROFILES.wallet, owner: bob })],
    ['Bob\'s car', () => enrolDevice(net, bankB, { name: 'bob-car', profile: PROFILES.vehicle, owner: bob })],
    ['Corner Coffee POS', () => enrolDevice(net, bankA, { name: 'coffee-pos', profile: PROFILES.pos, owner: coffee })],
    ['City Transit gate', () => enrolDevice(net, bankB, { name: 'transit-gate', profile: PROFILES.transitGate, owner: transit })],
    ['VoltCharge EV charger', () => enrolDevice(net, bankA, { name: 'ev-charger', profile: PROFILES.evCharger, owner: charging })],
  ];
  const d: SimDevice[] = [];
  for (const [label, make] of devices) d.push(await log.progress(label, make));
  const [aliceWallet, watch, bobWallet, car, pos, gate, charger] = d as [SimDevice, SimDevice, SimDevice, SimDevice, SimDevice, SimDevice, SimDevice];

  log.step('Funding', 'each wallet loads 1 000.00 from its account with a bank-signed voucher');
  expect((await fundOnline(aliceWallet, units(1_000), 'fund/alice')) === units(1_000), 'Funding', 'Alice\'s SE does not hold 1 000.00');
  expect((await fundOnline(bobWallet, units(1_000), 'fund/bob')) === units(1_000), 'Funding', 'Bob\'s SE does not hold 1 000.00');
  expect((await bankA.ledger.balance(alice.accountId)) === units(4_000), 'Funding', 'Alice\'s account was not debited exactly once');

  log.step('Network down', 'from here until the syncs, no device reaches any bank');
  const pay = async (what: string, from: SimDevice, to: SimDevice, amount: bigint, radio: 'nfc' | 'ble') => {
    const r = await log.progress(`${what}: ${units.show(amount)} over ${radio.toUpperCase()}`, () => payOffline(from.device, to.device, amount, radio));
    stats.payments++;
    stats.ms += r.elapsedMs;
    stats.bytes += r.messageBytes;
    return r;
  };
  await pay('Alice\'s wallet funds her watch', aliceWallet, watch, units(200), 'nfc');
  const coffeeByWatch = await pay('watch → Corner Coffee POS', watch, pos, 450n, 'nfc');
  await pay('Bob\'s wallet funds his car', bobWallet, car, units(150), 'ble');
  await pay('car → VoltCharge EV charger', car, charger, units(32), 'ble');
  await pay('Alice\'s wallet → Bob\'s wallet', aliceWallet, bobWallet, units(120), 'nfc');
  await pay('watch → City Transit gate', watch, gate, 280n, 'nfc');
  await pay('watch returns value to Alice\'s wallet', watch, aliceWallet, units(50), 'ble');

  // Bob images his SE before buying a coffee, buys it, then restores the image to spend again.
  const snapshotDir = path.join(net.dataDir, 'devices', 'bob-wallet-image');
  cpSync(bobWallet.nvmDir, snapshotDir, { recursive: true });
  await pay('Bob\'s wallet → Corner Coffee POS', bobWallet, pos, 600n, 'nfc');
  const balances = await Promise.all([aliceWallet, watch, bobWallet, car, pos, gate, charger].map((x) => x.device.balanceMinor()));
  expect(balances.reduce((x, y) => x + y, 0n) === units(2_000), 'Offline payments', `value is not conserved across the SEs: ${balances.join(', ')}`);

  log.step('Double spend attempt', 'Bob restores the image of his SE taken before the coffee and spends the same counter again');
  const restore = (n: number) => {
    const dir = path.join(net.dataDir, 'devices', `bob-wallet-clone-${n}`);
    cpSync(snapshotDir, dir, { recursive: true });
    return openDevice(net, `bob-wallet-clone-${n}`, PROFILES.wallet, dir);
  };
  await payOffline(restore(1), gate.device, 600n, 'nfc');
  stats.payments++;
  log.note('City Transit accepts it offline: it has never seen that nullifier (the CB will catch it)');
  try {
    await payOffline(restore(2), pos.device, 600n, 'nfc');
    throw new ScenarioFailure('Double spend attempt', 'the POS that already saw the nullifier accepted the restored SE\'s payment');
  } catch (e) {
    if (e instanceof ScenarioFailure) throw e;
    const code = e instanceof SeError ? e.code : (e as Error).message;
    expect(code === 'NULLIFIER_SEEN', 'Double spend attempt', `the POS refused for the wrong reason: ${code}`);
    stats.refused.push({ what: 'restored SE → Corner Coffee POS', why: 'NULLIFIER_SEEN, offline' });
    log.note('Corner Coffee refuses the same spend offline: it has seen this nullifier');
  }

  log.step('Syncs', 'devices reach their banks late, out of order, some twice; the watch through Alice\'s wallet');
  await log.progress('City Transit gate syncs and defunds', () => syncDevice(gate.device.se, bankB, { defundAll: true, keyPrefix: 'gate-1' }));
  await log.progress('VoltCharge EV charger syncs and defunds', () => syncDevice(charger.device.se, bankA, { defundAll: true, keyPrefix: 'charger-1' }));
  await log.progress('Corner Coffee POS syncs and defunds', () => syncDevice(pos.device.se, bankA, { defundAll: true, keyPrefix: 'pos-1' }));
  await log.progress('Corner Coffee POS syncs again (duplicate)', () => syncDevice(pos.device.se, bankA, { defundAll: true, keyPrefix: 'pos-2' }));
  await log.progress('Bob\'s wallet syncs', () => syncDevice(bobWallet.device.se, bankB, { keyPrefix: 'bob-1' }));
  const carrier = new SyncCarrier();
  await carrier.collect(watch.device.se);
  await log.progress('Alice\'s wallet syncs and carries the watch\'s batch', async () => {
    await syncDevice(aliceWallet.device.se, bankA, { keyPrefix: 'alice-1' });
    await carrier.deliver(bankA);
    await carrier.deliver(bankA); // a retry after a lost answer: same acks, nothing twice
  });
  expect((await carrier.handBack(watch.device.se)) >= 1, 'Syncs', 'the watch did not get its acknowledgement back');
  await log.progress('Bob\'s car syncs', () => syncDevice(car.device.se, bankB, { keyPrefix: 'car-1' }));
  await log.progress('City Transit gate syncs again', () => syncDevice(gate.device.se, bankB, { defundAll: true, keyPrefix: 'gate-2' }));

  log.step('Settlement', 'merchants\' accounts hold what their terminals took');
  expect((await bankA.ledger.balance(coffee.accountId)) === 450n + 600n, 'Settlement', 'Corner Coffee was not credited 10.50 exactly once');
  expect((await bankA.ledger.balance(charging.accountId)) === units(32), 'Settlement', 'VoltCharge was not credited 32.00');
  expect((await bankB.ledger.balance(transit.accountId)) === 280n + 600n, 'Settlement', 'City Transit was not credited 8.80');

  log.step('Double spend detected', 'the CB registry refused the second use of one nullifier and named the device');
  const audit0 = await auditNetwork({ cb: net.cb, fis: [bankA, bankB] });
  expect(audit0.incidents.length === 1, 'Double spend detected', `expected 1 incident, found ${audit0.incidents.length}`);
  const incident = audit0.incidents[0]!;
  expect(incident.customerId === bob.customerId, 'Double spend detected', `the incident names ${incident.customerId}, not Bob`);
  log.note(`incident ${incident.id}: customer ${incident.customerId} at ${incident.fiId}, exposure bound ${units.show(incident.exposureMinor)}`);
  try {
    await issueCredential(bobWallet, 'bob/renew-after-incident');
    throw new ScenarioFailure('Double spend detected', 'Bob was given a new credential after the incident');
  } catch (e) {
    if (e instanceof ScenarioFailure) throw e;
    stats.refused.push({ what: 'credential renewal for Bob', why: (e as { code?: string }).code ?? (e as Error).message });
    log.note('Bob\'s renewal is refused');
  }

  log.step('Regulator warrant', 'a court orders disclosure of the watch\'s coffee payment; 2 of 3 key holders answer');
  // The court names the payment Corner Coffee holds a receipt for; the CB finds it by its nullifier.
  const wire = decodePayment(coffeeByWatch.payment);
  const nullifier = decodePaymentProof(wire.proof, new Uint8Array(0)).statement.N.toBytes();
  const evidence = await net.cbDb.query<{ payment_hash: Uint8Array }>(
    'SELECT payment_hash FROM payment_evidence WHERE nullifier = $1',
    [nullifier],
  );
  expect(evidence.length === 1, 'Regulator warrant', 'the CB has no record of the named payment');
  const warrantId = 'court-2027-0042';
  const nowMs = Number(net.clock.nowMs);
  await fileWarrant(net.cbDb, nowMs, { warrantId, paymentHash: evidence[0]!.payment_hash, authority: 'District Court', reason: 'fraud inquiry 0042' });
  const authority = { threshold: net.regulator.threshold, verificationKeys: net.regulator.shares.map((s) => s.verificationKey) };
  const rng = seededRng(`${net.seed}/holders`);
  for (const holder of [net.regulator.shares[0]!, net.regulator.shares[2]!]) {
    // Each holder reads the warranted payment's escrow from the CB itself; the court names only the warrant.
    const partial = await answerWarrant(net.cbDb, { share: holder, warrantId, rng });
    const r = await submitPartial(net.cbDb, nowMs, authority, { warrantId, partial });
    expect(r.accepted, 'Regulator warrant', `key holder ${holder.index}'s partial decryption was refused`);
  }
  const who = await disclose(net.cbDb, nowMs, authority, warrantId);
  expect(who.customerId === alice.customerId && Buffer.from(who.deviceId).equals(Buffer.from(watch.deviceId)), 'Regulator warrant', 'the warrant named the wrong payer');
  const chain = await verifyDisclosureLog(net.cbDb);
  expect(chain.intact && chain.entries === 4, 'Regulator warrant', `the disclosure log is not an intact chain of 4 entries (${chain.entries})`);
  log.note(`payer: Alice's watch (customer ${who.customerId} at ${who.fiId}); holders ${who.holders.join(' and ')}; log of ${chain.entries} hash-chained entries`);

  const gates = await throughTheGates(net, log, bankA, aliceWallet, bobWallet);

  log.step('Final audit', 'every device has synced: journals balance, totals are exact, no nullifier settled twice');
  const quiet = await auditNetwork({ cb: net.cb, fis: [bankA, bankB] }, { expectQuiescent: true });
  const created = -quiet.totals.inFlightMinor;
  expect(created === 600n, 'Final audit', `the double spend should show as 6.00 of value created, found ${units.show(created)}`);
  log.note(`the double spend created ${units.show(created)} (the restored SE paid twice); the CB books it against the incident`);
  await net.cb.bookIncidentValue({ amountMinor: created, reference: incident.id, idempotencyKey: `book/${incident.id}` });
  const audit = await auditNetwork({ cb: net.cb, fis: [bankA, bankB] }, { expectQuiescent: true });
  const t = audit.totals;
  log.note(
    `issued ${units.show(t.issuedMinor)} + double-spend value ${units.show(t.incidentValueMinor)} = accounts ${units.show(t.accountsMinor)} + SE balances ${units.show(t.seBalancesMinor)} + in flight ${units.show(t.inFlightMinor)}`,
  );
  expect(audit.clean, 'Final audit', formatNetworkAudit(audit));
  expect(t.issuedMinor + t.incidentValueMinor === t.accountsMinor + t.seBalancesMinor + t.inFlightMinor, 'Final audit', 'value is not conserved');
  const settled = Number((await net.cbDb.query<{ n: bigint }>('SELECT COUNT(*) AS n FROM nullifiers'))[0]!.n);
  return {
    payments: stats.payments,
    settled,
    refused: stats.refused,
    doubleSpends: audit.incidents.length,
    msPerPayment: stats.ms / Math.max(1, stats.payments - 1),
    bytesPerPayment: stats.bytes / Math.max(1, stats.payments - 1),
    auditClean: audit.clean,
    gates,
  };
}

/**
 * The same ledger served over HTTP on loopback, with its gates on (ledger/access/): a stranger
 * cannot mint or read the audit, Alice's wallet cannot act for Bob's device, her wallet's last
 * sync goes over the wire signed by its SE, and the CB's auditor reads the network audit with
 * its token. Every refusal is checked to have changed nothing by the final audit after it.
 */
async function throughTheGates(net: SimNetwork, log: ScenarioLog, bankA: FinancialIntermediary, alice: SimDevice, bob: SimDevice): Promise<{ refused: number; admitted: number }> {
  log.step('Through the gates', 'the ledger over HTTP: tokens for staff, SE signatures for devices, nothing for strangers');
  const app = await createOfflineEmbeddedApp({ cb: net.cb, fis: [...net.fis.values()] });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const { token } = await addOperator(net.cb.db, { name: 'Demo CB auditor', role: 'auditor', nowMs: Number(net.clock.nowMs) });
    const call = async (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, body?: unknown) => {
      const res = await fetch(`${base}${url}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': `gates${url}` }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    let refused = 0;
    const refuse = async (what: string, r: Promise<{ status: number; body: { error?: { code: string } } }>) => {
      const { status, body } = await r;
      expect(status === 401 || status === 403, 'Through the gates', `${what} answered ${status}`);
      log.note(`${what}: ${status} ${body.error?.code}`);
      refused++;
    };
    await refuse('a stranger issues 1 000 000.00 to bank-a', call('POST', '/cb/issue', {}, { fiId: 'bank-a', amountMinor: '100000000' }));
    await refuse('a stranger reads the network audit', call('GET', '/audit/network'));
    const bobId = Buffer.from(bob.deviceId).toString('hex');
    const path = `/fi/${bankA.fiId}/devices/${bobId}`;
    await refuse('Alice\'s SE signs a read of Bob\'s device record', call('GET', path, await signedHeaders(alice.device.se, 'GET', path, '')));
    const synced = await syncDevice(alice.device.se, new FiHttpClient(`${base}/fi/${bankA.fiId}`, fetch, alice.device.se), { keyPrefix: 'alice-final' });
    log.note(`Alice's wallet syncs over HTTP, every request signed by its SE: ${synced.rounds.length} round(s) accepted`);
    const audit = await call('GET', '/audit/network?quiescent=1', { authorization: `Bearer ${token}` });
    expect(audit.status === 200, 'Through the gates', `the CB auditor's token was refused (${audit.status})`);
    log.note('the CB\'s auditor reads the network audit with its token: 200');
    return { refused, admitted: synced.rounds.length + 1 };
  } finally {
    await app.close();
  }
}
