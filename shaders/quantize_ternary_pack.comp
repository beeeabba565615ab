#version 450
// BN_OP_QUANTIZE_TERNARY, stage 3 of 3: q = clamp(roundEven(W / scale), -1, 1), packed TL2.
//
// One invocation per packed 32-bit word (n · kp/16 words; groups of 256, grid folded to
// 2-D). Word t' of block b of a row holds the weights 128b + 32p + 4t' + i (plane p, byte i)
// at bits 8i + 2p; positions >= k get code 01 (zero). The 4 weights of a plane are one 16-byte
// load when k % 4 == 0 (rows then start 16-byte aligned), else 4 scalar loads.
// With IEEE division, |roundEven(W/s)| >= 1 exactly when fl(|W|/s) > 0.5, i.e. when the real
// |W|/s > 0.5·(1 + 2^-24); no float lies strictly between s/2 and s/2·(1 + 2^-24), so this is
// exactly |W| > s/2, an exact comparison (0.5·s is exact). scale 0 (or NaN) → every q is 0.
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

layout(std430, set = 0, binding = 0) readonly restrict buffer Weights { vec4 w4[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer Packed { uint packed[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer Scale { float scale[]; };

void main() {
  uint wpr = bn_kp(p.k) >> 4;  // packed words per row
  uint total = p.n * wpr;
  uint idx = bn_group_linear() * BN_QT_WG + gl_LocalInvocationID.x;
  if (idx >= total) return;
  uint row = idx / wpr;
  uint t = idx - row * wpr;
  uint col0 = (t >> 3) * 128u + (t & 7u) * 4u;
  uint base = row * p.k;
  float s = scale[0];
  float half_s = 0.5 * s;
  bool live = s > 0.0;
  bool aligned = (p.k & 3u) == 0u;
  uint word = 0u;
  [[unroll]] for (uint pl = 0u; pl < 4u; ++pl) {
    uint col = col0 + 32u * pl;
    vec4 v = vec4(0.0);  // padding columns: 0 → code 01
    if (aligned) {
      if (col < p.k) v = w4[(base + col) >> 2];
    } else {
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        uint e = base + col + i;
        if (col + i < p.k) v[i] = w4[e >> 2][e & 3u];
      }
    }
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      uint code = 1u;
      if (live && abs(v[i]) > half_s) code = v[i] > 0.0 ? 2u : 0u;
      word |= code << (8u * i + 2u * pl);
    }
  }
  packed[idx] = word;
}
