/**
 * Deno FFI symbols of the thermal / system-state API (`objc/include/bitnet_metal_thermal.h`),
 * spread into the one symbol table of `src/ffi.ts`.
 *
 * Every symbol is `optional: true`, so a library built without the thermal sources still
 * opens (the symbol is then `null` and `src/thermal.ts` reports UNSUPPORTED).
 *
 * The reading calls are `nonblocking`: a sysfs `temp` read can take tens of milliseconds
 * on hardware behind ACPI or I2C, and the first NVML call initialises the driver. Callers
 * keep a reference to each out-buffer until the Promise settles. A nonblocking call's
 * thread-local error text is lost with its thread, so NVML's state is read afterwards
 * through `bn_thermal_nvml_message`, which is kept globally.
 *
 * @example
 * ```ts
 * import { thermalSymbols } from "./thermal_ffi.ts";
 * const dl = Deno.dlopen("build/libbitnet_metal.so", thermalSymbols);
 * console.log(dl.symbols.bn_thermal_size?.()); // 2336
 * dl.close();
 * ```
 *
 * @module
 */

/** FFI definitions of the `bn_thermal_*` functions. */
export const thermalSymbols = {
  /** uint32_t bn_thermal_size(void);        sizeof(bn_thermal_t) == 2336 */
  bn_thermal_size: { parameters: [], result: "u32", optional: true },
  /** uint32_t bn_thermal_zone_size(void);   sizeof(bn_thermal_zone_t) == 144 */
  bn_thermal_zone_size: { parameters: [], result: "u32", optional: true },
  /** uint32_t bn_thermal_trip_size(void);   sizeof(bn_thermal_trip_t) == 8 */
  bn_thermal_trip_size: { parameters: [], result: "u32", optional: true },
  /** uint32_t bn_gpu_thermal_size(void);    sizeof(bn_gpu_thermal_t) == 144 */
  bn_gpu_thermal_size: { parameters: [], result: "u32", optional: true },
  /** int32_t bn_thermal_read(const char* sysfs_root, bn_thermal_t* out);   (nonblocking) */
  bn_thermal_read: {
    parameters: ["buffer", "buffer"],
    result: "i32",
    nonblocking: true,
    optional: true,
  },
  /** int32_t bn_thermal_gpu_count(uint32_t* out_count);   (nonblocking) */
  bn_thermal_gpu_count: {
    parameters: ["buffer"],
    result: "i32",
    nonblocking: true,
    optional: true,
  },
  /** int32_t bn_thermal_gpu(uint32_t index, bn_gpu_thermal_t* out);   (nonblocking) */
  bn_thermal_gpu: {
    parameters: ["u32", "buffer"],
    result: "i32",
    nonblocking: true,
    optional: true,
  },
  /** uint32_t bn_thermal_nvml_message(char* buf, uint32_t cap); */
  bn_thermal_nvml_message: {
    parameters: ["buffer", "u32"],
    result: "u32",
    optional: true,
  },
} as const;
