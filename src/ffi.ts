/**
 * The one Deno FFI symbol table of the native library (`objc/include/bitnet_metal.h`).
 *
 * Rules followed here:
 * - Handles are `uint64_t` ids below 2^53: passed as `"u64"` (a JS number), read back
 *   from out-parameters through a `BigUint64Array`.
 * - Out-parameters and byte buffers are `"buffer"`; nothing here takes or returns a
 *   struct (that would disable Deno's fast call path).
 * - `bn_batch_wait`, `bn_buffer_read` and `bn_buffer_write` are `nonblocking` (they run on
 *   another OS thread and return a Promise). Callers keep a JS reference to every buffer
 *   they pass until the Promise settles, and pass only ArrayBuffer-backed (off-heap)
 *   memory. `bn_buffer_read_sync` / `bn_buffer_write_sync` bind the same C functions as
 *   blocking calls for small synchronous transfers (tensor creation, scale checks).
 * - The core ABI has no optional symbols: every function of ABI version 1 must be
 *   present. The thermal/system-state symbols (`src/thermal_ffi.ts`) are optional.
 *
 * @module
 */

import { thermalSymbols } from "./thermal_ffi.ts";

/** The symbol table passed to `Deno.dlopen`. */
export const symbols = {
  // ---- library -------------------------------------------------------------------
  /** uint32_t bn_abi_version(void); */
  bn_abi_version: { parameters: [], result: "u32" },
  /** const char* bn_status_string(int32_t status); */
  bn_status_string: { parameters: ["i32"], result: "pointer" },
  /** const char* bn_last_error(void); */
  bn_last_error: { parameters: [], result: "pointer" },
  /** uint32_t bn_last_error_copy(char* buf, uint32_t cap); */
  bn_last_error_copy: { parameters: ["buffer", "u32"], result: "u32" },
  /** uint32_t bn_device_info_size(void); */
  bn_device_info_size: { parameters: [], result: "u32" },
  /** uint32_t bn_pool_stats_size(void); */
  bn_pool_stats_size: { parameters: [], result: "u32" },

  // ---- op metadata ---------------------------------------------------------------
  /** const char* bn_op_name(uint32_t op); */
  bn_op_name: { parameters: ["u32"], result: "pointer" },
  /** uint32_t bn_op_params_size(uint32_t op); */
  bn_op_params_size: { parameters: ["u32"], result: "u32" },
  /** uint32_t bn_op_buffer_count(uint32_t op); */
  bn_op_buffer_count: { parameters: ["u32"], result: "u32" },
  /** int32_t bn_op_buffer_bytes(uint32_t op, const void* params, uint32_t params_size,
   *                             uint32_t index, uint64_t* out_bytes); */
  bn_op_buffer_bytes: {
    parameters: ["u32", "buffer", "u32", "u32", "buffer"],
    result: "i32",
  },

  // ---- devices -------------------------------------------------------------------
  /** int32_t bn_device_count(uint32_t* out_count); */
  bn_device_count: { parameters: ["buffer"], result: "i32" },
  /** int32_t bn_device_info(uint32_t index, bn_device_info_t* out_info); */
  bn_device_info: { parameters: ["u32", "buffer"], result: "i32" },
  /** int32_t bn_device_open(uint32_t index, uint64_t* out_device); */
  bn_device_open: { parameters: ["u32", "buffer"], result: "i32" },
  /** int32_t bn_device_close(uint64_t device); */
  bn_device_close: { parameters: ["u64"], result: "i32" },
  /** int32_t bn_device_get_info(uint64_t device, bn_device_info_t* out_info); */
  bn_device_get_info: { parameters: ["u64", "buffer"], result: "i32" },
  /** uint32_t bn_device_last_error_copy(uint64_t device, char* buf, uint32_t cap); */
  bn_device_last_error_copy: {
    parameters: ["u64", "buffer", "u32"],
    result: "u32",
  },
  /** int32_t bn_device_supports_op(uint64_t device, uint32_t op,
   *                                uint32_t* out_supported); */
  bn_device_supports_op: {
    parameters: ["u64", "u32", "buffer"],
    result: "i32",
  },

  // ---- buffers -------------------------------------------------------------------
  /** int32_t bn_buffer_create(uint64_t device, uint64_t size, uint32_t storage,
   *                           uint64_t* out_buffer); */
  bn_buffer_create: {
    parameters: ["u64", "u64", "u32", "buffer"],
    result: "i32",
  },
  /** int32_t bn_buffer_free(uint64_t buffer); */
  bn_buffer_free: { parameters: ["u64"], result: "i32" },
  /** int32_t bn_buffer_write(uint64_t buffer, uint64_t offset, const void* src,
   *                          uint64_t len);   (nonblocking) */
  bn_buffer_write: {
    parameters: ["u64", "u64", "buffer", "u64"],
    result: "i32",
    nonblocking: true,
  },
  /** int32_t bn_buffer_read(uint64_t buffer, uint64_t offset, void* dst,
   *                         uint64_t len);   (nonblocking) */
  bn_buffer_read: {
    parameters: ["u64", "u64", "buffer", "u64"],
    result: "i32",
    nonblocking: true,
  },
  /** int32_t bn_buffer_write(uint64_t buffer, uint64_t offset, const void* src,
   *                          uint64_t len);   (blocking binding) */
  bn_buffer_write_sync: {
    name: "bn_buffer_write",
    parameters: ["u64", "u64", "buffer", "u64"],
    result: "i32",
  },
  /** int32_t bn_buffer_read(uint64_t buffer, uint64_t offset, void* dst,
   *                         uint64_t len);   (blocking binding) */
  bn_buffer_read_sync: {
    name: "bn_buffer_read",
    parameters: ["u64", "u64", "buffer", "u64"],
    result: "i32",
  },
  /** int32_t bn_buffer_host_ptr(uint64_t buffer, void** out_ptr); */
  bn_buffer_host_ptr: { parameters: ["u64", "buffer"], result: "i32" },
  /** int32_t bn_buffer_size(uint64_t buffer, uint64_t* out_size); */
  bn_buffer_size: { parameters: ["u64", "buffer"], result: "i32" },
  /** int32_t bn_buffer_storage(uint64_t buffer, uint32_t* out_storage); */
  bn_buffer_storage: { parameters: ["u64", "buffer"], result: "i32" },
  /** int32_t bn_pool_stats(uint64_t device, bn_pool_stats_t* out_stats); */
  bn_pool_stats: { parameters: ["u64", "buffer"], result: "i32" },
  /** int32_t bn_pool_trim(uint64_t device); */
  bn_pool_trim: { parameters: ["u64"], result: "i32" },

  // ---- batches -------------------------------------------------------------------
  /** int32_t bn_batch_begin(uint64_t device, uint64_t* out_batch); */
  bn_batch_begin: { parameters: ["u64", "buffer"], result: "i32" },
  /** int32_t bn_batch_encode(uint64_t batch, uint32_t op, const void* params,
   *                          uint32_t params_size, const uint64_t* buffers,
   *                          uint32_t n_buffers); */
  bn_batch_encode: {
    parameters: ["u64", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  /** int32_t bn_batch_commit(uint64_t batch); */
  bn_batch_commit: { parameters: ["u64"], result: "i32" },
  /** int32_t bn_batch_wait(uint64_t batch);   (nonblocking) */
  bn_batch_wait: { parameters: ["u64"], result: "i32", nonblocking: true },
  /** int32_t bn_batch_times(uint64_t batch, double* out_two); */
  bn_batch_times: { parameters: ["u64", "buffer"], result: "i32" },
  /** int32_t bn_batch_free(uint64_t batch); */
  bn_batch_free: { parameters: ["u64"], result: "i32" },

  // ---- thermal / system state (optional symbols, src/thermal_ffi.ts) -------------
  ...thermalSymbols,
} as const satisfies Deno.ForeignLibraryInterface;

/** The type of the opened library's symbols. */
export type Symbols = Deno.DynamicLibrary<typeof symbols>["symbols"];
