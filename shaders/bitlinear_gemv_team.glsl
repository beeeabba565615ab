// bitlinear_gemv_team.glsl — BN_OP_BITLINEAR with one activation row (m == 1), the
// bandwidth-bound path: every packed weight byte is read once, and every invocation issues
// several independent 16-byte weight loads before it consumes any of them.
//
// Included by bitlinear_gemv_<geometry>{,_dot4}.comp, which define
//   GV_WG    invocations per workgroup (the local size)
//   GV_TEAM  invocations per team (divides GV_WG); a team computes GV_RT weight rows
//   GV_RT    rows per team; a workgroup computes ROWS = (GV_WG / GV_TEAM) · GV_RT rows
//   GV_U     16-byte chunks per row that an invocation loads at once (the unroll)
//   BN_DOT4  1: packed int8 dot products (needs BN_CAP_INT_DOT); 0: plain integer math
// from the BN_BLV_<GEOMETRY>_* values of bn_plan.h, so that the plan dispatches
// ceil(n / ROWS) groups (folded to 2-D) for exactly the rows a group computes.
//
// Geometry: lane l of a team reads, per step, the chunks l + j·GV_TEAM (j < GV_U) of each of
// its GV_RT rows: GV_RT·GV_U uvec4 loads issued back to back (coalesced across the team),
// then consumed. Chunks past the row are clamped to its last chunk for the load (a cache hit)
// and skipped in the arithmetic. A chunk holds half of a 128-weight block: words 4h..4h+3
// (h = chunk & 1); word t' byte b holds weights 32p + 4t' + b at plane p, and the
// activations of plane p of that chunk are one uvec4 of the activation row at
// 8·block + 2p + h: the same component, the same byte.
//
// Reduction: exact int32 partial sums per invocation; with one team per workgroup,
// subgroupAdd and then shared memory across subgroups (any subgroup size, any mapping of
// invocations to subgroups); with several teams, shared memory ([row][lane], padded against
// bank conflicts) and one invocation per row adds its team's partials. Integer sums do not
// depend on the order, so every geometry gives the same bits.
//
// Numerics (bitnet_metal.h): acc = Σ_k q·xq exactly, as Σ c·x − Σ x with codes c = q + 1.
// mode F32: y = float(acc) · (w_scale · x_scale[0]); mode I32: y = acc.

#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#if BN_DOT4
#extension GL_EXT_spirv_intrinsics : require
#endif

#include "bn_common.glsl"
#include "bn_dot.glsl"

#define TEAMS (GV_WG / GV_TEAM)
#define ROWS (TEAMS * GV_RT)
#define NLOAD (GV_RT * GV_U)
#if TEAMS * GV_TEAM != GV_WG
#error "GV_TEAM must divide GV_WG"
#endif
#if ROWS > GV_WG
#error "the final reduction writes one output per invocation: ROWS must be <= GV_WG"
#endif

layout(local_size_x = GV_WG, local_size_y = 1, local_size_z = 1) in;

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

#if TEAMS == 1
// One slot per (subgroup, row); sized for subgroups of a single invocation.
shared int red[GV_WG * ROWS];
#else
// [row][lane], rows padded to GV_TEAM + 1 so that neither the writes nor the per-row reads
// hit one bank.
shared int red[ROWS * (GV_TEAM + 1)];
#endif

void main() {
  uint kp = bn_kp(p.k);
  uint chunks = kp >> 6;  // uvec4 per weight row
  uint groups = (p.n + (ROWS - 1u)) / ROWS;
  uint g = bn_group_linear();
  if (g >= groups) return;  // whole workgroup: uniform
  uint tid = gl_LocalInvocationID.x;
  uint team = tid / GV_TEAM;
  uint lane = tid - team * GV_TEAM;
  uint row0 = g * ROWS + team * GV_RT;

  uint wbase[GV_RT];
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) wbase[r] = min(row0 + r, p.n - 1u) * chunks;

  int part[GV_RT];
#if BN_DOT4
  // Plane p's codes are masked in place (bytes c·4^p <= 128, unsigned) and dotted per plane;
  // the planes accumulate separately and are combined by exact shifts at the end (each plane
  // sum is a multiple of its 4^p; |acc[3]| <= 2^30 for k < 2^24).
  ivec4 acc[GV_RT];
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) acc[r] = ivec4(0);
  int xsum = 0;
  for (uint c0 = lane; c0 < chunks; c0 += GV_TEAM * GV_U) {
    uvec4 w[NLOAD];
    [[unroll]] for (uint j = 0u; j < GV_U; ++j) {
      uint c = min(c0 + j * GV_TEAM, chunks - 1u);
      [[unroll]] for (uint r = 0u; r < GV_RT; ++r) w[j * GV_RT + r] = pw[wbase[r] + c];
    }
    [[unroll]] for (uint j = 0u; j < GV_U; ++j) {
      uint c = c0 + j * GV_TEAM;
      if (GV_U == 1u || c < chunks) {
        uint xb = ((c >> 1) << 3) + (c & 1u);
        uvec4 x0 = xq[xb];
        uvec4 x1 = xq[xb + 2u];
        uvec4 x2 = xq[xb + 4u];
        uvec4 x3 = xq[xb + 6u];
        xsum += bn_dot_ss(x0.x, 0x01010101u) + bn_dot_ss(x0.y, 0x01010101u) +
                bn_dot_ss(x0.z, 0x01010101u) + bn_dot_ss(x0.w, 0x01010101u);
        xsum += bn_dot_ss(x1.x, 0x01010101u) + bn_dot_ss(x1.y, 0x01010101u) +
                bn_dot_ss(x1.z, 0x01010101u) + bn_dot_ss(x1.w, 0x01010101u);
        xsum += bn_dot_ss(x2.x, 0x01010101u) + bn_dot_ss(x2.y, 0x01010101u) +
                bn_dot_ss(x2.z, 0x01010101u) + bn_dot_ss(x2.w, 0x01010101u);
        xsum += bn_dot_ss(x3.x, 0x01010101u) + bn_dot_ss(x3.y, 0x01010101u) +
                bn_dot_ss(x3.z, 0x01010101u) + bn_dot_ss(x3.w, 0x01010101u);
        [[unroll]] for (uint r = 0u; r < GV_RT; ++r) {
          uvec4 wv = w[j * GV_RT + r];
          uvec4 m0 = wv & uvec4(0x03030303u);
          uvec4 m1 = wv & uvec4(0x0C0C0C0Cu);
          uvec4 m2 = wv & uvec4(0x30303030u);
          uvec4 m3 = wv & uvec4(0xC0C0C0C0u);
          ivec4 d;
          d.x = bn_dot_su(x0.x, m0.x) + bn_dot_su(x0.y, m0.y) + bn_dot_su(x0.z, m0.z) +
                bn_dot_su(x0.w, m0.w);
          d.y = bn_dot_su(x1.x, m1.x) + bn_dot_su(x1.y, m1.y) + bn_dot_su(x1.z, m1.z) +
                bn_dot_su(x1.w, m1.w);
          d.z = bn_dot_su(x2.x, m2.x) + bn_dot_su(x2.y, m2.y) + bn_dot_su(x2.z, m2.z) +
                bn_dot_su(x2.w, m2.w);
          d.w = bn_dot_su(x3.x, m3.x) + bn_dot_su(x3.y, m3.y) + bn_dot_su(x3.z, m3.z) +
                bn_dot_su(x3.w, m3.w);
          acc[r] += d;
        }
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r)
    part[r] = acc[r].x + (acc[r].y >> 2) + (acc[r].z >> 4) + (acc[r].w >> 6) - xsum;
#else
  // Plain integers, two products per 32-bit multiply. For the bytes (0, 2) of an activation
  // word, v02 = x0·2^16 + x2 (signed), and for the codes of those bytes c02 = c0 + c2·2^16:
  // c02·v02 = c0·x2 + (c0·x0 + c2·x2)·2^16 + c2·x0·2^32, so modulo 2^32 the upper half holds
  // c0·x0 + c2·x2 and the lower half a small signed number (|c0·x2| <= 256). Likewise bytes
  // (1, 3). A chunk adds 32 such products per row: the lower halves stay within ±2^13 and the
  // upper within ±2^14, so (a + 2^15) >> 16 is exactly the chunk's Σ c·x. The activation sums
  // use the same packing (c = 1). About half the operations of one multiply per weight.
  // The wrapping arithmetic is unsigned (well defined in every target language); int only
  // for the arithmetic right shifts.
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) part[r] = 0;
  int xsum = 0;
  for (uint c0 = lane; c0 < chunks; c0 += GV_TEAM * GV_U) {
    uvec4 w[NLOAD];
    [[unroll]] for (uint j = 0u; j < GV_U; ++j) {
      uint c = min(c0 + j * GV_TEAM, chunks - 1u);
      [[unroll]] for (uint r = 0u; r < GV_RT; ++r) w[j * GV_RT + r] = pw[wbase[r] + c];
    }
    [[unroll]] for (uint j = 0u; j < GV_U; ++j) {
      uint c = c0 + j * GV_TEAM;
      if (GV_U == 1u || c < chunks) {
        uint xb = ((c >> 1) << 3) + (c & 1u);
        uint a[GV_RT];
        [[unroll]] for (uint r = 0u; r < GV_RT; ++r) a[r] = 0u;
        uint s = 0u;
        [[unroll]] for (uint pl = 0u; pl < 4u; ++pl) {
          uvec4 xv = xq[xb + 2u * pl];
          [[unroll]] for (uint q = 0u; q < 4u; ++q) {
            uint X = xv[q];
            uint v02 = uint(int(X << 24) >> 8) + uint(int(X << 8) >> 24);
            uint v13 = (uint(int(X << 16) >> 24) << 16) + uint(int(X) >> 24);
            s += v02 + v13;
            [[unroll]] for (uint r = 0u; r < GV_RT; ++r) {
              uint ww = w[j * GV_RT + r][q] >> (2u * pl);
              a[r] += (ww & 0x00030003u) * v02 + ((ww >> 8) & 0x00030003u) * v13;
            }
          }
        }
        [[unroll]] for (uint r = 0u; r < GV_RT; ++r) part[r] += int(a[r] + 32768u) >> 16;
        xsum += (int(s + 32768u) >> 16) + (int(s << 16) >> 16);
      }
    }
  }
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) part[r] -= xsum;
#endif

  // ---- workgroup reduction ----
  int total = 0;
#if TEAMS == 1
  uint sg = gl_SubgroupID;
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r) {
    int s = subgroupAdd(part[r]);
    if (subgroupElect()) red[sg * ROWS + r] = s;
  }
  barrier();
  if (tid < ROWS) {
    uint nsg = gl_NumSubgroups;
    for (uint s = 0u; s < nsg; ++s) total += red[s * ROWS + tid];
  }
#else
  [[unroll]] for (uint r = 0u; r < GV_RT; ++r)
    red[(team * GV_RT + r) * (GV_TEAM + 1u) + lane] = part[r];
  barrier();
  if (tid < ROWS) {
    int t4[4] = int[4](0, 0, 0, 0);
    [[unroll]] for (uint i = 0u; i < GV_TEAM; ++i) t4[i & 3u] += red[tid * (GV_TEAM + 1u) + i];
    total = (t4[0] + t4[1]) + (t4[2] + t4[3]);
  }
#endif
  if (tid < ROWS) {
    uint row = g * ROWS + tid;
    if (row < p.n) {
      if (p.mode == 1u) {
        y[row] = uint(total);
      } else {
        precise float sc = w_scale[0] * x_scale[0];
        precise float v = float(total) * sc;
        y[row] = floatBitsToUint(v);
      }
    }
  }
}
