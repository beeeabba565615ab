/*
 * vk_internal.h — shared state of the Vulkan backend (objc/vulkan/).
 *
 * The backend never links libvulkan: vk_loader.c dlopens the loader, creates one instance
 * (lazily, once, thread-safe) and describes the physical devices; vk_device.c opens logical
 * devices and manages memory; vk_run.c builds pipelines and runs batches.
 */
#ifndef BN_VK_INTERNAL_H
#define BN_VK_INTERNAL_H

#define VK_NO_PROTOTYPES 1
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan_core.h>

#include "core/backend.h"

/* ---- function tables ---------------------------------------------------------------- */

/* Instance-level functions, loaded once through vkGetInstanceProcAddr. */
#define BNVK_INSTANCE_FNS(X)                  \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceFeatures)              \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)     \
  X(vkCreateDevice)                           \
  X(vkGetDeviceProcAddr)

/* Device-level functions, loaded per VkDevice through vkGetDeviceProcAddr. */
#define BNVK_DEVICE_FNS(X)          \
  X(vkDestroyDevice)                \
  X(vkGetDeviceQueue)               \
  X(vkDeviceWaitIdle)               \
  X(vkCreateCommandPool)            \
  X(vkDestroyCommandPool)           \
  X(vkAllocateCommandBuffers)       \
  X(vkBeginCommandBuffer)           \
  X(vkEndCommandBuffer)             \
  X(vkResetCommandBuffer)           \
  X(vkCreateFence)                  \
  X(vkDestroyFence)                 \
  X(vkResetFences)                  \
  X(vkWaitForFences)                \
  X(vkQueueSubmit)                  \
  X(vkCreateBuffer)                 \
  X(vkDestroyBuffer)                \
  X(vkGetBufferMemoryRequirements)  \
  X(vkAllocateMemory)               \
  X(vkFreeMemory)                   \
  X(vkBindBufferMemory)             \
  X(vkMapMemory)                    \
  X(vkCmdCopyBuffer)                \
  X(vkCmdFillBuffer)                \
  X(vkCmdPipelineBarrier)           \
  X(vkCreateDescriptorSetLayout)    \
  X(vkDestroyDescriptorSetLayout)   \
  X(vkCreatePipelineLayout)         \
  X(vkDestroyPipelineLayout)        \
  X(vkCreateDescriptorPool)         \
  X(vkDestroyDescriptorPool)        \
  X(vkResetDescriptorPool)          \
  X(vkAllocateDescriptorSets)       \
  X(vkUpdateDescriptorSets)         \
  X(vkCreateShaderModule)           \
  X(vkDestroyShaderModule)          \
  X(vkCreatePipelineCache)          \
  X(vkDestroyPipelineCache)         \
  X(vkCreateComputePipelines)       \
  X(vkDestroyPipeline)              \
  X(vkCmdBindPipeline)              \
  X(vkCmdBindDescriptorSets)        \
  X(vkCmdPushConstants)             \
  X(vkCmdDispatch)                  \
  X(vkCreateQueryPool)              \
  X(vkDestroyQueryPool)             \
  X(vkCmdResetQueryPool)            \
  X(vkCmdWriteTimestamp)            \
  X(vkGetQueryPoolResults)

#define BNVK_DECLARE_FN(name) PFN_##name name;

typedef struct bnvk_instance_fns {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  /* Core in Vulkan 1.1, else from VK_KHR_get_physical_device_properties2 (same ABI). */
  PFN_vkGetPhysicalDeviceFeatures2 vkGetPhysicalDeviceFeatures2;
  PFN_vkGetPhysicalDeviceProperties2 vkGetPhysicalDeviceProperties2;
  BNVK_INSTANCE_FNS(BNVK_DECLARE_FN)
} bnvk_instance_fns_t;

typedef struct bnvk_device_fns {
  BNVK_DEVICE_FNS(BNVK_DECLARE_FN)
  PFN_vkCmdPushDescriptorSetKHR vkCmdPushDescriptorSetKHR; /* NULL unless enabled */
} bnvk_device_fns_t;

/* ---- physical devices --------------------------------------------------------------- */

/* Optional features the shaders may use; each is enabled at open when supported. */
typedef struct bnvk_features {
  bool shader_int8, shader_int16, shader_int64, shader_float64;
  bool shader_float16;
  bool storage_buffer_8bit, uniform_storage_8bit, push_constant_8bit;
  bool storage_buffer_16bit, uniform_storage_16bit, push_constant_16bit;
  bool integer_dot_product;
  bool vulkan_memory_model, vulkan_memory_model_device_scope;
  bool buffer_float32_atomic_add;
  bool subgroup_size_control, compute_full_subgroups;
} bnvk_features_t;

/* Device extensions we may enable (each only when listed). */
typedef struct bnvk_exts {
  bool portability_subset;
  bool push_descriptor;
  bool storage_buffer_storage_class; /* needed by 8bit_storage on 1.1 devices */
  bool storage_8bit;
  bool storage_16bit;
  bool float16_int8;
  bool integer_dot_product;
  bool vulkan_memory_model;
  bool shader_atomic_float;
  bool subgroup_size_control;
  bool spirv_1_4;
  bool shader_float_controls; /* needed by spirv_1_4 */
  bool nv_sm_builtins;
  bool amd_shader_core_properties;
  bool driver_properties;
} bnvk_exts_t;

typedef struct bnvk_phys {
  VkPhysicalDevice handle;
  uint32_t raw_index; /* index in vkEnumeratePhysicalDevices (vulkaninfo's GPU<n>) */
  uint32_t api;       /* effective API version: min(instance, device)             */
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  uint32_t queue_family;
  uint32_t timestamp_valid_bits; /* of queue_family; 0: no timestamps */
  uint32_t subgroup_size;
  VkSubgroupFeatureFlags subgroup_ops; /* 0 unless the compute stage supports them */
  uint8_t uuid[VK_UUID_SIZE];
  bool has_uuid;
  bnvk_features_t feat;
  bnvk_exts_t ext;
  uint32_t caps; /* BN_CAP_* */
  uint32_t compute_units;
  uint64_t device_local_bytes;
  uint64_t max_buffer_bytes; /* min(maxStorageBufferRange, maxMemoryAllocationSize) */
  char driver[64];
  /* Bytes our allocations hold in each heap, over every VkDevice opened on this physical
   * device (lavapipe's memory is malloc'ed host memory: overcommitting it would end in the
   * OOM killer, not in an error). */
  _Atomic uint64_t heap_used[VK_MAX_MEMORY_HEAPS];
} bnvk_phys_t;

/* Loads the loader and creates the instance once (thread-safe). Returns false when Vulkan is
 * absent or unusable; the devices are then zero. */
bool bnvk_init(void);
extern bnvk_instance_fns_t bnvk_fn;
extern VkInstance bnvk_instance;
extern uint32_t bnvk_instance_api;
uint32_t bnvk_device_count(void);
bnvk_phys_t* bnvk_phys_get(uint32_t local_index);

/* ---- logical devices ---------------------------------------------------------------- */

typedef struct bnvk_buf {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size; /* VkBuffer size: the request rounded up to 16 bytes */
  void* map;         /* persistently mapped pointer, or NULL */
  uint32_t heap;
  uint64_t charged; /* bytes charged to heap_used[heap] */
} bnvk_buf_t;

/* One shader's state on a device: checked once, its pipeline built on first use. */
typedef struct bnvk_pipeline {
  const bn_shader_blob_t* shader;
  int32_t check;       /* BN_OK, or why the shader cannot run here (BN_ERR_UNSUPPORTED…) */
  int32_t build;       /* BN_OK once built, BN_ERR_COMPILE when building failed; else 1  */
  VkPipeline pipeline;
  char message[240];
} bnvk_pipeline_t;

#define BNVK_BINDINGS 8u
#define BNVK_STAGING_SLOTS 2u

typedef struct bnvk_dev {
  bnvk_phys_t* phys;
  VkDevice device;
  bnvk_device_fns_t fn;
  VkQueue queue;
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd;                           /* batches */
  VkFence fence;
  VkCommandBuffer xfer_cmd[BNVK_STAGING_SLOTS];  /* staging copies, fills */
  VkFence xfer_fence[BNVK_STAGING_SLOTS];
  bool xfer_pending[BNVK_STAGING_SLOTS];
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipeline_layout;
  VkPipelineCache pipeline_cache;
  bool push_descriptors;
  VkDescriptorPool desc_pool; /* without push descriptors: reset per batch */
  uint32_t desc_pool_sets;
  VkQueryPool query_pool; /* VK_NULL_HANDLE without timestamps */
  double timestamp_period_ns;
  uint32_t caps;
  bool map_private; /* PRIVATE memory may be mapped (not discrete) */
  /* Memory types to try, best first (UINT32_MAX ends the list). */
  uint32_t shared_types[VK_MAX_MEMORY_TYPES + 1];
  uint32_t private_types[VK_MAX_MEMORY_TYPES + 1];
  uint32_t staging_types[VK_MAX_MEMORY_TYPES + 1];
  bnvk_buf_t dummy;
  bnvk_buf_t scratch;
  bnvk_buf_t staging[BNVK_STAGING_SLOTS];
  uint64_t fence_timeout_ns; /* 0: wait forever */
  /* Set when the device was lost or a wait timed out: every later call fails. */
  int32_t broken;
  bool hung; /* work may still run: objects must not be destroyed */
  uint32_t allocations;
  bnvk_pipeline_t* pipelines;
  uint32_t n_pipelines, cap_pipelines;
  int8_t op_supported[BN_OP_COUNT_]; /* -1 unknown, 0, 1 */
} bnvk_dev_t;

/* vk_device.c */
int32_t bnvk_open(uint32_t local_index, void** out_dev);
void bnvk_close(void* dev);
int32_t bnvk_mem_alloc(void* dev, uint64_t size, uint32_t storage, bn_mem_t* out);
void bnvk_mem_free(void* dev, bn_mem_t* mem);
int32_t bnvk_mem_zero(void* dev, bn_mem_t* mem, uint64_t size);
int32_t bnvk_mem_write(void* dev, bn_mem_t* mem, uint64_t off, const void* src, uint64_t len);
int32_t bnvk_mem_read(void* dev, bn_mem_t* mem, uint64_t off, void* dst, uint64_t len);
/* Internal buffers (scratch, dummy, staging). */
int32_t bnvk_buf_create(bnvk_dev_t* d, uint64_t size, const uint32_t* types, bool want_map,
                        bnvk_buf_t* out, const char* what);
void bnvk_buf_destroy(bnvk_dev_t* d, bnvk_buf_t* b);
/* Submits cmd and waits for fence (then resets it); maps failures to BN_ERR_*. */
int32_t bnvk_submit_wait(bnvk_dev_t* d, VkCommandBuffer cmd, VkFence fence, const char* what);
int32_t bnvk_wait_fence(bnvk_dev_t* d, VkFence fence, const char* what);
/* A status for a failed Vulkan call (marks the device broken when it was lost). */
int32_t bnvk_fail(bnvk_dev_t* d, VkResult r, const char* what);
const char* bnvk_result_name(VkResult r);
int32_t bnvk_check_usable(bnvk_dev_t* d);

/* vk_run.c */
bool bnvk_supports_op(void* dev, uint32_t op);
int32_t bnvk_run(void* dev, const bn_cmd_t* cmds, uint32_t n, double* gpu_seconds);
void bnvk_destroy_pipelines(bnvk_dev_t* d);

/* vk_spirv.c: capabilities a SPIR-V module declares, checked against a device. Returns
 * BN_OK, or BN_ERR_UNSUPPORTED / BN_ERR_COMPILE with a message in msg. */
int32_t bnvk_spirv_check(const bnvk_phys_t* p, const uint32_t* words, uint64_t bytes,
                         char* msg, size_t msg_cap);

/* Common helpers. */
bool bnvk_env_flag(const char* name);

#endif /* BN_VK_INTERNAL_H */
