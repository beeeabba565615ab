/*
 * vk_spirv.c — what a SPIR-V module asks of the device.
 *
 * Before a pipeline is built, the module's header and OpCapability instructions are checked
 * against the features this backend enabled. A shader that needs something the device lacks
 * is refused with BN_ERR_UNSUPPORTED and a message naming the feature, instead of reaching a
 * driver, where it is undefined behaviour (a crash, at worst).
 */
#include <stdio.h>
#include <string.h>

#include "vk_internal.h"

#define SPV_MAGIC 0x07230203u
#define SPV_OP_CAPABILITY 17u

/* SPIR-V capability numbers (SPIR-V spec, "Capability") that need a device feature. */
enum {
  CAP_FLOAT16 = 9,
  CAP_FLOAT64 = 10,
  CAP_INT64 = 11,
  CAP_INT64_ATOMICS = 12,
  CAP_INT16 = 22,
  CAP_INT8 = 39,
  CAP_GROUP_NON_UNIFORM = 61,
  CAP_GROUP_NON_UNIFORM_VOTE = 62,
  CAP_GROUP_NON_UNIFORM_ARITHMETIC = 63,
  CAP_GROUP_NON_UNIFORM_BALLOT = 64,
  CAP_GROUP_NON_UNIFORM_SHUFFLE = 65,
  CAP_GROUP_NON_UNIFORM_SHUFFLE_RELATIVE = 66,
  CAP_GROUP_NON_UNIFORM_CLUSTERED = 67,
  CAP_GROUP_NON_UNIFORM_QUAD = 68,
  CAP_STORAGE_BUFFER_16BIT = 4433,
  CAP_UNIFORM_STORAGE_16BIT = 4434,
  CAP_PUSH_CONSTANT_16BIT = 4435,
  CAP_STORAGE_BUFFER_8BIT = 4448,
  CAP_UNIFORM_STORAGE_8BIT = 4449,
  CAP_PUSH_CONSTANT_8BIT = 4450,
  CAP_VULKAN_MEMORY_MODEL = 5345,
  CAP_VULKAN_MEMORY_MODEL_DEVICE_SCOPE = 5346,
  CAP_DOT_PRODUCT_INPUT_ALL = 6016,
  CAP_DOT_PRODUCT_INPUT_4X8BIT = 6017,
  CAP_DOT_PRODUCT_INPUT_4X8BIT_PACKED = 6018,
  CAP_DOT_PRODUCT = 6019,
  CAP_ATOMIC_FLOAT32_ADD = 6033
};

/* NULL when the device has what capability cap needs, else the missing feature's name. */
static const char* missing_feature(const bnvk_phys_t* p, uint32_t cap) {
  const bnvk_features_t* f = &p->feat;
  const VkSubgroupFeatureFlags sg = p->subgroup_ops;
  switch (cap) {
    case CAP_FLOAT16: return f->shader_float16 ? NULL : "shaderFloat16";
    case CAP_FLOAT64: return f->shader_float64 ? NULL : "shaderFloat64";
    case CAP_INT64: return f->shader_int64 ? NULL : "shaderInt64";
    case CAP_INT64_ATOMICS: return "shaderBufferInt64Atomics";
    case CAP_INT16: return f->shader_int16 ? NULL : "shaderInt16";
    case CAP_INT8: return f->shader_int8 ? NULL : "shaderInt8";
    case CAP_GROUP_NON_UNIFORM:
      return (sg & VK_SUBGROUP_FEATURE_BASIC_BIT) ? NULL : "subgroup operations in compute";
    case CAP_GROUP_NON_UNIFORM_VOTE:
      return (sg & VK_SUBGROUP_FEATURE_VOTE_BIT) ? NULL : "subgroup vote";
    case CAP_GROUP_NON_UNIFORM_ARITHMETIC:
      return (sg & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) ? NULL : "subgroup arithmetic";
    case CAP_GROUP_NON_UNIFORM_BALLOT:
      return (sg & VK_SUBGROUP_FEATURE_BALLOT_BIT) ? NULL : "subgroup ballot";
    case CAP_GROUP_NON_UNIFORM_SHUFFLE:
      return (sg & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) ? NULL : "subgroup shuffle";
    case CAP_GROUP_NON_UNIFORM_SHUFFLE_RELATIVE:
      return (sg & VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT) ? NULL : "subgroup shuffle relative";
    case CAP_GROUP_NON_UNIFORM_CLUSTERED:
      return (sg & VK_SUBGROUP_FEATURE_CLUSTERED_BIT) ? NULL : "subgroup clustered";
    case CAP_GROUP_NON_UNIFORM_QUAD:
      return (sg & VK_SUBGROUP_FEATURE_QUAD_BIT) ? NULL : "subgroup quad";
    case CAP_STORAGE_BUFFER_16BIT: return f->storage_buffer_16bit ? NULL : "storageBuffer16BitAccess";
    case CAP_UNIFORM_STORAGE_16BIT:
      return f->uniform_storage_16bit ? NULL : "uniformAndStorageBuffer16BitAccess";
    case CAP_PUSH_CONSTANT_16BIT: return f->push_constant_16bit ? NULL : "storagePushConstant16";
    case CAP_STORAGE_BUFFER_8BIT: return f->storage_buffer_8bit ? NULL : "storageBuffer8BitAccess";
    case CAP_UNIFORM_STORAGE_8BIT:
      return f->uniform_storage_8bit ? NULL : "uniformAndStorageBuffer8BitAccess";
    case CAP_PUSH_CONSTANT_8BIT: return f->push_constant_8bit ? NULL : "storagePushConstant8";
    case CAP_VULKAN_MEMORY_MODEL: return f->vulkan_memory_model ? NULL : "vulkanMemoryModel";
    case CAP_VULKAN_MEMORY_MODEL_DEVICE_SCOPE:
      return f->vulkan_memory_model_device_scope ? NULL : "vulkanMemoryModelDeviceScope";
    case CAP_DOT_PRODUCT_INPUT_ALL:
    case CAP_DOT_PRODUCT_INPUT_4X8BIT:
    case CAP_DOT_PRODUCT_INPUT_4X8BIT_PACKED:
    case CAP_DOT_PRODUCT:
      return f->integer_dot_product ? NULL : "shaderIntegerDotProduct";
    case CAP_ATOMIC_FLOAT32_ADD:
      return f->buffer_float32_atomic_add ? NULL : "shaderBufferFloat32AtomicAdd";
    default: return NULL; /* core, or unknown: left to the driver */
  }
}

int32_t bnvk_spirv_check(const bnvk_phys_t* p, const uint32_t* words, uint64_t bytes,
                         char* msg, size_t msg_cap) {
  if (!words || bytes < 20 || bytes % 4 != 0 || words[0] != SPV_MAGIC) {
    snprintf(msg, msg_cap, "not a SPIR-V module (%llu bytes)", (unsigned long long)bytes);
    return BN_ERR_COMPILE;
  }
  const uint64_t n = bytes / 4;
  /* SPIR-V version → the Vulkan version that consumes it. */
  const uint32_t major = (words[1] >> 16) & 0xffu, minor = (words[1] >> 8) & 0xffu;
  uint32_t need_api = VK_API_VERSION_1_0;
  if (major != 1) {
    snprintf(msg, msg_cap, "SPIR-V %u.%u is unknown", major, minor);
    return BN_ERR_COMPILE;
  }
  if (minor >= 6) need_api = VK_API_VERSION_1_3;
  else if (minor >= 4) need_api = VK_API_VERSION_1_2;
  else if (minor >= 1) need_api = VK_API_VERSION_1_1;
  const bool spirv14_ext = p->ext.spirv_1_4 && p->ext.shader_float_controls && minor == 4;
  if (p->api < need_api && !spirv14_ext) {
    snprintf(msg, msg_cap, "SPIR-V %u.%u needs Vulkan %u.%u; the device offers %u.%u", major,
             minor, VK_API_VERSION_MAJOR(need_api), VK_API_VERSION_MINOR(need_api),
             VK_API_VERSION_MAJOR(p->api), VK_API_VERSION_MINOR(p->api));
    return BN_ERR_UNSUPPORTED;
  }
  uint64_t i = 5;
  while (i < n) {
    const uint32_t count = words[i] >> 16, op = words[i] & 0xffffu;
    if (count == 0 || count > n - i) {
      snprintf(msg, msg_cap, "malformed SPIR-V at word %llu", (unsigned long long)i);
      return BN_ERR_COMPILE;
    }
    if (op == SPV_OP_CAPABILITY && count >= 2) {
      const char* missing = missing_feature(p, words[i + 1]);
      if (missing) {
        snprintf(msg, msg_cap, "needs %s (SPIR-V capability %u), which %s lacks", missing,
                 words[i + 1], p->props.deviceName);
        return BN_ERR_UNSUPPORTED;
      }
    }
    i += count;
  }
  return BN_OK;
}
