// The curve engine: the few BLS12-381 operations group.ts builds on, behind one interface with
// two back ends (blst.ts, a native addon over blst; mcl.ts, mcl-wasm). Points are opaque handles
// owned by the engine that made them; group.ts wraps them in immutable G1Point / G2Point values
// and never mixes handles of two engines. Scalars cross as bigints in [0, r).

export type EngineName = 'blst' | 'mcl';

export type PointDecodeFailure = 'POINT_NOT_CANONICAL' | 'POINT_NOT_ON_CURVE' | 'POINT_NOT_IN_SUBGROUP';

export type Decoded<P> = { ok: true; point: P; identity: boolean } | { ok: false; code: PointDecodeFailure };

export interface CurveEngine<P1 = unknown, P2 = unknown> {
  readonly name: EngineName;
  /** What runs underneath, for `tally --version` and bench JSON. */
  readonly detail: string;

  g1Identity(): P1;
  g1Generator(): P1;
  /** Canonical compressed decoding; always checks the curve, the subgroup only when asked. */
  g1Decode(bytes: Uint8Array, checkSubgroup: boolean): Decoded<P1>;
  g1Encode(p: P1): Uint8Array;
  g1Add(a: P1, b: P1): P1;
  g1Sub(a: P1, b: P1): P1;
  g1Neg(a: P1): P1;
  g1Dbl(a: P1): P1;
  /** Constant-time in the scalar; the point must lie in G1. */
  g1Mul(p: P1, s: bigint): P1;
  /** h_eff·P, correct for any point on the curve. */
  g1ClearCofactor(p: P1): P1;
  g1Eq(a: P1, b: P1): boolean;
  g1IsIdentity(p: P1): boolean;
  g1InSubgroup(p: P1): boolean;
  /** Σ s_i·P_i, variable time (public data). Correct for curve points outside G1 too. */
  g1Msm(points: readonly P1[], scalars: readonly bigint[]): P1;
  /** RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_, when the engine has it (else group.ts uses noble). */
  g1HashToCurve: ((msg: Uint8Array, dst: Uint8Array) => P1) | null;
  /**
   * Fixed-base tables, when the engine has them: `g1FixedSlot` precomputes the table row of a
   * generator (non-identity, in G1) and answers its slot, or null when the engine keeps no more
   * rows; `g1MsmFixed` is Σ t_j·B_slot_j + Σ s_i·P_i, variable time.
   */
  g1FixedSlot: ((p: P1) => number | null) | null;
  g1MsmFixed:
    | ((slots: Uint32Array, fixedScalars: readonly bigint[], points: readonly P1[], scalars: readonly bigint[]) => P1)
    | null;

  g2Identity(): P2;
  g2Generator(): P2;
  g2Decode(bytes: Uint8Array, checkSubgroup: boolean): Decoded<P2>;
  g2Encode(p: P2): Uint8Array;
  g2Add(a: P2, b: P2): P2;
  g2Sub(a: P2, b: P2): P2;
  g2Neg(a: P2): P2;
  g2Mul(p: P2, s: bigint): P2;
  g2Eq(a: P2, b: P2): boolean;
  g2IsIdentity(p: P2): boolean;

  /** Π e(P_i, Q_i) == 1: one Miller loop per pair, one final exponentiation. */
  pairingIsOne(pairs: ReadonlyArray<readonly [P1, P2]>): boolean;
}
