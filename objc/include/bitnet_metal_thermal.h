/*
 * bitnet_metal_thermal.h — thermal and power state of the machine and its NVIDIA GPUs.
 *
 * Included at the end of bitnet_metal.h; the contract there holds here too: int32_t status
 * returns (BN_OK or BN_ERR_*), out-parameters written only on success, no exit/abort, and
 * every call is thread-safe. Nothing here needs an open device.
 *
 * Sources
 * - macOS: NSProcessInfo.processInfo.thermalState and isLowPowerModeEnabled (polled; no
 *   notifications). Zones are not reported (zone_count 0).
 * - Linux: <sysfs_root>/class/thermal/thermal_zone<N>/{type,temp,trip_point_<i>_type,
 *   trip_point_<i>_temp}. The platform state is judged from the zones and their trips (see
 *   BN_THERMAL_* below).
 * - NVIDIA GPUs (Linux): NVML, loaded with dlopen at first use from libnvidia-ml.so.1 or
 *   from the path in the environment variable BITNET_NVML_LIB. Without NVML the GPU count
 *   is 0; it is never an error to ask for the count.
 *
 * The structs have a fixed layout (offsets in the comments) that TypeScript decodes; a test
 * checks the size functions against these numbers.
 */
#ifndef BITNET_METAL_THERMAL_H
#define BITNET_METAL_THERMAL_H

#include "bitnet_metal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Platform thermal state, in order of severity (so the worst of several is the largest).
 * Zero is "unknown", so a zeroed struct says nothing.
 * macOS: NSProcessInfoThermalState Nominal/Fair/Serious/Critical map one to one.
 * Linux, per zone at temperature t, against its trips with a temperature above 0 °C:
 *   CRITICAL  t ≥ the lowest critical trip;
 *   SERIOUS   t ≥ the lowest hot or passive trip (where the kernel starts throttling); a
 *             zone with neither uses critical − 10 °C;
 *   FAIR      t within 10 °C below the SERIOUS threshold;
 *   NOMINAL   below that;
 *   UNKNOWN   the zone has no critical, hot or passive trip to judge by.
 * The platform state is the worst zone state (UNKNOWN when no zone can be judged, e.g. no
 * thermal tree at all). Active (fan) trips are reported but not used. */
enum {
  BN_THERMAL_UNKNOWN = 0,
  BN_THERMAL_NOMINAL = 1,
  BN_THERMAL_FAIR = 2,
  BN_THERMAL_SERIOUS = 3,
  BN_THERMAL_CRITICAL = 4
};

/* Linux trip point types (trip_point_<i>_type). */
enum {
  BN_THERMAL_TRIP_OTHER = 0,   /* a type this library does not know                    */
  BN_THERMAL_TRIP_ACTIVE = 1,  /* "active": a fan level                                 */
  BN_THERMAL_TRIP_PASSIVE = 2, /* "passive": the kernel throttles (cpufreq, …)           */
  BN_THERMAL_TRIP_HOT = 3,     /* "hot": a notification before critical                 */
  BN_THERMAL_TRIP_CRITICAL = 4 /* "critical": the kernel shuts down                      */
};

/* Where bn_thermal_t's state came from. */
enum {
  BN_THERMAL_SOURCE_NONE = 0,  /* nothing readable on this platform / under this root   */
  BN_THERMAL_SOURCE_SYSFS = 1, /* Linux thermal zones                                   */
  BN_THERMAL_SOURCE_MACOS = 2  /* NSProcessInfo                                         */
};

#define BN_THERMAL_MAX_ZONES 16u /* zones stored in bn_thermal_t (all are judged)         */
#define BN_THERMAL_MAX_TRIPS 12u /* trips stored per zone (all are judged)                */

/* 8 bytes. */
typedef struct bn_thermal_trip {
  uint32_t type;   /* 0: BN_THERMAL_TRIP_*                                                */
  int32_t temp_mc; /* 4: milli-degrees Celsius                                            */
} bn_thermal_trip_t;

/* 144 bytes. */
typedef struct bn_thermal_zone {
  char type[32];        /*  0: zone type ("x86_pkg_temp", "acpitz", …), NUL-terminated,
                                truncated to 31 bytes at a UTF-8 boundary                 */
  int32_t temp_mc;      /* 32: milli-degrees Celsius                                      */
  uint32_t index;       /* 36: N of thermal_zone<N>                                        */
  uint32_t state;       /* 40: this zone's BN_THERMAL_* (rules above)                      */
  uint32_t trip_count;  /* 44: trips stored below (≤ BN_THERMAL_MAX_TRIPS), in file order  */
  bn_thermal_trip_t trips[BN_THERMAL_MAX_TRIPS]; /* 48                                     */
} bn_thermal_zone_t;

/* Filled by bn_thermal_read. 2336 bytes. */
typedef struct bn_thermal {
  uint32_t state;         /*  0: BN_THERMAL_*                                              */
  int32_t low_power_mode; /*  4: 1 on, 0 off, -1 unknown (macOS 12+ only)                  */
  uint32_t source;        /*  8: BN_THERMAL_SOURCE_*                                       */
  uint32_t zone_count;    /* 12: zones stored below, sorted by index                       */
  uint32_t zones_skipped; /* 16: zones whose type or temp was unreadable or malformed       */
  uint32_t zones_dropped; /* 20: readable zones beyond BN_THERMAL_MAX_ZONES (still judged)  */
  uint32_t reserved[2];   /* 24: zero                                                      */
  bn_thermal_zone_t zones[BN_THERMAL_MAX_ZONES]; /* 32                                     */
} bn_thermal_t;

/* NVML clock throttle reasons (nvmlClocksThrottleReason*), the bits of throttle_reasons. */
#define BN_GPU_THROTTLE_GPU_IDLE 0x1ull              /* idle: clocks are low on purpose    */
#define BN_GPU_THROTTLE_APPLICATIONS_CLOCKS 0x2ull   /* application clocks setting         */
#define BN_GPU_THROTTLE_SW_POWER_CAP 0x4ull          /* software power cap                 */
#define BN_GPU_THROTTLE_HW_SLOWDOWN 0x8ull           /* hardware slowdown (thermal/power)  */
#define BN_GPU_THROTTLE_SYNC_BOOST 0x10ull           /* held to a sync-boost group's clock */
#define BN_GPU_THROTTLE_SW_THERMAL 0x20ull           /* software thermal slowdown          */
#define BN_GPU_THROTTLE_HW_THERMAL 0x40ull           /* hardware thermal slowdown          */
#define BN_GPU_THROTTLE_HW_POWER_BRAKE 0x80ull       /* external power brake               */
#define BN_GPU_THROTTLE_DISPLAY_CLOCKS 0x100ull      /* display clock setting              */

/* Filled by bn_thermal_gpu. 144 bytes. Each numeric field is -1 when its query failed or
 * the GPU does not support it. */
typedef struct bn_gpu_thermal {
  char name[96];            /*   0: NVML device name, NUL-terminated ("" if unknown)       */
  uint32_t index;           /*  96: NVML device index                                      */
  int32_t temp_c;           /* 100: GPU die sensor, °C                                     */
  int32_t power_mw;         /* 104: power draw, milliwatts                                 */
  int32_t power_limit_mw;   /* 108: enforced power limit, milliwatts                       */
  int32_t sm_clock_mhz;     /* 112: current SM clock                                       */
  int32_t mem_clock_mhz;    /* 116: current memory clock                                   */
  int32_t util_gpu;         /* 120: percent of time a kernel ran, last sample period       */
  int32_t util_mem;         /* 124: percent of time memory was read or written             */
  int64_t throttle_reasons; /* 128: BN_GPU_THROTTLE_* bits                                 */
  uint8_t reserved[8];      /* 136: zero                                                   */
} bn_gpu_thermal_t;

BN_API uint32_t bn_thermal_size(void);      /* sizeof(bn_thermal_t) == 2336     */
BN_API uint32_t bn_thermal_zone_size(void); /* sizeof(bn_thermal_zone_t) == 144 */
BN_API uint32_t bn_thermal_trip_size(void); /* sizeof(bn_thermal_trip_t) == 8   */
BN_API uint32_t bn_gpu_thermal_size(void);  /* sizeof(bn_gpu_thermal_t) == 144  */

/* Reads the platform thermal state. sysfs_root: NULL for "/sys" (tests pass a fake tree);
 * ignored on macOS. Unreadable or malformed zones are skipped and counted; a missing tree
 * gives zero zones, state BN_THERMAL_UNKNOWN and BN_OK.
 * BN_ERR_INVALID_ARGUMENT: out is NULL, or sysfs_root is empty or too long. */
BN_API int32_t bn_thermal_read(const char* sysfs_root, bn_thermal_t* out);

/* Number of NVIDIA GPUs NVML reports; 0 (and BN_OK) when NVML is absent or fails to
 * initialise. The first call loads NVML; a later call whose BITNET_NVML_LIB differs from
 * the one loaded unloads it and loads the new path. */
BN_API int32_t bn_thermal_gpu_count(uint32_t* out_count);

/* Temperatures, power, clocks, utilisation and throttle reasons of GPU index (of
 * bn_thermal_gpu_count). BN_ERR_NOT_FOUND: NVML is absent (the message says why) or index
 * is out of range; BN_ERR_DEVICE_LOST: NVML says the GPU is lost; BN_ERR_INVALID_ARGUMENT:
 * out is NULL. */
BN_API int32_t bn_thermal_gpu(uint32_t index, bn_gpu_thermal_t* out);

/* NVML's state as text, kept globally (not per thread, so it is readable after a call that
 * ran on another thread): where it was loaded from, why it is unavailable, or the last
 * failure of bn_thermal_gpu. Copied like bn_last_error_copy: at most cap bytes, NUL-
 * terminated; returns the full length. "" before the first NVML call. */
BN_API uint32_t bn_thermal_nvml_message(char* buf, uint32_t cap);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_METAL_THERMAL_H */
