#version 450
// BN_OP_MATMUL_F32 with m == 1 and b_trans == 0, stage 1 of 2: split-k partial sums.
//
// Grid (ceil(n / 64), ceil(k / 256)); workgroup (x, s) of 64 × 4 invocations computes, for
// columns 64x..64x+63, the partial Σ a[kk] · B[kk][col] over kk in [256s, 256s + 256): lane
// (col, l) takes kk = 256s + 4j + l (each k row read coalesced across the 64 columns), then
// the 4 lanes are added in a fixed order into scratch[s · n + col] (binding 7).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

#define COLS BN_MM_KN_COLS
#define LANES BN_MM_KN_LANES

layout(local_size_x = BN_MM_KN_COLS, local_size_y = BN_MM_KN_LANES, local_size_z = 1) in;

layout(push_constant) uniform MatmulF32Params {
  uint m;
  uint n;
  uint k;
  uint b_trans;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { float a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { float b[]; };
layout(std430, set = 0, binding = 7) writeonly restrict buffer Scratch { float partial[]; };

shared float red[LANES * COLS];

void main() {
  uint tx = gl_LocalInvocationID.x;
  uint lane = gl_LocalInvocationID.y;
  uint col = gl_WorkGroupID.x * COLS + tx;
  uint slice = gl_WorkGroupID.y;
  uint k0 = slice * BN_MM_KN_KSLICE;
  uint kend = min(k0 + BN_MM_KN_KSLICE, p.k);
  float acc = 0.0;
  if (col < p.n) {
    for (uint kk = k0 + lane; kk < kend; kk += LANES) acc = fma(a[kk], b[kk * p.n + col], acc);
  }
  red[lane * COLS + tx] = acc;
  barrier();
  if (lane == 0u && col < p.n) {
    float s = red[tx];
    [[unroll]] for (uint l = 1u; l < LANES; ++l) s += red[l * COLS + tx];
    partial[slice * p.n + col] = s;
  }
}
