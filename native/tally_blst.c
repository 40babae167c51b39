// Tally's native curve engine: a thin N-API layer over blst for exactly what src/crypto/group.ts
// needs. Every function takes and fills caller-allocated Uint8Arrays, so no JavaScript object is
// made here and no call allocates on the JavaScript heap.
//
// Representations (all blst structs, host byte order, Montgomery form):
//   G1 point  = blst_p1 (Jacobian, 144 bytes)    G2 point = blst_p2 (Jacobian, 288 bytes)
//   scalar    = 32 bytes little-endian, already reduced below r by the caller
// Secret-scalar multiplication uses blst_p1_mult / blst_p2_mult (constant time). The MSM is
// variable time (public data only): Pippenger, or a wbits table for small inputs, as blst picks.

#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include "blst.h"

#define G1_JAC sizeof(blst_p1)
#define G2_JAC sizeof(blst_p2)

// Decode results shared with the TypeScript side (src/crypto/engine/blst.ts).
enum { DECODE_OK = 0, DECODE_NOT_CANONICAL = 1, DECODE_NOT_ON_CURVE = 2, DECODE_NOT_IN_GROUP = 3, DECODE_IDENTITY = 4 };

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

// Reads typed-array argument i into *data; requires at least min bytes.
static int arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, size_t min) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value buf;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &buf, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array || length < min) return 0;
  *data = (uint8_t *)ptr;
  if (len) *len = length;
  return 1;
}

static int arg_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static napi_value ret_i32(napi_env env, int32_t x) {
  napi_value v;
  napi_create_int32(env, x, &v);
  return v;
}

static napi_value ret_bool(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  return v;
}

#define ARGS(n)                                                            \
  size_t argc = n;                                                         \
  napi_value argv[n];                                                      \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) \
    return throw_type(env, "wrong number of arguments");

#define BYTES(i, name, min)                                                \
  uint8_t *name;                                                           \
  size_t name##_len;                                                       \
  if (!arg_bytes(env, argv[i], &name, &name##_len, min)) return throw_type(env, "argument " #i " must be a Uint8Array of at least " #min " bytes"); \
  (void)name##_len;

static int map_error(BLST_ERROR e) {
  switch (e) {
    case BLST_SUCCESS: return DECODE_OK;
    case BLST_POINT_NOT_ON_CURVE: return DECODE_NOT_ON_CURVE;
    case BLST_POINT_NOT_IN_GROUP: return DECODE_NOT_IN_GROUP;
    default: return DECODE_NOT_CANONICAL;
  }
}

// ------------------------------------------------------------------------------------------------
// G1

// g1Decode(in48, out144, checkSubgroup) -> decode code. The encoding must be the canonical
// compressed one (re-compressing gives the same bytes); on-curve is always checked.
static napi_value g1_decode(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, in, 48);
  BYTES(1, out, G1_JAC);
  uint32_t check;
  if (!arg_u32(env, argv[2], &check)) return throw_type(env, "checkSubgroup must be 0 or 1");
  blst_p1_affine a;
  int code = map_error(blst_p1_uncompress(&a, in));
  if (code == DECODE_NOT_IN_GROUP && !check) code = DECODE_OK; /* (0, ±2): on the curve, order 3 */
  if (code != DECODE_OK) return ret_i32(env, code);
  uint8_t again[48];
  blst_p1_affine_compress(again, &a);
  if (memcmp(again, in, 48) != 0) return ret_i32(env, DECODE_NOT_CANONICAL);
  if (blst_p1_affine_is_inf(&a)) {
    memset(out, 0, G1_JAC);
    return ret_i32(env, DECODE_IDENTITY);
  }
  if (check && !blst_p1_affine_in_g1(&a)) return ret_i32(env, DECODE_NOT_IN_GROUP);
  blst_p1_from_affine((blst_p1 *)out, &a);
  return ret_i32(env, DECODE_OK);
}

static napi_value g1_encode(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, p, G1_JAC);
  BYTES(1, out, 48);
  blst_p1_compress(out, (const blst_p1 *)p);
  return NULL;
}

static napi_value g1_add(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G1_JAC);
  BYTES(1, a, G1_JAC);
  BYTES(2, b, G1_JAC);
  blst_p1_add_or_double((blst_p1 *)out, (const blst_p1 *)a, (const blst_p1 *)b);
  return NULL;
}

static napi_value g1_sub(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G1_JAC);
  BYTES(1, a, G1_JAC);
  BYTES(2, b, G1_JAC);
  blst_p1 nb = *(const blst_p1 *)b;
  blst_p1_cneg(&nb, 1);
  blst_p1_add_or_double((blst_p1 *)out, (const blst_p1 *)a, &nb);
  return NULL;
}

static napi_value g1_neg(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, out, G1_JAC);
  BYTES(1, a, G1_JAC);
  blst_p1 r = *(const blst_p1 *)a;
  blst_p1_cneg(&r, 1);
  *(blst_p1 *)out = r;
  return NULL;
}

static napi_value g1_dbl(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, out, G1_JAC);
  BYTES(1, a, G1_JAC);
  blst_p1_double((blst_p1 *)out, (const blst_p1 *)a);
  return NULL;
}

// g1Mul(out, p, scalarLE32): constant time; p must lie in G1 (blst uses the GLV endomorphism).
static napi_value g1_mul(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G1_JAC);
  BYTES(1, p, G1_JAC);
  BYTES(2, s, 32);
  blst_p1_mult((blst_p1 *)out, (const blst_p1 *)p, s, 255);
  return NULL;
}

// g1MulSmall(out, p, scalarLE, nbits): nbits < 176, a plain window method that is correct for
// any point on the curve (used for the cofactor h_eff, 64 bits).
static napi_value g1_mul_small(napi_env env, napi_callback_info info) {
  ARGS(4);
  BYTES(0, out, G1_JAC);
  BYTES(1, p, G1_JAC);
  BYTES(2, s, 1);
  uint32_t nbits;
  if (!arg_u32(env, argv[3], &nbits) || nbits == 0 || nbits >= 176 || (nbits + 7) / 8 > s_len)
    return throw_type(env, "nbits must be in [1, 176) and fit the scalar");
  blst_p1_mult((blst_p1 *)out, (const blst_p1 *)p, s, nbits);
  return NULL;
}

static napi_value g1_eq(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, a, G1_JAC);
  BYTES(1, b, G1_JAC);
  return ret_bool(env, blst_p1_is_equal((const blst_p1 *)a, (const blst_p1 *)b));
}

static napi_value g1_is_inf(napi_env env, napi_callback_info info) {
  ARGS(1);
  BYTES(0, a, G1_JAC);
  return ret_bool(env, blst_p1_is_inf((const blst_p1 *)a));
}

static napi_value g1_in_group(napi_env env, napi_callback_info info) {
  ARGS(1);
  BYTES(0, a, G1_JAC);
  return ret_bool(env, blst_p1_in_g1((const blst_p1 *)a));
}

static napi_value g1_generator(napi_env env, napi_callback_info info) {
  ARGS(1);
  BYTES(0, out, G1_JAC);
  *(blst_p1 *)out = *blst_p1_generator();
  return NULL;
}

// Σ s_i·P_i over n Jacobian points (stride 144) and n 32-byte scalars, variable time. Identity
// points and zero scalars are dropped first (blst's batch affine conversion cannot take Z = 0).
// Correct for any curve points, in the subgroup or not: the single-point case avoids the GLV path.
// Returns 0, or -1 when out of memory.
static int msm_var(blst_p1 *r, const uint8_t *pts, const uint8_t *scs, size_t n) {
  static const uint8_t zero32[32] = {0};
  const blst_p1 **live = malloc(sizeof(*live) * (n ? n : 1));
  const uint8_t **sc = malloc(sizeof(*sc) * (n ? n : 1));
  blst_p1_affine *aff = NULL;
  const blst_p1_affine **ap = NULL;
  limb_t *scratch = NULL;
  int rc = -1;
  if (!live || !sc) goto done;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const blst_p1 *p = (const blst_p1 *)(pts + i * G1_JAC);
    const uint8_t *s = scs + i * 32;
    if (blst_p1_is_inf(p) || memcmp(s, zero32, 32) == 0) continue;
    live[m] = p;
    sc[m] = s;
    m++;
  }
  if (m == 0) {
    memset(r, 0, G1_JAC);
  } else if (m == 1) {
    uint8_t s33[33] = {0};
    memcpy(s33, sc[0], 32);
    blst_p1_mult(r, live[0], s33, 257); /* > 256 bits: blst's w5 window, no endomorphism */
  } else {
    aff = malloc(sizeof(blst_p1_affine) * m);
    ap = malloc(sizeof(*ap) * m);
    scratch = malloc(blst_p1s_mult_pippenger_scratch_sizeof(m));
    if (!aff || !ap || !scratch) goto done;
    blst_p1s_to_affine(aff, (const blst_p1 *const *)live, m);
    for (size_t i = 0; i < m; i++) ap[i] = &aff[i];
    blst_p1s_mult_pippenger(r, ap, m, sc, 255, scratch);
  }
  rc = 0;
done:
  free(live);
  free(sc);
  free(aff);
  free(ap);
  free(scratch);
  return rc;
}

// g1Msm(out, points n*144, scalars n*32, n): Σ s_i·P_i, variable time.
static napi_value g1_msm(napi_env env, napi_callback_info info) {
  ARGS(4);
  BYTES(0, out, G1_JAC);
  uint32_t n;
  if (!arg_u32(env, argv[3], &n)) return throw_type(env, "n must be a count");
  BYTES(1, pts, (size_t)n * G1_JAC);
  BYTES(2, scs, (size_t)n * 32);
  if (msm_var((blst_p1 *)out, pts, scs, n) != 0) napi_throw_error(env, NULL, "out of memory");
  return NULL;
}

// hashToG1(out144, msg, dst): RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_.
static napi_value hash_to_g1(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G1_JAC);
  BYTES(1, msg, 0);
  BYTES(2, dst, 1);
  blst_hash_to_g1((blst_p1 *)out, msg, msg_len, dst, dst_len, NULL, 0);
  return NULL;
}

// ------------------------------------------------------------------------------------------------
// Fixed-base rows: for each fixed generator, blst's wbits row (FIXED_WBITS, 2^(w-1) affine
// multiples, Booth-encoded digits), computed once. An MSM over some generators and some other
// points gathers the rows of the generators present into one table for blst_p1s_mult_wbits (no
// doublings or buckets per base) and runs Pippenger on the rest.

#define FIXED_WBITS 8
#define FIXED_ROW (sizeof(blst_p1_affine) << (FIXED_WBITS - 1))

static napi_value g1_fixed_row_size(napi_env env, napi_callback_info info) {
  napi_value v;
  napi_create_uint32(env, (uint32_t)FIXED_ROW, &v);
  return v;
}

// g1FixedRow(row, point144): the point must be a non-identity point of G1.
static napi_value g1_fixed_row(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, row, FIXED_ROW);
  BYTES(1, p, G1_JAC);
  if (blst_p1_is_inf((const blst_p1 *)p)) return throw_type(env, "a fixed base must not be the identity");
  blst_p1_affine a;
  blst_p1_to_affine(&a, (const blst_p1 *)p);
  const blst_p1_affine *ap[1] = {&a};
  blst_p1s_mult_wbits_precompute((blst_p1_affine *)row, FIXED_WBITS, ap, 1);
  return NULL;
}

// g1MsmFixed(out, rows, slots Uint32Array k, fixedScalars k*32, points m*144, scalars m*32, m):
// Σ over the k fixed bases (by slot in `rows`) plus Σ over the m other points.
static napi_value g1_msm_fixed(napi_env env, napi_callback_info info) {
  ARGS(7);
  BYTES(0, out, G1_JAC);
  BYTES(1, rows, 0);
  napi_typedarray_type type;
  size_t k;
  void *slot_ptr;
  napi_value ab;
  size_t ab_off;
  if (napi_get_typedarray_info(env, argv[2], &type, &k, &slot_ptr, &ab, &ab_off) != napi_ok || type != napi_uint32_array)
    return throw_type(env, "slots must be a Uint32Array");
  const uint32_t *slots = (const uint32_t *)slot_ptr;
  BYTES(3, fsc, k * 32);
  uint32_t m;
  if (!arg_u32(env, argv[6], &m)) return throw_type(env, "m must be a count");
  BYTES(4, pts, (size_t)m * G1_JAC);
  BYTES(5, scs, (size_t)m * 32);
  for (size_t i = 0; i < k; i++)
    if ((size_t)(slots[i] + 1) * FIXED_ROW > rows_len) return throw_type(env, "slot out of range");
  blst_p1 fixed_sum, var_sum;
  memset(&fixed_sum, 0, sizeof(fixed_sum));
  if (k > 0) {
    uint8_t *table = malloc(k * FIXED_ROW);
    limb_t *scratch = malloc(blst_p1s_mult_wbits_scratch_sizeof(k));
    if (!table || !scratch) {
      free(table);
      free(scratch);
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    for (size_t i = 0; i < k; i++) memcpy(table + i * FIXED_ROW, rows + (size_t)slots[i] * FIXED_ROW, FIXED_ROW);
    const uint8_t *sp[2] = {fsc, NULL}; /* blst walks a NULL-terminated list contiguously */
    blst_p1s_mult_wbits(&fixed_sum, (const blst_p1_affine *)table, FIXED_WBITS, k, sp, 255, scratch);
    free(table);
    free(scratch);
  }
  if (msm_var(&var_sum, pts, scs, m) != 0) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  blst_p1_add_or_double((blst_p1 *)out, &fixed_sum, &var_sum);
  return NULL;
}

// ------------------------------------------------------------------------------------------------
// G2

static napi_value g2_decode(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, in, 96);
  BYTES(1, out, G2_JAC);
  uint32_t check;
  if (!arg_u32(env, argv[2], &check)) return throw_type(env, "checkSubgroup must be 0 or 1");
  blst_p2_affine a;
  int code = map_error(blst_p2_uncompress(&a, in));
  if (code == DECODE_NOT_IN_GROUP && !check) code = DECODE_OK;
  if (code != DECODE_OK) return ret_i32(env, code);
  uint8_t again[96];
  blst_p2_affine_compress(again, &a);
  if (memcmp(again, in, 96) != 0) return ret_i32(env, DECODE_NOT_CANONICAL);
  if (blst_p2_affine_is_inf(&a)) {
    memset(out, 0, G2_JAC);
    return ret_i32(env, DECODE_IDENTITY);
  }
  if (check && !blst_p2_affine_in_g2(&a)) return ret_i32(env, DECODE_NOT_IN_GROUP);
  blst_p2_from_affine((blst_p2 *)out, &a);
  return ret_i32(env, DECODE_OK);
}

static napi_value g2_encode(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, p, G2_JAC);
  BYTES(1, out, 96);
  blst_p2_compress(out, (const blst_p2 *)p);
  return NULL;
}

static napi_value g2_add(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G2_JAC);
  BYTES(1, a, G2_JAC);
  BYTES(2, b, G2_JAC);
  blst_p2_add_or_double((blst_p2 *)out, (const blst_p2 *)a, (const blst_p2 *)b);
  return NULL;
}

static napi_value g2_sub(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G2_JAC);
  BYTES(1, a, G2_JAC);
  BYTES(2, b, G2_JAC);
  blst_p2 nb = *(const blst_p2 *)b;
  blst_p2_cneg(&nb, 1);
  blst_p2_add_or_double((blst_p2 *)out, (const blst_p2 *)a, &nb);
  return NULL;
}

static napi_value g2_neg(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, out, G2_JAC);
  BYTES(1, a, G2_JAC);
  blst_p2 r = *(const blst_p2 *)a;
  blst_p2_cneg(&r, 1);
  *(blst_p2 *)out = r;
  return NULL;
}

static napi_value g2_mul(napi_env env, napi_callback_info info) {
  ARGS(3);
  BYTES(0, out, G2_JAC);
  BYTES(1, p, G2_JAC);
  BYTES(2, s, 32);
  blst_p2_mult((blst_p2 *)out, (const blst_p2 *)p, s, 255);
  return NULL;
}

static napi_value g2_eq(napi_env env, napi_callback_info info) {
  ARGS(2);
  BYTES(0, a, G2_JAC);
  BYTES(1, b, G2_JAC);
  return ret_bool(env, blst_p2_is_equal((const blst_p2 *)a, (const blst_p2 *)b));
}

static napi_value g2_is_inf(napi_env env, napi_callback_info info) {
  ARGS(1);
  BYTES(0, a, G2_JAC);
  return ret_bool(env, blst_p2_is_inf((const blst_p2 *)a));
}

static napi_value g2_generator(napi_env env, napi_callback_info info) {
  ARGS(1);
  BYTES(0, out, G2_JAC);
  *(blst_p2 *)out = *blst_p2_generator();
  return NULL;
}

// ------------------------------------------------------------------------------------------------
// Pairings

// pairingIsOne(g1s n*144, g2s n*288, n): Π e(P_i, Q_i) == 1, one Miller loop per pair and one
// final exponentiation. Pairs with an identity on either side contribute 1 and are skipped.
static napi_value pairing_is_one(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint32_t n;
  if (!arg_u32(env, argv[2], &n)) return throw_type(env, "n must be a count");
  BYTES(0, p1s, (size_t)n * G1_JAC);
  BYTES(1, p2s, (size_t)n * G2_JAC);
  blst_p1_affine *a1 = malloc(sizeof(*a1) * (n ? n : 1));
  blst_p2_affine *a2 = malloc(sizeof(*a2) * (n ? n : 1));
  const blst_p1_affine **pp = malloc(sizeof(*pp) * (n ? n : 1));
  const blst_p2_affine **qq = malloc(sizeof(*qq) * (n ? n : 1));
  if (!a1 || !a2 || !pp || !qq) {
    free(a1);
    free(a2);
    free(pp);
    free(qq);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  size_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    const blst_p1 *p = (const blst_p1 *)(p1s + (size_t)i * G1_JAC);
    const blst_p2 *q = (const blst_p2 *)(p2s + (size_t)i * G2_JAC);
    if (blst_p1_is_inf(p) || blst_p2_is_inf(q)) continue;
    blst_p1_to_affine(&a1[m], p);
    blst_p2_to_affine(&a2[m], q);
    pp[m] = &a1[m];
    qq[m] = &a2[m];
    m++;
  }
  int one = 1;
  if (m > 0) {
    blst_fp12 f, e;
    blst_miller_loop_n(&f, qq, pp, m);
    blst_final_exp(&e, &f);
    one = blst_fp12_is_one(&e);
  }
  free(a1);
  free(a2);
  free(pp);
  free(qq);
  return ret_bool(env, one);
}

// ------------------------------------------------------------------------------------------------

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"g1Decode", g1_decode},       {"g1Encode", g1_encode},     {"g1Add", g1_add},
      {"g1Sub", g1_sub},             {"g1Neg", g1_neg},           {"g1Dbl", g1_dbl},
      {"g1Mul", g1_mul},             {"g1MulSmall", g1_mul_small}, {"g1Eq", g1_eq},
      {"g1IsInf", g1_is_inf},        {"g1InGroup", g1_in_group},  {"g1Generator", g1_generator},
      {"g1Msm", g1_msm},             {"hashToG1", hash_to_g1},    {"g1FixedRowSize", g1_fixed_row_size},
      {"g1FixedRow", g1_fixed_row},  {"g1MsmFixed", g1_msm_fixed},
      {"g2Decode", g2_decode},       {"g2Encode", g2_encode},     {"g2Add", g2_add},
      {"g2Sub", g2_sub},             {"g2Neg", g2_neg},           {"g2Mul", g2_mul},
      {"g2Eq", g2_eq},               {"g2IsInf", g2_is_inf},      {"g2Generator", g2_generator},
      {"pairingIsOne", pairing_is_one},
  };
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return NULL;
  }
  napi_value sizes;
  napi_create_object(env, &sizes);
  napi_value v;
  napi_create_uint32(env, (uint32_t)G1_JAC, &v);
  napi_set_named_property(env, sizes, "g1", v);
  napi_create_uint32(env, (uint32_t)G2_JAC, &v);
  napi_set_named_property(env, sizes, "g2", v);
  napi_set_named_property(env, exports, "sizes", sizes);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
