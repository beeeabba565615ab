// ew_unary.glsl — BN_OP_UNARY kernel body, included by ew_unary_{f32,f16}[_strided].comp
// after defining EW_F16 (0: f32, 1: f16) and EW_STRIDED (0: the operand is dense or a
// scalar broadcast, as the plan checked; 1: any strides). Same grid as ew_binary.glsl.
// COPY (contiguous(), permute) and NEG/ABS move bits; the rest compute in f32.
#include "ew_common.glsl"

layout(local_size_x = BN_EW_WG, local_size_y = 1, local_size_z = 1) in;

#include "ew_unary_params.glsl"

layout(std430, set = 0, binding = 0) readonly restrict buffer InA { uint a[]; };
layout(std430, set = 0, binding = 1) restrict buffer Out { uint o[]; };

#if EW_STRIDED
// Element offset of output element e in a.
uint ew_offset(uint e) {
  uint off = pc.a_offset;
  uint rem = e;
  [[unroll]] for (int d = BN_EW_MAX_RANK - 1; d >= 0; --d) {
    if (uint(d) < pc.rank) {
      uint n = pc.shape[d];
      uint q = rem / n;
      off += (rem - q * n) * pc.a_strides[d];
      rem = q;
    }
  }
  return off;
}
#else
// 1 for a dense operand, 0 for a scalar broadcast.
uint ew_step() {
  uint s = 0u;
  [[unroll]] for (int d = 0; d < BN_EW_MAX_RANK; ++d) {
    if (pc.shape[d] > 1u) s |= pc.a_strides[d];
  }
  return s != 0u ? 1u : 0u;
}
#endif

void main() {
  int op = int(pc.op);
  uint words = ew_words(pc.numel, EW_F16 != 0);
  uint g = bn_group_linear();
  if (g >= ew_groups(words)) return;
  uint w0 = g * uint(BN_EW_CHUNK) + gl_LocalInvocationID.x;
#if !EW_STRIDED
  uint step = ew_step();
#endif
  [[unroll]] for (int k = 0; k < BN_EW_PER_THREAD; ++k) {
    uint w = w0 + uint(k * BN_EW_WG);
    if (w >= words) break;
#if EW_F16
    uint e0 = 2u * w;
    bool two = e0 + 1u < pc.numel;
#if EW_STRIDED
    uint o0 = ew_offset(e0);
    uint o1 = two ? ew_offset(e0 + 1u) : o0;
#else
    uint o0 = pc.a_offset + e0 * step;
    uint o1 = o0 + step;
#endif
    uint lo = ew_unary_h(op, EW_LD16(a, o0));
    uint hi = two ? ew_unary_h(op, EW_LD16(a, o1)) : (o[w] >> 16);
    o[w] = lo | (hi << 16);
#else
#if EW_STRIDED
    uint off = ew_offset(w);
#else
    uint off = pc.a_offset + w * step;
#endif
    o[w] = ew_unary_bits(op, a[off]);
#endif
  }
}
