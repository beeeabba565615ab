/*
 * rows_plan.h — workgroup geometry of the "rows" tensor ops (reduce, softmax, rmsnorm,
 * rmsnorm_quant, rope), shared by their shaders and objc/core/gpu_plan_rows.c.
 *
 * Plain #defines whose expressions are valid both in C (uint32_t operands) and in GLSL
 * (uint operands), so the plan and the shaders derive the same partition from the params.
 *
 * reduce (input viewed as [outer][len][inner], output [outer][inner]):
 *   A workgroup of BN_RD_WG invocations covers a tile of CW = BN_RD_CW(inner) consecutive
 *   columns of one outer index with LANES = BN_RD_WG / CW lanes along len: invocation t
 *   takes column t % CW and rows lane, lane + LANES, …, so consecutive invocations read
 *   consecutive addresses (coalesced) whatever inner is; lanes combine in a fixed
 *   shared-memory tree. tiles = outer · ceil(inner / CW).
 *   nsplit = BN_RD_NSPLIT(tiles, len, LANES): 1 → one stage (reduce, grid = tiles folded
 *   into x·y). > 1 → len is cut into nsplit chunks of roundup(ceil(len/nsplit), LANES)
 *   rows; reduce_partial (grid (tiles folded, nsplit in z)) writes one partial per chunk
 *   and output into scratch, then reduce_combine (grid ceil(Q / BN_RD_CW(Q)) for
 *   Q = outer·inner outputs, the partials viewed as [nsplit][Q]) adds them in a fixed
 *   tree. VAR then takes four stages: partial sums → reduce_var_mean (means into scratch)
 *   → reduce_var_partial (Σ(x − mean)²) → reduce_combine.
 *   Scratch (32-bit words): partial (s, q) at 2·(s·Q + q) (value bits, index); VAR's means
 *   at 2·nsplit·Q + q.
 *
 * softmax, rmsnorm, rmsnorm_quant: L = BN_RD_SEG_LANES(cols) lanes per row and
 *   BN_ROW_WG / L rows per workgroup (BN_ROWS_PER_GROUP); a long row (L = BN_ROW_WG) of
 *   f16 with an odd cols takes its workgroup with the next row, so that each workgroup
 *   writes whole 32-bit words of its own (a workgroup of several rows starts at an even
 *   row). rope: one workgroup per token.
 */
#ifndef BN_ROWS_PLAN_H
#define BN_ROWS_PLAN_H

#define BN_RD_WG 256
/* Columns per reduce tile: the power of two >= n, at most BN_RD_WG. */
#define BN_RD_CW(n)                                                                      \
  ((n) > 128u ? 256u : (n) > 64u ? 128u : (n) > 32u ? 64u : (n) > 16u ? 32u : (n) > 8u ? 16u \
   : (n) > 4u ? 8u : (n) > 2u ? 4u : (n) > 1u ? 2u : 1u)
/* Lanes of a contiguous row of n elements (about 8 elements per lane, a power of two,
 * at most BN_RD_WG). */
#define BN_RD_SEG_LANES(n) BN_RD_CW(BN_RD_CDIV(n, 8u))
/* Contiguous rows of a reduction (inner == 1) short enough to share a workgroup: L =
 * BN_RD_SEG_LANES(len) < BN_RD_WG lanes per row, BN_RD_WG / L rows (outputs) per
 * workgroup, one stage; tiles = ceil(outer / (BN_RD_WG / L)). */
#define BN_RD_SEGMENTED(len, inner) ((inner) == 1u && BN_RD_SEG_LANES(len) < 256u)
/* ceil(a / b) for a >= 1 (no overflow near 2^32). */
#define BN_RD_CDIV(a, b) (((a) - 1u) / (b) + 1u)
#define BN_RD_MIN(a, b) ((a) < (b) ? (a) : (b))
/* A reduction with at least this many tiles is not split along len. */
#define BN_RD_MIN_TILES 128u
/* A split reduction aims at about this many workgroups in its first stage … */
#define BN_RD_TARGET_GROUPS 1024u
/* … with every lane of a chunk reading at least this many rows, */
#define BN_RD_ROWS_PER_LANE 32u
/* … and at most this many chunks. */
#define BN_RD_MAX_SPLIT 1024u
#define BN_RD_NSPLIT(tiles, len, lanes)                                                   \
  ((tiles) >= BN_RD_MIN_TILES || (len) <= 2u * (lanes) * BN_RD_ROWS_PER_LANE              \
       ? 1u                                                                               \
       : BN_RD_MIN(BN_RD_MIN(BN_RD_CDIV(len, (lanes) * BN_RD_ROWS_PER_LANE),              \
                             BN_RD_CDIV(BN_RD_TARGET_GROUPS, tiles)),                      \
                   BN_RD_MAX_SPLIT))

/* softmax, rmsnorm, rmsnorm_quant, rope: invocations per workgroup. */
#define BN_ROW_WG 256
/* Rows per workgroup of softmax / rmsnorm / rmsnorm_quant (f16: dtype is 1). */
#define BN_ROWS_PER_GROUP(cols, f16)                                                       \
  (BN_RD_SEG_LANES(cols) < 256u ? 256u / BN_RD_SEG_LANES(cols) : ((f16) && ((cols) & 1u) != 0u ? 2u : 1u))

#endif /* BN_ROWS_PLAN_H */
