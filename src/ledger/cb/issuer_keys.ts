// The CB's BBS issuer key per epoch, derived from one master secret:
// sk_e = hash_to_scalar(master || "epoch" || u64(e), ISSUER_KEY_DST). One secret to guard (in an
// HSM in production), any epoch's key on demand, and the same keys after a restart or on a second
// CB process, with nothing stored. The public key travels to devices inside an IssuerKeyCert
// signed with the CB's P-256 key (src/se/messages.ts).

import { assert } from '../../crypto/assert.ts';
import { G2Point, concatBytes, encodeCounterSet, hashToScalar, signCounterSet } from '../../crypto/index.ts';

export const ISSUER_KEY_DST = 'TALLY-V1/ledger/issuer-key';
/** The master secret must carry at least 256 bits. */
export const ISSUER_MASTER_BYTES_MIN = 32;

export interface IssuerKey {
  epoch: bigint;
  secretKey: bigint;
  publicKey: G2Point;
}

export class IssuerKeys {
  private readonly cache = new Map<bigint, IssuerKey>();
  private readonly counterSets = new Map<string, Uint8Array>();

  constructor(private readonly master: Uint8Array) {
    assert(master.length >= ISSUER_MASTER_BYTES_MIN, `issuer master secret must be at least ${ISSUER_MASTER_BYTES_MIN} bytes`);
  }

  forEpoch(epoch: bigint): IssuerKey {
    assert(epoch >= 0n && epoch < 1n << 64n, `issuer key: epoch ${epoch} out of range`);
    let k = this.cache.get(epoch);
    if (k === undefined) {
      const e = new Uint8Array(8);
      new DataView(e.buffer).setBigUint64(0, epoch);
      const secretKey = hashToScalar(concatBytes(this.master, new TextEncoder().encode('epoch'), e), ISSUER_KEY_DST);
      assert(secretKey !== 0n, 'issuer key: zero scalar (probability 2^-255)');
      k = { epoch, secretKey, publicKey: G2Point.BASE.mul(secretKey) };
      this.cache.set(epoch, k);
    }
    return k;
  }

  /**
   * The epoch's counter set for L (crypto/counter_set.ts): signatures on 0 … L−1, deterministic, so
   * recomputed rather than stored; kept for the few (epoch, L) pairs in use. Empty for L = 0.
   */
  counterSet(epoch: bigint, L: number): Uint8Array {
    if (L === 0) return new Uint8Array(0);
    const key = `${epoch}/${L}`;
    let set = this.counterSets.get(key);
    if (set === undefined) {
      const k = this.forEpoch(epoch);
      set = encodeCounterSet(signCounterSet(k.secretKey, k.publicKey, L));
      if (this.counterSets.size >= 16) this.counterSets.clear();
      this.counterSets.set(key, set);
    }
    return set;
  }
}
