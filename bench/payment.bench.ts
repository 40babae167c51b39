// Payment-proof benchmarks (DESIGN §8): prove, verify one, verify per proof within a batch of 64,
// and the encoded size. Medians after warm-up; generators are cached by then.

import { timeIt, type Benchmark } from './harness.ts';
import { seededRng, randomScalar } from '../src/crypto/rng.ts';
import { makeTestIssuer } from '../src/crypto/fixtures.ts';
import { precomputePayment, provePayment, verifyPayment, verifyPaymentBatch } from '../src/crypto/payment.ts';
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
        await timeIt(
          'payment.prove.online (precomputed)',
          (precomputed) =>
            provePayment({ params, credential, counter: counter++ % 64, amountMinor: 1_234n, context: context(counter), rng, precomputed }),
          { n: 20, setup: () => precomputePayment(rng) },
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
