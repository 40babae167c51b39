// The simulator's one source of choices: a ChaCha20 stream under the run's seed (seededRng), read
// as 32-bit integers. Every random decision of a run goes through one of these, in the order the
// event queue fixes, so the same seed makes the same run.

import { seededRng, type Rng } from '../../crypto/index.ts';

export class SimRandom {
  private readonly rng: Rng;
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  constructor(seed: string) {
    this.rng = seededRng(seed);
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    if (this.at + 4 > this.buf.length) {
      this.buf = this.rng(1024);
      this.at = 0;
    }
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 4).getUint32(0);
    this.at += 4;
    return v;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty list');
    return xs[Math.floor(this.float() * xs.length)]!;
  }
}

/** Event queue ordered by (time, seq): equal times run in the order they were scheduled. */
export class EventQueue<E> {
  private readonly heap: { t: bigint; seq: number; e: E }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(t: bigint, e: E): void {
    const h = this.heap;
    h.push({ t, seq: this.seq++, e });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): { t: bigint; e: E } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return { t: top.t, e: top.e };
  }

  private less(a: { t: bigint; seq: number }, b: { t: bigint; seq: number }): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }
}
