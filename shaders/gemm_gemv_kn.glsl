// gemm_gemv_kn.glsl — BN_OP_MATMUL when m == 1 or n == 1 and the matrix operand M is stored
// [k][R] (out_z[r] = Σ_k v_z[k] · M_z[k][r]; see gemv_v_is_a in gemm_common.glsl), included
// by gemm_gemv_kn_<dt>.comp with GEMM_F16 0 (f32) or 1 (f16).
//
// Grid (ceil(R / 64), slices · fold, zgroups) with slices = BN_GEMV_KN_SLICES(R, batch, k):
// workgroup (x, s) of 64 × 4 invocations takes columns 64x .. 64x + 63 and the k slice s;
// lane (col, l) sums k = k0 + l, k0 + l + 4, … (each k row of M read coalesced across the
// 64 columns), then the 4 lanes are added in a fixed order. One slice: the sum is the
// result (written to C); several: it goes to scratch[(z · slices + s) · R + col] and
// gemm_reduce adds the slices in order.

#include "gemm_common.glsl"

#define COLS BN_GEMV_KN_COLS
#define LANES BN_GEMV_KN_LANES

layout(local_size_x = BN_GEMV_KN_COLS, local_size_y = BN_GEMV_KN_LANES, local_size_z = 1) in;

#if GEMM_F16
layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { uint a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { uint b[]; };
#define LD1(arr, e) gemm_half(arr[(e) >> 1], (e))
#else
layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { float a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { float b[]; };
#define LD1(arr, e) arr[e]
#endif
layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };
layout(std430, set = 0, binding = 7) writeonly restrict buffer Scratch { float partial[]; };

shared float red[LANES * COLS];

#define GEMV_KN_LOOP(V, M)                                                               \
  for (uint kk = k0 + lane; kk < kend; kk += LANES) {                                    \
    acc = fma(LD1(V, vbase + kk), LD1(M, mbase + kk * R + col), acc);                    \
  }

void main() {
  uint tx = gl_LocalInvocationID.x;
  uint lane = gl_LocalInvocationID.y;
  uint R = gemv_rows();
  uint slices = BN_GEMV_KN_SLICES(R, p.batch, p.k);
  uint kslice = BN_GEMV_KN_KSLICE(R, p.batch, p.k);
  uint fold = gl_WorkGroupID.y / slices;
  uint slice = gl_WorkGroupID.y - fold * slices;
  uint z = gl_WorkGroupID.z + gl_NumWorkGroups.z * fold;
  if (z >= p.batch) return;  // whole workgroup: uniform
  uint col = gl_WorkGroupID.x * COLS + tx;
  uint k0 = slice * kslice;
  uint kend = min(k0 + kslice, p.k);
  bool vA = gemv_v_is_a();
  uint vbase = vA ? gemm_a_base(z) : gemm_b_base(z);
  uint mbase = vA ? gemm_b_base(z) : gemm_a_base(z);
  float acc = 0.0;
  if (col < R) {
    if (vA) {
      GEMV_KN_LOOP(a, b)
    } else {
      GEMV_KN_LOOP(b, a)
    }
  }
  red[lane * COLS + tx] = acc;
  barrier();
  if (lane == 0u && col < R) {
    float s = red[tx];
    [[unroll]] for (uint l = 1u; l < LANES; ++l) s += red[l * COLS + tx];
    if (slices == 1u) {
      c[z * R + col] = s;
    } else {
      partial[(z * slices + slice) * R + col] = s;
    }
  }
}
