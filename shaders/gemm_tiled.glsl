// gemm_tiled.glsl — the tiled GEMM of BN_OP_MATMUL, included by gemm_<dt>[_t128|_splitk].comp
// with these #defines:
//   GEMM_F16    0: A and B are f32; 1: f16, read as 32-bit words of two halves
//               (unpackHalf2x16: no 16-bit storage needed)
//   GEMM_TILE   64: 64 × 64 C tile, 4 × 4 per invocation, k step 16;
//               128: 128 × 128 C tile, 8 × 8 per invocation (two 4 × 4 blocks 64 apart in
//               each direction, so shared reads stay conflict-free), k step 8
//   GEMM_SPLIT  1: workgroup z also selects a k slice; the partial tile goes to scratch
//               (binding 7) for gemm_reduce (64 × 64 only)
//
// 256 invocations; invocation (tx, ty) = (t & 15, t >> 4). Per k step, the A and B tiles
// are staged in shared memory as As[kk][m] / Bs[kk][n] (vec4 along m / n, rows padded by
// one vec4): ≤ 8.5 KB. Each invocation stages 4 values of each operand per step, read for
// the next step into registers while the current step computes. Both layouts of each
// operand are read coalesced:
//   contiguous along the tile rows (A with trans_a, B without trans_b): invocation reads 4
//     consecutive rows of one k row;
//   contiguous along k (A without trans_a, B with trans_b): invocation reads one k column of
//     4 rows (a warp covers TK consecutive k of several rows).
// Accumulation: fma in k order within a slice (the same on every device).

#include "gemm_common.glsl"

#if GEMM_TILE == 64
#define TILE 64u
#define TK 16u
#define RB 1
#elif GEMM_TILE == 128
#define TILE 128u
#define TK 8u
#define RB 2
#else
#error "GEMM_TILE must be 64 or 128"
#endif
#if GEMM_SPLIT && GEMM_TILE != 64
#error "split-k is planned for the 64 x 64 kernel only"
#endif
#if BN_GEMM_WG != 256 || BN_GEMM_T64 != 64 || BN_GEMM_T64_K != 16 || BN_GEMM_T128 != 128 || BN_GEMM_T128_K != 8
#error "the staging and the 16 x 16 invocation grid assume these tile shapes"
#endif

#define TV (TILE / 4u)  // vec4 per staged k row
#define LDV (TV + 1u)   // padded

layout(local_size_x = BN_GEMM_WG, local_size_y = 1, local_size_z = 1) in;

#if GEMM_F16
layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { uint a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { uint b[]; };
#else
layout(std430, set = 0, binding = 0) readonly restrict buffer MatA { float a[]; };
layout(std430, set = 0, binding = 1) readonly restrict buffer MatB { float b[]; };
#endif
#if GEMM_SPLIT
layout(std430, set = 0, binding = 7) writeonly restrict buffer Scratch { float partial[]; };
#else
layout(std430, set = 0, binding = 2) writeonly restrict buffer MatC { float c[]; };
#endif

shared vec4 As[TK * LDV];
shared vec4 Bs[TK * LDV];

#if GEMM_F16
float ldA(uint e) {
  return gemm_half(a[e >> 1], e);
}
float ldB(uint e) {
  return gemm_half(b[e >> 1], e);
}
// 4 consecutive elements e .. e + 3 (all in bounds).
vec4 ldA4(uint e) {
  uint w = e >> 1;
  if ((e & 1u) == 0u) return vec4(unpackHalf2x16(a[w]), unpackHalf2x16(a[w + 1u]));
  return vec4(unpackHalf2x16(a[w]).y, unpackHalf2x16(a[w + 1u]), unpackHalf2x16(a[w + 2u]).x);
}
vec4 ldB4(uint e) {
  uint w = e >> 1;
  if ((e & 1u) == 0u) return vec4(unpackHalf2x16(b[w]), unpackHalf2x16(b[w + 1u]));
  return vec4(unpackHalf2x16(b[w]).y, unpackHalf2x16(b[w + 1u]), unpackHalf2x16(b[w + 2u]).x);
}
#else
float ldA(uint e) {
  return a[e];
}
float ldB(uint e) {
  return b[e];
}
vec4 ldA4(uint e) {
  return vec4(a[e], a[e + 1u], a[e + 2u], a[e + 3u]);
}
vec4 ldB4(uint e) {
  return vec4(b[e], b[e + 1u], b[e + 2u], b[e + 3u]);
}
#endif

// One operand's staging: rows r0 .. r0 + TILE of a matrix with `rows` rows and depth k,
// k columns k0 .. k0 + TK (only those < kend are read; the rest are 0). kmajor: stored
// [k][rows] (element kk·rows + r), else [rows][k] (element r·k + kk). Returns this
// invocation's vec4 and (in slot) where it goes in the shared tile.
#define GEMM_STAGE(LD1, LD4, base, rows, kmajor, r0, k0, kend, t, full, out_v, out_slot)  \
  {                                                                                      \
    if (kmajor) {                                                                        \
      uint r4 = (t) % TV;                                                                \
      uint kk = (t) / TV;                                                                \
      uint kr = (k0) + kk;                                                               \
      uint r = (r0) + 4u * r4;                                                           \
      if (full) {                                                                        \
        out_v = LD4((base) + kr * (rows) + r);                                           \
      } else {                                                                           \
        out_v = vec4(0.0);                                                               \
        if (kr < (kend)) {                                                               \
          [[unroll]] for (uint i = 0u; i < 4u; ++i) {                                    \
            if (r + i < (rows)) out_v[i] = LD1((base) + kr * (rows) + r + i);            \
          }                                                                              \
        }                                                                                \
      }                                                                                  \
      out_slot = kk * LDV + r4;                                                          \
    } else {                                                                             \
      uint kk = (t) % TK;                                                                \
      uint q = (t) / TK;                                                                 \
      uint kc = (k0) + kk;                                                               \
      uint r = (r0) + 4u * q;                                                            \
      out_v = vec4(0.0);                                                                 \
      if (full) {                                                                        \
        [[unroll]] for (uint i = 0u; i < 4u; ++i) out_v[i] = LD1((base) + (r + i) * p.k + kc); \
      } else if (kc < (kend)) {                                                          \
        [[unroll]] for (uint i = 0u; i < 4u; ++i) {                                      \
          if (r + i < (rows)) out_v[i] = LD1((base) + (r + i) * p.k + kc);               \
        }                                                                                \
      }                                                                                  \
      out_slot = kk * LDV + q;                                                           \
    }                                                                                    \
  }

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid & 15u;
  uint ty = tid >> 4;

  // Grid (tiles_n, tiles_m · fold, zgroups): z (and the k slice) from z and the fold.
  uint tiles_m = (p.m + (TILE - 1u)) / TILE;
  uint fold = gl_WorkGroupID.y / tiles_m;
  uint tm = gl_WorkGroupID.y - fold * tiles_m;
  uint zl = gl_WorkGroupID.z + gl_NumWorkGroups.z * fold;
#if GEMM_SPLIT
  uint slices = gemm_splits();
  uint chunk = gemm_split_chunk();
  uint z = zl / slices;
  uint slice = zl - z * slices;
  uint kb = slice * chunk;
  uint ke = min(p.k, kb + chunk);
#else
  uint z = zl;
  uint kb = 0u;
  uint ke = p.k;
#endif
  if (z >= p.batch) return;  // whole workgroup: uniform

  uint m0 = tm * TILE;
  uint n0 = gl_WorkGroupID.x * TILE;
  uint abase = gemm_a_base(z);
  uint bbase = gemm_b_base(z);
  bool ta = gemm_trans_a();
  bool tb = gemm_trans_b();
  bool rows_full = m0 + TILE <= p.m && n0 + TILE <= p.n;

  vec4 acc[RB * 4][RB];
  [[unroll]] for (uint i = 0u; i < RB * 4u; ++i) {
    [[unroll]] for (uint j = 0u; j < RB; ++j) acc[i][j] = vec4(0.0);
  }

  vec4 va, vb;
  uint sa, sb;
  {
    bool full = rows_full && kb + TK <= ke;
    GEMM_STAGE(ldA, ldA4, abase, p.m, ta, m0, kb, ke, tid, full, va, sa)
    GEMM_STAGE(ldB, ldB4, bbase, p.n, !tb, n0, kb, ke, tid, full, vb, sb)
  }
  for (uint k0 = kb; k0 < ke; k0 += TK) {
    barrier();  // the previous step's reads of the shared tiles are done
    As[sa] = va;
    Bs[sb] = vb;
    barrier();
    uint kn = k0 + TK;
    if (kn < ke) {  // the next step's loads, in flight during this step's math
      bool full = rows_full && kn + TK <= ke;
      GEMM_STAGE(ldA, ldA4, abase, p.m, ta, m0, kn, ke, tid, full, va, sa)
      GEMM_STAGE(ldB, ldB4, bbase, p.n, !tb, n0, kn, ke, tid, full, vb, sb)
    }
    [[unroll]] for (uint kk = 0u; kk < TK; ++kk) {
      vec4 av[RB];
      vec4 bv[RB];
      [[unroll]] for (uint r = 0u; r < RB; ++r) {
        av[r] = As[kk * LDV + ty + 16u * r];
        bv[r] = Bs[kk * LDV + tx + 16u * r];
      }
      [[unroll]] for (uint ri = 0u; ri < RB; ++ri) {
        [[unroll]] for (uint i = 0u; i < 4u; ++i) {
          [[unroll]] for (uint rj = 0u; rj < RB; ++rj) {
            acc[ri * 4u + i][rj] = fma(vec4(av[ri][i]), bv[rj], acc[ri * 4u + i][rj]);
          }
        }
      }
    }
  }

#if GEMM_SPLIT
  uint cbase = (z * slices + slice) * p.m * p.n;
#else
  uint cbase = z * p.m * p.n;
#endif
  [[unroll]] for (uint ri = 0u; ri < RB; ++ri) {
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      uint row = m0 + 64u * ri + 4u * ty + i;
      if (row < p.m) {
        [[unroll]] for (uint rj = 0u; rj < RB; ++rj) {
          [[unroll]] for (uint j = 0u; j < 4u; ++j) {
            uint col = n0 + 64u * rj + 4u * tx + j;
            if (col < p.n) {
#if GEMM_SPLIT
              partial[cbase + row * p.n + col] = acc[ri * 4u + i][rj][j];
#else
              c[cbase + row * p.n + col] = acc[ri * 4u + i][rj][j];
#endif
            }
          }
        }
      }
    }
  }
}
