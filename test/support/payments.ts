// Test helper for the payment commands: SEs brought from blank to funded with a live credential
// in one call, over a memory or file NVM, registered with the test-only commands too (so a test
// can fill the receipt log without a proof per entry). Not part of the applet.

import { seededRng } from '../../src/crypto/rng.ts';
import { DeviceClass, Tier } from '../../src/policy/limits.ts';
import { Applet } from '../../src/se/applet.ts';
import { SeClient, transmitTo } from '../../src/se/client.ts';
import { MemoryBackend, type NvmBackend } from '../../src/se/nvm.ts';
import { TEST_COMMANDS } from '../../src/se/test_commands.ts';
import { signAttestationCert } from '../../src/se/messages.ts';
import { epochNow, issueCredential, loadVoucher, signedPolicy, type World } from './world.ts';

export interface TestSe {
  applet: Applet;
  client: SeClient;
  backend: NvmBackend;
  attestationPublicKey: Uint8Array;
}

export interface TestSeOptions {
  tier?: number;
  deviceClass?: number;
  fundMinor?: bigint;
  backend?: NvmBackend;
  seed?: string;
  /** Receipt-log capacity set at manufacture (CONFIGURE_STORAGE); default: the global maximum. */
  receiptLogCapacity?: number;
}

export async function paymentSe(w: World, opts: TestSeOptions = {}): Promise<TestSe> {
  const backend = opts.backend ?? new MemoryBackend();
  const applet = Applet.open({ backend, rng: seededRng(opts.seed ?? `se/${w.rng(8).join('.')}`), clock: w.clock, commands: TEST_COMMANDS });
  const client = new SeClient(transmitTo(applet), { rng: seededRng(`host/${opts.seed ?? w.rng(8).join('.')}`) });
  const tier = opts.tier ?? Tier.basic;
  const deviceClass = opts.deviceClass ?? DeviceClass.wallet;
  const keys = await client.generateKeys({ deviceClass, manufacturerCaPublicKey: w.manufacturer.publicKey });
  if (opts.receiptLogCapacity !== undefined) await client.configureStorage(opts.receiptLogCapacity);
  const certificate = signAttestationCert(w.manufacturer.secretKey, {
    deviceId: keys.deviceId, publicKey: keys.attestationPublicKey, deviceClass, manufacturer: 'test', issuedAtMs: w.nowMs,
  });
  await client.personalize({
    certificate, cbPublicKey: w.cb.publicKey, fiId: w.fiId, fiPublicKey: w.fi.publicKey, regulatorKey: w.regulatorKey, tier, signedPolicy: signedPolicy(w),
  });
  await issueCredential(w, client, { epoch: epochNow(w, tier), tier, deviceClass });
  if ((opts.fundMinor ?? 0n) > 0n) await client.applyLoadVoucher(loadVoucher(w, keys.attestationPublicKey, 0n, opts.fundMinor!));
  return { applet, client, backend, attestationPublicKey: keys.attestationPublicKey };
}

/** One whole payment through both SEs' APDU interfaces (no transport): request, payment, receipt. */
export async function payDirect(payer: TestSe, payee: TestSe, amountMinor: bigint) {
  const request = await payee.client.buildPaymentRequest(amountMinor);
  const authorized = await payer.client.authorizePayment(request, amountMinor);
  const accepted = await payee.client.acceptPayment(authorized.payment);
  return { request, payment: authorized.payment, receipt: accepted.receipt, accepted, authorized };
}
