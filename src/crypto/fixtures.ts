// Ready-made issuer, regulator and credentials for tests, benchmarks and the simulator: the
// real algorithms with keys from a caller-supplied RNG (a seeded one makes a run replayable).
// Production keys come from the ledger's key ceremony, never from here.

import { CryptoDecodeError, G1Point, G1_H_EFF, G2Point, bigintToBytesBE, scalarInv } from './group.ts';
import { randomScalar, type Rng } from './rng.ts';
import { coreSign, coreVerify, createGenerators } from './bbs_core.ts';
import { CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT } from './credential.ts';
import { dealRegulatorKey, type RegulatorKey } from './escrow.ts';
import { signCounterSet } from './counter_set.ts';
import { assert } from './assert.ts';
import type { Credential, PaymentParams } from './payment.ts';

export interface TestIssuer {
  secretKey: bigint;
  params: PaymentParams;
  regulator: RegulatorKey;
  /** Signs (k, epoch, tier, deviceClass, s) directly (blind issuance is tested on its own). */
  issue(k: bigint, attributes?: { epoch?: bigint; tier?: bigint; deviceClass?: bigint }): Credential;
}

export function makeTestIssuer(rng: Rng, policy = { capMinor: 20_000n, paymentsPerEpoch: 64 }): TestIssuer {
  const secretKey = randomScalar(rng);
  const issuerKey = G2Point.BASE.mul(secretKey);
  const regulator = dealRegulatorKey({ threshold: 2, holders: 3, rng });
  const params: PaymentParams = { issuerKey, regulatorKey: regulator.publicKey, ...policy };
  const generators = createGenerators(CREDENTIAL_MESSAGE_COUNT + 1);
  const counterSet = signCounterSet(secretKey, issuerKey, policy.paymentsPerEpoch);
  const issue: TestIssuer['issue'] = (k, attributes = {}) => {
    const messages = [k, attributes.epoch ?? 42n, attributes.tier ?? 1n, attributes.deviceClass ?? 1n, randomScalar(rng)];
    const signature = coreSign(secretKey, issuerKey, generators, CREDENTIAL_HEADER, messages);
    assert(coreVerify(issuerKey, signature, generators, CREDENTIAL_HEADER, messages), 'makeTestIssuer: fresh credential does not verify');
    return { signature, messages, counterSet };
  };
  return { secretKey, params, regulator, issue };
}

/**
 * An on-curve point Q outside G1 (the first such x-coordinate) and its component outside G1, for
 * tests of subgroup checks and of cofactor clearing in batch verification.
 */
export function offSubgroupPoint(): { Q: G1Point; torsion: G1Point } {
  for (let x = 1n; x < 500n; x++) {
    const b = bigintToBytesBE(x, 48);
    b[0]! |= 0x80;
    try {
      G1Point.fromBytes(b);
      continue;
    } catch (e) {
      if (!(e instanceof CryptoDecodeError) || e.code !== 'POINT_NOT_IN_SUBGROUP') continue;
    }
    const Q = G1Point.fromBytes(b, { deferSubgroupCheck: true });
    const primePart = Q.clearCofactor().mul(scalarInv(G1_H_EFF));
    return { Q, torsion: Q.sub(primePart) };
  }
  throw new Error('offSubgroupPoint: none found below x = 500');
}

/** The CryptoDecodeError code `f` throws, or 'OK' when it decodes; any other error propagates. */
export function decodeErrorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CryptoDecodeError) return e.code;
    throw e;
  }
  return 'OK';
}
