// bitlinear_gemv.glsl — BN_OP_BITLINEAR for few activation rows (2 <= m <= BN_M), the
// memory-bound path: every packed weight word is read once and applied to all m rows.
// (m == 1 has its own shaders: bitlinear_gemv_team.glsl.)
//
// Included by bitlinear_gemv_m8{,_dot4}.comp, which define
//   BN_M    BN_BL_GEMV_MAX_M (the loops over rows are guarded by m)
//   BN_DOT4 1: packed int8 dot products (needs BN_CAP_INT_DOT); 0: plain integer math.
//
// Geometry: one workgroup of BN_BL_GEMV_WG invocations computes BN_BL_GEMV_ROWS weight rows
// (outputs y[i][row] for every i < m). Invocation t reads the 16-byte chunks t, t+WG, … of
// each of its rows (coalesced, uvec4 loads). A chunk holds half of a 128-weight block:
// words 4h..4h+3 (h = chunk & 1); word t' byte b holds weights 32p + 4t' + b at plane p, and
// the activations for plane p of that chunk are one uvec4 of the activation row at
// 8·block + 2p + h: the same component, the same byte. Each invocation keeps exact int32
// partial sums; subgroupAdd, then shared memory across subgroups (any subgroup size, any
// mapping of invocations to subgroups), reduces them. Grid: ceil(n / ROWS) groups, folded
// to 2-D (bn_plan.h).
//
// Numerics (bitnet_metal.h): acc = Σ_k q·xq exactly, as Σ c·x − Σ x with codes c = q + 1.
// mode F32: y = float(acc) · (w_scale · x_scale[i]); mode I32: y = acc.

#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#if BN_DOT4
#extension GL_EXT_spirv_intrinsics : require
#endif

#include "bn_common.glsl"
#include "bn_dot.glsl"

#define WG BN_BL_GEMV_WG
#define ROWS BN_BL_GEMV_ROWS
#define NV (ROWS * BN_M)
#if BN_BL_GEMV_ROWS * BN_M > BN_BL_GEMV_WG
#error "the final reduction writes one output per invocation: ROWS * M must be <= WG"
#endif

layout(local_size_x = BN_BL_GEMV_WG, local_size_y = 1, local_size_z = 1) in;

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

// One slot per (subgroup, value); sized for subgroups of a single invocation.
shared int red[WG * NV];

void main() {
  uint kp = bn_kp(p.k);
  uint chunks = kp >> 6;  // uvec4 per weight row
  uint xrow = kp >> 4;    // uvec4 per activation row
  uint groups = (p.n + (ROWS - 1u)) / ROWS;
  uint g = bn_group_linear();
  if (g >= groups) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;

  uint wbase[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) wbase[r] = min(g * ROWS + r, p.n - 1u) * chunks;

  int part[ROWS][BN_M];  // this invocation's partial sums, Σ q·x over its chunks

  // ---- up to BN_M activation rows; each weight word is decoded once per chunk ----
  [[unroll]] for (uint r = 0u; r < ROWS; ++r)
    [[unroll]] for (uint i = 0u; i < BN_M; ++i) part[r][i] = 0;
#if BN_DOT4
  // Codes → signed bytes -1/0/+1 once per chunk, then signed dot products per row.
  for (uint c = tid; c < chunks; c += WG) {
    uint xb = ((c >> 1) << 3) + (c & 1u);
    uvec4 qs[ROWS][4];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      uvec4 w = pw[wbase[r] + c];
      [[unroll]] for (uint pl = 0u; pl < 4u; ++pl)
        qs[r][pl] = (((w >> (2u * pl)) & uvec4(0x03030303u)) + uvec4(0x7F7F7F7Fu)) ^
                    uvec4(0x80808080u);
    }
    [[unroll]] for (uint i = 0u; i < BN_M; ++i) {
      if (i < p.m) {
        uint xbase = i * xrow + xb;
        [[unroll]] for (uint pl = 0u; pl < 4u; ++pl) {
          uvec4 xv = xq[xbase + 2u * pl];
          [[unroll]] for (uint r = 0u; r < ROWS; ++r)
            part[r][i] += bn_dot_ss(xv.x, qs[r][pl].x) + bn_dot_ss(xv.y, qs[r][pl].y) +
                          bn_dot_ss(xv.z, qs[r][pl].z) + bn_dot_ss(xv.w, qs[r][pl].w);
        }
      }
    }
  }
#else
  int xsum[BN_M];
  [[unroll]] for (uint i = 0u; i < BN_M; ++i) xsum[i] = 0;
  for (uint c = tid; c < chunks; c += WG) {
    uint xb = ((c >> 1) << 3) + (c & 1u);
    uvec4 w[ROWS];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) w[r] = pw[wbase[r] + c];
    [[unroll]] for (uint i = 0u; i < BN_M; ++i) {
      if (i < p.m) {
        uint xbase = i * xrow + xb;
        [[unroll]] for (uint pl = 0u; pl < 4u; ++pl) {
          uvec4 xv = xq[xbase + 2u * pl];
          [[unroll]] for (uint q = 0u; q < 4u; ++q) {
            ivec4 xs = bn_unpack_s8(xv[q]);
            xsum[i] += (xs.x + xs.y) + (xs.z + xs.w);
            [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
              uint ww = w[r][q] >> (2u * pl);
              part[r][i] += int(ww & 3u) * xs.x + int((ww >> 8) & 3u) * xs.y +
                            int((ww >> 16) & 3u) * xs.z + int((ww >> 24) & 3u) * xs.w;
            }
          }
        }
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < ROWS; ++r)
    [[unroll]] for (uint i = 0u; i < BN_M; ++i) part[r][i] -= xsum[i];
#endif

  // ---- workgroup reduction: subgroups first, then shared memory in a fixed order ----
  uint sg = gl_SubgroupID;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    [[unroll]] for (uint i = 0u; i < BN_M; ++i) {
      int s = subgroupAdd(part[r][i]);
      if (subgroupElect()) red[sg * NV + r * BN_M + i] = s;
    }
  }
  barrier();
  if (tid < NV) {
    uint r = tid / BN_M;
    uint i = tid - r * BN_M;
    uint row = g * ROWS + r;
    if (row < p.n && i < p.m) {
      int acc_total = 0;
      uint nsg = gl_NumSubgroups;
      for (uint s = 0u; s < nsg; ++s) acc_total += red[s * NV + tid];
      uint o = i * p.n + row;
      if (p.mode == 1u) {
        y[o] = uint(acc_total);
      } else {
        precise float sc = w_scale[0] * x_scale[i];
        precise float v = float(acc_total) * sc;
        y[o] = floatBitsToUint(v);
      }
    }
  }
}
