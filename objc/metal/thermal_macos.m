/* thermal_macos.m — macOS thermal state and Low Power Mode from NSProcessInfo.
 *
 * Polled on each bn_thermal_read: Deno's threads run no Cocoa run loop, so thermal state
 * notifications would never be delivered. Zones and NVML are not available on macOS. */
#if defined(__APPLE__)
#import <Foundation/Foundation.h>

#include "core/backend.h"
#include "include/bitnet_metal_thermal.h"

int32_t bn_thermal_macos_read(bn_thermal_t* out);

static uint32_t map_state(NSProcessInfoThermalState s) {
  switch (s) {
    case NSProcessInfoThermalStateNominal: return BN_THERMAL_NOMINAL;
    case NSProcessInfoThermalStateFair: return BN_THERMAL_FAIR;
    case NSProcessInfoThermalStateSerious: return BN_THERMAL_SERIOUS;
    case NSProcessInfoThermalStateCritical: return BN_THERMAL_CRITICAL;
  }
  return BN_THERMAL_UNKNOWN;
}

int32_t bn_thermal_macos_read(bn_thermal_t* out) {
  @autoreleasepool {
    @try {
      NSProcessInfo* info = NSProcessInfo.processInfo;
      uint32_t state = BN_THERMAL_UNKNOWN;
      int32_t low_power = -1;
      if (@available(macOS 10.10.3, *)) {
        state = map_state(info.thermalState);
      }
      if (@available(macOS 12.0, *)) {
        low_power = info.isLowPowerModeEnabled ? 1 : 0;
      }
      out->state = state;
      out->low_power_mode = low_power;
      out->source = BN_THERMAL_SOURCE_MACOS;
      return BN_OK;
    } @catch (NSException* e) {
      return bn_fail(BN_ERR_INTERNAL, "bn_thermal_read: %s: %s", e.name.UTF8String ?: "?",
                     e.reason.UTF8String ?: "");
    }
  }
}

#else
typedef int bn_thermal_macos_unused_t; /* keeps the translation unit non-empty */
#endif /* __APPLE__ */
