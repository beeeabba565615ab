/* tensor_rows.c — reductions and the transformer row ops on the CPU (placeholder). */
#include "core/backend.h"
#define STUB(fn, T, name) \
  int32_t fn(const T* p, void* const* bufs) { (void)p; (void)bufs; return bn_fail(BN_ERR_UNSUPPORTED, "[" name "] not implemented on the CPU yet"); }
STUB(bn_cpu_reduce, bn_reduce_params_t, "reduce")
STUB(bn_cpu_softmax, bn_softmax_params_t, "softmax")
STUB(bn_cpu_rmsnorm, bn_rmsnorm_params_t, "rmsnorm")
STUB(bn_cpu_rope, bn_rope_params_t, "rope")
STUB(bn_cpu_rmsnorm_quant, bn_rmsnorm_quant_params_t, "rmsnorm_quant")
