// A fully broken SE of the threat model: its owner has imaged the chip and reads every secret in
// NVM (k, the credential's signature and blinding), so it can make payment proofs outside the SE
// with the crypto layer, for any counter and any context, and plant any receipt into an SE that
// runs the test-only TEST_RECEIVE command (standing in for a second broken SE whose log the owner
// writes). What it cannot do is what the tests check: make the ledger credit value twice, or stop
// the ledger from naming it.

import { decodeCounterSet, encodePaymentProof, provePayment, scalarToBytes, seededRng, type PaymentProveResult } from '../../src/crypto/index.ts';
import { limitsFor, type PolicyTable } from '../../src/policy/limits.ts';
import { encodePaymentRecord } from '../../src/protocol/payment_record.ts';
import type { MemoryBackend } from '../../src/se/nvm.ts';
import { credentialForProof, paymentParamsFor } from '../../src/se/payment_inputs.ts';
import { SECTIONS, receiptCodec } from '../../src/se/state.ts';
import { TEST_RECEIVE_SPEC } from '../../src/se/test_commands.ts';
import type { SeClient } from '../../src/se/client.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { openSe, type OfflineNet, type TestDevice } from '../ledger/offline_world.ts';

export interface ExtractedSe {
  k: Uint8Array;
  attestationPublicKey: Uint8Array;
  regulatorKey: Uint8Array;
  policy: PolicyTable;
  credentials: ReturnType<typeof SECTIONS.credentials.decode>['credentials'];
}

/** Reads the secrets out of an SE image (what a lab attack on the chip yields). */
export function extractSe(backend: MemoryBackend): ExtractedSe {
  const cell = (name: string): Uint8Array => {
    const c = backend.cells.get(name);
    if (c === undefined) throw new Error(`SE image has no ${name} cell`);
    return c;
  };
  const id = SECTIONS.identity.decode(cell('identity'));
  return {
    k: id.k,
    attestationPublicKey: id.attestationPublicKey,
    regulatorKey: SECTIONS.anchors.decode(cell('anchors')).regulatorKey,
    policy: SECTIONS.policy.decode(cell('policy')).table,
    credentials: SECTIONS.credentials.decode(cell('credentials')).credentials,
  };
}

/** A payment proof made outside the SE with the extracted credential of `epoch`, as a payee record. */
export function forgePayment(se: ExtractedSe, args: { epoch: bigint; counter: number; amountMinor: bigint; context: Uint8Array; seed: string }): {
  record: Uint8Array;
  proved: PaymentProveResult;
} {
  const cred = se.credentials.find((c) => c.epoch === args.epoch);
  if (cred === undefined) throw new Error(`the image holds no credential of epoch ${args.epoch}`);
  const L = limitsFor(se.policy, cred.tier).paymentsPerEpoch;
  const proved = provePayment({
    params: paymentParamsFor(cred.issuerPublicKey, se.regulatorKey, limitsFor(se.policy, cred.tier)),
    credential: { ...credentialForProof(cred, se.k), counterSet: decodeCounterSet(cred.counterSet, L) },
    counter: args.counter,
    amountMinor: args.amountMinor,
    context: args.context,
    rng: seededRng(args.seed),
  });
  const record = encodePaymentRecord({ context: args.context, payment: encodePaymentProof(proved.statement, proved.proof) });
  return { record, proved };
}

/** Writes a receipt into an SE opened with the test commands, as its broken owner would. */
export async function plantReceipt(
  client: SeClient,
  r: { record: Uint8Array; amountMinor: bigint; blinding: bigint; nullifier: Uint8Array; epoch: bigint },
): Promise<void> {
  await client.call(TEST_RECEIVE_SPEC, {
    amountMinor: r.amountMinor, nullifier: r.nullifier, epoch: r.epoch, payment: r.record, blinding: scalarToBytes(r.blinding),
  });
}

/** The receipt log entries of an SE image: payment record, amount and blinding, as its owner reads them. */
export function readReceiptLog(backend: MemoryBackend): Array<{ payment: Uint8Array; amountMinor: bigint; blinding: Uint8Array; nullifier: Uint8Array; epoch: bigint }> {
  const out = [];
  for (const [key, cell] of [...backend.cells.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key.startsWith('receipt/')) out.push(receiptCodec.decode(cell));
  }
  return out;
}

/** The broken owner deletes N from the SE's seen-nullifier set (an NVM write) and reopens the SE
 *  over the edited image, so it takes a payment with that nullifier again. */
export function forgetNullifier(d: TestDevice, net: OfflineNet, N: Uint8Array): TestDevice {
  const cell = d.backend.cells.get('nullifiers');
  if (cell === undefined) throw new Error('SE image has no nullifiers cell');
  const seen = SECTIONS.nullifiers.decode(cell);
  const keep = seen.entries.filter((e) => bytesToHex(e.nullifier) !== bytesToHex(N));
  d.backend.cells.set('nullifiers', SECTIONS.nullifiers.encode({ entries: keep }));
  return { ...d, ...openSe(net, `${d.name}-edited`, d.backend, true) };
}
