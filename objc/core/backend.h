/*
 * backend.h — what core/ asks of a backend (CPU, Vulkan, Metal), and the op table.
 *
 * Core owns handles, validation, the pool, reference counting and the per-device lock.
 * A backend only allocates memory, copies bytes and runs already-validated commands.
 * Every backend function is called with the device lock held, except enumerate/describe.
 */
#ifndef BN_CORE_BACKEND_H
#define BN_CORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "include/bitnet_metal.h"

/* Records msg (printf-style) as the calling thread's last error and returns status. */
int32_t bn_fail(int32_t status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* One backend allocation. host is non-NULL for host-visible (SHARED) memory. */
typedef struct bn_mem {
  void* impl;      /* backend's own object                       */
  void* host;      /* mapped pointer, or NULL                     */
  uint64_t size;   /* bytes allocated (the pool bin size)         */
  uint32_t storage;
  uint32_t zeroed; /* set by mem_alloc when fresh memory is already all zero */
} bn_mem_t;

/* One validated command: the op, its params and its buffers' memory. */
typedef struct bn_cmd {
  uint32_t op;
  uint8_t params[BN_MAX_PARAMS_BYTES] __attribute__((aligned(8)));
  uint32_t params_size;
  uint32_t n_buffers;
  bn_mem_t* mem[8];
  uint64_t bytes[8]; /* bytes the op uses of each buffer (from the validator) */
} bn_cmd_t;

typedef struct bn_backend {
  const char* name;
  uint32_t backend_id; /* BN_BACKEND_* */
  /* Number of devices this backend offers (0 when its API is absent). Called once. */
  uint32_t (*enumerate)(void);
  int32_t (*describe)(uint32_t local_index, bn_device_info_t* out);
  int32_t (*open)(uint32_t local_index, void** out_dev);
  void (*close)(void* dev);
  int32_t (*mem_alloc)(void* dev, uint64_t size, uint32_t storage, bn_mem_t* out);
  void (*mem_free)(void* dev, bn_mem_t* mem);
  /* Zero-fill [0, size) of mem (pooled memory is handed out zeroed). */
  int32_t (*mem_zero)(void* dev, bn_mem_t* mem, uint64_t size);
  int32_t (*mem_write)(void* dev, bn_mem_t* mem, uint64_t off, const void* src, uint64_t len);
  int32_t (*mem_read)(void* dev, bn_mem_t* mem, uint64_t off, void* dst, uint64_t len);
  bool (*supports_op)(void* dev, uint32_t op);
  /* Run cmds in order, each seeing the previous results, and wait for completion.
   * gpu_seconds: the device's own time for the work, or -1. */
  int32_t (*run)(void* dev, const bn_cmd_t* cmds, uint32_t n, double* gpu_seconds);
} bn_backend_t;

/* Backends compiled into this library (NULL-terminated in core/device.c). */
extern const bn_backend_t bn_backend_cpu;
#ifdef BN_WITH_VULKAN
extern const bn_backend_t bn_backend_vulkan;
#endif
#ifdef BN_WITH_METAL
extern const bn_backend_t bn_backend_metal;
#endif

/* ---- op table ------------------------------------------------------------------------ */
typedef struct bn_op_desc {
  const char* name;
  uint32_t params_size;
  uint32_t n_buffers;
  /* Bytes each buffer must hold for these params; returns BN_OK or a status with a message
   * (bad shapes, overflow). out_bytes has n_buffers entries. */
  int32_t (*buffer_bytes)(const void* params, uint64_t* out_bytes);
  /* Bitmask of buffers the op writes. */
  uint32_t writes;
} bn_op_desc_t;

/* NULL for an unknown op id. */
const bn_op_desc_t* bn_op_get(uint32_t op);

static inline uint64_t bn_round_up(uint64_t x, uint64_t m) { return (x + m - 1) / m * m; }
/* Padded k of the packed ternary and int8 activation layouts. */
static inline uint64_t bn_kp(uint64_t k) { return bn_round_up(k, 128); }

/* ---- GPU dispatch plans (shared by Vulkan and Metal) ------------------------------------
 * A GPU op is one or more stages; each stage runs one shader (by name; its SPIR-V and MSL
 * are embedded) over a grid of workgroups, with the op's params as push constants and the
 * op's buffers at bindings 0..n_buffers-1. A stage that needs scratch memory gets it at
 * binding BN_SCRATCH_BINDING. A barrier separates consecutive stages and commands. */
#define BN_SCRATCH_BINDING 7u
#define BN_MAX_STAGES 4u
/* Metal: the push constants (params) are passed at this buffer index. */
#define BN_MSL_PUSH_CONSTANT_INDEX 8u

typedef struct bn_gpu_stage {
  const struct bn_shader_blob* shader; /* from bn_shader_find                          */
  uint32_t groups[3];                  /* workgroup counts, each <= 65535              */
} bn_gpu_stage_t;

typedef struct bn_gpu_plan {
  uint32_t n_stages;
  bn_gpu_stage_t stages[BN_MAX_STAGES];
  uint64_t scratch_bytes; /* 0 when no stage needs scratch */
} bn_gpu_plan_t;

/* Fills the plan for a validated command. caps: BN_CAP_* of the device (a plan may choose
 * a faster shader when the device has integer dot products, …). */
int32_t bn_gpu_plan(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out);

/* Embedded shader code. build.ts generates this table into the build from
 * shaders/gen/manifest.json, shaders/gen/<name>.spv and shaders/gen/<name>.metal, so the
 * local sizes the backends dispatch with come from the same file the shaders were
 * compiled from. */
typedef struct bn_shader_blob {
  const char* name;              /* file stem in shaders/, e.g. "bitlinear_gemv"            */
  const uint32_t* spirv;         /* SPIR-V words                                            */
  uint64_t spirv_bytes;
  const char* msl;               /* NUL-terminated Metal Shading Language source            */
  const char* msl_entry;         /* its kernel function's name                              */
  uint32_t local_size[3];        /* = Metal threads per threadgroup                          */
  uint32_t binding_mask;         /* bit i: the shader declares storage buffer binding i      */
  uint32_t push_constant_bytes;  /* 0 or the size of its push-constant block                 */
} bn_shader_blob_t;
/* NULL when name is unknown. */
const bn_shader_blob_t* bn_shader_find(const char* name);
extern const bn_shader_blob_t bn_shader_table[];
extern const uint32_t bn_shader_count;

/* ---- CPU kernels (objc/cpu/) ------------------------------------------------------------ */
/* Runs fn(ctx, i) for i in [0, n) on the CPU backend's worker threads (and the caller). */
void bn_parallel_for(uint32_t n, void (*fn)(void* ctx, uint32_t i), void* ctx);
uint32_t bn_cpu_threads(void);

/* Each runs one validated command on host memory (bufs[i] = host pointer of buffer i). */
int32_t bn_cpu_quantize_ternary(const bn_quantize_ternary_params_t* p, void* const* bufs);
int32_t bn_cpu_quantize_act_int8(const bn_quantize_act_params_t* p, void* const* bufs);
int32_t bn_cpu_bitlinear(const bn_bitlinear_params_t* p, void* const* bufs);
int32_t bn_cpu_dequantize_ternary(const bn_dequantize_ternary_params_t* p, void* const* bufs);
int32_t bn_cpu_matmul_f32(const bn_matmul_f32_params_t* p, void* const* bufs);
int32_t bn_cpu_read_probe(const bn_read_probe_params_t* p, void* const* bufs);
/* Tensor ops (objc/cpu/tensor_*.c). */
int32_t bn_cpu_matmul(const bn_matmul_params_t* p, void* const* bufs);
int32_t bn_cpu_binary(const bn_binary_params_t* p, void* const* bufs);
int32_t bn_cpu_unary(const bn_unary_params_t* p, void* const* bufs);
int32_t bn_cpu_reduce(const bn_reduce_params_t* p, void* const* bufs);
int32_t bn_cpu_softmax(const bn_softmax_params_t* p, void* const* bufs);
int32_t bn_cpu_rmsnorm(const bn_rmsnorm_params_t* p, void* const* bufs);
int32_t bn_cpu_rope(const bn_rope_params_t* p, void* const* bufs);
int32_t bn_cpu_rmsnorm_quant(const bn_rmsnorm_quant_params_t* p, void* const* bufs);

/* Size validators of the tensor ops (objc/core/ops_tensor.c), same contract as
 * bn_op_desc_t.buffer_bytes. */
int32_t bn_matmul_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_binary_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_unary_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_reduce_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_softmax_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_rmsnorm_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_rope_bytes(const void* params, uint64_t* out_bytes);
int32_t bn_rmsnorm_quant_bytes(const void* params, uint64_t* out_bytes);

/* Appends a stage running shader `name` over gx × gy × gz workgroups (objc/core/gpu_plan.c):
 * BN_OK (and nothing appended when a count is 0), BN_ERR_UNSUPPORTED when a count exceeds
 * the 65535-per-dimension grid, BN_ERR_INTERNAL for an unknown shader or too many stages.
 * The _1d form folds a 1-D count of workgroups into x·y as shaders/bn_plan.h describes. */
int32_t bn_gpu_add_stage(bn_gpu_plan_t* plan, const char* name, uint64_t gx, uint64_t gy,
                         uint64_t gz);
int32_t bn_gpu_add_stage_1d(bn_gpu_plan_t* plan, const char* name, uint64_t groups);

/* Typical params of op (set `index` = 0, 1, …): writes BN_MAX_PARAMS_BYTES bytes to out
 * and returns 1, or returns 0 past the last set. GPU backends plan these to decide
 * supports_op: together they make the plan choose every shader family of the op. */
int bn_op_probe_params(uint32_t op, uint32_t index, void* out);

/* GPU plans of the tensor-op families (objc/core/gpu_plan_*.c). */
int32_t bn_gpu_plan_matmul(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out);
int32_t bn_gpu_plan_elementwise(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out); /* BINARY, UNARY */
int32_t bn_gpu_plan_rows(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out); /* REDUCE, SOFTMAX, RMSNORM, ROPE, RMSNORM_QUANT */

#endif /* BN_CORE_BACKEND_H */
