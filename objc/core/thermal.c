/* thermal.c — the portable bn_thermal_* entry points; the work is done by the platform
 * parts: thermal_linux.c (sysfs), nvml.c (NVIDIA GPUs, Linux) and metal/thermal_macos.m
 * (NSProcessInfo). On macOS the library must be built with metal/thermal_macos.m. */
#include <stddef.h>
#include <string.h>

#include "core/backend.h"
#include "core/core.h"
#include "include/bitnet_metal_thermal.h"

/* Platform parts (internal, not exported; keep these prototypes in sync with them). */
#if defined(__linux__)
int32_t bn_thermal_sysfs_read(const char* root, bn_thermal_t* out);
int32_t bn_nvml_gpu_count(uint32_t* out_count);
int32_t bn_nvml_gpu(uint32_t index, bn_gpu_thermal_t* out);
uint32_t bn_nvml_message(char* buf, uint32_t cap);
#elif defined(__APPLE__)
int32_t bn_thermal_macos_read(bn_thermal_t* out);
#endif

_Static_assert(sizeof(bn_thermal_trip_t) == 8, "bn_thermal_trip_t is 8 bytes");
_Static_assert(offsetof(bn_thermal_trip_t, temp_mc) == 4, "layout");
_Static_assert(sizeof(bn_thermal_zone_t) == 144, "bn_thermal_zone_t is 144 bytes");
_Static_assert(offsetof(bn_thermal_zone_t, temp_mc) == 32, "layout");
_Static_assert(offsetof(bn_thermal_zone_t, index) == 36, "layout");
_Static_assert(offsetof(bn_thermal_zone_t, state) == 40, "layout");
_Static_assert(offsetof(bn_thermal_zone_t, trip_count) == 44, "layout");
_Static_assert(offsetof(bn_thermal_zone_t, trips) == 48, "layout");
_Static_assert(sizeof(bn_thermal_t) == 2336, "bn_thermal_t is 2336 bytes");
_Static_assert(offsetof(bn_thermal_t, low_power_mode) == 4, "layout");
_Static_assert(offsetof(bn_thermal_t, source) == 8, "layout");
_Static_assert(offsetof(bn_thermal_t, zone_count) == 12, "layout");
_Static_assert(offsetof(bn_thermal_t, zones_skipped) == 16, "layout");
_Static_assert(offsetof(bn_thermal_t, zones_dropped) == 20, "layout");
_Static_assert(offsetof(bn_thermal_t, zones) == 32, "layout");
_Static_assert(sizeof(bn_gpu_thermal_t) == 144, "bn_gpu_thermal_t is 144 bytes");
_Static_assert(offsetof(bn_gpu_thermal_t, index) == 96, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, temp_c) == 100, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, power_mw) == 104, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, power_limit_mw) == 108, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, sm_clock_mhz) == 112, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, mem_clock_mhz) == 116, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, util_gpu) == 120, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, util_mem) == 124, "layout");
_Static_assert(offsetof(bn_gpu_thermal_t, throttle_reasons) == 128, "layout");

BN_API uint32_t bn_thermal_size(void) { return (uint32_t)sizeof(bn_thermal_t); }
BN_API uint32_t bn_thermal_zone_size(void) { return (uint32_t)sizeof(bn_thermal_zone_t); }
BN_API uint32_t bn_thermal_trip_size(void) { return (uint32_t)sizeof(bn_thermal_trip_t); }
BN_API uint32_t bn_gpu_thermal_size(void) { return (uint32_t)sizeof(bn_gpu_thermal_t); }

BN_API int32_t bn_thermal_read(const char* sysfs_root, bn_thermal_t* out) {
  bn_clear_error();
  if (!out) return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_thermal_read: out is NULL");
  if (sysfs_root && sysfs_root[0] == 0) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_thermal_read: sysfs_root is empty");
  }
  bn_thermal_t t;
  memset(&t, 0, sizeof t);
  t.state = BN_THERMAL_UNKNOWN;
  t.low_power_mode = -1;
  t.source = BN_THERMAL_SOURCE_NONE;
  int32_t st = BN_OK;
#if defined(__linux__)
  st = bn_thermal_sysfs_read(sysfs_root ? sysfs_root : "/sys", &t);
#elif defined(__APPLE__)
  (void)sysfs_root;
  st = bn_thermal_macos_read(&t);
#else
  (void)sysfs_root;
#endif
  if (st != BN_OK) return st;
  memcpy(out, &t, sizeof t);
  return BN_OK;
}

BN_API int32_t bn_thermal_gpu_count(uint32_t* out_count) {
  bn_clear_error();
  if (!out_count) return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_thermal_gpu_count: out_count is NULL");
#if defined(__linux__)
  return bn_nvml_gpu_count(out_count);
#else
  *out_count = 0;
  return BN_OK;
#endif
}

BN_API int32_t bn_thermal_gpu(uint32_t index, bn_gpu_thermal_t* out) {
  bn_clear_error();
  if (!out) return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_thermal_gpu: out is NULL");
#if defined(__linux__)
  return bn_nvml_gpu(index, out);
#else
  return bn_fail(BN_ERR_NOT_FOUND, "bn_thermal_gpu(%u): NVML is only used on Linux", index);
#endif
}

BN_API uint32_t bn_thermal_nvml_message(char* buf, uint32_t cap) {
#if defined(__linux__)
  return bn_nvml_message(buf, cap);
#else
  return bn_copy_text("NVML is only used on Linux", buf, cap);
#endif
}
