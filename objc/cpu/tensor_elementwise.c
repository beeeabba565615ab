/* tensor_elementwise.c — BN_OP_BINARY / BN_OP_UNARY on the CPU (placeholder). */
#include "core/backend.h"
int32_t bn_cpu_binary(const bn_binary_params_t* p, void* const* bufs) {
  (void)p; (void)bufs;
  return bn_fail(BN_ERR_UNSUPPORTED, "[binary] not implemented on the CPU yet");
}
int32_t bn_cpu_unary(const bn_unary_params_t* p, void* const* bufs) {
  (void)p; (void)bufs;
  return bn_fail(BN_ERR_UNSUPPORTED, "[unary] not implemented on the CPU yet");
}
