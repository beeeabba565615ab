/* gpu_plan_elementwise.c — GPU plans of the tensor-op family "elementwise" (placeholder until implemented). */
#include "core/backend.h"
int32_t bn_gpu_plan_elementwise(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out) {
  (void)caps; (void)out;
  return bn_fail(BN_ERR_UNSUPPORTED, "op %u has no GPU kernel yet", cmd->op);
}
