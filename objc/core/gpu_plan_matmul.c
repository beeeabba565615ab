/*
 * gpu_plan_matmul.c — GPU plans of BN_OP_MATMUL (the tensor matmul), shared by Vulkan and
 * Metal. The shader choice and grids are described in shaders/gemm_plan.h, which the
 * shaders include too, so the split-k slice counts computed here and in the shaders agree.
 */
#include <string.h>

#include "core/backend.h"
#include "../../shaders/bn_plan.h"
#include "../../shaders/gemm_plan.h"

/* f16 element indices are 32-bit in the shaders: at most 2^32 halves per operand. */
#define BN_GEMM_MAX_F16_BYTES (2ull << 32)

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }



/* A grid of `gx` × `gy` tiles for each of `zs` z values: z beyond 65535 folds into y. */
static int32_t add_stage_z(bn_gpu_plan_t* plan, const char* name, uint64_t gx, uint64_t gy,
                           uint64_t zs) {
  uint64_t gz = zs < BN_GRID_MAX ? zs : BN_GRID_MAX;
  return bn_gpu_add_stage(plan, name, gx, gy * ceil_div(zs, gz), gz);
}

int32_t bn_gpu_plan_matmul(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out) {
  (void)caps;
  if (cmd->op != BN_OP_MATMUL) return bn_fail(BN_ERR_INTERNAL, "gpu plan: op %u is not matmul", cmd->op);
  bn_matmul_params_t p;
  memcpy(&p, cmd->params, sizeof p);
  const int f16 = ((p.flags >> 8) & 0xff) == BN_DTYPE_F16;
  if (f16 && (cmd->bytes[0] > BN_GEMM_MAX_F16_BYTES || cmd->bytes[1] > BN_GEMM_MAX_F16_BYTES)) {
    return bn_fail(BN_ERR_UNSUPPORTED, "[matmul] f16 operands of more than 2^32 elements (8 GiB) are too large for the GPU kernels");
  }
  const uint64_t m = p.m, n = p.n, batch = p.batch;
  const int trans_a = (p.flags & BN_MATMUL_TRANS_A) != 0, trans_b = (p.flags & BN_MATMUL_TRANS_B) != 0;
  int32_t st;

  if (m == 1 || n == 1) {
    const uint64_t R = m == 1 ? n : m;
    const int rows_layout = m == 1 ? trans_b : !trans_a;
    if (rows_layout) {
      return bn_gpu_add_stage_1d(out, f16 ? "gemm_gemv_f16" : "gemm_gemv_f32", ceil_div(R, BN_GEMV_ROWS) * batch);
    }
    const uint32_t R32 = (uint32_t)R, b32 = p.batch, k32 = p.k;
    const uint64_t slices = BN_GEMV_KN_SLICES(R32, b32, k32);
    st = add_stage_z(out, f16 ? "gemm_gemv_kn_f16" : "gemm_gemv_kn_f32", ceil_div(R, BN_GEMV_KN_COLS),
                     slices, batch);
    if (st == BN_OK && slices > 1) {
      st = bn_gpu_add_stage_1d(out, "gemm_reduce", ceil_div(batch * R, BN_GEMM_REDUCE_WG));
      out->scratch_bytes = batch * slices * R * 4;
    }
    return st;
  }

  const uint64_t big = ceil_div(m, BN_GEMM_T128) * ceil_div(n, BN_GEMM_T128) * batch;
  if (big >= BN_GEMM_BIG_MIN_TILES) {
    return add_stage_z(out, f16 ? "gemm_f16_t128" : "gemm_f32_t128", ceil_div(n, BN_GEMM_T128),
                       ceil_div(m, BN_GEMM_T128), batch);
  }
  const uint64_t tm = ceil_div(m, BN_GEMM_T64), tn = ceil_div(n, BN_GEMM_T64);
  const uint64_t tiles = tm * tn * batch; /* < 4 · BN_GEMM_BIG_MIN_TILES · 4 here */
  const uint32_t t32 = (uint32_t)tiles, k32 = p.k;
  const uint32_t s_req = BN_GEMM_KSPLIT(t32, k32);
  const uint32_t chunk = BN_GEMM_KCHUNK(k32, s_req);
  const uint64_t slices = BN_GEMM_SLICES(k32, chunk);
  if (slices <= 1) return add_stage_z(out, f16 ? "gemm_f16" : "gemm_f32", tn, tm, batch);
  st = add_stage_z(out, f16 ? "gemm_f16_splitk" : "gemm_f32_splitk", tn, tm, batch * slices);
  if (st == BN_OK) st = bn_gpu_add_stage_1d(out, "gemm_reduce", ceil_div(batch * m * n, BN_GEMM_REDUCE_WG));
  out->scratch_bytes = batch * slices * m * n * 4;
  return st;
}
