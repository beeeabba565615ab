// ew_transpose.glsl — BN_OP_UNARY COPY of a batched 2-D transpose, included by
// ew_transpose_{f32,f16}.comp after defining EW_F16.
//
// The plan picks it when the two innermost output dims (R, C) read the source with strides
// (1, S): out[z][r][c] = a[base(z) + r + c·S], base(z) from the leading dims' strides (any).
// Grid (ceil(C / BN_EW_TILE), ceil(R / BN_EW_TILE), batch); a workgroup of BN_EW_TILE x
// BN_EW_TILE_ROWS invocations moves one tile through shared memory: reads along r and
// writes along c are both coalesced, and the +1 column of padding puts a tile column in 32
// different banks. f16 (plan: only for even C): each invocation writes whole 32-bit words
// (c, c + 1) of the output, never a word another invocation writes.
#include "ew_common.glsl"

layout(local_size_x = BN_EW_TILE, local_size_y = BN_EW_TILE_ROWS, local_size_z = 1) in;

#include "ew_unary_params.glsl"

layout(std430, set = 0, binding = 0) readonly restrict buffer InA { uint a[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer Out { uint o[]; };

shared uint tile[BN_EW_TILE][BN_EW_TILE + 1];

void main() {
  uint R = pc.shape[pc.rank - 2u];
  uint C = pc.shape[pc.rank - 1u];
  uint S = pc.a_strides[pc.rank - 1u];
  uint c0 = gl_WorkGroupID.x * uint(BN_EW_TILE);
  uint r0 = gl_WorkGroupID.y * uint(BN_EW_TILE);
  uint z = gl_WorkGroupID.z;
  uint base = pc.a_offset;
  uint rem = z;
  [[unroll]] for (int d = BN_EW_MAX_RANK - 3; d >= 0; --d) {
    if (uint(d) + 2u < pc.rank) {
      uint n = pc.shape[d];
      uint q = rem / n;
      base += (rem - q * n) * pc.a_strides[d];
      rem = q;
    }
  }
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;
  [[unroll]] for (int j = 0; j < BN_EW_TILE; j += BN_EW_TILE_ROWS) {
    uint c = c0 + ty + uint(j);
    uint r = r0 + tx;
    if (c < C && r < R) {
#if EW_F16
      tile[ty + uint(j)][tx] = EW_LD16(a, base + r + c * S);
#else
      tile[ty + uint(j)][tx] = a[base + r + c * S];
#endif
    }
  }
  barrier();
  uint out0 = z * R * C;
#if EW_F16
  // 32 rows x 16 words per tile; 2 words per invocation.
  uint t = ty * uint(BN_EW_TILE) + tx;
  [[unroll]] for (int k = 0; k < (BN_EW_TILE * BN_EW_TILE / 2) / (BN_EW_TILE * BN_EW_TILE_ROWS); ++k) {
    uint wid = t + uint(k * BN_EW_TILE * BN_EW_TILE_ROWS);
    uint row = wid / uint(BN_EW_TILE / 2);
    uint wc = wid - row * uint(BN_EW_TILE / 2);
    uint r = r0 + row;
    uint c = c0 + 2u * wc;
    if (r < R && c < C) {
      uint lo = tile[2u * wc][row];
      uint hi = tile[2u * wc + 1u][row];
      o[(out0 + r * C + c) >> 1] = lo | (hi << 16);
    }
  }
#else
  [[unroll]] for (int j = 0; j < BN_EW_TILE; j += BN_EW_TILE_ROWS) {
    uint r = r0 + ty + uint(j);
    uint c = c0 + tx;
    if (r < R && c < C) o[out0 + r * C + c] = tile[tx][ty + uint(j)];
  }
#endif
}
