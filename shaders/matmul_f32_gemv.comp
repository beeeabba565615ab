#version 450
// BN_OP_MATMUL_F32 with m == 1 and b_trans == 1: c[j] = Σ_k a[k] · B[j][k].
//
// A workgroup of 64 invocations computes 4 rows of B (ceil(n / 4) groups, grid folded to
// 2-D); invocation t reads elements t, t+64, … of each row (vec4 loads when k % 4 == 0, so
// that every row starts 16-byte aligned; scalar loads otherwise), fma-accumulates, and a
// fixed-order shared-memory tree sums the 64 partials (deterministic on every device).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

#define WG BN_MM_GEMV_WG
#define ROWS BN_MM_GEMV_ROWS

layout(local_size_x = BN_MM_GEMV_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform MatmulF32Params {
  uint m;
  uint n;
  uint k;
  uint b_trans;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { vec4 a4[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { vec4 b4[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };

shared float red[ROWS * WG];

void main() {
  uint groups = (p.n + (ROWS - 1u)) / ROWS;
  uint g = bn_group_linear();
  if (g >= groups) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint rbase[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) rbase[r] = min(g * ROWS + r, p.n - 1u) * p.k;

  float acc[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r] = 0.0;
  if ((p.k & 3u) == 0u) {
    uint k4 = p.k >> 2;
    for (uint i = tid; i < k4; i += WG) {
      vec4 av = a4[i];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        vec4 bv = b4[(rbase[r] >> 2) + i];
        acc[r] = fma(av.x, bv.x, acc[r]);
        acc[r] = fma(av.y, bv.y, acc[r]);
        acc[r] = fma(av.z, bv.z, acc[r]);
        acc[r] = fma(av.w, bv.w, acc[r]);
      }
    }
  } else {
    for (uint i = tid; i < p.k; i += WG) {
      float av = a4[i >> 2][i & 3u];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        uint e = rbase[r] + i;
        acc[r] = fma(av, b4[e >> 2][e & 3u], acc[r]);
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) red[r * WG + tid] = acc[r];
  barrier();
  [[unroll]] for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) red[r * WG + tid] += red[r * WG + tid + s];
    }
    barrier();
  }
  if (tid < ROWS) {
    uint row = g * ROWS + tid;
    if (row < p.n) c[row] = red[tid * WG];
  }
}
