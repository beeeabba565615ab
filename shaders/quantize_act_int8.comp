#version 450
// BN_OP_QUANTIZE_ACT_INT8: per-row absmax int8 quantization.
//
// One workgroup of 256 invocations per row (m groups, grid folded to 2-D). Pass 1: amax =
// max|x| over the row (coalesced loads, 16 bytes each when k % 4 == 0 so that every row starts
// 16-byte aligned; a shared-memory tree; a NaN wins every comparison and stays, so any NaN
// in the row makes amax NaN, and the order does not matter). Then inv = 127/amax and scale = amax/127, both correctly rounded f32 divisions
// (bn_div_rn; every invocation computes them, no extra barrier). Pass 2: each invocation
// writes whole 32-bit words of 4 int8, xq = clamp(roundEven(x · inv), -127, 127) (a NaN
// product gives 0), and zeros for the padding columns k..kp-1. A row of zeros gives xq = 0
// and scale = 0; a row with a NaN gives xq = 0 and a NaN scale (so callers can detect it). The scale is stored as bits so that a subnormal amax/127
// survives devices that flush subnormal floats.
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

layout(std430, set = 0, binding = 0) readonly restrict buffer Act { vec4 x4[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer ActQ { uint xq[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer ActScale { uint scale_bits[]; };

shared float red[BN_QA_WG];

float bn_amax4(vec4 v, float amax) {
  vec4 a = abs(v);
  amax = (a.x > amax || isnan(a.x)) ? a.x : amax;
  amax = (a.y > amax || isnan(a.y)) ? a.y : amax;
  amax = (a.z > amax || isnan(a.z)) ? a.z : amax;
  return (a.w > amax || isnan(a.w)) ? a.w : amax;
}

uint bn_quant4(vec4 v, float inv) {
  vec4 r = roundEven(v * inv);
  uint w = 0u;
  [[unroll]] for (uint b = 0u; b < 4u; ++b) {
    // NaN first: clamp() of a NaN is undefined (min/max may return either operand).
    float q = isnan(r[b]) ? 0.0 : clamp(r[b], -127.0, 127.0);
    w |= (uint(int(q)) & 0xFFu) << (8u * b);
  }
  return w;
}

void main() {
  uint row = bn_group_linear();
  if (row >= p.m) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint k = p.k;
  uint base = row * k;  // first element of the row
  bool aligned = (k & 3u) == 0u;
  uint k4 = k >> 2;

  float amax = 0.0;
  if (aligned) {
    uint b4 = base >> 2;
    for (uint c = tid; c < k4; c += BN_QA_WG) amax = bn_amax4(x4[b4 + c], amax);
  } else {
    for (uint c = tid; c < k; c += BN_QA_WG) {
      uint e = base + c;
      float a = abs(x4[e >> 2][e & 3u]);
      amax = (a > amax || isnan(a)) ? a : amax;
    }
  }
  red[tid] = amax;
  barrier();
  [[unroll]] for (uint s = BN_QA_WG / 2u; s > 0u; s >>= 1) {
    if (tid < s && (red[tid + s] > red[tid] || isnan(red[tid + s]))) red[tid] = red[tid + s];
    barrier();
  }
  amax = red[0];

  bool nan_row = isnan(amax);
  float inv = (amax == 0.0 || nan_row) ? 0.0 : bn_div_rn(127.0, amax);
  uint words = bn_kp(k) >> 2;
  uint obase = row * words;
  for (uint wd = tid; wd < words; wd += BN_QA_WG) {
    vec4 v = vec4(0.0);
    if (aligned) {
      if (wd < k4) v = x4[(base >> 2) + wd];
    } else {
      [[unroll]] for (uint b = 0u; b < 4u; ++b) {
        uint col = wd * 4u + b;
        uint e = base + col;
        if (col < k) v[b] = x4[e >> 2][e & 3u];
      }
    }
    xq[obase + wd] = bn_quant4(v, inv);
  }
  if (tid == 0u) {
    scale_bits[row] = nan_row ? 0x7FC00000u  // quiet NaN
                    : amax == 0.0 ? 0u
                                  : floatBitsToUint(bn_div_rn(amax, 127.0));
  }
}
