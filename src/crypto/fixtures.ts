// Ready-made issuer, regulator and credentials for tests, benchmarks and the simulator: the
// real algorithms with keys from a caller-supplied RNG (a seeded one makes a run replayable).
// Production keys come from the ledger's key ceremony, never from here.

import { G2Point } from './group.ts';
import { randomScalar, type Rng } from './rng.ts';
import { coreSign, coreVerify, createGenerators } from './bbs_core.ts';
import { CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT } from './credential.ts';
import { dealRegulatorKey, type RegulatorKey } from './escrow.ts';
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
  const issue: TestIssuer['issue'] = (k, attributes = {}) => {
    const messages = [k, attributes.epoch ?? 42n, attributes.tier ?? 1n, attributes.deviceClass ?? 1n, randomScalar(rng)];
    const signature = coreSign(secretKey, issuerKey, generators, CREDENTIAL_HEADER, messages);
    assert(coreVerify(issuerKey, signature, generators, CREDENTIAL_HEADER, messages), 'makeTestIssuer: fresh credential does not verify');
    return { signature, messages };
  };
  return { secretKey, params, regulator, issue };
}
