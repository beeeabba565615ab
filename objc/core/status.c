/* status.c — status strings and the per-thread last error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "core/core.h"

static _Thread_local char g_last_error[1024];

int32_t bn_fail(int32_t status, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
  va_end(ap);
  return status;
}

void bn_clear_error(void) { g_last_error[0] = 0; }

BN_API const char* bn_last_error(void) { return g_last_error; }

uint32_t bn_copy_text(const char* text, char* buf, uint32_t cap) {
  size_t len = strlen(text);
  if (buf && cap > 0) {
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(buf, text, n);
    buf[n] = 0;
  }
  return (uint32_t)len;
}

BN_API uint32_t bn_last_error_copy(char* buf, uint32_t cap) {
  return bn_copy_text(g_last_error, buf, cap);
}

BN_API uint32_t bn_abi_version(void) { return BN_ABI_VERSION; }

BN_API const char* bn_status_string(int32_t status) {
  switch (status) {
    case BN_OK: return "ok";
    case BN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case BN_ERR_OUT_OF_MEMORY: return "out of memory";
    case BN_ERR_UNSUPPORTED: return "unsupported";
    case BN_ERR_DEVICE_LOST: return "device lost";
    case BN_ERR_COMPILE: return "shader compile error";
    case BN_ERR_NOT_FOUND: return "not found";
    case BN_ERR_INVALID_HANDLE: return "invalid handle";
    case BN_ERR_SIZE: return "size error";
    case BN_ERR_STATE: return "invalid state";
    case BN_ERR_WRONG_DEVICE: return "wrong device";
    case BN_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
  }
}

BN_API uint32_t bn_device_info_size(void) { return (uint32_t)sizeof(bn_device_info_t); }
BN_API uint32_t bn_pool_stats_size(void) { return (uint32_t)sizeof(bn_pool_stats_t); }

_Static_assert(sizeof(bn_device_info_t) == 256, "bn_device_info_t is 256 bytes");
_Static_assert(offsetof(bn_device_info_t, backend) == 128, "layout");
_Static_assert(offsetof(bn_device_info_t, memory_bytes) == 144, "layout");
_Static_assert(offsetof(bn_device_info_t, subgroup_size) == 160, "layout");
_Static_assert(offsetof(bn_device_info_t, driver) == 184, "layout");
_Static_assert(sizeof(bn_pool_stats_t) == 48, "bn_pool_stats_t is 48 bytes");
