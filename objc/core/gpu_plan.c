/*
 * gpu_plan.c — which shaders a GPU op runs, over which grids (shared by Vulkan and Metal).
 *
 * The workgroup geometry comes from shaders/bn_plan.h, the header the shaders themselves
 * include, so a plan and the shader it dispatches cannot disagree. Every stage binds the op's
 * buffers at 0..n_buffers-1 and gets the op's params as push constants; scratch, when a plan
 * asks for it, is bound at BN_SCRATCH_BINDING.
 *
 * Shader choice:
 *   quantize_ternary   quantize_ternary_partial → quantize_ternary_scale → quantize_ternary_pack
 *   quantize_act_int8  quantize_act_int8 (one workgroup per row)
 *   bitlinear          m == 1: bitlinear_gemv_<geometry> (by shape, bl_gemv_auto);
 *                      2..8: bitlinear_gemv_m8; else bitlinear_gemm; the _dot4 variant when
 *                      caps has BN_CAP_INT_DOT; the GEMV shaders need subgroup arithmetic, so
 *                      without BN_CAP_SUBGROUP_ARITH every m takes bitlinear_gemm (none).
 *   dequantize_ternary dequantize_ternary
 *   matmul_f32         m == 1, b_trans: matmul_f32_gemv[_<geometry>] (by k, mm_gemv_auto);
 *                      m == 1, !b_trans: matmul_f32_gemv_kn →
 *                      matmul_f32_gemv_kn_reduce (split k); else matmul_f32 (tiled)
 *   read_probe         read_probe_partial → read_probe_reduce
 *   mps_matmul         BN_ERR_UNSUPPORTED (Metal runs it through MPS, outside these plans)
 *
 * Ops with no work (an empty grid) get a plan of zero stages, except quantize_ternary, whose
 * scale stage still writes scale = 0 for an empty tensor.
 */
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "../../shaders/bn_plan.h"

/* Shader indices are 32-bit: element offsets in units of at least 4 bytes. */
#define BN_GPU_MAX_BUFFER_BYTES (4ull << 32)

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

int32_t bn_gpu_add_stage(bn_gpu_plan_t* plan, const char* name, uint64_t gx, uint64_t gy,
                         uint64_t gz) {
  if (gx == 0 || gy == 0 || gz == 0) return BN_OK; /* nothing to run */
  if (plan->n_stages >= BN_MAX_STAGES) return bn_fail(BN_ERR_INTERNAL, "gpu plan: too many stages");
  if (gx > BN_GRID_MAX || gy > BN_GRID_MAX || gz > BN_GRID_MAX)
    return bn_fail(BN_ERR_UNSUPPORTED,
                   "gpu plan: %s needs a grid of %llu x %llu x %llu workgroups (max %u per dimension)",
                   name, (unsigned long long)gx, (unsigned long long)gy, (unsigned long long)gz,
                   (unsigned)BN_GRID_MAX);
  const bn_shader_blob_t* shader = bn_shader_find(name);
  if (!shader) return bn_fail(BN_ERR_INTERNAL, "gpu plan: shader '%s' is not embedded", name);
  bn_gpu_stage_t* st = &plan->stages[plan->n_stages++];
  st->shader = shader;
  st->groups[0] = (uint32_t)gx;
  st->groups[1] = (uint32_t)gy;
  st->groups[2] = (uint32_t)gz;
  return BN_OK;
}

/* A 1-D grid of `groups` workgroups, folded to 2-D as bn_plan.h describes. */
int32_t bn_gpu_add_stage_1d(bn_gpu_plan_t* plan, const char* name, uint64_t groups) {
  if (groups == 0) return BN_OK;
  uint64_t gx = groups < BN_GRID_MAX ? groups : BN_GRID_MAX;
  return bn_gpu_add_stage(plan, name, gx, ceil_div(groups, gx), 1);
}

static int32_t plan_quantize_ternary(const bn_quantize_ternary_params_t* p, bn_gpu_plan_t* out) {
  uint64_t total = (uint64_t)p->n * p->k;
  if (total >= (1ull << 31))
    return bn_fail(BN_ERR_UNSUPPORTED, "quantize_ternary: n*k = %llu is too large for the GPU (max 2^31 - 1)",
                   (unsigned long long)total);
  uint64_t partials = ceil_div(total, BN_QT_CHUNK);
  int32_t st = bn_gpu_add_stage_1d(out, "quantize_ternary_partial", partials);
  if (st == BN_OK) st = bn_gpu_add_stage(out, "quantize_ternary_scale", 1, 1, 1);
  if (st == BN_OK) st = bn_gpu_add_stage_1d(out, "quantize_ternary_pack", ceil_div((uint64_t)p->n * (bn_kp(p->k) / 16), BN_QT_WG));
  /* At least 16 bytes so that the scratch binding is always a valid buffer. */
  out->scratch_bytes = (partials < 2 ? 2 : partials) * BN_QT_SCRATCH_PER_GROUP;
  return st;
}

static int32_t plan_quantize_act(const bn_quantize_act_params_t* p, bn_gpu_plan_t* out) {
  return bn_gpu_add_stage_1d(out, "quantize_act_int8", p->m);
}

/* ---- m == 1 GEMV geometries ---------------------------------------------------------
 * Each entry is one geometry of bitlinear_gemv_team.glsl (BN_BLV_* in bn_plan.h) or of the
 * f32 GEMVs (matmul_f32_gemv.comp, and matmul_f32_gemv_team.glsl with BN_MMV_*). The plan
 * picks one by shape (bl_gemv_auto, mm_gemv_auto). Testing knob: BITNET_GEMV_VARIANT
 * (bitlinear; append "/plain" to run the plain-integer shader on a device with int dot
 * products) and BITNET_GEMV_F32_VARIANT (matmul_f32) force one by name; they are read at
 * every plan, so bench/gemv_variants.ts switches between batches. An unknown name fails. */
typedef struct gemv_variant {
  const char* name;
  const char* plain; /* shader; for matmul_f32 the only one */
  const char* dot4;  /* bitlinear with BN_CAP_INT_DOT; NULL for matmul_f32 */
  uint32_t rows;     /* weight rows per workgroup */
} gemv_variant_t;

#define BLV_ROWS(UC) ((BN_BLV_##UC##_WG / BN_BLV_##UC##_TEAM) * BN_BLV_##UC##_RT)
#define MMV_ROWS(UC) ((BN_MMV_##UC##_WG / BN_MMV_##UC##_TEAM) * BN_MMV_##UC##_RT)

static const gemv_variant_t BL_VARIANTS[] = {
    {"t64r4u1", "bitlinear_gemv_t64r4u1", "bitlinear_gemv_t64r4u1_dot4", BLV_ROWS(T64R4U1)},
    {"t64r4u4", "bitlinear_gemv_t64r4u4", "bitlinear_gemv_t64r4u4_dot4", BLV_ROWS(T64R4U4)},
    {"w256t64r4u4", "bitlinear_gemv_w256t64r4u4", "bitlinear_gemv_w256t64r4u4_dot4", BLV_ROWS(W256T64R4U4)},
    {"w128t32r4u2", "bitlinear_gemv_w128t32r4u2", "bitlinear_gemv_w128t32r4u2_dot4", BLV_ROWS(W128T32R4U2)},
};
static const gemv_variant_t MM_VARIANTS[] = {
    {"t64r4u1", "matmul_f32_gemv", NULL, BN_MM_GEMV_ROWS}, /* WG 64, 4 rows, no unroll */
    {"t128r4u4", "matmul_f32_gemv_t128r4u4", NULL, MMV_ROWS(T128R4U4)},
    {"t256r2u8", "matmul_f32_gemv_t256r2u8", NULL, MMV_ROWS(T256R2U8)},
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The variant named by environment variable `var` (NULL when unset or empty), with *plain
 * set when the value ends in "/plain"; BN_ERR_INVALID_ARGUMENT for an unknown name. */
static int32_t gemv_forced(const char* var, const gemv_variant_t* table, size_t count,
                           const gemv_variant_t** out, bool* plain) {
  *out = NULL;
  *plain = false;
  const char* v = getenv(var);
  if (!v || !*v) return BN_OK;
  size_t len = strlen(v);
  const size_t suffix = sizeof "/plain" - 1;
  if (len > suffix && strcmp(v + len - suffix, "/plain") == 0) {
    *plain = true;
    len -= suffix;
  }
  for (size_t i = 0; i < count; i++) {
    if (strlen(table[i].name) == len && strncmp(table[i].name, v, len) == 0) {
      *out = &table[i];
      return BN_OK;
    }
  }
  return bn_fail(BN_ERR_INVALID_ARGUMENT, "%s=%s: no such GEMV variant", var, v);
}

static const gemv_variant_t* gemv_find(const gemv_variant_t* table, size_t count, const char* name) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return &table[0];
}

/* The default m == 1 ternary GEMV for this shape, measured on an NVIDIA H200 (warm clocks,
 * weights not in L2; bench/gemv_variants.ts). dot4: 16 rows per workgroup of 256 (teams of
 * 64, 4 chunks per row in flight per invocation) once there are rows to fill the GPU; with
 * many rows of k >= 4096, 16 rows per workgroup of 128 (teams of 32, 2 chunks in flight) is
 * a few % faster; few rows take 4 rows per workgroup of 64. Plain: the decode is the limit
 * (about 2.5 TB/s there), and 4 rows per workgroup of 64 are as fast as any geometry at
 * large shapes and the fastest at small ones. */
static const gemv_variant_t* bl_gemv_auto(const bn_bitlinear_params_t* p, bool dot) {
  const char* name = "t64r4u1";
  if (dot) {
    if (p->n >= 8192 && p->k >= 4096) name = "w128t32r4u2";
    else if (p->n >= 2048) name = "w256t64r4u4";
    else name = "t64r4u4";
  }
  return gemv_find(BL_VARIANTS, N_OF(BL_VARIANTS), name);
}

/* The default f32 GEMV (m == 1, B [n][k]): more B bytes in flight per invocation the longer
 * the rows (same measurements). */
static const gemv_variant_t* mm_gemv_auto(const bn_matmul_f32_params_t* p) {
  const char* name = p->k >= 8192 ? "t256r2u8" : p->k >= 4096 ? "t128r4u4" : "t64r4u1";
  return gemv_find(MM_VARIANTS, N_OF(MM_VARIANTS), name);
}

static int32_t plan_bitlinear(const bn_bitlinear_params_t* p, uint32_t caps, bn_gpu_plan_t* out) {
  if (p->m == 0 || p->n == 0) return BN_OK;
  if (p->k > BN_MAX_K) return bn_fail(BN_ERR_UNSUPPORTED, "bitlinear: k = %u > 2^24", p->k);
  const bool dot = (caps & BN_CAP_INT_DOT) != 0;
  const bool subgroups = (caps & BN_CAP_SUBGROUP_ARITH) != 0;
  if (subgroups && p->m == 1) {
    const gemv_variant_t* v;
    bool plain;
    int32_t st = gemv_forced("BITNET_GEMV_VARIANT", BL_VARIANTS, N_OF(BL_VARIANTS), &v, &plain);
    if (st != BN_OK) return st;
    if (!v) v = bl_gemv_auto(p, dot && !plain);
    return bn_gpu_add_stage_1d(out, dot && !plain ? v->dot4 : v->plain, ceil_div(p->n, v->rows));
  }
  if (subgroups && p->m <= BN_BL_GEMV_MAX_M)
    return bn_gpu_add_stage_1d(out, dot ? "bitlinear_gemv_m8_dot4" : "bitlinear_gemv_m8",
                        ceil_div(p->n, BN_BL_GEMV_ROWS));
  return bn_gpu_add_stage(out, dot ? "bitlinear_gemm_dot4" : "bitlinear_gemm", ceil_div(p->n, BN_BL_GEMM_TILE),
                   ceil_div(p->m, BN_BL_GEMM_TILE), 1);
}

static int32_t plan_dequantize(const bn_dequantize_ternary_params_t* p, bn_gpu_plan_t* out) {
  return bn_gpu_add_stage_1d(out, "dequantize_ternary", ceil_div((uint64_t)p->n * (bn_kp(p->k) / 16), BN_DQ_WG));
}

static int32_t plan_matmul(const bn_matmul_f32_params_t* p, bn_gpu_plan_t* out) {
  if (p->m == 0 || p->n == 0) return BN_OK;
  if (p->m == 1 && p->b_trans) {
    const gemv_variant_t* v;
    bool plain;
    int32_t st = gemv_forced("BITNET_GEMV_F32_VARIANT", MM_VARIANTS, N_OF(MM_VARIANTS), &v, &plain);
    if (st == BN_OK && plain)
      st = bn_fail(BN_ERR_INVALID_ARGUMENT, "BITNET_GEMV_F32_VARIANT: \"/plain\" is for bitlinear");
    if (st != BN_OK) return st;
    if (!v) v = mm_gemv_auto(p);
    return bn_gpu_add_stage_1d(out, v->plain, ceil_div(p->n, v->rows));
  }
  if (p->m == 1) {
    uint64_t slices = ceil_div(p->k, BN_MM_KN_KSLICE);
    int32_t st = BN_OK;
    if (slices > 0) st = bn_gpu_add_stage(out, "matmul_f32_gemv_kn", ceil_div(p->n, BN_MM_KN_COLS), slices, 1);
    if (st == BN_OK) st = bn_gpu_add_stage_1d(out, "matmul_f32_gemv_kn_reduce", ceil_div(p->n, BN_MM_KN_REDUCE_WG));
    uint64_t bytes = slices * p->n * 4;
    out->scratch_bytes = bytes < 16 ? 16 : bytes;
    return st;
  }
  return bn_gpu_add_stage(out, "matmul_f32", ceil_div(p->n, BN_MM_TILE), ceil_div(p->m, BN_MM_TILE), 1);
}

static int32_t plan_read_probe(const bn_read_probe_params_t* p, bn_gpu_plan_t* out) {
  uint64_t partials = ceil_div(p->words, BN_RP_CHUNK_WORDS);
  int32_t st = bn_gpu_add_stage_1d(out, "read_probe_partial", partials);
  if (st == BN_OK) st = bn_gpu_add_stage(out, "read_probe_reduce", 1, 1, 1);
  out->scratch_bytes = (partials < 4 ? 4 : partials) * 4;
  return st;
}

int32_t bn_gpu_plan(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out) {
  if (!cmd || !out) return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_gpu_plan: null argument");
  bn_gpu_plan_t plan;
  memset(&plan, 0, sizeof plan);
  for (uint32_t i = 0; i < cmd->n_buffers && i < 8; i++) {
    if (cmd->bytes[i] > BN_GPU_MAX_BUFFER_BYTES)
      return bn_fail(BN_ERR_UNSUPPORTED, "buffer %u of this op needs %llu bytes; GPU kernels index at most 16 GiB",
                     i, (unsigned long long)cmd->bytes[i]);
  }
  int32_t st;
  switch (cmd->op) {
    case BN_OP_QUANTIZE_TERNARY: {
      bn_quantize_ternary_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_quantize_ternary(&p, &plan);
      break;
    }
    case BN_OP_QUANTIZE_ACT_INT8: {
      bn_quantize_act_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_quantize_act(&p, &plan);
      break;
    }
    case BN_OP_BITLINEAR: {
      bn_bitlinear_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_bitlinear(&p, caps, &plan);
      break;
    }
    case BN_OP_DEQUANTIZE_TERNARY: {
      bn_dequantize_ternary_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_dequantize(&p, &plan);
      break;
    }
    case BN_OP_MATMUL_F32: {
      bn_matmul_f32_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_matmul(&p, &plan);
      break;
    }
    case BN_OP_READ_PROBE: {
      bn_read_probe_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_read_probe(&p, &plan);
      break;
    }
    case BN_OP_MPS_MATMUL:
      return bn_fail(BN_ERR_UNSUPPORTED, "mps_matmul runs only on the Metal backend (MPS)");
    case BN_OP_MATMUL:
      st = bn_gpu_plan_matmul(cmd, caps, &plan);
      break;
    case BN_OP_BINARY:
    case BN_OP_UNARY:
      st = bn_gpu_plan_elementwise(cmd, caps, &plan);
      break;
    case BN_OP_REDUCE:
    case BN_OP_SOFTMAX:
    case BN_OP_RMSNORM:
    case BN_OP_ROPE:
    case BN_OP_RMSNORM_QUANT:
      st = bn_gpu_plan_rows(cmd, caps, &plan);
      break;
    default:
      return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_gpu_plan: unknown op %u", cmd->op);
  }
  if (st != BN_OK) return st;
  *out = plan;
  return BN_OK;
}
