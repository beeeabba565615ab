#version 450
// BN_OP_DEQUANTIZE_TERNARY: W[r][c] = q · scale for c < k (exact: ±scale or q·scale = 0·scale).
//
// One invocation per packed 32-bit word (n · kp/16 words; groups of 256, grid folded to
// 2-D); it writes the 16 weights of its word: 4 consecutive columns in each of 4 planes, one
// 16-byte store per plane when k % 4 == 0 (rows then start 16-byte aligned), else 4 scalars.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

layout(local_size_x = BN_DQ_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform DequantizeTernaryParams {
  uint n;
  uint k;
  uint reserved0;
  uint reserved1;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer Packed { uint packed[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Scale { float scale[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer Weights { vec4 w4[]; };

void main() {
  uint wpr = bn_kp(p.k) >> 4;  // packed words per row
  uint total = p.n * wpr;
  uint idx = bn_group_linear() * BN_DQ_WG + gl_LocalInvocationID.x;
  if (idx >= total) return;
  uint row = idx / wpr;
  uint t = idx - row * wpr;
  uint col0 = (t >> 3) * 128u + (t & 7u) * 4u;
  uint base = row * p.k;
  float s = scale[0];
  uint word = packed[idx];
  bool aligned = (p.k & 3u) == 0u;
  [[unroll]] for (uint pl = 0u; pl < 4u; ++pl) {
    uint col = col0 + 32u * pl;
    uvec4 c = (uvec4(word) >> (uvec4(0u, 8u, 16u, 24u) + 2u * pl)) & 3u;
    vec4 v = (vec4(c) - 1.0) * s;
    if (aligned) {
      if (col < p.k) w4[(base + col) >> 2] = v;
    } else {
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        uint e = base + col + i;
        if (col + i < p.k) w4[e >> 2][e & 3u] = v[i];
      }
    }
  }
}
