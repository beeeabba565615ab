#version 450
// BN_OP_MATMUL, the second stage of a split over k (gemm_<dt>_splitk or gemm_gemv_kn_<dt>
// with several slices): c[z][e] = Σ_s scratch[(z · slices + s) · MN + e] in slice order
// (deterministic), MN = m · n. The slice count is recomputed from the params with the
// macros of gemm_plan.h, as the plan and the first stage computed it. One invocation per
// element; ceil(batch · m · n / 256) groups, grid folded to 2-D.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "gemm_common.glsl"

layout(local_size_x = BN_GEMM_REDUCE_WG, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };
layout(std430, set = 0, binding = 7) readonly restrict buffer Scratch { float partial[]; };

void main() {
  uint idx = bn_group_linear() * BN_GEMM_REDUCE_WG + gl_LocalInvocationID.x;
  uint mn = p.m * p.n;
  if (idx >= p.batch * mn) return;
  uint slices;
  if (p.m == 1u || p.n == 1u) {
    slices = BN_GEMV_KN_SLICES(gemv_rows(), p.batch, p.k);
  } else {
    slices = gemm_splits();
  }
  uint z = idx / mn;
  uint e = idx - z * mn;
  uint base = z * slices * mn + e;
  float s = partial[base];
  for (uint i = 1u; i < slices; ++i) s += partial[base + i * mn];
  c[idx] = s;
}
