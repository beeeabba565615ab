// ew_binary.glsl — BN_OP_BINARY kernel body, included by ew_binary_{f32,f16}[_strided].comp
// after defining EW_F16 (0: f32, 1: f16) and EW_STRIDED (0: every operand dense or a scalar
// broadcast, as the plan checked; 1: any strides).
//
// A workgroup writes BN_EW_CHUNK consecutive output words, each invocation BN_EW_PER_THREAD
// of them BN_EW_WG apart; an f16 word is two elements (the high half of a last, odd word
// keeps its old bits). Strided operands: element e of the output is decomposed over
// shape[0..rank) (innermost last) and each operand's offset accumulates index·stride.
#include "ew_common.glsl"

layout(local_size_x = BN_EW_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform BinaryParams {
  uint op;
  uint dtype;
  uint rank;
  uint numel;
  uint shape[BN_EW_MAX_RANK];
  uint a_strides[BN_EW_MAX_RANK];
  uint b_strides[BN_EW_MAX_RANK];
  uint a_offset;
  uint b_offset;
  uint reserved0;
  uint reserved1;
} pc;

layout(std430, set = 0, binding = 0) readonly restrict buffer InA { uint a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer InB { uint b[]; };
layout(std430, set = 0, binding = 2) restrict buffer Out { uint o[]; };

#if EW_STRIDED
// Element offsets of output element e in a and b.
uvec2 ew_offsets(uint e) {
  uvec2 off = uvec2(pc.a_offset, pc.b_offset);
  uint rem = e;
  [[unroll]] for (int d = BN_EW_MAX_RANK - 1; d >= 0; --d) {
    if (uint(d) < pc.rank) {
      uint n = pc.shape[d];
      uint q = rem / n;
      uint i = rem - q * n;
      off += i * uvec2(pc.a_strides[d], pc.b_strides[d]);
      rem = q;
    }
  }
  return off;
}
#else
// 1 for a dense operand, 0 for a scalar broadcast (all strides 0 over dims > 1).
uvec2 ew_steps() {
  uvec2 s = uvec2(0u);
  [[unroll]] for (int d = 0; d < BN_EW_MAX_RANK; ++d) {
    if (pc.shape[d] > 1u) s |= uvec2(pc.a_strides[d], pc.b_strides[d]);
  }
  return uvec2(s.x != 0u ? 1u : 0u, s.y != 0u ? 1u : 0u);
}
#endif

void main() {
  int op = int(pc.op);
  uint words = ew_words(pc.numel, EW_F16 != 0);
  uint g = bn_group_linear();
  if (g >= ew_groups(words)) return;
  uint w0 = g * uint(BN_EW_CHUNK) + gl_LocalInvocationID.x;
#if !EW_STRIDED
  uvec2 step = ew_steps();
#endif
  [[unroll]] for (int k = 0; k < BN_EW_PER_THREAD; ++k) {
    uint w = w0 + uint(k * BN_EW_WG);
    if (w >= words) break;
#if EW_F16
    uint e0 = 2u * w;
    bool two = e0 + 1u < pc.numel;
#if EW_STRIDED
    uvec2 o0 = ew_offsets(e0);
    uvec2 o1 = two ? ew_offsets(e0 + 1u) : o0;
#else
    uvec2 o0 = uvec2(pc.a_offset, pc.b_offset) + e0 * step;
    uvec2 o1 = o0 + step;
#endif
    float r0 = ew_binary_math(op, ew_h2f(EW_LD16(a, o0.x)), ew_h2f(EW_LD16(b, o0.y)));
    uint hi;
    if (two) {
      hi = ew_f2h(ew_binary_math(op, ew_h2f(EW_LD16(a, o1.x)), ew_h2f(EW_LD16(b, o1.y))));
    } else {
      hi = o[w] >> 16;
    }
    o[w] = ew_f2h(r0) | (hi << 16);
#else
#if EW_STRIDED
    uvec2 off = ew_offsets(w);
#else
    uvec2 off = uvec2(pc.a_offset, pc.b_offset) + w * step;
#endif
    float x = uintBitsToFloat(a[off.x]);
    float y = uintBitsToFloat(b[off.y]);
    o[w] = floatBitsToUint(ew_binary_math(op, x, y));
#endif
  }
}
