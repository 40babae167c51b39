// Worker of bench/ledger_pool.ts: makes `count` payment records for one software payer whose
// credential is signed directly with the CB's derived issuer key of the epoch (the benchmark
// measures settlement, not issuance). Each record is what a payee SE logs, plus its opening; its
// context names the benchmark's payee, which alone may upload it.

import { parentPort } from 'node:worker_threads';
import {
  CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT, G1Point, coreSign, signCounterSet, createGenerators, encodePaymentProof, provePayment, randomScalar,
  scalarToBytes, seededRng,
} from '../src/crypto/index.ts';
import { encodePaymentRecord } from '../src/protocol/payment_record.ts';
import { PROTOCOL_VERSION } from '../src/protocol/limits.ts';
import { paymentContext } from '../src/protocol/session.ts';
import { IssuerKeys } from '../src/ledger/cb/issuer_keys.ts';

export interface PoolJob {
  seed: string;
  issuerMaster: Uint8Array;
  regulatorKey: Uint8Array;
  epoch: bigint;
  tier: number;
  capMinor: bigint;
  paymentsPerEpoch: number;
  /** The payee every record names (payeeIdentityOf its attestation key) and the policy version. */
  payeeIdentity: Uint8Array;
  policyVersion: bigint;
  count: number;
}

export interface PoolRecord {
  record: Uint8Array;
  amountMinor: bigint;
  blinding: Uint8Array;
  nullifier: Uint8Array;
  epoch: bigint;
}

parentPort!.on('message', (job: PoolJob) => {
  const rng = seededRng(job.seed);
  const key = new IssuerKeys(job.issuerMaster).forEpoch(job.epoch);
  const messages = [randomScalar(rng), job.epoch, BigInt(job.tier), 0n, randomScalar(rng)];
  const signature = coreSign(key.secretKey, key.publicKey, createGenerators(CREDENTIAL_MESSAGE_COUNT + 1), CREDENTIAL_HEADER, messages);
  const counterSet = signCounterSet(key.secretKey, key.publicKey, job.paymentsPerEpoch);
  const params = { issuerKey: key.publicKey, regulatorKey: G1Point.fromBytes(job.regulatorKey), capMinor: job.capMinor, paymentsPerEpoch: job.paymentsPerEpoch };
  const out: PoolRecord[] = [];
  for (let i = 0; i < job.count; i++) {
    const sessionKey = () => rng(32).map((b, j) => (j === 31 ? b & 0x3f : b));
    const context = paymentContext({
      version: PROTOCOL_VERSION, requestId: rng(16), payeeNonce: rng(32), payeeIdentity: job.payeeIdentity, payeeSessionKey: sessionKey(),
      payerSessionKey: sessionKey(), policyVersion: job.policyVersion, timeMs: 1_800_000_000_000 + i,
    });
    const amountMinor = BigInt(100 + i);
    const r = provePayment({ params, credential: { signature, messages, counterSet }, counter: i, amountMinor, context, rng });
    out.push({
      record: encodePaymentRecord({ context, payment: encodePaymentProof(r.statement, r.proof) }),
      amountMinor, blinding: scalarToBytes(r.opening.r_a), nullifier: r.statement.N.toBytes(), epoch: job.epoch,
    });
  }
  parentPort!.postMessage(out);
});
