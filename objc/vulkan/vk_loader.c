/*
 * vk_loader.c — the Vulkan loader (dlopen'ed), the one instance, the physical devices.
 *
 * Nothing here links libvulkan: the loader is opened at run time and every function comes
 * through vkGetInstanceProcAddr. When the loader, an ICD or a usable device is missing the
 * backend simply offers zero devices.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vk_internal.h"

bnvk_instance_fns_t bnvk_fn;
VkInstance bnvk_instance = VK_NULL_HANDLE;
uint32_t bnvk_instance_api = 0;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_ok = false;
static void* g_lib = NULL;
static bnvk_phys_t* g_devs = NULL;
static uint32_t g_count = 0;

bool bnvk_env_flag(const char* name) {
  const char* v = getenv(name);
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
}

/* ---- small helpers ------------------------------------------------------------------- */

static bool has_ext(const VkExtensionProperties* list, uint32_t n, const char* name) {
  for (uint32_t i = 0; i < n; i++) {
    if (strcmp(list[i].extensionName, name) == 0) return true;
  }
  return false;
}

static bool contains_nocase(const char* hay, const char* needle) {
  size_t nl = strlen(needle);
  if (nl == 0) return true;
  for (const char* h = hay; *h; h++) {
    size_t i = 0;
    while (i < nl && h[i] &&
           tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) {
      i++;
    }
    if (i == nl) return true;
  }
  return false;
}

/* Copies src into dst (cap bytes), cutting at a UTF-8 character boundary. */
static void copy_utf8(char* dst, size_t cap, const char* src) {
  size_t n = strnlen(src, cap - 1);
  if (src[n] != '\0') {
    while (n > 0 && ((unsigned char)src[n] & 0xC0u) == 0x80u) n--;
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* BITNET_VULKAN_DEVICE: comma-separated raw indices (vulkaninfo's GPU<n>) or name
 * substrings (case-insensitive). A device matching any entry is kept. */
static bool env_selects(const char* sel, uint32_t raw_index, const char* name) {
  char buf[256];
  copy_utf8(buf, sizeof buf, sel);
  char* save = NULL;
  for (char* tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    size_t len = strlen(tok);
    while (len > 0 && tok[len - 1] == ' ') tok[--len] = '\0';
    if (len == 0) continue;
    bool digits = true;
    for (size_t i = 0; i < len; i++) digits = digits && isdigit((unsigned char)tok[i]);
    if (digits) {
      if (strtoul(tok, NULL, 10) == raw_index) return true;
    } else if (contains_nocase(name, tok)) {
      return true;
    }
  }
  return false;
}

static int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

/* ---- one physical device ------------------------------------------------------------- */

/* Fills p from the physical device; false when the device cannot serve us (Vulkan < 1.1,
 * no compute queue, an enumeration failure). */
static bool describe_physical(VkPhysicalDevice pd, uint32_t raw_index, bnvk_phys_t* p) {
  memset(p, 0, sizeof *p);
  p->handle = pd;
  p->raw_index = raw_index;
  bnvk_fn.vkGetPhysicalDeviceProperties(pd, &p->props);
  p->api = p->props.apiVersion < bnvk_instance_api ? p->props.apiVersion : bnvk_instance_api;
  if (p->api < VK_API_VERSION_1_1) return false;
  const bool v12 = p->api >= VK_API_VERSION_1_2, v13 = p->api >= VK_API_VERSION_1_3;

  /* extensions */
  uint32_t n_ext = 0;
  if (bnvk_fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, NULL) != VK_SUCCESS) {
    return false;
  }
  VkExtensionProperties* exts = calloc(n_ext ? n_ext : 1, sizeof *exts);
  if (!exts) return false;
  if (n_ext > 0 &&
      bnvk_fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, exts) < VK_SUCCESS) {
    free(exts);
    return false;
  }
  bnvk_exts_t* e = &p->ext;
  e->portability_subset = has_ext(exts, n_ext, "VK_KHR_portability_subset");
  e->push_descriptor = has_ext(exts, n_ext, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  e->storage_buffer_storage_class =
      has_ext(exts, n_ext, VK_KHR_STORAGE_BUFFER_STORAGE_CLASS_EXTENSION_NAME);
  e->storage_8bit = has_ext(exts, n_ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
  e->storage_16bit = has_ext(exts, n_ext, VK_KHR_16BIT_STORAGE_EXTENSION_NAME);
  e->float16_int8 = has_ext(exts, n_ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  e->integer_dot_product = has_ext(exts, n_ext, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  e->vulkan_memory_model = has_ext(exts, n_ext, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME);
  e->shader_atomic_float = has_ext(exts, n_ext, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
  e->subgroup_size_control = has_ext(exts, n_ext, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  e->spirv_1_4 = has_ext(exts, n_ext, VK_KHR_SPIRV_1_4_EXTENSION_NAME);
  e->shader_float_controls = has_ext(exts, n_ext, VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME);
  e->nv_sm_builtins = has_ext(exts, n_ext, VK_NV_SHADER_SM_BUILTINS_EXTENSION_NAME);
  e->amd_shader_core_properties = has_ext(exts, n_ext, VK_AMD_SHADER_CORE_PROPERTIES_EXTENSION_NAME);
  e->driver_properties = has_ext(exts, n_ext, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
  free(exts);

  /* properties */
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceIDProperties idp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceMaintenance4Properties m4 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
  VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceShaderSMBuiltinsPropertiesNV nvsm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV};
  VkPhysicalDeviceShaderCorePropertiesAMD amdc = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD};
  void** tail = &props2.pNext;
#define CHAIN(s)        \
  do {                  \
    *tail = &(s);       \
    tail = &(s).pNext;  \
  } while (0)
  CHAIN(sg);
  CHAIN(idp);
  CHAIN(m3);
  if (v13) CHAIN(m4);
  const bool have_drv = v12 || e->driver_properties;
  if (have_drv) CHAIN(drv);
  if (e->nv_sm_builtins) CHAIN(nvsm);
  if (e->amd_shader_core_properties) CHAIN(amdc);
  bnvk_fn.vkGetPhysicalDeviceProperties2(pd, &props2);

  /* features */
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  VkPhysicalDeviceVulkanMemoryModelFeatures vmm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
  VkPhysicalDeviceShaderAtomicFloatFeaturesEXT af = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
  VkPhysicalDeviceSubgroupSizeControlFeatures ssc = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  tail = &f2.pNext;
  CHAIN(s16);
  if (v12 || e->storage_8bit) CHAIN(s8);
  if (v12 || e->float16_int8) CHAIN(f16);
  if (v13 || e->integer_dot_product) CHAIN(dot);
  if (v12 || e->vulkan_memory_model) CHAIN(vmm);
  if (e->shader_atomic_float) CHAIN(af);
  if (v13 || e->subgroup_size_control) CHAIN(ssc);
#undef CHAIN
  bnvk_fn.vkGetPhysicalDeviceFeatures2(pd, &f2);

  bnvk_features_t* f = &p->feat;
  f->shader_int16 = f2.features.shaderInt16;
  f->shader_int64 = f2.features.shaderInt64;
  f->shader_float64 = f2.features.shaderFloat64;
  f->storage_buffer_16bit = s16.storageBuffer16BitAccess;
  f->uniform_storage_16bit = s16.uniformAndStorageBuffer16BitAccess;
  f->push_constant_16bit = s16.storagePushConstant16;
  f->storage_buffer_8bit = s8.storageBuffer8BitAccess;
  f->uniform_storage_8bit = s8.uniformAndStorageBuffer8BitAccess;
  f->push_constant_8bit = s8.storagePushConstant8;
  f->shader_int8 = f16.shaderInt8;
  f->shader_float16 = f16.shaderFloat16;
  f->integer_dot_product = dot.shaderIntegerDotProduct;
  f->vulkan_memory_model = vmm.vulkanMemoryModel;
  f->vulkan_memory_model_device_scope = vmm.vulkanMemoryModelDeviceScope;
  f->buffer_float32_atomic_add = af.shaderBufferFloat32AtomicAdd;
  f->subgroup_size_control = ssc.subgroupSizeControl;
  f->compute_full_subgroups = ssc.computeFullSubgroups;

  /* queue family: the first with compute, preferring one that has timestamps */
  uint32_t n_qf = 0;
  bnvk_fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_qf, NULL);
  VkQueueFamilyProperties* qf = calloc(n_qf ? n_qf : 1, sizeof *qf);
  if (!qf) return false;
  bnvk_fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_qf, qf);
  uint32_t chosen = UINT32_MAX;
  for (uint32_t i = 0; i < n_qf; i++) {
    if (!(qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || qf[i].queueCount == 0) continue;
    if (chosen == UINT32_MAX ||
        (qf[chosen].timestampValidBits == 0 && qf[i].timestampValidBits != 0)) {
      chosen = i;
    }
  }
  if (chosen == UINT32_MAX) {
    free(qf);
    return false;
  }
  p->queue_family = chosen;
  p->timestamp_valid_bits = qf[chosen].timestampValidBits;
  free(qf);

  /* memory */
  bnvk_fn.vkGetPhysicalDeviceMemoryProperties(pd, &p->mem);
  uint64_t local = 0, any = 0;
  for (uint32_t h = 0; h < p->mem.memoryHeapCount; h++) {
    uint64_t s = p->mem.memoryHeaps[h].size;
    if (s > any) any = s;
    if ((p->mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && s > local) local = s;
  }
  p->device_local_bytes = local ? local : any;
  uint64_t maxbuf = p->props.limits.maxStorageBufferRange;
  if (m3.maxMemoryAllocationSize != 0 && m3.maxMemoryAllocationSize < maxbuf) {
    maxbuf = m3.maxMemoryAllocationSize;
  }
  if (v13 && m4.maxBufferSize != 0 && m4.maxBufferSize < maxbuf) maxbuf = m4.maxBufferSize;
  /* Rounded down to 16 bytes, so that every size up to it works (VkBuffers are rounded up to
   * 16 bytes, and NVIDIA reports maxStorageBufferRange = 2^32 - 1). */
  p->max_buffer_bytes = maxbuf & ~(uint64_t)15;

  /* subgroups */
  p->subgroup_size = sg.subgroupSize ? sg.subgroupSize : 1;
  p->subgroup_ops = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? sg.supportedOperations : 0;
  memcpy(p->uuid, idp.deviceUUID, VK_UUID_SIZE);
  p->has_uuid = false;
  for (uint32_t i = 0; i < VK_UUID_SIZE; i++) p->has_uuid = p->has_uuid || p->uuid[i] != 0;

  /* caps */
  uint32_t caps = 0;
  if (f->storage_buffer_8bit && f->shader_int8) caps |= BN_CAP_INT8_STORAGE;
  if (f->shader_float16) caps |= BN_CAP_FP16;
  if (f->integer_dot_product) caps |= BN_CAP_INT_DOT;
  if (p->timestamp_valid_bits != 0 && p->props.limits.timestampPeriod > 0.0f) {
    caps |= BN_CAP_TIMESTAMPS;
  }
  const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  if ((p->subgroup_ops & need) == need) caps |= BN_CAP_SUBGROUP_ARITH;
  p->caps = caps;

  /* compute units, when the driver says */
  if (e->nv_sm_builtins && nvsm.shaderSMCount) {
    p->compute_units = nvsm.shaderSMCount;
  } else if (e->amd_shader_core_properties && amdc.shaderEngineCount) {
    p->compute_units =
        amdc.shaderEngineCount * amdc.shaderArraysPerEngineCount * amdc.computeUnitsPerShaderArray;
  } else if (p->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    const char* lp = getenv("LP_NUM_THREADS");
    long n = lp ? strtol(lp, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    p->compute_units = n > 0 ? (uint32_t)n : 1;
  }

  /* driver text: "Vulkan 1.3.230, llvmpipe Mesa 22.3.6 (LLVM 15.0.6)" */
  char text[640];
  uint32_t av = p->props.apiVersion;
  int len = snprintf(text, sizeof text, "Vulkan %u.%u.%u", VK_API_VERSION_MAJOR(av),
                     VK_API_VERSION_MINOR(av), VK_API_VERSION_PATCH(av));
  if (have_drv && drv.driverName[0]) {
    snprintf(text + len, sizeof text - (size_t)len, ", %.*s %.*s", (int)sizeof drv.driverName,
             drv.driverName, (int)sizeof drv.driverInfo, drv.driverInfo);
  } else {
    snprintf(text + len, sizeof text - (size_t)len, ", driver 0x%08x", p->props.driverVersion);
  }
  copy_utf8(p->driver, sizeof p->driver, text);
  for (uint32_t h = 0; h < VK_MAX_MEMORY_HEAPS; h++) atomic_init(&p->heap_used[h], 0);
  return true;
}

/* ---- the instance -------------------------------------------------------------------- */

static void* load_loader(void) {
  static const char* const names[] = {
#if defined(__APPLE__)
      "libvulkan.1.dylib", "libvulkan.dylib", "libMoltenVK.dylib",
#else
      "libvulkan.so.1", "libvulkan.so",
#endif
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void* h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
  }
  return NULL;
}

static bool create_instance(void) {
  PFN_vkGetInstanceProcAddr gipa = bnvk_fn.vkGetInstanceProcAddr;
  PFN_vkEnumerateInstanceVersion enum_version =
      (PFN_vkEnumerateInstanceVersion)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
  PFN_vkEnumerateInstanceExtensionProperties enum_ext =
      (PFN_vkEnumerateInstanceExtensionProperties)gipa(VK_NULL_HANDLE,
                                                       "vkEnumerateInstanceExtensionProperties");
  PFN_vkCreateInstance create =
      (PFN_vkCreateInstance)gipa(VK_NULL_HANDLE, "vkCreateInstance");
  if (!enum_ext || !create) return false;
  uint32_t loader_api = VK_API_VERSION_1_0;
  if (enum_version && enum_version(&loader_api) != VK_SUCCESS) loader_api = VK_API_VERSION_1_0;
  /* We need Vulkan 1.1 (subgroups, features2); ask for 1.3 where the loader has it so the
   * promoted features (integer dot product, maintenance4) are usable without extensions. */
  if (loader_api < VK_API_VERSION_1_1) return false;
  uint32_t api = loader_api >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3
                 : loader_api >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2
                                                    : VK_API_VERSION_1_1;

  uint32_t n_ext = 0;
  if (enum_ext(NULL, &n_ext, NULL) != VK_SUCCESS) n_ext = 0;
  VkExtensionProperties* exts = calloc(n_ext ? n_ext : 1, sizeof *exts);
  if (!exts) return false;
  if (n_ext > 0 && enum_ext(NULL, &n_ext, exts) < VK_SUCCESS) n_ext = 0;
  const char* enabled[2];
  uint32_t n_enabled = 0;
  VkInstanceCreateFlags flags = 0;
  if (has_ext(exts, n_ext, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    enabled[n_enabled++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  free(exts);

  VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "bitnet-metal",
      .applicationVersion = 1,
      .pEngineName = "bitnet-metal",
      .engineVersion = 1,
      .apiVersion = api,
  };
  VkInstanceCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .flags = flags,
      .pApplicationInfo = &app,
      .enabledExtensionCount = n_enabled,
      .ppEnabledExtensionNames = enabled,
  };
  VkInstance inst = VK_NULL_HANDLE;
  VkResult r = create(&ci, NULL, &inst);
  if (r != VK_SUCCESS && flags != 0) {
    /* A loader that lists the extension but rejects the flag: try without. */
    ci.flags = 0;
    ci.enabledExtensionCount = 0;
    r = create(&ci, NULL, &inst);
  }
  if (r != VK_SUCCESS || inst == VK_NULL_HANDLE) return false;
  bnvk_instance = inst;
  bnvk_instance_api = api;

  bool ok = true;
#define LOAD(name)                                                      \
  bnvk_fn.name = (PFN_##name)gipa(inst, #name);                         \
  if (!bnvk_fn.name) ok = false;
  BNVK_INSTANCE_FNS(LOAD)
#undef LOAD
  bnvk_fn.vkGetPhysicalDeviceFeatures2 =
      (PFN_vkGetPhysicalDeviceFeatures2)gipa(inst, "vkGetPhysicalDeviceFeatures2");
  bnvk_fn.vkGetPhysicalDeviceProperties2 =
      (PFN_vkGetPhysicalDeviceProperties2)gipa(inst, "vkGetPhysicalDeviceProperties2");
  if (!bnvk_fn.vkGetPhysicalDeviceFeatures2 || !bnvk_fn.vkGetPhysicalDeviceProperties2) ok = false;
  if (!ok) {
    if (bnvk_fn.vkDestroyInstance) bnvk_fn.vkDestroyInstance(inst, NULL);
    bnvk_instance = VK_NULL_HANDLE;
    return false;
  }
  return true;
}

static void enumerate_devices(void) {
  uint32_t n = 0;
  if (bnvk_fn.vkEnumeratePhysicalDevices(bnvk_instance, &n, NULL) < VK_SUCCESS || n == 0) return;
  VkPhysicalDevice* pds = calloc(n, sizeof *pds);
  bnvk_phys_t* devs = calloc(n, sizeof *devs);
  if (!pds || !devs) {
    free(pds);
    free(devs);
    return;
  }
  if (bnvk_fn.vkEnumeratePhysicalDevices(bnvk_instance, &n, pds) < VK_SUCCESS) n = 0;
  const char* sel = getenv("BITNET_VULKAN_DEVICE");
  if (sel && sel[0] == '\0') sel = NULL;
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) {
    bnvk_phys_t* p = &devs[count];
    if (!describe_physical(pds[i], i, p)) continue;
    if (sel && !env_selects(sel, i, p->props.deviceName)) continue;
    bool dup = false; /* the same device twice (two ICDs, a layer): keep the first */
    for (uint32_t j = 0; j < count && p->has_uuid; j++) {
      dup = dup || (devs[j].has_uuid && memcmp(devs[j].uuid, p->uuid, VK_UUID_SIZE) == 0 &&
                    devs[j].props.vendorID == p->props.vendorID &&
                    devs[j].props.deviceID == p->props.deviceID);
    }
    if (!dup) count++;
  }
  free(pds);
  /* stable insertion sort: discrete > integrated > virtual > CPU > other */
  for (uint32_t i = 1; i < count; i++) {
    for (uint32_t j = i; j > 0; j--) {
      if (type_rank(devs[j - 1].props.deviceType) <= type_rank(devs[j].props.deviceType)) break;
      bnvk_phys_t tmp;
      memcpy(&tmp, &devs[j - 1], sizeof tmp);
      memcpy(&devs[j - 1], &devs[j], sizeof tmp);
      memcpy(&devs[j], &tmp, sizeof tmp);
    }
  }
  g_devs = devs;
  g_count = count;
}

static void init_once(void) {
  if (bnvk_env_flag("BITNET_NO_VULKAN")) return;
  g_lib = load_loader();
  if (!g_lib) return;
  bnvk_fn.vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(g_lib, "vkGetInstanceProcAddr");
  if (!bnvk_fn.vkGetInstanceProcAddr || !create_instance()) {
    /* Keep the library loaded: an ICD may have registered atexit handlers. */
    return;
  }
  enumerate_devices();
  g_ok = true;
}

bool bnvk_init(void) {
  pthread_once(&g_once, init_once);
  return g_ok;
}

uint32_t bnvk_device_count(void) { return bnvk_init() ? g_count : 0; }

bnvk_phys_t* bnvk_phys_get(uint32_t local_index) {
  if (!bnvk_init() || local_index >= g_count) return NULL;
  return &g_devs[local_index];
}

/* ---- backend entry points: enumerate, describe ---------------------------------------- */

static uint32_t vk_enumerate(void) { return bnvk_device_count(); }

static int32_t vk_describe(uint32_t local_index, bn_device_info_t* out) {
  if (!out) return bn_fail(BN_ERR_INVALID_ARGUMENT, "vulkan: describe: null output");
  const bnvk_phys_t* p = bnvk_phys_get(local_index);
  if (!p) return bn_fail(BN_ERR_NOT_FOUND, "vulkan: no device %u", local_index);
  bn_device_info_t info;
  memset(&info, 0, sizeof info);
  copy_utf8(info.name, sizeof info.name, p->props.deviceName);
  info.backend = BN_BACKEND_VULKAN;
  switch (p->props.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: info.device_type = BN_DEVICE_TYPE_DISCRETE; break;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: info.device_type = BN_DEVICE_TYPE_INTEGRATED; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: info.device_type = BN_DEVICE_TYPE_VIRTUAL; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: info.device_type = BN_DEVICE_TYPE_CPU; break;
    default: info.device_type = BN_DEVICE_TYPE_OTHER; break;
  }
  info.unified_memory = p->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  info.caps = p->caps;
  info.memory_bytes = p->device_local_bytes;
  info.max_buffer_bytes = p->max_buffer_bytes;
  info.subgroup_size = p->subgroup_size;
  info.max_threads_per_group = p->props.limits.maxComputeWorkGroupInvocations;
  info.vendor_id = p->props.vendorID;
  info.device_id = p->props.deviceID;
  info.max_shared_bytes = p->props.limits.maxComputeSharedMemorySize;
  info.compute_units = p->compute_units;
  copy_utf8(info.driver, sizeof info.driver, p->driver);
  memcpy(out, &info, sizeof info);
  return BN_OK;
}

const bn_backend_t bn_backend_vulkan = {
    .name = "vulkan",
    .backend_id = BN_BACKEND_VULKAN,
    .enumerate = vk_enumerate,
    .describe = vk_describe,
    .open = bnvk_open,
    .close = bnvk_close,
    .mem_alloc = bnvk_mem_alloc,
    .mem_free = bnvk_mem_free,
    .mem_zero = bnvk_mem_zero,
    .mem_write = bnvk_mem_write,
    .mem_read = bnvk_mem_read,
    .supports_op = bnvk_supports_op,
    .run = bnvk_run,
};
