#version 450
// BN_OP_QUANTIZE_TERNARY, stage 1 of 3: partial sums of |W|.
//
// Workgroup g (of ceil(n·k / BN_QT_CHUNK), grid folded to 2-D) sums |W[e]| for e in
// [g·CHUNK, (g+1)·CHUNK) ∩ [0, n·k): invocation t takes e = g·CHUNK + j·256 + t for
// j < 64 (coalesced) into a float-float (hi, lo) accumulator (TwoSum, exact steps), then a
// fixed-order shared-memory tree gives the group's pair, written to scratch[g] (binding 7).
// Float-float keeps the absmean accurate to ~2^-44 relative whatever the order, and the fixed
// order makes the result bit-identical on every device and subgroup size.
// The plan guarantees n·k < 2^31.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

layout(local_size_x = BN_QT_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform QuantizeTernaryParams {
  uint n;
  uint k;
  uint reserved0;
  uint reserved1;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer Weights { float w[]; };
layout(std430, set = 0, binding = 7) writeonly restrict buffer Scratch { vec2 partial[]; };

shared vec2 red[BN_QT_WG];

void main() {
  uint total = p.n * p.k;
  uint groups = total / BN_QT_CHUNK + ((total % BN_QT_CHUNK) != 0u ? 1u : 0u);
  uint g = bn_group_linear();
  if (g >= groups) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint start = g * BN_QT_CHUNK + tid;

  float hi = 0.0;
  float lo = 0.0;
  for (uint j = 0u; j < BN_QT_PER_THREAD; ++j) {
    uint e = start + j * BN_QT_WG;
    if (e < total) bn_ff_add1(hi, lo, abs(w[e]));
  }
  red[tid] = vec2(hi, lo);
  barrier();
  [[unroll]] for (uint s = BN_QT_WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] = bn_ff_add(red[tid], red[tid + s]);
    barrier();
  }
  if (tid == 0u) partial[g] = red[0];
}
