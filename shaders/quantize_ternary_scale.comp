#version 450
// BN_OP_QUANTIZE_TERNARY, stage 2 of 3: scale = mean(|W|), one workgroup.
//
// Invocation t adds the partials t, t+256, … of stage 1 (scratch, binding 7) in order, a
// fixed-order shared-memory tree combines the 256 float-float sums, and invocation 0 writes
// scale[0] = (hi + lo) / (n·k) correctly rounded to f32 (bn_ffdiv_u32). Empty input (n·k = 0)
// gives scale 0. A non-finite |W| gives a non-finite scale (NaN or +inf). The scale is stored
// as bits so that a subnormal mean survives devices that flush subnormal floats.
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

layout(std430, set = 0, binding = 2) writeonly restrict buffer Scale { uint scale_bits[]; };
layout(std430, set = 0, binding = 7) readonly restrict buffer Scratch { vec2 partial[]; };

shared vec2 red[BN_QT_WG];

void main() {
  uint total = p.n * p.k;
  uint groups = total / BN_QT_CHUNK + ((total % BN_QT_CHUNK) != 0u ? 1u : 0u);
  uint tid = gl_LocalInvocationID.x;
  vec2 acc = vec2(0.0);
  for (uint j = tid; j < groups; j += BN_QT_WG) acc = bn_ff_add(acc, partial[j]);
  red[tid] = acc;
  barrier();
  [[unroll]] for (uint s = BN_QT_WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) red[tid] = bn_ff_add(red[tid], red[tid + s]);
    barrier();
  }
  if (tid == 0u) {
    vec2 sum = red[0];
    scale_bits[0] = floatBitsToUint(bn_ffdiv_u32(sum.x, sum.y, total));
  }
}
