/*
 * vk_device.c — logical devices (open/close) and memory (alloc, free, zero, write, read).
 *
 * Memory: every bn buffer is one VkBuffer with its own VkDeviceMemory (the core's pool keeps
 * the number of allocations small). SHARED memory is host-visible and coherent, persistently
 * mapped; PRIVATE memory is device-local and, on discrete GPUs, not mappable: writes and
 * reads go through two staging buffers used in turn, so the host copy of one chunk overlaps
 * the device copy of the next.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vk_internal.h"

#define STAGING_MAX (16ull << 20) /* bytes per staging slot */
#define STAGING_MIN (64ull << 10)
#define DUMMY_BYTES 256u

/* ---- results and failures ------------------------------------------------------------ */

const char* bnvk_result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_UNKNOWN: return "VK_ERROR_UNKNOWN";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    case VK_PIPELINE_COMPILE_REQUIRED: return "VK_PIPELINE_COMPILE_REQUIRED";
    default: return "VkResult";
  }
}

static int32_t status_of(VkResult r) {
  switch (r) {
    case VK_ERROR_DEVICE_LOST: return BN_ERR_DEVICE_LOST;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_FRAGMENTATION:
    case VK_ERROR_TOO_MANY_OBJECTS:
    case VK_ERROR_MEMORY_MAP_FAILED: return BN_ERR_OUT_OF_MEMORY;
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return BN_ERR_UNSUPPORTED;
    default: return BN_ERR_INTERNAL;
  }
}

int32_t bnvk_fail(bnvk_dev_t* d, VkResult r, const char* what) {
  int32_t st = status_of(r);
  if (st == BN_ERR_DEVICE_LOST && d) d->broken = BN_ERR_DEVICE_LOST;
  return bn_fail(st, "vulkan: %s failed: %s (%d)", what, bnvk_result_name(r), (int)r);
}

int32_t bnvk_check_usable(bnvk_dev_t* d) {
  if (!d) return bn_fail(BN_ERR_INVALID_HANDLE, "vulkan: no device");
  if (d->broken) {
    return bn_fail(BN_ERR_DEVICE_LOST, "vulkan: %s was lost%s; close it and open it again",
                   d->phys->props.deviceName, d->hung ? " (a batch did not finish)" : "");
  }
  return BN_OK;
}

/* ---- fences and submission ----------------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int32_t bnvk_wait_fence(bnvk_dev_t* d, VkFence fence, const char* what) {
  const uint64_t start = now_ns();
  for (;;) {
    VkResult r = d->fn.vkWaitForFences(d->device, 1, &fence, VK_TRUE, 1000000000ull);
    if (r == VK_SUCCESS) break;
    if (r != VK_TIMEOUT) return bnvk_fail(d, r, what);
    if (d->fence_timeout_ns != 0 && now_ns() - start >= d->fence_timeout_ns) {
      /* The work may still be running: nothing it uses may be destroyed any more. */
      d->broken = BN_ERR_DEVICE_LOST;
      d->hung = true;
      return bn_fail(BN_ERR_DEVICE_LOST,
                     "vulkan: %s did not complete within %g s (BITNET_VULKAN_TIMEOUT_S); "
                     "the device is unusable now",
                     what, (double)d->fence_timeout_ns / 1e9);
    }
  }
  VkResult r = d->fn.vkResetFences(d->device, 1, &fence);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkResetFences");
  return BN_OK;
}

static int32_t submit(bnvk_dev_t* d, VkCommandBuffer cmd, VkFence fence) {
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &cmd,
  };
  VkResult r = d->fn.vkQueueSubmit(d->queue, 1, &si, fence);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkQueueSubmit");
  return BN_OK;
}

int32_t bnvk_submit_wait(bnvk_dev_t* d, VkCommandBuffer cmd, VkFence fence, const char* what) {
  int32_t st = submit(d, cmd, fence);
  if (st != BN_OK) return st;
  return bnvk_wait_fence(d, fence, what);
}

static int32_t begin_cmd(bnvk_dev_t* d, VkCommandBuffer cmd) {
  VkResult r = d->fn.vkResetCommandBuffer(cmd, 0);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  r = d->fn.vkBeginCommandBuffer(cmd, &bi);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkBeginCommandBuffer");
  return BN_OK;
}

static void barrier(bnvk_dev_t* d, VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                    VkAccessFlags src, VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src, .dstAccessMask = dst};
  d->fn.vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* ---- memory types -------------------------------------------------------------------- */

enum { PURPOSE_SHARED, PURPOSE_PRIVATE, PURPOSE_STAGING };

/* Fills out (UINT32_MAX-terminated) with the memory types for a purpose, best first.
 *
 * SHARED: host-visible and coherent, host-cached first. The host reads SHARED memory through
 * its pointer, and uncached memory reads at a crawl: on an H200, the ReBAR type
 * (DEVICE_LOCAL|HOST_VISIBLE) read at 0.02 GB/s against 6+ GB/s for cached system memory. So
 * on discrete GPUs SHARED is system memory (the GPU reads it over PCIe, as the header says;
 * BITNET_VULKAN_SHARED_DEVICE_LOCAL=1 prefers the ReBAR heap instead, for write-only data),
 * and on unified devices the device-local type that is also cached.
 * PRIVATE: device-local only when the device has device-local memory at all (a full VRAM is
 * BN_ERR_OUT_OF_MEMORY, never a silent fall back to system memory); on discrete GPUs the
 * type that is not host-visible (plain VRAM); elsewhere a mappable one, so that writes and
 * reads need no staging copy.
 * STAGING: host-cached system memory, for fast copies out. */
static void rank_types(const bnvk_phys_t* p, int purpose, uint32_t* out) {
  const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                              HCA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                              DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const VkMemoryPropertyFlags avoid = VK_MEMORY_PROPERTY_PROTECTED_BIT |
                                      VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT |
                                      VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD |
                                      VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD;
  const bool discrete = p->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  const bool rebar = bnvk_env_flag("BITNET_VULKAN_SHARED_DEVICE_LOCAL");
  bool any_local = false;
  for (uint32_t t = 0; t < p->mem.memoryTypeCount; t++) {
    VkMemoryPropertyFlags f = p->mem.memoryTypes[t].propertyFlags;
    if (!(f & avoid) && (f & DL)) any_local = true;
  }
  int score[VK_MAX_MEMORY_TYPES];
  uint32_t n = 0;
  for (uint32_t t = 0; t < p->mem.memoryTypeCount; t++) {
    VkMemoryPropertyFlags f = p->mem.memoryTypes[t].propertyFlags;
    if ((f & avoid) || p->mem.memoryHeaps[p->mem.memoryTypes[t].heapIndex].size == 0) continue;
    const bool mappable = (f & (HV | HC)) == (HV | HC);
    const bool local = (f & DL) != 0, cached = (f & HCA) != 0;
    int s = -1;
    switch (purpose) {
      case PURPOSE_SHARED:
        if (!mappable) break;
        s = 1 + (cached ? 4 : 0);
        if (discrete) s += rebar ? (local ? 8 : 0) : (local ? 0 : 2);
        else s += local ? 2 : 0;
        break;
      case PURPOSE_PRIVATE:
        if (any_local && !local) break;
        s = 1;
        if (discrete) s += (f & HV) ? 0 : 4;
        else s += (mappable ? 4 : 0) + (cached ? 1 : 0);
        break;
      case PURPOSE_STAGING:
        if (mappable) s = 1 + (cached ? 4 : 0) + (local ? 0 : 2);
        break;
    }
    if (s < 0) continue;
    /* insertion by score, stable in type index */
    uint32_t i = n++;
    while (i > 0 && score[i - 1] < s) {
      out[i] = out[i - 1];
      score[i] = score[i - 1];
      i--;
    }
    out[i] = t;
    score[i] = s;
  }
  out[n] = UINT32_MAX;
}

/* ---- buffers ------------------------------------------------------------------------- */

int32_t bnvk_buf_create(bnvk_dev_t* d, uint64_t size, const uint32_t* types, bool want_map,
                        bnvk_buf_t* out, const char* what) {
  bnvk_phys_t* p = d->phys;
  memset(out, 0, sizeof *out);
  const uint64_t vk_size = bn_round_up(size ? size : 1, 16);
  if (size > p->max_buffer_bytes || vk_size > p->max_buffer_bytes) {
    return bn_fail(BN_ERR_SIZE,
                   "vulkan: %s of %llu bytes is larger than the device's largest buffer "
                   "(%llu bytes)",
                   what, (unsigned long long)size, (unsigned long long)p->max_buffer_bytes);
  }
  if (d->allocations >= p->props.limits.maxMemoryAllocationCount) {
    return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: %s: too many allocations (the limit is %u)",
                   what, p->props.limits.maxMemoryAllocationCount);
  }
  VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = vk_size,
      .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkBuffer buf = VK_NULL_HANDLE;
  VkResult r = d->fn.vkCreateBuffer(d->device, &bci, NULL, &buf);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkCreateBuffer");
  VkMemoryRequirements req;
  d->fn.vkGetBufferMemoryRequirements(d->device, buf, &req);

  VkResult last = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  bool tried = false, over_heap = false;
  for (const uint32_t* t = types; *t != UINT32_MAX; t++) {
    if (!(req.memoryTypeBits & (1u << *t))) continue;
    tried = true;
    const uint32_t heap = p->mem.memoryTypes[*t].heapIndex;
    const uint64_t heap_size = p->mem.memoryHeaps[heap].size;
    /* Never hold more than the heap in our own allocations. */
    uint64_t before = atomic_fetch_add(&p->heap_used[heap], req.size);
    if (before + req.size > heap_size || before + req.size < before) {
      atomic_fetch_sub(&p->heap_used[heap], req.size);
      over_heap = true;
      continue;
    }
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = *t,
    };
    VkDeviceMemory mem = VK_NULL_HANDLE;
    r = d->fn.vkAllocateMemory(d->device, &mai, NULL, &mem);
    if (r != VK_SUCCESS) {
      atomic_fetch_sub(&p->heap_used[heap], req.size);
      last = r;
      if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) continue;
      d->fn.vkDestroyBuffer(d->device, buf, NULL);
      return bnvk_fail(d, r, "vkAllocateMemory");
    }
    r = d->fn.vkBindBufferMemory(d->device, buf, mem, 0);
    void* map = NULL;
    const VkMemoryPropertyFlags need =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    if (r == VK_SUCCESS && want_map && (p->mem.memoryTypes[*t].propertyFlags & need) == need) {
      r = d->fn.vkMapMemory(d->device, mem, 0, VK_WHOLE_SIZE, 0, &map);
      if (r != VK_SUCCESS) map = NULL;
    }
    if (r != VK_SUCCESS) {
      d->fn.vkFreeMemory(d->device, mem, NULL);
      atomic_fetch_sub(&p->heap_used[heap], req.size);
      d->fn.vkDestroyBuffer(d->device, buf, NULL);
      return bnvk_fail(d, r, map ? "vkBindBufferMemory" : "vkBindBufferMemory/vkMapMemory");
    }
    out->buffer = buf;
    out->memory = mem;
    out->size = vk_size;
    out->map = map;
    out->heap = heap;
    out->charged = req.size;
    d->allocations++;
    return BN_OK;
  }
  d->fn.vkDestroyBuffer(d->device, buf, NULL);
  if (!tried) {
    return bn_fail(BN_ERR_UNSUPPORTED, "vulkan: %s: no suitable memory type on %s", what,
                   p->props.deviceName);
  }
  if (over_heap && last == VK_ERROR_OUT_OF_DEVICE_MEMORY) {
    return bn_fail(BN_ERR_OUT_OF_MEMORY,
                   "vulkan: %s of %llu bytes: the device's memory heap is full", what,
                   (unsigned long long)size);
  }
  return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: %s of %llu bytes failed: %s", what,
                 (unsigned long long)size, bnvk_result_name(last));
}

void bnvk_buf_destroy(bnvk_dev_t* d, bnvk_buf_t* b) {
  if (!b->buffer && !b->memory) return;
  if (!d->hung) {
    if (b->buffer) d->fn.vkDestroyBuffer(d->device, b->buffer, NULL);
    if (b->memory) d->fn.vkFreeMemory(d->device, b->memory, NULL);
    atomic_fetch_sub(&d->phys->heap_used[b->heap], b->charged);
    if (d->allocations > 0) d->allocations--;
  }
  memset(b, 0, sizeof *b);
}

/* ---- open / close -------------------------------------------------------------------- */

static void destroy_device(bnvk_dev_t* d) {
  if (d->device && !d->hung) {
    d->fn.vkDeviceWaitIdle(d->device);
    bnvk_destroy_pipelines(d);
    bnvk_buf_destroy(d, &d->dummy);
    bnvk_buf_destroy(d, &d->scratch);
    for (uint32_t i = 0; i < BNVK_STAGING_SLOTS; i++) bnvk_buf_destroy(d, &d->staging[i]);
    if (d->query_pool) d->fn.vkDestroyQueryPool(d->device, d->query_pool, NULL);
    if (d->desc_pool) d->fn.vkDestroyDescriptorPool(d->device, d->desc_pool, NULL);
    if (d->pipeline_cache) d->fn.vkDestroyPipelineCache(d->device, d->pipeline_cache, NULL);
    if (d->pipeline_layout) d->fn.vkDestroyPipelineLayout(d->device, d->pipeline_layout, NULL);
    if (d->set_layout) d->fn.vkDestroyDescriptorSetLayout(d->device, d->set_layout, NULL);
    if (d->fence) d->fn.vkDestroyFence(d->device, d->fence, NULL);
    for (uint32_t i = 0; i < BNVK_STAGING_SLOTS; i++) {
      if (d->xfer_fence[i]) d->fn.vkDestroyFence(d->device, d->xfer_fence[i], NULL);
    }
    if (d->cmd_pool) d->fn.vkDestroyCommandPool(d->device, d->cmd_pool, NULL);
    d->fn.vkDestroyDevice(d->device, NULL);
  } else if (d->hung) {
    /* A batch may still run on the device: leak its objects rather than free them under it. */
    bnvk_destroy_pipelines(d);
  }
  free(d);
}

void bnvk_close(void* dev) {
  if (dev) destroy_device((bnvk_dev_t*)dev);
}

static int32_t create_device(bnvk_dev_t* d) {
  bnvk_phys_t* p = d->phys;
  const bool v12 = p->api >= VK_API_VERSION_1_2, v13 = p->api >= VK_API_VERSION_1_3;
  const bnvk_exts_t* e = &p->ext;
  const bnvk_features_t* f = &p->feat;

  const char* exts[16];
  uint32_t n_ext = 0;
  if (e->portability_subset) exts[n_ext++] = "VK_KHR_portability_subset";
  d->push_descriptors = e->push_descriptor && !bnvk_env_flag("BITNET_VULKAN_NO_PUSH_DESCRIPTOR");
  if (d->push_descriptors) exts[n_ext++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
  bool use_s8 = v12, use_f16 = v12, use_vmm = v12, use_dot = v13, use_ssc = v13;
  if (!v12) {
    if (e->storage_8bit && e->storage_buffer_storage_class) {
      exts[n_ext++] = VK_KHR_STORAGE_BUFFER_STORAGE_CLASS_EXTENSION_NAME;
      exts[n_ext++] = VK_KHR_8BIT_STORAGE_EXTENSION_NAME;
      use_s8 = true;
    }
    if (e->float16_int8) {
      exts[n_ext++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
      use_f16 = true;
    }
    if (e->vulkan_memory_model) {
      exts[n_ext++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;
      use_vmm = true;
    }
    if (e->spirv_1_4 && e->shader_float_controls) {
      exts[n_ext++] = VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME;
      exts[n_ext++] = VK_KHR_SPIRV_1_4_EXTENSION_NAME;
    }
  }
  if (!v13) {
    if (e->integer_dot_product && f->integer_dot_product) {
      exts[n_ext++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
      use_dot = true;
    }
    if (e->subgroup_size_control && f->subgroup_size_control) {
      exts[n_ext++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
      use_ssc = true;
    }
  }
  const bool use_af = e->shader_atomic_float && f->buffer_float32_atomic_add;
  if (use_af) exts[n_ext++] = VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME;

  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.features.shaderInt16 = f->shader_int16;
  f2.features.shaderInt64 = f->shader_int64;
  f2.features.shaderFloat64 = f->shader_float64;
  VkPhysicalDevice16BitStorageFeatures s16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
      .storageBuffer16BitAccess = f->storage_buffer_16bit,
      .uniformAndStorageBuffer16BitAccess = f->uniform_storage_16bit,
      .storagePushConstant16 = f->push_constant_16bit,
  };
  VkPhysicalDevice8BitStorageFeatures s8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES,
      .storageBuffer8BitAccess = f->storage_buffer_8bit,
      .uniformAndStorageBuffer8BitAccess = f->uniform_storage_8bit,
      .storagePushConstant8 = f->push_constant_8bit,
  };
  VkPhysicalDeviceShaderFloat16Int8Features f16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
      .shaderFloat16 = f->shader_float16,
      .shaderInt8 = f->shader_int8,
  };
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
      .shaderIntegerDotProduct = f->integer_dot_product,
  };
  VkPhysicalDeviceVulkanMemoryModelFeatures vmm = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
      .vulkanMemoryModel = f->vulkan_memory_model,
      .vulkanMemoryModelDeviceScope = f->vulkan_memory_model_device_scope,
  };
  VkPhysicalDeviceShaderAtomicFloatFeaturesEXT af = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT,
      .shaderBufferFloat32AtomicAdd = VK_TRUE,
  };
  VkPhysicalDeviceSubgroupSizeControlFeatures ssc = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
      .subgroupSizeControl = f->subgroup_size_control,
      .computeFullSubgroups = f->compute_full_subgroups,
  };
  void** tail = &f2.pNext;
#define CHAIN(s)       \
  do {                 \
    *tail = &(s);      \
    tail = &(s).pNext; \
  } while (0)
  CHAIN(s16);
  if (use_s8) CHAIN(s8);
  if (use_f16) CHAIN(f16);
  if (use_dot) CHAIN(dot);
  if (use_vmm) CHAIN(vmm);
  if (use_af) CHAIN(af);
  if (use_ssc) CHAIN(ssc);
#undef CHAIN

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = p->queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .pNext = &f2,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
      .enabledExtensionCount = n_ext,
      .ppEnabledExtensionNames = exts,
  };
  VkResult r = bnvk_fn.vkCreateDevice(p->handle, &dci, NULL, &d->device);
  if (r != VK_SUCCESS) {
    d->device = VK_NULL_HANDLE;
    return bnvk_fail(d, r, "vkCreateDevice");
  }
  bool ok = true;
#define LOAD(name)                                                                \
  d->fn.name = (PFN_##name)bnvk_fn.vkGetDeviceProcAddr(d->device, #name);         \
  if (!d->fn.name) ok = false;
  BNVK_DEVICE_FNS(LOAD)
#undef LOAD
  if (!ok || !d->fn.vkDestroyDevice) {
    PFN_vkDestroyDevice destroy =
        (PFN_vkDestroyDevice)bnvk_fn.vkGetDeviceProcAddr(d->device, "vkDestroyDevice");
    if (destroy) destroy(d->device, NULL);
    d->device = VK_NULL_HANDLE;
    return bn_fail(BN_ERR_INTERNAL, "vulkan: a core device function is missing on %s",
                   p->props.deviceName);
  }
  if (d->push_descriptors) {
    d->fn.vkCmdPushDescriptorSetKHR = (PFN_vkCmdPushDescriptorSetKHR)bnvk_fn.vkGetDeviceProcAddr(
        d->device, "vkCmdPushDescriptorSetKHR");
    if (!d->fn.vkCmdPushDescriptorSetKHR) d->push_descriptors = false;
  }
  d->fn.vkGetDeviceQueue(d->device, p->queue_family, 0, &d->queue);
  return BN_OK;
}

static int32_t create_objects(bnvk_dev_t* d) {
  bnvk_phys_t* p = d->phys;
  VkResult r;
  VkCommandPoolCreateInfo cpi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = p->queue_family,
  };
  r = d->fn.vkCreateCommandPool(d->device, &cpi, NULL, &d->cmd_pool);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkCreateCommandPool");
  VkCommandBuffer cmds[1 + BNVK_STAGING_SLOTS];
  VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = d->cmd_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1 + BNVK_STAGING_SLOTS,
  };
  r = d->fn.vkAllocateCommandBuffers(d->device, &cai, cmds);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkAllocateCommandBuffers");
  d->cmd = cmds[0];
  for (uint32_t i = 0; i < BNVK_STAGING_SLOTS; i++) d->xfer_cmd[i] = cmds[1 + i];
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  r = d->fn.vkCreateFence(d->device, &fci, NULL, &d->fence);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkCreateFence");
  for (uint32_t i = 0; i < BNVK_STAGING_SLOTS; i++) {
    r = d->fn.vkCreateFence(d->device, &fci, NULL, &d->xfer_fence[i]);
    if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkCreateFence");
  }

  VkDescriptorSetLayoutBinding binds[BNVK_BINDINGS];
  for (uint32_t i = 0; i < BNVK_BINDINGS; i++) {
    binds[i] = (VkDescriptorSetLayoutBinding){
        .binding = i,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  }
  VkDescriptorSetLayoutCreateInfo dsl = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .flags = d->push_descriptors ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
      .bindingCount = BNVK_BINDINGS,
      .pBindings = binds,
  };
  r = d->fn.vkCreateDescriptorSetLayout(d->device, &dsl, NULL, &d->set_layout);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkCreateDescriptorSetLayout");
  VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = BN_MAX_PARAMS_BYTES};
  VkPipelineLayoutCreateInfo pli = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &d->set_layout,
      .pushConstantRangeCount = 1,
      .pPushConstantRanges = &pcr,
  };
  r = d->fn.vkCreatePipelineLayout(d->device, &pli, NULL, &d->pipeline_layout);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkCreatePipelineLayout");
  VkPipelineCacheCreateInfo pcci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  r = d->fn.vkCreatePipelineCache(d->device, &pcci, NULL, &d->pipeline_cache);
  if (r != VK_SUCCESS) d->pipeline_cache = VK_NULL_HANDLE; /* optional */

  if (d->caps & BN_CAP_TIMESTAMPS) {
    VkQueryPoolCreateInfo qpi = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = 2,
    };
    r = d->fn.vkCreateQueryPool(d->device, &qpi, NULL, &d->query_pool);
    if (r != VK_SUCCESS) {
      d->query_pool = VK_NULL_HANDLE;
      d->caps &= ~(uint32_t)BN_CAP_TIMESTAMPS;
    }
  }
  d->timestamp_period_ns = p->props.limits.timestampPeriod;

  rank_types(p, PURPOSE_SHARED, d->shared_types);
  rank_types(p, PURPOSE_PRIVATE, d->private_types);
  rank_types(p, PURPOSE_STAGING, d->staging_types);
  d->map_private = p->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU &&
                   !bnvk_env_flag("BITNET_VULKAN_NO_MAP_PRIVATE");
  return bnvk_buf_create(d, DUMMY_BYTES, d->private_types, false, &d->dummy, "dummy buffer");
}

int32_t bnvk_open(uint32_t local_index, void** out_dev) {
  if (!out_dev) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: open: null output");
  bnvk_phys_t* p = bnvk_phys_get(local_index);
  if (!p) return bn_fail(BN_ERR_NOT_FOUND, "vulkan: no device %u", local_index);
  bnvk_dev_t* d = calloc(1, sizeof *d);
  if (!d) return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  d->phys = p;
  d->caps = p->caps;
  memset(d->op_supported, -1, sizeof d->op_supported);
  d->fence_timeout_ns = 600ull * 1000000000ull;
  const char* to = getenv("BITNET_VULKAN_TIMEOUT_S");
  if (to && to[0]) {
    double s = strtod(to, NULL);
    d->fence_timeout_ns = s > 0 ? (uint64_t)(s * 1e9) : 0;
  }
  int32_t st = create_device(d);
  if (st == BN_OK) st = create_objects(d);
  if (st != BN_OK) {
    d->hung = false;
    destroy_device(d);
    return st;
  }
  *out_dev = d;
  return BN_OK;
}

/* ---- bn memory ----------------------------------------------------------------------- */

int32_t bnvk_mem_alloc(void* dev, uint64_t size, uint32_t storage, bn_mem_t* out) {
  bnvk_dev_t* d = dev;
  int32_t st = bnvk_check_usable(d);
  if (st != BN_OK) return st;
  if (!out) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: mem_alloc: null output");
  if (size == 0) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: mem_alloc: size 0");
  if (storage != BN_STORAGE_SHARED && storage != BN_STORAGE_PRIVATE) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: unknown storage %u", storage);
  }
  bnvk_buf_t* b = calloc(1, sizeof *b);
  if (!b) return bn_fail(BN_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  const bool shared = storage == BN_STORAGE_SHARED;
  st = bnvk_buf_create(d, size, shared ? d->shared_types : d->private_types,
                       shared || d->map_private, b, shared ? "shared buffer" : "private buffer");
  if (st == BN_OK && shared && !b->map) {
    bnvk_buf_destroy(d, b);
    st = bn_fail(BN_ERR_INTERNAL, "vulkan: shared memory is not mapped");
  }
  if (st != BN_OK) {
    free(b);
    return st;
  }
  /* Fresh Vulkan memory has undefined contents: zeroed stays 0 and the core zeroes it. */
  *out = (bn_mem_t){.impl = b, .host = shared ? b->map : NULL, .size = size, .storage = storage};
  return BN_OK;
}

void bnvk_mem_free(void* dev, bn_mem_t* mem) {
  bnvk_dev_t* d = dev;
  if (!d || !mem || !mem->impl) return;
  bnvk_buf_t* b = mem->impl;
  bnvk_buf_destroy(d, b);
  free(b);
  mem->impl = NULL;
  mem->host = NULL;
}

static int32_t check_range(const bn_mem_t* mem, uint64_t off, uint64_t len, const char* what) {
  if (!mem || !mem->impl) return bn_fail(BN_ERR_INVALID_HANDLE, "vulkan: %s: no memory", what);
  if (off > mem->size || len > mem->size - off) {
    return bn_fail(BN_ERR_SIZE, "vulkan: %s: range [%llu, +%llu) outside %llu bytes", what,
                   (unsigned long long)off, (unsigned long long)len,
                   (unsigned long long)mem->size);
  }
  return BN_OK;
}

/* Waits for every staging slot still in flight; keeps the first failure. */
static int32_t drain(bnvk_dev_t* d, int32_t st) {
  for (uint32_t i = 0; i < BNVK_STAGING_SLOTS; i++) {
    if (!d->xfer_pending[i]) continue;
    d->xfer_pending[i] = false;
    int32_t s = d->hung ? BN_ERR_DEVICE_LOST : bnvk_wait_fence(d, d->xfer_fence[i], "staging copy");
    if (st == BN_OK) st = s;
  }
  return st;
}

/* Makes both staging slots hold at least min(len, STAGING_MAX) bytes when possible. */
static int32_t ensure_staging(bnvk_dev_t* d, uint64_t len) {
  uint64_t want = bn_round_up(len, STAGING_MIN);
  if (want > STAGING_MAX) want = STAGING_MAX;
  if (want > d->phys->max_buffer_bytes) want = d->phys->max_buffer_bytes & ~15ull;
  if (d->staging[0].buffer && d->staging[0].size >= want) return BN_OK;
  for (uint32_t i = 0; i < BNVK_STAGING_SLOTS; i++) bnvk_buf_destroy(d, &d->staging[i]);
  int32_t st = BN_ERR_OUT_OF_MEMORY;
  for (uint64_t size = want; size >= 16; size /= 2) {
    st = bnvk_buf_create(d, size, d->staging_types, true, &d->staging[0], "staging buffer");
    if (st == BN_OK) {
      st = bnvk_buf_create(d, size, d->staging_types, true, &d->staging[1], "staging buffer");
      if (st != BN_OK) bnvk_buf_destroy(d, &d->staging[0]);
    }
    if (st == BN_OK && (!d->staging[0].map || !d->staging[1].map)) {
      bnvk_buf_destroy(d, &d->staging[0]);
      bnvk_buf_destroy(d, &d->staging[1]);
      return bn_fail(BN_ERR_UNSUPPORTED, "vulkan: no host-visible memory for staging");
    }
    if (st == BN_OK || st != BN_ERR_OUT_OF_MEMORY || size <= STAGING_MIN) break;
  }
  return st;
}

/* Records and submits one staging copy on slot s (src → dst), with barriers on both sides. */
static int32_t submit_copy(bnvk_dev_t* d, uint32_t s, VkBuffer src, uint64_t src_off,
                           VkBuffer dst, uint64_t dst_off, uint64_t len, bool to_host) {
  VkCommandBuffer cmd = d->xfer_cmd[s];
  int32_t st = begin_cmd(d, cmd);
  if (st != BN_OK) return st;
  barrier(d, cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
  VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = len};
  d->fn.vkCmdCopyBuffer(cmd, src, dst, 1, &region);
  if (to_host) {
    barrier(d, cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  }
  VkResult r = d->fn.vkEndCommandBuffer(cmd);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkEndCommandBuffer");
  st = submit(d, cmd, d->xfer_fence[s]);
  if (st == BN_OK) d->xfer_pending[s] = true;
  return st;
}

int32_t bnvk_mem_zero(void* dev, bn_mem_t* mem, uint64_t size) {
  bnvk_dev_t* d = dev;
  int32_t st = bnvk_check_usable(d);
  if (st != BN_OK) return st;
  if ((st = check_range(mem, 0, size, "mem_zero")) != BN_OK) return st;
  if (size == 0) return BN_OK;
  bnvk_buf_t* b = mem->impl;
  if (b->map) {
    memset(b->map, 0, size);
    return BN_OK;
  }
  VkCommandBuffer cmd = d->xfer_cmd[0];
  if ((st = begin_cmd(d, cmd)) != BN_OK) return st;
  barrier(d, cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT,
          VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
  /* VkBuffer sizes are multiples of 16, so the rounded fill stays inside. */
  d->fn.vkCmdFillBuffer(cmd, b->buffer, 0, bn_round_up(size, 4), 0);
  VkResult r = d->fn.vkEndCommandBuffer(cmd);
  if (r != VK_SUCCESS) return bnvk_fail(d, r, "vkEndCommandBuffer");
  return bnvk_submit_wait(d, cmd, d->xfer_fence[0], "buffer fill");
}

int32_t bnvk_mem_write(void* dev, bn_mem_t* mem, uint64_t off, const void* src, uint64_t len) {
  bnvk_dev_t* d = dev;
  int32_t st = bnvk_check_usable(d);
  if (st != BN_OK) return st;
  if ((st = check_range(mem, off, len, "mem_write")) != BN_OK) return st;
  if (len == 0) return BN_OK;
  if (!src) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: mem_write: null source");
  bnvk_buf_t* b = mem->impl;
  if (b->map) {
    memcpy((uint8_t*)b->map + off, src, len);
    return BN_OK;
  }
  if ((st = ensure_staging(d, len)) != BN_OK) return st;
  const uint64_t chunk = d->staging[0].size;
  uint32_t s = 0;
  for (uint64_t pos = 0; pos < len && st == BN_OK; pos += chunk, s = (s + 1) % BNVK_STAGING_SLOTS) {
    const uint64_t c = len - pos < chunk ? len - pos : chunk;
    if (d->xfer_pending[s]) {
      d->xfer_pending[s] = false;
      if ((st = bnvk_wait_fence(d, d->xfer_fence[s], "staging upload")) != BN_OK) break;
    }
    memcpy(d->staging[s].map, (const uint8_t*)src + pos, c);
    st = submit_copy(d, s, d->staging[s].buffer, 0, b->buffer, off + pos, c, false);
  }
  return drain(d, st);
}

int32_t bnvk_mem_read(void* dev, bn_mem_t* mem, uint64_t off, void* dst, uint64_t len) {
  bnvk_dev_t* d = dev;
  int32_t st = bnvk_check_usable(d);
  if (st != BN_OK) return st;
  if ((st = check_range(mem, off, len, "mem_read")) != BN_OK) return st;
  if (len == 0) return BN_OK;
  if (!dst) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: mem_read: null destination");
  bnvk_buf_t* b = mem->impl;
  if (b->map) {
    memcpy(dst, (const uint8_t*)b->map + off, len);
    return BN_OK;
  }
  if ((st = ensure_staging(d, len)) != BN_OK) return st;
  const uint64_t chunk = d->staging[0].size;
  const uint64_t n_chunks = (len + chunk - 1) / chunk;
  /* Keep both slots busy: chunk i+1 is copied on the device while chunk i is copied out. */
  for (uint64_t i = 0; i < n_chunks && i < BNVK_STAGING_SLOTS && st == BN_OK; i++) {
    const uint64_t pos = i * chunk, c = len - pos < chunk ? len - pos : chunk;
    st = submit_copy(d, (uint32_t)i, b->buffer, off + pos, d->staging[i].buffer, 0, c, true);
  }
  for (uint64_t i = 0; i < n_chunks && st == BN_OK; i++) {
    const uint32_t s = (uint32_t)(i % BNVK_STAGING_SLOTS);
    const uint64_t pos = i * chunk, c = len - pos < chunk ? len - pos : chunk;
    d->xfer_pending[s] = false;
    if ((st = bnvk_wait_fence(d, d->xfer_fence[s], "staging download")) != BN_OK) break;
    memcpy((uint8_t*)dst + pos, d->staging[s].map, c);
    const uint64_t next = i + BNVK_STAGING_SLOTS;
    if (next < n_chunks) {
      const uint64_t npos = next * chunk, nc = len - npos < chunk ? len - npos : chunk;
      st = submit_copy(d, s, b->buffer, off + npos, d->staging[s].buffer, 0, nc, true);
    }
  }
  return drain(d, st);
}
