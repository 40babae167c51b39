// Payment-proof benchmarks (DESIGN §8): prove (everything), its three parts — the SE's idle token,
// the host's amount range proof, the SE's tap-time finish (`payment.prove.tap`) —, verify one,
// verify per proof within a batch of 64, and the encoded size. Medians after warm-up.

import { timeIt, type Benchmark } from './harness.ts';
import { seededRng, randomScalar } from '../src/crypto/rng.ts';
import { makeTestIssuer } from '../src/crypto/fixtures.ts';
import {
  finishPayment, precomputeSpendToken, proveAmountRange, provePayment, verifyPayment, verifyPaymentBatch, type SpendToken,
} from '../src/crypto/payment.ts';
import type { RangeProof } from '../src/crypto/range_proof.ts';
import { encodePaymentProof } from '../src/crypto/payment_codec.ts';

export const benchmarks: Benchmark[] = [
  {
    group: 'payment',
    async run() {
      const rng = seededRng('payment-bench');
      const issuer = makeTestIssuer(rng);
      const credential = issuer.issue(randomScalar(rng));
      const params = issuer.params;
      let counter = 0;
      const context = (i: number) => new TextEncoder().encode(`bench-context-${i}`);
      const pay = () => provePayment({ params, credential, counter: counter++ % 64, amountMinor: 1_234n, context: context(counter), rng });
      const one = pay();
      if (!verifyPayment(params, one.statement, one.proof, rng).ok) throw new Error('payment bench: proof does not verify');
      const batch = Array.from({ length: 64 }, () => {
        const p = pay();
        return { params, statement: p.statement, proof: p.proof };
      });
      const results = [
        await timeIt('payment.prove', pay, { n: 20 }),
        await timeIt('payment.prove.token (SE, idle)', () => precomputeSpendToken({ params, credential, counter: counter++ % 64, rng }), { n: 20 }),
        await timeIt(
          'payment.prove.amount_range (host, tap)',
          (token: SpendToken) => proveAmountRange({ capMinor: params.capMinor, amountMinor: 1_234n, r_a: token.r_a, rng }),
          { n: 20, setup: () => precomputeSpendToken({ params, credential, counter: counter++ % 64, rng }) },
        ),
        await timeIt(
          'payment.prove.tap',
          (x: { token: SpendToken; range: RangeProof }) => finishPayment({ params, token: x.token, amountMinor: 1_234n, range: x.range, context: context(counter++) }),
          {
            n: 20,
            setup: () => {
              const token = precomputeSpendToken({ params, credential, counter: counter++ % 64, rng });
              return { token, range: proveAmountRange({ capMinor: params.capMinor, amountMinor: 1_234n, r_a: token.r_a, rng }).range };
            },
          },
        ),
        await timeIt('payment.verify', () => verifyPayment(params, one.statement, one.proof, rng), { n: 20 }),
        await timeIt(
          'payment.verify.batch64',
          () => {
            if (!verifyPaymentBatch(batch, rng).ok) throw new Error('payment bench: batch does not verify');
          },
          { n: 5, warmup: 1, perCall: 64 },
        ),
        { name: 'payment.bytes', value: encodePaymentProof(one.statement, one.proof).length, unit: 'bytes' },
      ];
      return results;
    },
  },
];
