#version 450
// BN_OP_MATMUL_F32 with m == 1 and b_trans == 0, stage 2 of 2: c[col] = Σ_s scratch[s·n + col]
// over the ceil(k / 256) slices of stage 1, in slice order (deterministic). One invocation
// per column; ceil(n / 256) groups, grid folded to 2-D. k == 0 gives zeros.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

layout(local_size_x = BN_MM_KN_REDUCE_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform MatmulF32Params {
  uint m;
  uint n;
  uint k;
  uint b_trans;
} p;

layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };
layout(std430, set = 0, binding = 7) readonly restrict buffer Scratch { float partial[]; };

void main() {
  uint col = bn_group_linear() * BN_MM_KN_REDUCE_WG + gl_LocalInvocationID.x;
  if (col >= p.n) return;
  uint slices = (p.k + (BN_MM_KN_KSLICE - 1u)) / BN_MM_KN_KSLICE;
  float s = 0.0;
  for (uint i = 0u; i < slices; ++i) s += partial[i * p.n + col];
  c[col] = s;
}
