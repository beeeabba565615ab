/*
 * gpu_plan_rows.c — GPU plans of the "rows" tensor ops: REDUCE, SOFTMAX, RMSNORM, ROPE and
 * RMSNORM_QUANT. The geometry (and the split rule of reductions) is in shaders/rows_plan.h,
 * which the shaders include too.
 *
 *   reduce         short contiguous rows (BN_RD_SEGMENTED): reduce, several rows per group
 *                  nsplit == 1: reduce (grid: tiles, folded x·y)
 *                  nsplit > 1:  reduce_partial (grid: tiles folded x·y, nsplit in z) →
 *                               reduce_combine; VAR: reduce_partial → reduce_var_mean →
 *                               reduce_var_partial → reduce_combine
 *   softmax        softmax (BN_ROWS_PER_GROUP rows per workgroup)
 *   rmsnorm        rmsnorm (likewise)
 *   rmsnorm_quant  rmsnorm_quant (likewise, f32)
 *   rope           rope (one workgroup per token)
 */
#include <string.h>

#include "core/backend.h"
#include "../../shaders/bn_plan.h"
#include "../../shaders/rows_plan.h"

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }


/* `groups` workgroups folded into x·y (bn_plan.h), with gz in z. */
static int32_t stage_folded(bn_gpu_plan_t* plan, const char* name, uint64_t groups, uint64_t gz) {
  if (groups == 0 || gz == 0) return BN_OK;
  uint64_t gx = groups < BN_GRID_MAX ? groups : BN_GRID_MAX;
  return bn_gpu_add_stage(plan, name, gx, cdiv(groups, gx), gz);
}

static int32_t plan_reduce(const bn_reduce_params_t* p, bn_gpu_plan_t* out) {
  if (!p->outer || !p->len || !p->inner) return BN_OK;
  const uint32_t cw = BN_RD_CW(p->inner);
  const uint32_t lanes = BN_RD_WG / cw;
  const uint64_t tiles = (uint64_t)p->outer * BN_RD_CDIV(p->inner, cw); /* < 2^32 */
  if (BN_RD_SEGMENTED(p->len, p->inner))
    return stage_folded(out, "reduce", cdiv(p->outer, BN_RD_WG / BN_RD_SEG_LANES(p->len)), 1);
  const uint32_t ns = BN_RD_NSPLIT((uint32_t)tiles, p->len, lanes);
  if (ns == 1) return stage_folded(out, "reduce", tiles, 1);
  const uint64_t q = (uint64_t)p->outer * p->inner; /* < 2^32 */
  const uint64_t combine = BN_RD_CDIV((uint32_t)q, BN_RD_CW((uint32_t)q));
  int32_t st = stage_folded(out, "reduce_partial", tiles, ns);
  if (p->op == BN_REDUCE_VAR) {
    if (st == BN_OK) st = stage_folded(out, "reduce_var_mean", combine, 1);
    if (st == BN_OK) st = stage_folded(out, "reduce_var_partial", tiles, ns);
  }
  if (st == BN_OK) st = stage_folded(out, "reduce_combine", combine, 1);
  uint64_t words = 2ull * ns * q + (p->op == BN_REDUCE_VAR ? q : 0);
  out->scratch_bytes = words * 4;
  return st;
}

/* Workgroups of softmax / rmsnorm / rmsnorm_quant (rows_plan.h). */
static uint64_t row_groups(uint32_t rows, uint32_t cols, uint32_t dtype) {
  return cdiv(rows, BN_ROWS_PER_GROUP(cols, dtype == BN_DTYPE_F16));
}

int32_t bn_gpu_plan_rows(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out) {
  (void)caps;
  switch (cmd->op) {
    case BN_OP_REDUCE: {
      bn_reduce_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      return plan_reduce(&p, out);
    }
    case BN_OP_SOFTMAX: {
      bn_softmax_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      if (!p.rows || !p.cols) return BN_OK;
      return stage_folded(out, "softmax", row_groups(p.rows, p.cols, p.dtype), 1);
    }
    case BN_OP_RMSNORM: {
      bn_rmsnorm_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      if (!p.rows || !p.cols) return BN_OK;
      return stage_folded(out, "rmsnorm", row_groups(p.rows, p.cols, p.dtype), 1);
    }
    case BN_OP_RMSNORM_QUANT: {
      bn_rmsnorm_quant_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      if (!p.rows || !p.cols) return BN_OK;
      return stage_folded(out, "rmsnorm_quant", row_groups(p.rows, p.cols, BN_DTYPE_F32), 1);
    }
    case BN_OP_ROPE: {
      bn_rope_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      if (!p.tokens || !p.heads || !p.head_dim) return BN_OK;
      return stage_folded(out, "rope", p.tokens, 1);
    }
    default:
      return bn_fail(BN_ERR_INVALID_ARGUMENT, "gpu plan (rows): unexpected op %u", cmd->op);
  }
}
