// gemm_gemv.glsl — BN_OP_MATMUL when m == 1 or n == 1 and the matrix operand M is stored
// [R][k] (out_z[r] = Σ_k v_z[k] · M_z[r][k]; see gemv_v_is_a in gemm_common.glsl), included
// by gemm_gemv_<dt>.comp with GEMM_F16 0 (f32) or 1 (f16).
//
// A workgroup of 64 invocations computes BN_GEMV_ROWS = 4 rows of one batch entry (1-D
// grid of ceil(R / 4) · batch groups, folded to 2-D); invocation t reads elements t, t+64,
// … of each row in 16-byte loads (4 f32 or 8 f16) when every row and both operands start
// 16-byte aligned (k and the batch strides multiples of 4 f32 / 8 f16), else one element
// at a time; then a fixed-order shared-memory tree sums the 64 partials (the same bits on
// every device).

#include "gemm_common.glsl"

#define WG BN_GEMV_WG
#define ROWS BN_GEMV_ROWS

layout(local_size_x = BN_GEMV_WG, local_size_y = 1, local_size_z = 1) in;

#if GEMM_F16
// 8 halves per element; the buffers hold whole 256-byte pool blocks, so every 16-byte
// element that holds data is inside the buffer.
layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { uvec4 a4[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { uvec4 b4[]; };
#define VEC 8u
#else
layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { vec4 a4[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { vec4 b4[]; };
#define VEC 4u
#endif
layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };

shared float red[ROWS * WG];

#if GEMM_F16
// Σ of the 8 products of two 8-half elements, in order, onto acc.
float dotv(uvec4 x, uvec4 y, float acc) {
  [[unroll]] for (uint j = 0u; j < 4u; ++j) {
    vec2 xv = unpackHalf2x16(x[j]);
    vec2 yv = unpackHalf2x16(y[j]);
    acc = fma(xv.x, yv.x, acc);
    acc = fma(xv.y, yv.y, acc);
  }
  return acc;
}
#define LD1(arr, e) gemm_half(arr[(e) >> 3][((e) >> 1) & 3u], (e))
#else
float dotv(vec4 x, vec4 y, float acc) {
  acc = fma(x.x, y.x, acc);
  acc = fma(x.y, y.y, acc);
  acc = fma(x.z, y.z, acc);
  acc = fma(x.w, y.w, acc);
  return acc;
}
#define LD1(arr, e) arr[(e) >> 2][(e) & 3u]
#endif

// The k loop with vector V and matrix M (the operands' arrays): aligned 16-byte elements,
// or one element at a time.
#define GEMV_LOOP(V, M)                                                                  \
  if (aligned) {                                                                         \
    uint kv = p.k / VEC;                                                                 \
    uint v0 = vbase / VEC;                                                               \
    for (uint i = tid; i < kv; i += WG) {                                                \
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {                                      \
        acc[r] = dotv(V[v0 + i], M[rbase[r] / VEC + i], acc[r]);                        \
      }                                                                                  \
    }                                                                                    \
  } else {                                                                               \
    for (uint i = tid; i < p.k; i += WG) {                                               \
      float xv = LD1(V, vbase + i);                                                      \
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {                                      \
        acc[r] = fma(xv, LD1(M, rbase[r] + i), acc[r]);                                  \
      }                                                                                  \
    }                                                                                    \
  }

void main() {
  uint R = gemv_rows();
  uint groups = (R + (ROWS - 1u)) / ROWS;
  uint L = bn_group_linear();
  uint z = L / groups;
  uint g = L - z * groups;
  if (z >= p.batch) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  bool vA = gemv_v_is_a();
  uint vbase = vA ? gemm_a_base(z) : gemm_b_base(z);
  uint mbase = vA ? gemm_b_base(z) : gemm_a_base(z);
  uint rbase[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) rbase[r] = mbase + min(g * ROWS + r, R - 1u) * p.k;

  float acc[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r] = 0.0;
  bool aligned = (p.k % VEC) == 0u && (vbase % VEC) == 0u && (mbase % VEC) == 0u;
  if (vA) {
    GEMV_LOOP(a4, b4)
  } else {
    GEMV_LOOP(b4, a4)
  }
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) red[r * WG + tid] = acc[r];
  barrier();
  [[unroll]] for (uint s = WG / 2u; s > 0u; s >>= 1) {
    if (tid < s) {
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) red[r * WG + tid] += red[r * WG + tid + s];
    }
    barrier();
  }
  if (tid < ROWS) {
    uint row = g * ROWS + tid;
    if (row < R) c[z * R + row] = red[tid * WG];
  }
}
