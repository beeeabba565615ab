// gemm_common.glsl — what the BN_OP_MATMUL shaders share: the params block and the
// batch / fold arithmetic. Included after #version, the #extension lines and the variant
// #defines of each shaders/gemm*.comp.

#include "bn_common.glsl"
#include "gemm_plan.h"

// bn_matmul_params_t (objc/include/bitnet_metal.h).
layout(push_constant) uniform MatmulParams {
  uint m;
  uint n;
  uint k;
  uint batch;
  uint flags;
  uint a_batch_stride;
  uint b_batch_stride;
  uint reserved0;
} p;

#define GEMM_TRANS_A 1u
#define GEMM_TRANS_B 2u

bool gemm_trans_a() {
  return (p.flags & GEMM_TRANS_A) != 0u;
}

bool gemm_trans_b() {
  return (p.flags & GEMM_TRANS_B) != 0u;
}

// Element offsets of batch entry z (a stride is meaningless, and ignored, when batch is 1).
uint gemm_a_base(uint z) {
  return p.batch > 1u ? z * p.a_batch_stride : 0u;
}

uint gemm_b_base(uint z) {
  return p.batch > 1u ? z * p.b_batch_stride : 0u;
}

// The GEMV view: v (k elements) and M (R rows). m == 1: v = A, M = B, R = n, M [R][k] when
// trans_b; else (n == 1): v = B, M = A, R = m, M [R][k] unless trans_a.
bool gemv_v_is_a() {
  return p.m == 1u;
}

uint gemv_rows() {
  return p.m == 1u ? p.n : p.m;
}

// Slices of the split-k 64 × 64 GEMM (see gemm_plan.h); 1 when it does not split.
uint gemm_splits() {
  uint tiles = ((p.m + (BN_GEMM_T64 - 1u)) / BN_GEMM_T64) *
               ((p.n + (BN_GEMM_T64 - 1u)) / BN_GEMM_T64) * p.batch;
  uint s = BN_GEMM_KSPLIT(tiles, p.k);
  uint chunk = BN_GEMM_KCHUNK(p.k, s);
  return BN_GEMM_SLICES(p.k, chunk);
}

uint gemm_split_chunk() {
  uint tiles = ((p.m + (BN_GEMM_T64 - 1u)) / BN_GEMM_T64) *
               ((p.n + (BN_GEMM_T64 - 1u)) / BN_GEMM_T64) * p.batch;
  uint s = BN_GEMM_KSPLIT(tiles, p.k);
  return BN_GEMM_KCHUNK(p.k, s);
}

// f16 pairs: half e of a word array.
float gemm_half(uint word, uint e) {
  vec2 h = unpackHalf2x16(word);
  return (e & 1u) != 0u ? h.y : h.x;
}
