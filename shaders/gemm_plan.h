/*
 * gemm_plan.h — the workgroup geometry of BN_OP_MATMUL (the tensor matmul), shared by its
 * shaders (shaders/gemm*.comp) and objc/core/gpu_plan_matmul.c, like bn_plan.h for the
 * BitNet ops. Plain #defines only; the function-like macros use nothing but unsigned
 * arithmetic, comparisons and ?:, so C and GLSL evaluate them identically (the plan and the
 * shaders must agree on the split-k slice counts, which are derived from the params).
 *
 * Shader choice (gpu_plan_matmul.c), with z = batch index (grids fold z into y when the
 * batch exceeds 65535: y = tiles · fold, z = min(Z, 65535)):
 *   m == 1 (v = A, M = B, R = n) or else n == 1 (v = B, M = A, R = m), a GEMV:
 *     M stored [R][k] (B with trans_b; A without trans_a) → gemm_gemv_<dt>: BN_GEMV_ROWS
 *       rows per workgroup of BN_GEMV_WG, fixed-order tree sum; 1-D grid of
 *       ceil(R / rows) · batch groups, folded to 2-D.
 *     M stored [k][R] → gemm_gemv_kn_<dt>: grid (ceil(R / BN_GEMV_KN_COLS),
 *       slices · fold, zgroups), slices = BN_GEMV_KN_SLICES(R, batch, k); with one slice it
 *       writes C, else partial sums to scratch and gemm_reduce adds them in slice order.
 *   otherwise a tiled GEMM (256 invocations, C tile per workgroup):
 *     ≥ BN_GEMM_BIG_MIN_TILES tiles of 128 × 128 → gemm_<dt>_t128 (8 × 8 per invocation,
 *       k step 8);
 *     else 64 × 64 tiles (4 × 4 per invocation, k step 16): gemm_<dt>, or, when
 *       BN_GEMM_SPLITS(...) > 1 (few tiles, deep k), gemm_<dt>_splitk over (tile, batch ×
 *       slice) writing partial tiles to scratch, then gemm_reduce.
 */
#ifndef BN_GEMM_PLAN_H
#define BN_GEMM_PLAN_H

#define BN_GEMM_WG 256
#define BN_GEMM_T64 64
#define BN_GEMM_T64_K 16
#define BN_GEMM_T128 128
#define BN_GEMM_T128_K 8
/* The 128 × 128 kernel when there are at least this many of its tiles (an H200 has 132
 * SMs; fewer tiles would leave most of it idle). */
#define BN_GEMM_BIG_MIN_TILES 120

/* Split-k of the 64 × 64 kernel: with fewer than BN_GEMM_SPLIT_MIN_TILES tiles, k is cut
 * into up to BN_GEMM_SPLIT_MAX slices (each at least BN_GEMM_SPLIT_MIN_K deep) so that
 * about BN_GEMM_SPLIT_TARGET workgroups run. */
#define BN_GEMM_SPLIT_MIN_TILES 128u
#define BN_GEMM_SPLIT_TARGET 256u
#define BN_GEMM_SPLIT_MIN_K 256u
#define BN_GEMM_SPLIT_MAX 32u

#define BN_GEMM_MIN_U(a, b) ((a) < (b) ? (a) : (b))
#define BN_GEMM_MAX_U(a, b) ((a) > (b) ? (a) : (b))
/* Requested slices for `tiles` 64 × 64 tiles (all batches) and depth k. */
#define BN_GEMM_KSPLIT(tiles, k)                                                              \
  ((tiles) >= BN_GEMM_SPLIT_MIN_TILES                                                         \
       ? 1u                                                                                   \
       : BN_GEMM_MAX_U(1u, BN_GEMM_MIN_U(BN_GEMM_MIN_U((BN_GEMM_SPLIT_TARGET + (tiles)-1u) / \
                                                            (tiles),                          \
                                                        (k) / BN_GEMM_SPLIT_MIN_K),           \
                                         BN_GEMM_SPLIT_MAX)))
/* Depth of one slice (a multiple of the k step) and the number of non-empty slices. */
#define BN_GEMM_KCHUNK(k, s) ((((k) + (s)-1u) / (s) + 15u) / 16u * 16u)
#define BN_GEMM_SLICES(k, chunk) (((k) + (chunk)-1u) / (chunk))

/* GEMV, M [R][k]: BN_GEMV_ROWS rows per workgroup of BN_GEMV_WG invocations. */
#define BN_GEMV_WG 64
#define BN_GEMV_ROWS 4

/* GEMV, M [k][R]: BN_GEMV_KN_COLS columns × BN_GEMV_KN_LANES k lanes per workgroup. Slices
 * of k: one per 256 rows of M, at most 64, and at most 2^20 partial sums in all (so the
 * scratch stays ≤ 4 MiB); one slice when R · batch exceeds 2^20. */
#define BN_GEMV_KN_COLS 64
#define BN_GEMV_KN_LANES 4
#define BN_GEMV_KN_SLICES_REQ(R, batch, k)                                                    \
  BN_GEMM_MAX_U(1u, BN_GEMM_MIN_U(BN_GEMM_MIN_U(((k) + 255u) / 256u, 64u),                    \
                                  (1048576u / (R)) / (batch)))
#define BN_GEMV_KN_KSLICE(R, batch, k)                                                        \
  (((k) + BN_GEMV_KN_SLICES_REQ(R, batch, k) - 1u) / BN_GEMV_KN_SLICES_REQ(R, batch, k))
#define BN_GEMV_KN_SLICES(R, batch, k)                                                        \
  (((k) + BN_GEMV_KN_KSLICE(R, batch, k) - 1u) / BN_GEMV_KN_KSLICE(R, batch, k))

/* gemm_reduce: one invocation per output element, 1-D grid folded to 2-D. */
#define BN_GEMM_REDUCE_WG 256

#endif /* BN_GEMM_PLAN_H */
