/* thermal_linux.c — Linux thermal zones from sysfs (<root>/class/thermal/thermal_zone<N>).
 *
 * Each zone directory holds `type` (text), `temp` (milli-°C, integer text) and trip points
 * trip_point_<i>_type / trip_point_<i>_temp for i = 0, 1, … (contiguous). Reading `temp`
 * can fail on real hardware (EIO/ENODATA from a sleeping sensor): such a zone is skipped and
 * counted, never an error. See bitnet_metal_thermal.h for how the state is judged. */
#if defined(__linux__)
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/backend.h"
#include "include/bitnet_metal_thermal.h"

int32_t bn_thermal_sysfs_read(const char* root, bn_thermal_t* out);

#define PATH_CAP 4096
#define ZONE_SCAN_MAX 256 /* thermal_zone directories considered */
#define TRIP_SCAN_MAX 64  /* trip points considered per zone     */
#define NO_TEMP INT64_MAX

/* Reads a small sysfs file into buf (NUL-terminated, trailing whitespace removed). */
static bool read_text(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return false;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                     buf[len - 1] == '\t')) {
    len--;
  }
  buf[len] = 0;
  return true;
}

/* A whole decimal integer in int32 range ("45000", "-5000"); nothing else. */
static bool parse_i32(const char* s, int32_t* out) {
  if (s[0] == 0) return false;
  const char* p = s;
  if (*p == '-' || *p == '+') p++;
  if (*p < '0' || *p > '9') return false;
  errno = 0;
  char* end = NULL;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == NULL || *end != 0) return false;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  *out = (int32_t)v;
  return true;
}

static bool join(char* buf, const char* root, const char* a, unsigned n, const char* b) {
  int w = b ? snprintf(buf, PATH_CAP, "%s/class/thermal/%s%u/%s", root, a, n, b)
            : snprintf(buf, PATH_CAP, "%s/class/thermal", root);
  return w > 0 && w < PATH_CAP;
}

static uint32_t trip_type(const char* s) {
  if (strcmp(s, "critical") == 0) return BN_THERMAL_TRIP_CRITICAL;
  if (strcmp(s, "hot") == 0) return BN_THERMAL_TRIP_HOT;
  if (strcmp(s, "passive") == 0) return BN_THERMAL_TRIP_PASSIVE;
  if (strcmp(s, "active") == 0) return BN_THERMAL_TRIP_ACTIVE;
  return BN_THERMAL_TRIP_OTHER;
}

/* Copies src into dst[cap], cutting at a UTF-8 character boundary. */
static void copy_utf8(char* dst, size_t cap, const char* src) {
  size_t n = strlen(src);
  if (n > cap - 1) {
    n = cap - 1;
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
  }
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* The state rules of bitnet_metal_thermal.h, from the lowest critical and the lowest
 * hot/passive trip above 0 °C (NO_TEMP when there is none). */
static uint32_t judge(int32_t t, int64_t critical, int64_t throttle) {
  if (critical == NO_TEMP && throttle == NO_TEMP) return BN_THERMAL_UNKNOWN;
  if (critical != NO_TEMP && t >= critical) return BN_THERMAL_CRITICAL;
  int64_t serious = throttle != NO_TEMP ? throttle : critical - 10000;
  if (t >= serious) return BN_THERMAL_SERIOUS;
  if (t >= serious - 10000) return BN_THERMAL_FAIR;
  return BN_THERMAL_NOMINAL;
}

/* Reads zone n into z. false when its type or temp is unreadable or malformed. */
static bool read_zone(const char* root, unsigned n, bn_thermal_zone_t* z) {
  char path[PATH_CAP];
  char text[128];
  memset(z, 0, sizeof *z);
  z->index = n;
  if (!join(path, root, "thermal_zone", n, "type") || !read_text(path, text, sizeof text)) {
    return false;
  }
  copy_utf8(z->type, sizeof z->type, text);
  if (!join(path, root, "thermal_zone", n, "temp") || !read_text(path, text, sizeof text) ||
      !parse_i32(text, &z->temp_mc)) {
    return false;
  }
  int64_t critical = NO_TEMP, throttle = NO_TEMP;
  for (unsigned i = 0; i < TRIP_SCAN_MAX; i++) {
    char name[48];
    snprintf(name, sizeof name, "trip_point_%u_type", i);
    if (!join(path, root, "thermal_zone", n, name) || !read_text(path, text, sizeof text)) {
      break; /* trips are numbered 0, 1, …: the first missing one ends the list */
    }
    bn_thermal_trip_t trip = {trip_type(text), 0};
    snprintf(name, sizeof name, "trip_point_%u_temp", i);
    if (!join(path, root, "thermal_zone", n, name) || !read_text(path, text, sizeof text) ||
        !parse_i32(text, &trip.temp_mc)) {
      continue; /* a trip without a readable temperature is left out */
    }
    if (trip.temp_mc > 0) { /* 0 or below: a disabled trip */
      if (trip.type == BN_THERMAL_TRIP_CRITICAL && trip.temp_mc < critical) critical = trip.temp_mc;
      if ((trip.type == BN_THERMAL_TRIP_HOT || trip.type == BN_THERMAL_TRIP_PASSIVE) &&
          trip.temp_mc < throttle) {
        throttle = trip.temp_mc;
      }
    }
    if (z->trip_count < BN_THERMAL_MAX_TRIPS) z->trips[z->trip_count++] = trip;
  }
  z->state = judge(z->temp_mc, critical, throttle);
  return true;
}

static int cmp_uint(const void* a, const void* b) {
  unsigned x = *(const unsigned*)a, y = *(const unsigned*)b;
  return (x > y) - (x < y);
}

/* "thermal_zone<digits>" → the number. */
static bool zone_number(const char* name, unsigned* out) {
  static const char prefix[] = "thermal_zone";
  if (strncmp(name, prefix, sizeof prefix - 1) != 0) return false;
  const char* p = name + sizeof prefix - 1;
  if (*p == 0 || strlen(p) > 9) return false;
  unsigned v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (unsigned)(*p - '0');
  }
  *out = v;
  return true;
}

int32_t bn_thermal_sysfs_read(const char* root, bn_thermal_t* out) {
  char path[PATH_CAP];
  if (!join(path, root, NULL, 0, NULL) || strlen(root) > PATH_CAP - 128) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_thermal_read: sysfs_root is too long");
  }
  DIR* dir = opendir(path);
  if (!dir) return BN_OK; /* no thermal tree: zero zones, state unknown */
  unsigned numbers[ZONE_SCAN_MAX];
  size_t count = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL && count < ZONE_SCAN_MAX) {
    unsigned n;
    if (zone_number(e->d_name, &n)) numbers[count++] = n;
  }
  closedir(dir);
  qsort(numbers, count, sizeof numbers[0], cmp_uint);

  out->source = BN_THERMAL_SOURCE_SYSFS;
  uint32_t state = BN_THERMAL_UNKNOWN;
  for (size_t i = 0; i < count; i++) {
    bn_thermal_zone_t z;
    if (!read_zone(root, numbers[i], &z)) {
      out->zones_skipped++;
      continue;
    }
    if (z.state > state) state = z.state;
    if (out->zone_count < BN_THERMAL_MAX_ZONES) {
      out->zones[out->zone_count++] = z;
    } else {
      out->zones_dropped++;
    }
  }
  out->state = state;
  return BN_OK;
}

#else
typedef int bn_thermal_linux_unused_t; /* keeps the translation unit non-empty */
#endif /* __linux__ */
