/* tensor_matmul.c — BN_OP_MATMUL on the CPU (placeholder until implemented). */
#include "core/backend.h"
int32_t bn_cpu_matmul(const bn_matmul_params_t* p, void* const* bufs) {
  (void)p; (void)bufs;
  return bn_fail(BN_ERR_UNSUPPORTED, "[matmul] not implemented on the CPU yet");
}
