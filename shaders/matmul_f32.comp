#version 450
// BN_OP_MATMUL_F32, general m: C = A · Bᵀ (b_trans = 1, B [n][k]) or A · B (b_trans = 0,
// B [k][n]), f32 accumulation with fma in k order (the same bits on every device).
//
// Grid (ceil(n / 64), ceil(m / 64)); a workgroup of 256 invocations computes a 64 × 64 tile of
// C; invocation (tx, ty) = (t & 15, t >> 4) owns rows 4ty..4ty+3 and columns 4tx..4tx+3. The
// k loop steps 16 at a time through shared tiles As[k][m] and Bs[k][n] (vec4 along m / n,
// rows padded to 17 vec4). Both B layouts are staged with coalesced global reads.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

#define TILE BN_MM_TILE
#define TK BN_MM_TILE_K
#define V4S 17  // vec4 per shared row: 16 used + 1 pad
#if BN_MM_TILE != 64 || BN_MM_TILE_K != 16 || BN_MM_WG != 256
#error "the staging and the 16 x 16 invocation grid assume 64 x 64 tiles, k step 16, 256 invocations"
#endif

layout(local_size_x = BN_MM_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform MatmulF32Params {
  uint m;
  uint n;
  uint k;
  uint b_trans;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { float a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { float b[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };

shared vec4 As[TK * V4S];
shared vec4 Bs[TK * V4S];

void main() {
  uint n0 = gl_WorkGroupID.x * TILE;
  uint m0 = gl_WorkGroupID.y * TILE;
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid & 15u;
  uint ty = tid >> 4;

  vec4 acc[4];
  [[unroll]] for (uint i = 0u; i < 4u; ++i) acc[i] = vec4(0.0);

  // Staging roles: (kk, q) = (t & 15, t >> 4) reads 4 rows (m or n) 4q..4q+3 at column
  // k0 + kk of a row-major [rows][k] matrix; (q, kk) = (t & 15, t >> 4) reads 4 consecutive
  // columns 4q..4q+3 of row k0 + kk of a [k][n] matrix.
  uint s_kk = tid & 15u;
  uint s_q = tid >> 4;

  for (uint k0 = 0u; k0 < p.k; k0 += TK) {
    {
      uint kcol = k0 + s_kk;
      vec4 v = vec4(0.0);
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        uint r = m0 + 4u * s_q + i;
        if (r < p.m && kcol < p.k) v[i] = a[r * p.k + kcol];
      }
      As[s_kk * V4S + s_q] = v;
    }
    if (p.b_trans != 0u) {
      uint kcol = k0 + s_kk;
      vec4 v = vec4(0.0);
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        uint r = n0 + 4u * s_q + i;
        if (r < p.n && kcol < p.k) v[i] = b[r * p.k + kcol];
      }
      Bs[s_kk * V4S + s_q] = v;
    } else {
      uint kk = s_q;
      uint krow = k0 + kk;
      vec4 v = vec4(0.0);
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        uint col = n0 + 4u * s_kk + i;
        if (krow < p.k && col < p.n) v[i] = b[krow * p.n + col];
      }
      Bs[kk * V4S + s_kk] = v;
    }
    barrier();
    [[unroll]] for (uint kk = 0u; kk < TK; ++kk) {
      vec4 av = As[kk * V4S + ty];
      vec4 bv = Bs[kk * V4S + tx];
      [[unroll]] for (uint i = 0u; i < 4u; ++i) acc[i] = fma(vec4(av[i]), bv, acc[i]);
    }
    barrier();
  }

  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    uint r = m0 + 4u * ty + i;
    if (r < p.m) {
      [[unroll]] for (uint j = 0u; j < 4u; ++j) {
        uint col = n0 + 4u * tx + j;
        if (col < p.n) c[r * p.n + col] = acc[i][j];
      }
    }
  }
}
