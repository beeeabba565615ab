// bitlinear_gemm.glsl — BN_OP_BITLINEAR for many activation rows (m > 8), tiled.
//
// Included by bitlinear_gemm{,_dot4}.comp (BN_DOT4 1: packed int8 dot products, needs
// BN_CAP_INT_DOT; 0: plain integer math). Uses no subgroup operations, so it is also the
// path for devices without subgroup arithmetic.
//
// Geometry: grid (ceil(n / 64), ceil(m / 64)); a workgroup of 256 invocations computes a
// 64 (activation rows) × 64 (weight rows) tile of Y; invocation (tx, ty) = (t & 15, t >> 4)
// owns rows ty + 16a and columns tx + 16b (a, b < 4). The k loop steps one 128-weight block
// at a time: 64 activation rows × 128 int8 and 64 weight rows × 32 packed bytes are staged
// in shared memory, the weights decoded once to signed bytes in activation order (plane p,
// word t' → word 8p + t'), rows padded to 9 uvec4 so the 16-byte reads of 8 consecutive
// invocations hit distinct banks. Out-of-range rows are staged as zeros (weights as code 01).
//
// Numerics: exact int32 sums; mode F32: y = float(acc) · (w_scale · x_scale[i]).

#extension GL_EXT_control_flow_attributes : require
#if BN_DOT4
#extension GL_EXT_spirv_intrinsics : require
#endif

#include "bn_common.glsl"
#include "bn_dot.glsl"

#define TILE BN_BL_GEMM_TILE
#define STRIDE 9  // uvec4 per staged row: 8 used + 1 pad
#if BN_BL_GEMM_TILE != 64 || BN_BL_GEMM_WG != 256
#error "the staging and the 16 x 16 invocation grid assume a 64 x 64 tile and 256 invocations"
#endif

layout(local_size_x = BN_BL_GEMM_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform BitlinearParams {
  uint m;
  uint n;
  uint k;
  uint mode;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer PackedWeights { uvec4 pw[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer WeightScale { float w_scale[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer ActQ { uvec4 xq[]; };
layout(std430, set = 0, binding = 3) readonly restrict buffer ActScale { float x_scale[]; };
layout(std430, set = 0, binding = 4) writeonly restrict buffer Out { uint y[]; };

shared uvec4 xs_s[TILE * STRIDE];
shared uvec4 ws_s[TILE * STRIDE];

void main() {
  uint kp = bn_kp(p.k);
  uint chunks = kp >> 6;  // uvec4 per weight row
  uint xrow = kp >> 4;    // uvec4 per activation row
  uint nblocks = kp >> 7;
  uint n0 = gl_WorkGroupID.x * TILE;
  uint m0 = gl_WorkGroupID.y * TILE;
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid & 15u;
  uint ty = tid >> 4;

  int acc[4][4];
  [[unroll]] for (uint a = 0u; a < 4u; ++a)
    [[unroll]] for (uint b = 0u; b < 4u; ++b) acc[a][b] = 0;

  for (uint blk = 0u; blk < nblocks; ++blk) {
    // Stage 64 × 8 uvec4 of activations (2 per invocation).
    [[unroll]] for (uint j = 0u; j < 2u; ++j) {
      uint idx = tid + j * BN_BL_GEMM_WG;
      uint row = idx >> 3;
      uint col = idx & 7u;
      uint gm = m0 + row;
      xs_s[row * STRIDE + col] = gm < p.m ? xq[gm * xrow + blk * 8u + col] : uvec4(0u);
    }
    // Stage and decode 64 × 2 uvec4 of packed weights (invocations 0..127).
    if (tid < 2u * TILE) {
      uint row = tid >> 1;
      uint h = tid & 1u;
      uint gn = n0 + row;
      uvec4 w = gn < p.n ? pw[gn * chunks + blk * 2u + h] : uvec4(0x55555555u);
      [[unroll]] for (uint pl = 0u; pl < 4u; ++pl)
        ws_s[row * STRIDE + 2u * pl + h] =
            (((w >> (2u * pl)) & uvec4(0x03030303u)) + uvec4(0x7F7F7F7Fu)) ^ uvec4(0x80808080u);
    }
    barrier();

    [[unroll]] for (uint kq = 0u; kq < 8u; ++kq) {
      uvec4 xa[4];
      uvec4 wb[4];
      [[unroll]] for (uint a = 0u; a < 4u; ++a) xa[a] = xs_s[(ty + 16u * a) * STRIDE + kq];
      [[unroll]] for (uint b = 0u; b < 4u; ++b) wb[b] = ws_s[(tx + 16u * b) * STRIDE + kq];
#if BN_DOT4
      [[unroll]] for (uint a = 0u; a < 4u; ++a)
        [[unroll]] for (uint b = 0u; b < 4u; ++b)
          acc[a][b] += bn_dot_ss(xa[a].x, wb[b].x) + bn_dot_ss(xa[a].y, wb[b].y) +
                       bn_dot_ss(xa[a].z, wb[b].z) + bn_dot_ss(xa[a].w, wb[b].w);
#else
      [[unroll]] for (uint q = 0u; q < 4u; ++q) {
        ivec4 xv[4];
        ivec4 wv[4];
        [[unroll]] for (uint a = 0u; a < 4u; ++a) xv[a] = bn_unpack_s8(xa[a][q]);
        [[unroll]] for (uint b = 0u; b < 4u; ++b) wv[b] = bn_unpack_s8(wb[b][q]);
        [[unroll]] for (uint a = 0u; a < 4u; ++a)
          [[unroll]] for (uint b = 0u; b < 4u; ++b)
            acc[a][b] += xv[a].x * wv[b].x + xv[a].y * wv[b].y + xv[a].z * wv[b].z +
                         xv[a].w * wv[b].w;
      }
#endif
    }
    barrier();
  }

  float ws = w_scale[0];
  [[unroll]] for (uint a = 0u; a < 4u; ++a) {
    uint row = m0 + ty + 16u * a;
    if (row < p.m) {
      float xsc = x_scale[row];
      [[unroll]] for (uint b = 0u; b < 4u; ++b) {
        uint col = n0 + tx + 16u * b;
        if (col < p.n) {
          uint o = row * p.n + col;
          if (p.mode == 1u) {
            y[o] = uint(acc[a][b]);
          } else {
            precise float sc = ws * xsc;
            precise float v = float(acc[a][b]) * sc;
            y[o] = floatBitsToUint(v);
          }
        }
      }
    }
  }
}
