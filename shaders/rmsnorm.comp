#version 450
// BN_OP_RMSNORM: y = x · (1/sqrt(mean(x²) + eps)) · w per row, in f32.
//
// Workgroups of BN_ROW_WG invocations; L = BN_RD_SEG_LANES(cols) consecutive invocations
// per row and BN_ROWS_PER_GROUP rows per workgroup (rows_plan.h; a long f16 row with an odd
// cols shares its workgroup with the next row, so that every workgroup writes whole 32-bit
// words of its own). ss = Σ x²: a Kahan-compensated strided sum per lane and a fixed tree
// (rmsnorm_quant.comp repeats this exactly, so its f32 values are bit-identical);
// r = bn_rms_scale(ss, cols, eps); y = (x · r) · w. The padding half of the last f16 word
// (an odd total) is left as it was.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"
#include "rows_plan.h"

layout(local_size_x = BN_ROW_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform RmsnormParams {
  uint rows;
  uint cols;
  uint dtype;
  float eps;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer X { uint xw[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer W { float w[]; };
layout(std430, set = 0, binding = 2) restrict buffer Y { uint yw[]; };

shared float bn_tree[BN_ROW_WG];
shared float st_r[BN_ROW_WG];
#define BN_ROWS_TREE
#include "rows_common.glsl"

float value(uint row, uint j, uint slot, bool f16) {
  float x = BN_LOAD(xw, row * p.cols + j, f16);
  precise float y = (x * st_r[slot]) * w[j];
  return y;
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  bool f16 = p.dtype == 1u;
  uint L = BN_RD_SEG_LANES(p.cols);
  uint R = BN_ROWS_PER_GROUP(p.cols, f16);
  uint g = bn_group_linear();
  if (g >= BN_RD_CDIV(p.rows, R)) return;  // whole workgroup: uniform
  uint r0 = g * R;
  uint nr = min(R, p.rows - r0);
  uint lane = tid & (L - 1u);
  uint at_once = uint(BN_ROW_WG) / L;  // rows per pass: R, or 1 for an f16 row pair
  for (uint first = 0u; first < nr; first += at_once) {
    uint slot = first + tid / L;
    uint base = (r0 + slot) * p.cols;
    uint end = slot < nr ? p.cols : 0u;
    float s = 0.0;
    float c = 0.0;
    for (uint j = lane; j < end; j += L) {
      float x = BN_LOAD(xw, base + j, f16);
      precise float x2 = x * x;
      bn_kahan_add(s, c, x2);
    }
    float ss = bn_seg_sum(bn_kahan_value(s, c), L);
    if (lane == 0u && slot < nr) st_r[slot] = bn_rms_scale(ss, p.cols, p.eps);
  }
  barrier();
  uint e0 = r0 * p.cols;  // the workgroup's elements [e0, e0 + n); e0 is even for f16
  uint n = nr * p.cols;
  if (!f16) {
    for (uint k = tid; k < n; k += BN_ROW_WG) {
      uint slot = R == 1u ? 0u : k / p.cols;
      yw[e0 + k] = floatBitsToUint(value(r0 + slot, k - slot * p.cols, slot, false));
    }
    return;
  }
  uint w0 = e0 >> 1;
  for (uint k = tid; 2u * k < n; k += BN_ROW_WG) {
    uint e = 2u * k;
    uint slot = e / p.cols;
    float lo = value(r0 + slot, e - slot * p.cols, slot, true);
    uint word;
    if (e + 1u < n) {
      uint slot2 = (e + 1u) / p.cols;
      word = bn_pack_h2(lo, value(r0 + slot2, e + 1u - slot2 * p.cols, slot2, true));
    } else {
      word = bn_f2h(lo) | (yw[w0 + k] & 0xFFFF0000u);  // keep the padding half
    }
    yw[w0 + k] = word;
  }
}
