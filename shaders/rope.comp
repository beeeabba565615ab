#version 450
// BN_OP_ROPE, NEOX style: x [tokens][heads][head_dim], pos i32[tokens]; for i < h = d/2,
// θ_i = pos · theta^(−2i/d), y[i] = x[i]·cos θ_i − x[i+h]·sin θ_i,
// y[i+h] = x[i]·sin θ_i + x[i+h]·cos θ_i.
//
// One workgroup of BN_ROW_WG invocations per token. A "column" is an element (f32) or a
// word of two elements (f16) of a head; the workgroup is CW = BN_RD_CW(columns) columns ×
// BN_ROW_WG / CW head lanes. Each invocation computes the angle(s) of its column once
// (bn_rope_cs: exp2/log2 for theta^(−2i/d), the product with pos rounded to f32 like the CPU
// backend, a reduction modulo 2π, then the cos/sin builtins) and applies them to its heads,
// so consecutive invocations touch consecutive addresses of a head.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"
#include "rows_plan.h"
#include "rows_common.glsl"

layout(local_size_x = BN_ROW_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform RopeParams {
  uint tokens;
  uint heads;
  uint head_dim;
  uint dtype;
  float theta;
  uint reserved0;
  uint reserved1;
  uint reserved2;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer X { uint xw[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer Pos { int pos[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer Y { uint yw[]; };

// Output element e of the head starting at element base, given (cos, sin) of its angle.
float rotated(uint base, uint e, uint h, vec2 cs, bool f16) {
  uint i = e < h ? e : e - h;
  float x1 = BN_LOAD(xw, base + i, f16);
  float x2 = BN_LOAD(xw, base + i + h, f16);
  if (e < h) {
    precise float y = x1 * cs.x - x2 * cs.y;
    return y;
  }
  precise float y = x1 * cs.y + x2 * cs.x;
  return y;
}

void main() {
  uint t = bn_group_linear();
  if (t >= p.tokens) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  bool f16 = p.dtype == 1u;
  uint d = p.head_dim;
  uint h = d >> 1;
  uint columns = f16 ? h : d;  // f16: words of a head (d is even)
  uint cw = BN_RD_CW(columns);
  uint lanes = uint(BN_ROW_WG) / cw;
  uint lane = tid / cw;
  int ps = pos[t];
  float l2t = log2(p.theta);
  for (uint col = tid & (cw - 1u); col < columns; col += cw) {
    if (!f16) {
      vec2 cs = bn_rope_cs(ps, col < h ? col : col - h, d, l2t);
      for (uint hd = lane; hd < p.heads; hd += lanes) {
        uint base = (t * p.heads + hd) * d;
        yw[base + col] = floatBitsToUint(rotated(base, col, h, cs, false));
      }
    } else {
      uint e = 2u * col;
      vec2 cs0 = bn_rope_cs(ps, e < h ? e : e - h, d, l2t);
      vec2 cs1 = bn_rope_cs(ps, e + 1u < h ? e + 1u : e + 1u - h, d, l2t);
      for (uint hd = lane; hd < p.heads; hd += lanes) {
        uint base = (t * p.heads + hd) * d;
        float lo = rotated(base, e, h, cs0, true);
        float hi = rotated(base, e + 1u, h, cs1, true);
        yw[(base >> 1) + col] = bn_pack_h2(lo, hi);
      }
    }
  }
}
