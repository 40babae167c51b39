// BBS benchmarks (draft octet interface, BLS12-381-SHA-256): sign, verify, and the proof of
// knowledge with 4 messages of which 1 is disclosed — the shape of the device credential's
// presentation. Medians over n = 30 runs after warm-up (generators are cached by then).

import { timeIt, type Benchmark } from './harness.ts';
import { deriveProof, keyGen, sign, skToPk, verify, verifyProof } from '../src/crypto/bbs.ts';
import { seededRng } from '../src/crypto/rng.ts';

const N = 30;

export const benchmarks: Benchmark[] = [
  {
    group: 'bbs',
    async run() {
      const secretKey = keyGen({ keyMaterial: new Uint8Array(32).fill(7) });
      const publicKey = skToPk(secretKey);
      const header = new TextEncoder().encode('TALLY-V1/bench');
      const messages = ['k', 'epoch', 'tier', 'class'].map((m) => new TextEncoder().encode(m));
      const signature = sign({ secretKey, publicKey, header, messages });
      const rng = seededRng('bbs-bench');
      const disclosedMessageIndexes = [1];
      const proofArgs = { publicKey, signature, header, messages, disclosedMessageIndexes, rng };
      const proof = deriveProof(proofArgs);
      const verifyArgs = { publicKey, proof, header, disclosedMessages: [messages[1]!], disclosedMessageIndexes };
      if (!verifyProof(verifyArgs)) throw new Error('bbs bench: proof does not verify');
      return [
        await timeIt('bbs.sign', () => sign({ secretKey, publicKey, header, messages }), { n: N }),
        await timeIt('bbs.verify', () => verify({ publicKey, signature, header, messages }), { n: N }),
        await timeIt('bbs.proof.prove', () => deriveProof(proofArgs), { n: N }),
        await timeIt('bbs.proof.verify', () => verifyProof(verifyArgs), { n: N }),
      ];
    },
  },
];
