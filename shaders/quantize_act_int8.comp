#version 450
// BN_OP_QUANTIZE_ACT_INT8: per-row absmax int8 quantization.
//
// One workgroup of 256 invocations per row (m groups, grid folded to 2-D). Pass 1: amax =
// max|x| over the row (strided, coalesced loads; shared-memory tree — max is exact in any
// order; NaNs are ignored). Then inv = 127/amax and scale = amax/127, both correctly rounded f32 divisions
// (bn_div_rn; every invocation computes them, no extra barrier). Pass 2: each invocation
// writes whole 32-bit words of 4 int8, xq = clamp(roundEven(x · inv), -127, 127), and zeros
// for the padding columns k..kp-1. A row of zeros gives inv = 0, xq = 0, scale = 0; NaN
// products quantize to 0.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

layout(local_size_x = BN_QA_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform QuantizeActParams {
  uint m;
  uint k;
  uint reserved0;
  uint reserved1;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer Act { float x[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer ActQ { uint xq[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer ActScale { float scale[]; };

shared float red[BN_QA_WG];

void main() {
  uint row = bn_group_linear();
  if (row >= p.m) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint base = row * p.k;

  float amax = 0.0;
  // Comparisons, not max(): a NaN never compares greater, so NaNs are ignored (as on the CPU).
  for (uint c = tid; c < p.k; c += BN_QA_WG) {
    float a = abs(x[base + c]);
    amax = a > amax ? a : amax;
  }
  red[tid] = amax;
  barrier();
  [[unroll]] for (uint s = BN_QA_WG / 2u; s > 0u; s >>= 1) {
    if (tid < s && red[tid + s] > red[tid]) red[tid] = red[tid + s];
    barrier();
  }
  amax = red[0];

  float inv = amax == 0.0 ? 0.0 : bn_div_rn(127.0, amax);
  uint words = bn_kp(p.k) >> 2;
  uint obase = row * words;
  for (uint wd = tid; wd < words; wd += BN_QA_WG) {
    uint packedw = 0u;
    [[unroll]] for (uint b = 0u; b < 4u; ++b) {
      uint col = wd * 4u + b;
      float v = col < p.k ? x[base + col] : 0.0;
      float r = roundEven(v * inv);
      r = isnan(r) ? 0.0 : clamp(r, -127.0, 127.0);
      packedw |= (uint(int(r)) & 0xFFu) << (8u * b);
    }
    xq[obase + wd] = packedw;
  }
  if (tid == 0u) scale[row] = amax == 0.0 ? 0.0 : bn_div_rn(amax, 127.0);
}
