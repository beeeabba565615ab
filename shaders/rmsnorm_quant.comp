#version 450
// BN_OP_RMSNORM_QUANT: RMSNorm (exactly as rmsnorm.comp computes it for f32 rows) fused
// with quantize_act_int8 (exactly as quantize_act_int8.comp), one pass over the rows.
//
// The geometry of rmsnorm.comp for f32 rows (L = BN_RD_SEG_LANES(cols) lanes per row,
// BN_ROWS_PER_GROUP rows per workgroup). Pass 1: ss and r = bn_rms_scale(ss, cols, eps)
// with the same loop and tree as rmsnorm.comp, so y = (x · r) · w is bit-identical to its
// f32 output. Pass 2: amax = max|y| (a tree of comparisons where a NaN wins); inv =
// 127/amax and scale = amax/127 as correctly rounded divisions (bn_div_rn). Pass 3: each
// invocation writes whole words of 4 int8, xq = clamp(roundEven(y · inv), −127, 127)
// (NaN → 0), zeros past cols up to kp. A row whose amax is 0 gives xq = 0 and scale = 0;
// a row with a NaN gives xq = 0 and a NaN scale, as quantize_act_int8 does.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"
#include "rows_plan.h"

layout(local_size_x = BN_ROW_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform RmsnormQuantParams {
  uint rows;
  uint cols;
  float eps;
  uint reserved0;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer X { uint xw[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer W { float w[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer Xq { uint xq[]; };
layout(std430, set = 0, binding = 3) writeonly restrict buffer Scale { uint scale_bits[]; };

shared float bn_tree[BN_ROW_WG];
shared float st_r[BN_ROW_WG];
shared float st_inv[BN_ROW_WG];
#define BN_ROWS_TREE
#include "rows_common.glsl"

float value(uint row, uint j, float r) {
  float x = BN_LOAD(xw, row * p.cols + j, false);
  precise float y = (x * r) * w[j];
  return y;
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint L = BN_RD_SEG_LANES(p.cols);
  uint R = BN_ROWS_PER_GROUP(p.cols, false);  // = BN_ROW_WG / L
  uint g = bn_group_linear();
  if (g >= BN_RD_CDIV(p.rows, R)) return;  // whole workgroup: uniform
  uint r0 = g * R;
  uint nr = min(R, p.rows - r0);
  uint lane = tid & (L - 1u);
  uint slot = tid / L;
  uint row = r0 + slot;
  uint end = slot < nr ? p.cols : 0u;
  // Pass 1: as rmsnorm.comp for an f32 row.
  float s = 0.0;
  float c = 0.0;
  for (uint j = lane; j < end; j += L) {
    float x = BN_LOAD(xw, row * p.cols + j, false);
    precise float x2 = x * x;
    bn_kahan_add(s, c, x2);
  }
  float ss = bn_seg_sum(bn_kahan_value(s, c), L);
  float r = bn_rms_scale(ss, p.cols, p.eps);
  // Pass 2: amax of y (a NaN wins and stays).
  float amax = 0.0;
  for (uint j = lane; j < end; j += L) {
    float a = abs(value(row, j, r));
    amax = (a > amax || isnan(a)) ? a : amax;
  }
  amax = bn_seg_max_nan(amax, L);
  if (lane == 0u && slot < nr) {
    bool nan_row = isnan(amax);
    st_r[slot] = r;
    st_inv[slot] = (amax == 0.0 || nan_row) ? 0.0 : bn_div_rn(127.0, amax);
    scale_bits[row] = nan_row       ? 0x7FC00000u  // quiet NaN
                      : amax == 0.0 ? 0u
                                    : floatBitsToUint(bn_div_rn(amax, 127.0));
  }
  barrier();
  // Pass 3: words of 4 int8 of the workgroup's rows.
  uint words = bn_kp(p.cols) >> 2;  // per row
  for (uint k = tid; k < nr * words; k += BN_ROW_WG) {
    uint sl = R == 1u ? 0u : k / words;
    uint wd = k - sl * words;
    uint word = 0u;
    [[unroll]] for (uint b = 0u; b < 4u; ++b) {
      uint j = wd * 4u + b;
      float q = 0.0;
      if (j < p.cols) {
        float v = roundEven(value(r0 + sl, j, st_r[sl]) * st_inv[sl]);
        // NaN first: clamp() of a NaN is undefined (min/max may return either operand).
        q = isnan(v) ? 0.0 : clamp(v, -127.0, 127.0);
      }
      word |= (uint(int(q)) & 0xFFu) << (8u * b);
    }
    xq[(r0 + sl) * words + k - sl * words] = word;
  }
}
