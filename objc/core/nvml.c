/* nvml.c — NVIDIA GPU temperature, power, clocks and throttle reasons through NVML.
 *
 * libnvidia-ml.so.1 is opened with dlopen at first use (no link-time dependency, no NVML
 * header: the few types and prototypes used are declared below from NVML's public ABI).
 * BITNET_NVML_LIB overrides the path. All NVML use is serialised by one mutex (NVML is
 * thread-safe, but loading, unloading and the message buffer are ours); the queries are
 * short (well under a millisecond each on a persistent-mode driver).
 *
 * NVML is initialised once and kept for the life of the process; it is shut down and
 * unloaded only when BITNET_NVML_LIB changes to another path between calls (tests do). */
#if defined(__linux__)
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "core/core.h"
#include "include/bitnet_metal_thermal.h"

int32_t bn_nvml_gpu_count(uint32_t* out_count);
int32_t bn_nvml_gpu(uint32_t index, bn_gpu_thermal_t* out);
uint32_t bn_nvml_message(char* buf, uint32_t cap);

/* ---- the part of NVML's ABI we use (nvml.h, stable since the _v2 entry points) -------- */
typedef int nvmlReturn_t; /* an enum in nvml.h: int-sized */
typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct nvmlUtilization_st {
  unsigned int gpu;    /* percent of time a kernel ran    */
  unsigned int memory; /* percent of time memory was used */
} nvmlUtilization_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_TEMPERATURE_GPU = 0, /* nvmlTemperatureSensors_t */
  NVML_CLOCK_SM = 1,        /* nvmlClockType_t          */
  NVML_CLOCK_MEM = 2,
  NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96
};

typedef nvmlReturn_t (*fn_void_t)(void);
typedef const char* (*fn_error_string_t)(nvmlReturn_t);
typedef nvmlReturn_t (*fn_count_t)(unsigned int*);
typedef nvmlReturn_t (*fn_handle_t)(unsigned int, nvmlDevice_t*);
typedef nvmlReturn_t (*fn_name_t)(nvmlDevice_t, char*, unsigned int);
typedef nvmlReturn_t (*fn_temp_t)(nvmlDevice_t, int, unsigned int*);
typedef nvmlReturn_t (*fn_uint_t)(nvmlDevice_t, unsigned int*);
typedef nvmlReturn_t (*fn_clock_t)(nvmlDevice_t, int, unsigned int*);
typedef nvmlReturn_t (*fn_util_t)(nvmlDevice_t, nvmlUtilization_t*);
typedef nvmlReturn_t (*fn_u64_t)(nvmlDevice_t, unsigned long long*);

#define DEFAULT_LIB "libnvidia-ml.so.1"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* guards g */
static struct {
  bool attempted;  /* a load of `path` was tried                        */
  bool ok;         /* NVML is loaded and initialised                    */
  char path[1024]; /* the path last tried                               */
  void* dl;
  char msg[512];   /* bn_thermal_nvml_message                            */
  fn_void_t init, shutdown;
  fn_error_string_t error_string;
  fn_count_t count;
  fn_handle_t handle;
  fn_name_t name;
  fn_temp_t temperature;
  fn_uint_t power, power_limit;
  fn_clock_t clock;
  fn_util_t utilization;
  fn_u64_t throttle;
} g;

static void set_msg(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_msg(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g.msg, sizeof g.msg, fmt, ap);
  va_end(ap);
}

static const char* nvml_error(nvmlReturn_t rc) {
  const char* s = g.error_string ? g.error_string(rc) : NULL;
  return s ? s : "NVML error";
}

/* dlsym into a function pointer without an object-to-function pointer cast. */
static void sym(void* out_fn, const char* name, const char* fallback) {
  void* p = dlsym(g.dl, name);
  if (!p && fallback) p = dlsym(g.dl, fallback);
  memcpy(out_fn, &p, sizeof p);
}

static void unload_locked(void) {
  if (g.ok && g.shutdown) g.shutdown();
  if (g.dl) dlclose(g.dl);
  memset(&g, 0, sizeof g);
}

/* Loads and initialises NVML from the current path if not done already. g_lock held. */
static bool ensure_locked(void) {
  const char* want = getenv("BITNET_NVML_LIB");
  if (!want || !want[0]) want = DEFAULT_LIB;
  if (g.attempted && strcmp(g.path, want) == 0) return g.ok;
  unload_locked();
  if (strlen(want) >= sizeof g.path) {
    set_msg("NVML not available: BITNET_NVML_LIB is longer than %zu bytes", sizeof g.path - 1);
    return false;
  }
  g.attempted = true;
  memcpy(g.path, want, strlen(want) + 1);
  (void)dlerror();
  g.dl = dlopen(want, RTLD_NOW | RTLD_LOCAL);
  if (!g.dl) {
    const char* why = dlerror();
    set_msg("NVML not available: %s", why ? why : "dlopen failed");
    return false;
  }
  sym(&g.init, "nvmlInit_v2", "nvmlInit");
  sym(&g.shutdown, "nvmlShutdown", NULL);
  sym(&g.error_string, "nvmlErrorString", NULL);
  sym(&g.count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
  sym(&g.handle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
  sym(&g.name, "nvmlDeviceGetName", NULL);
  sym(&g.temperature, "nvmlDeviceGetTemperature", NULL);
  sym(&g.power, "nvmlDeviceGetPowerUsage", NULL);
  sym(&g.power_limit, "nvmlDeviceGetEnforcedPowerLimit", NULL);
  sym(&g.clock, "nvmlDeviceGetClockInfo", NULL);
  sym(&g.utilization, "nvmlDeviceGetUtilizationRates", NULL);
  /* Renamed "clocks event reasons" in NVML 12.2; the old name is still exported. */
  sym(&g.throttle, "nvmlDeviceGetCurrentClocksThrottleReasons",
      "nvmlDeviceGetCurrentClocksEventReasons");
  if (!g.init || !g.count || !g.handle) {
    set_msg("NVML not available: %s lacks nvmlInit/nvmlDeviceGetCount/"
            "nvmlDeviceGetHandleByIndex", want);
    dlclose(g.dl);
    g.dl = NULL;
    return false;
  }
  nvmlReturn_t rc = g.init();
  if (rc != NVML_SUCCESS) {
    set_msg("NVML not available: nvmlInit_v2 failed: %s (%d)", nvml_error(rc), rc);
    dlclose(g.dl);
    g.dl = NULL;
    return false;
  }
  g.ok = true;
  set_msg("NVML loaded from %s", want);
  return true;
}

int32_t bn_nvml_gpu_count(uint32_t* out_count) {
  pthread_mutex_lock(&g_lock);
  unsigned int n = 0;
  if (ensure_locked()) {
    nvmlReturn_t rc = g.count(&n);
    if (rc != NVML_SUCCESS) {
      set_msg("nvmlDeviceGetCount_v2 failed: %s (%d)", nvml_error(rc), rc);
      n = 0;
    }
  }
  pthread_mutex_unlock(&g_lock);
  *out_count = n;
  return BN_OK;
}

/* An unsigned NVML reading as an int32 field; -1 when the query failed or overflows. */
static int32_t as_i32(nvmlReturn_t rc, unsigned int v) {
  return rc == NVML_SUCCESS && v <= (unsigned int)INT32_MAX ? (int32_t)v : -1;
}

int32_t bn_nvml_gpu(uint32_t index, bn_gpu_thermal_t* out) {
  bn_gpu_thermal_t r;
  memset(&r, 0, sizeof r);
  r.index = index;
  int32_t status = BN_OK;
  char why[sizeof g.msg];
  pthread_mutex_lock(&g_lock);
  nvmlDevice_t dev = NULL;
  unsigned int n = 0;
  nvmlReturn_t rc;
  if (!ensure_locked()) {
    status = BN_ERR_NOT_FOUND;
  } else if ((rc = g.count(&n)) != NVML_SUCCESS) {
    status = BN_ERR_NOT_FOUND;
    set_msg("nvmlDeviceGetCount_v2 failed: %s (%d)", nvml_error(rc), rc);
  } else if (index >= n) {
    status = BN_ERR_NOT_FOUND;
    set_msg("no NVIDIA GPU at index %u (NVML reports %u)", index, n);
  } else if ((rc = g.handle(index, &dev)) != NVML_SUCCESS) {
    status = rc == NVML_ERROR_GPU_IS_LOST ? BN_ERR_DEVICE_LOST : BN_ERR_NOT_FOUND;
    set_msg("nvmlDeviceGetHandleByIndex_v2(%u) failed: %s (%d)", index, nvml_error(rc), rc);
  } else {
    unsigned int v = 0;
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE + 1];
    memset(name, 0, sizeof name);
    if (g.name && g.name(dev, name, NVML_DEVICE_NAME_V2_BUFFER_SIZE) == NVML_SUCCESS) {
      name[sizeof r.name - 1] = 0;
      memcpy(r.name, name, strlen(name) + 1);
    }
    rc = g.temperature ? g.temperature(dev, NVML_TEMPERATURE_GPU, &v) : -1;
    r.temp_c = as_i32(rc, v);
    rc = g.power ? g.power(dev, &v) : -1;
    r.power_mw = as_i32(rc, v);
    rc = g.power_limit ? g.power_limit(dev, &v) : -1;
    r.power_limit_mw = as_i32(rc, v);
    rc = g.clock ? g.clock(dev, NVML_CLOCK_SM, &v) : -1;
    r.sm_clock_mhz = as_i32(rc, v);
    rc = g.clock ? g.clock(dev, NVML_CLOCK_MEM, &v) : -1;
    r.mem_clock_mhz = as_i32(rc, v);
    nvmlUtilization_t u = {0, 0};
    rc = g.utilization ? g.utilization(dev, &u) : -1;
    r.util_gpu = as_i32(rc, u.gpu);
    r.util_mem = as_i32(rc, u.memory);
    unsigned long long reasons = 0;
    rc = g.throttle ? g.throttle(dev, &reasons) : -1;
    r.throttle_reasons = rc == NVML_SUCCESS && reasons <= (unsigned long long)INT64_MAX
                             ? (int64_t)reasons
                             : -1;
  }
  if (status != BN_OK) memcpy(why, g.msg, sizeof why);
  pthread_mutex_unlock(&g_lock);
  if (status != BN_OK) return bn_fail(status, "bn_thermal_gpu(%u): %s", index, why);
  memcpy(out, &r, sizeof r);
  return BN_OK;
}

uint32_t bn_nvml_message(char* buf, uint32_t cap) {
  pthread_mutex_lock(&g_lock);
  uint32_t n = bn_copy_text(g.msg, buf, cap);
  pthread_mutex_unlock(&g_lock);
  return n;
}

#else
typedef int bn_nvml_unused_t; /* keeps the translation unit non-empty */
#endif /* __linux__ */
