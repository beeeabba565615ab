// matmul_f32_gemv_team.glsl — BN_OP_MATMUL_F32 with m == 1 and b_trans == 1:
// c[j] = Σ_k a[k] · B[j][k], written so that every invocation has many independent 16-byte
// loads of B in flight before it consumes any of them.
//
// Included by matmul_f32_gemv_<geometry>.comp, which define (from bn_plan.h)
//   GV_WG    invocations per workgroup (the local size)
//   GV_TEAM  invocations per team (divides GV_WG); a team computes GV_RT rows of B
//   GV_RT    rows per team; a workgroup computes ROWS = (GV_WG / GV_TEAM) · GV_RT rows
//   GV_U     vec4 per row that an invocation loads at once (the unroll)
//
// Lane l of a team reads, per step, the vec4 l + j·GV_TEAM (j < GV_U) of each of its rows
// (coalesced across the team; past the row the index is clamped for the load and the value
// is not used), then fma-accumulates them in order. When k % 4 != 0 rows are not 16-byte
// aligned and the team reads one element at a time. A fixed-order shared-memory tree sums
// each row's GV_TEAM partials, so the result is the same bits on every device.

#extension GL_EXT_control_flow_attributes : require
#include "bn_common.glsl"

#define TEAMS (GV_WG / GV_TEAM)
#define ROWS (TEAMS * GV_RT)
#define NLOAD (GV_RT * GV_U)
#if TEAMS * GV_TEAM != GV_WG
#error "GV_TEAM must divide GV_WG"
#endif
#if ROWS > GV_WG
#error "the final write uses one invocation per row: ROWS must be <= GV_WG"
#endif
#if (GV_TEAM & (GV_TEAM - 1)) != 0
#error "the reduction tree needs a power-of-two GV_TEAM"
#endif

layout(local_size_x = GV_WG, local_size_y = 1, local_size_z = 1) in;

layout(push_constant) uniform MatmulF32Params {
  uint m;
  uint n;
  uint k;
  uint b_trans;
} p;

layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { vec4 a4[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { vec4 b4[]; };
layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };

// [row][lane]: row (team·GV_RT + r) of the workgroup at red[row · GV_TEAM + lane].
shared float red[ROWS * GV_TEAM];

void main() {
  uint groups = (p.n + (ROWS - 1u)) / ROWS;
  uint g = bn_group_linear();
  if (g >= groups) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint team = tid / GV_TEAM;
  uint lane = tid - team * GV_TEAM;
  uint row0 = g * ROWS + team * GV_RT;
  uint rbase[GV_RT];
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) rbase[r] = min(row0 + r, p.n - 1u) * p.k;

  float acc[GV_RT];
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) acc[r] = 0.0;
  if ((p.k & 3u) == 0u) {
    uint k4 = p.k >> 2;
    for (uint i0 = lane; i0 < k4; i0 += GV_TEAM * GV_U) {
      vec4 bv[NLOAD];
      [[unroll]] for (uint j = 0u; j < GV_U; ++j) {
        uint i = min(i0 + j * GV_TEAM, k4 - 1u);
        [[unroll]] for (uint r = 0u; r < GV_RT; ++r) bv[j * GV_RT + r] = b4[(rbase[r] >> 2) + i];
      }
      [[unroll]] for (uint j = 0u; j < GV_U; ++j) {
        uint i = i0 + j * GV_TEAM;
        if (GV_U == 1u || i < k4) {
          vec4 av = a4[i];
          [[unroll]] for (uint r = 0u; r < GV_RT; ++r) {
            vec4 b = bv[j * GV_RT + r];
            acc[r] = fma(av.x, b.x, acc[r]);
            acc[r] = fma(av.y, b.y, acc[r]);
            acc[r] = fma(av.z, b.z, acc[r]);
            acc[r] = fma(av.w, b.w, acc[r]);
          }
        }
      }
    }
  } else {
    for (uint i = lane; i < p.k; i += GV_TEAM) {
      float av = a4[i >> 2][i & 3u];
      [[unroll]] for (uint r = 0u; r < GV_RT; ++r) {
        uint e = rbase[r] + i;
        acc[r] = fma(av, b4[e >> 2][e & 3u], acc[r]);
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) red[(team * GV_RT + r) * GV_TEAM + lane] = acc[r];
  barrier();
  [[unroll]] for (uint s = GV_TEAM / 2u; s > 0u; s >>= 1) {
    if (lane < s) {
      [[unroll]] for (uint r = 0u; r < GV_RT; ++r) {
        uint o = (team * GV_RT + r) * GV_TEAM + lane;
        red[o] += red[o + s];
      }
    }
    barrier();
  }
  if (tid < ROWS) {
    uint row = g * ROWS + tid;
    if (row < p.n) c[row] = red[tid * GV_TEAM];
  }
}
