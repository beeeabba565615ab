/*
 * bn_plan.h — the workgroup geometry shared by the shaders and objc/core/gpu_plan.c.
 *
 * Plain #defines only: this file is included both by GLSL (the shaders/ .comp files through
 * GL_GOOGLE_include_directive) and by C, so the grid the plan dispatches and the work a
 * shader's workgroup does can never disagree. Changing a value here changes both sides;
 * regenerate shaders/gen afterwards (deno run -A tools/shaders.ts).
 *
 * Every 1-D grid larger than BN_GRID_MAX groups is folded into 2-D: the plan dispatches
 * (min(G, BN_GRID_MAX), ceil(G / that)) and the shader computes the linear group index as
 * gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x, skipping indices >= G.
 */
#ifndef BN_PLAN_H
#define BN_PLAN_H

#define BN_GRID_MAX 65535

/* quantize_ternary: stage 1 (quantize_ternary_partial) sums |W| over BN_QT_CHUNK
 * consecutive elements per workgroup into one (hi, lo) float pair of scratch; stage 2
 * (quantize_ternary_scale, one workgroup) reduces the partials in a fixed order; stage 3
 * (quantize_ternary_pack) writes one packed 32-bit word (16 weights) per invocation. */
#define BN_QT_WG 256
#define BN_QT_PER_THREAD 64
#define BN_QT_CHUNK 16384 /* BN_QT_WG * BN_QT_PER_THREAD */
#define BN_QT_SCRATCH_PER_GROUP 8 /* bytes: vec2 (hi, lo) */

/* quantize_act_int8: one workgroup per activation row. */
#define BN_QA_WG 256

/* bitlinear: m == 1 → bitlinear_gemv_<geometry>[_dot4] (below); 2 <= m <= BN_BL_GEMV_MAX_M →
 * bitlinear_gemv_m8[_dot4]; larger m (or no subgroup arithmetic) → bitlinear_gemm[_dot4].
 * GEMV m8: BN_BL_GEMV_ROWS weight rows per workgroup of BN_BL_GEMV_WG invocations.
 * GEMM: a BN_BL_GEMM_TILE (activation rows) x BN_BL_GEMM_TILE (weight rows) output tile per
 * workgroup of BN_BL_GEMM_WG invocations; grid (ceil(n/tile), ceil(m/tile)). */
#define BN_BL_GEMV_WG 64
#define BN_BL_GEMV_ROWS 4
#define BN_BL_GEMV_MAX_M 8
#define BN_BL_GEMM_WG 256
#define BN_BL_GEMM_TILE 64

/* bitlinear m == 1 (bitlinear_gemv_team.glsl), geometry <G> = t<TEAM>r<RT>u<U> (one team per
 * workgroup) or w<WG>t<TEAM>r<RT>u<U>: BN_BLV_<G>_WG invocations per workgroup in teams of
 * BN_BLV_<G>_TEAM; a team computes BN_BLV_<G>_RT rows, each invocation loading BN_BLV_<G>_U
 * 16-byte chunks of each of them at once; (WG / TEAM) · RT rows per workgroup, grid
 * ceil(n / rows) folded to 2-D. gpu_plan.c picks one by shape. */
#define BN_BLV_T64R4U1_WG 64
#define BN_BLV_T64R4U1_TEAM 64
#define BN_BLV_T64R4U1_RT 4
#define BN_BLV_T64R4U1_U 1
#define BN_BLV_T64R4U4_WG 64
#define BN_BLV_T64R4U4_TEAM 64
#define BN_BLV_T64R4U4_RT 4
#define BN_BLV_T64R4U4_U 4
#define BN_BLV_W256T64R4U4_WG 256
#define BN_BLV_W256T64R4U4_TEAM 64
#define BN_BLV_W256T64R4U4_RT 4
#define BN_BLV_W256T64R4U4_U 4
#define BN_BLV_W128T32R4U2_WG 128
#define BN_BLV_W128T32R4U2_TEAM 32
#define BN_BLV_W128T32R4U2_RT 4
#define BN_BLV_W128T32R4U2_U 2

/* dequantize_ternary: one packed 32-bit word (16 weights) per invocation. */
#define BN_DQ_WG 256

/* matmul_f32: tiled BN_MM_TILE x BN_MM_TILE (grid (ceil(n/tile), ceil(m/tile)));
 * m == 1, b_trans == 1 → matmul_f32_gemv (BN_MM_GEMV_ROWS rows of B per workgroup of
 * BN_MM_GEMV_WG) for short rows, else matmul_f32_gemv_<geometry> (matmul_f32_gemv_team.glsl,
 * BN_MMV_<G>_* as the BN_BLV_<G>_* of bitlinear, the unroll in vec4 per row);
 * m == 1, b_trans == 0 → matmul_f32_gemv_kn (grid (ceil(n/BN_MM_KN_COLS),
 * ceil(k/BN_MM_KN_KSLICE)), partial sums into scratch) then matmul_f32_gemv_kn_reduce
 * (ceil(n/BN_MM_KN_REDUCE_WG) groups, fixed-order sum over the k slices). */
#define BN_MM_WG 256
#define BN_MM_TILE 64
#define BN_MM_TILE_K 16
#define BN_MM_GEMV_WG 64
#define BN_MM_GEMV_ROWS 4
#define BN_MMV_T128R4U4_WG 128
#define BN_MMV_T128R4U4_TEAM 128
#define BN_MMV_T128R4U4_RT 4
#define BN_MMV_T128R4U4_U 4
#define BN_MMV_T256R2U8_WG 256
#define BN_MMV_T256R2U8_TEAM 256
#define BN_MMV_T256R2U8_RT 2
#define BN_MMV_T256R2U8_U 8
#define BN_MM_KN_COLS 64
#define BN_MM_KN_LANES 4
#define BN_MM_KN_KSLICE 256
#define BN_MM_KN_REDUCE_WG 256

/* read_probe: stage 1 (read_probe_partial) sums BN_RP_CHUNK_WORDS consecutive u32 per
 * workgroup (each invocation BN_RP_PER_THREAD independent 16-byte loads, coalesced) into
 * scratch; stage 2 (read_probe_reduce, one workgroup) adds the partials (mod 2^32). */
#define BN_RP_WG 256
#define BN_RP_PER_THREAD 16
#define BN_RP_CHUNK_WORDS 16384 /* BN_RP_WG * BN_RP_PER_THREAD * 4 */

#endif /* BN_PLAN_H */
