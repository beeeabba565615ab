/*
 * bitnet_metal.h — the public C ABI of the bitnet-metal native library.
 *
 * One flat C interface over several backends (CPU everywhere, Vulkan on Linux, Metal on
 * macOS). It is loaded by Deno.dlopen; every rule below exists so that a script can never
 * crash the process through it.
 *
 * Contract
 * - Every call returns an int32_t status: BN_OK (0) or a negative BN_ERR_* code. Nothing in
 *   the library calls exit/abort or lets a C++/Objective-C exception cross this boundary.
 * - The message of the last failure on the calling thread is bn_last_error(); the last
 *   failure on a device (from any thread) is bn_device_last_error().
 * - Handles (bn_device_t, bn_buffer_t, bn_batch_t) are 64-bit ids, never pointers: a stale,
 *   closed, freed or made-up handle is detected (BN_ERR_INVALID_HANDLE) instead of being
 *   dereferenced. Ids stay below 2^53 so JavaScript numbers hold them exactly; 0 is never
 *   a valid handle.
 * - Out-parameters are written only on success.
 * - Calls are thread-safe. Work on one device is serialised by the library.
 * - Sizes are validated before any kernel runs: a command whose buffers are too small for
 *   its shapes is refused at encode time and nothing is written.
 */
#ifndef BITNET_METAL_H
#define BITNET_METAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define BN_API __declspec(dllexport)
#else
#define BN_API __attribute__((visibility("default")))
#endif

/* Bumped on any incompatible change of this header; TypeScript checks it after dlopen. */
#define BN_ABI_VERSION 1u

/* ---- status codes ------------------------------------------------------------------ */
enum {
  BN_OK = 0,
  BN_ERR_INVALID_ARGUMENT = -1, /* a bad value: null pointer, unknown enum, bad params */
  BN_ERR_OUT_OF_MEMORY = -2,    /* host or device allocation failed                    */
  BN_ERR_UNSUPPORTED = -3,      /* this backend/device cannot do that                  */
  BN_ERR_DEVICE_LOST = -4,      /* the GPU reset, the watchdog killed the work, …       */
  BN_ERR_COMPILE = -5,          /* a shader or pipeline failed to build                */
  BN_ERR_NOT_FOUND = -6,        /* no such device / backend not available             */
  BN_ERR_INVALID_HANDLE = -7,   /* handle is 0, closed, freed, or of another kind       */
  BN_ERR_SIZE = -8,             /* a buffer is too small for the shapes, or too large  */
  BN_ERR_STATE = -9,            /* call out of order (encode after commit, …)           */
  BN_ERR_WRONG_DEVICE = -10,    /* a buffer of another device was passed               */
  BN_ERR_INTERNAL = -11         /* a bug: please report with bn_last_error()           */
};

/* ---- backends, storage, capability flags ------------------------------------------- */
enum { BN_BACKEND_CPU = 0, BN_BACKEND_VULKAN = 1, BN_BACKEND_METAL = 2 };

enum {
  BN_DEVICE_TYPE_OTHER = 0,
  BN_DEVICE_TYPE_INTEGRATED = 1,
  BN_DEVICE_TYPE_DISCRETE = 2,
  BN_DEVICE_TYPE_VIRTUAL = 3,
  BN_DEVICE_TYPE_CPU = 4
};

enum {
  /* Host-visible memory; bn_buffer_host_ptr gives a zero-copy pointer. Unified memory on
   * Apple Silicon and lavapipe; over PCIe on discrete GPUs (slow for weights). */
  BN_STORAGE_SHARED = 0,
  /* Device-local memory, written and read through staging copies. Weights belong here on
   * discrete GPUs. On unified-memory devices it is the same memory as SHARED. */
  BN_STORAGE_PRIVATE = 1
};

enum {
  BN_CAP_INT8_STORAGE = 1u << 0,  /* 8-bit storage buffers                               */
  BN_CAP_FP16 = 1u << 1,          /* 16-bit float arithmetic in shaders                  */
  BN_CAP_INT_DOT = 1u << 2,       /* packed 4×int8 dot products (VK_KHR_shader_integer_dot_product) */
  BN_CAP_TIMESTAMPS = 1u << 3,    /* batches report GPU time                             */
  BN_CAP_SUBGROUP_ARITH = 1u << 4 /* subgroup add/max reductions in compute shaders      */
};

/* Filled by bn_device_info. Layout is fixed: TypeScript decodes it at these offsets and a
 * test checks bn_device_info_size() == sizeof(bn_device_info_t) == 256. */
typedef struct bn_device_info {
  char name[128];                 /*   0: UTF-8, NUL-terminated                          */
  uint32_t backend;               /* 128: BN_BACKEND_*                                    */
  uint32_t device_type;           /* 132: BN_DEVICE_TYPE_*                                */
  uint32_t unified_memory;        /* 136: 1 when host and device share memory             */
  uint32_t caps;                  /* 140: BN_CAP_* bits                                   */
  uint64_t memory_bytes;          /* 144: device memory (or recommended working set)      */
  uint64_t max_buffer_bytes;      /* 152: largest single buffer                           */
  uint32_t subgroup_size;         /* 160: SIMD width (1 on CPU)                           */
  uint32_t max_threads_per_group; /* 164: max threads per workgroup (CPU: worker threads) */
  uint32_t vendor_id;             /* 168: PCI vendor id, 0 if unknown                     */
  uint32_t device_id;             /* 172: PCI device id, 0 if unknown                     */
  uint32_t max_shared_bytes;      /* 176: shared (threadgroup) memory per workgroup       */
  uint32_t compute_units;         /* 180: CPU threads / GPU compute units when known      */
  char driver[64];                /* 184: driver or API version text                      */
  uint8_t reserved[8];            /* 248                                                  */
} bn_device_info_t;

/* Filled by bn_pool_stats. 48 bytes. */
typedef struct bn_pool_stats {
  uint64_t hits;           /* buffer creations served from the pool                       */
  uint64_t misses;         /* buffer creations that allocated fresh memory                */
  uint64_t bytes_in_use;   /* bytes of live buffers (rounded to their bin)                 */
  uint64_t bytes_cached;   /* bytes held by the pool for reuse                            */
  uint64_t buffers_in_use; /* live buffers                                                */
  uint64_t allocations;    /* backend allocations alive (in use + cached)                 */
} bn_pool_stats_t;

/* ---- ops ----------------------------------------------------------------------------
 * An op is encoded into a batch with its params struct (below) and its buffers in the
 * order listed. The params structs are also the GLSL push-constant blocks of the shaders
 * (a test checks size and offsets). All are 16 bytes: four 32-bit fields.
 *
 * Packed ternary layout ("TL2", ours): a ternary matrix W[n][k] is stored row by row; each
 * row is padded to kp = round_up(k, 128) weights and takes kp/4 bytes (row_bytes). Inside a
 * row, each block of 128 weights is 32 bytes; byte j of block b holds the weights
 * 128·b + j + 32·p at bits 2p..2p+1 (p = 0..3). A 2-bit code c means the value c − 1
 * (00 → −1, 01 → 0, 10 → +1; 11 never appears). Padding weights have code 01 (zero).
 * Why: one 32-byte load and a shift by 2p give 32 consecutive weights as bytes — a native
 * AVX2 / NEON / GPU-uvec4 unpack — and codes are unsigned bytes 0..2 for u8×s8 dot
 * products (Σ c·x − Σ x = Σ q·x).
 *
 * Quantized activations: int8 rows of kp bytes (row stride kp, zero-padded past k) and
 * one f32 dequantization scale per row, amax/127.
 */
enum {
  BN_OP_QUANTIZE_TERNARY = 1,
  BN_OP_QUANTIZE_ACT_INT8 = 2,
  BN_OP_BITLINEAR = 3,
  BN_OP_DEQUANTIZE_TERNARY = 4,
  BN_OP_MATMUL_F32 = 5,
  BN_OP_MPS_MATMUL = 6, /* Metal only (MPSMatrixMultiplication); BN_ERR_UNSUPPORTED elsewhere */
  BN_OP_READ_PROBE = 7, /* memory read-bandwidth probe (benchmarks measure against it) */
  /* Tensor ops (transformer layer building blocks), params below. */
  BN_OP_MATMUL = 8,        /* batched GEMM, f32/f16 inputs, transposes, f32 out   */
  BN_OP_BINARY = 9,        /* broadcasting elementwise a ∘ b                        */
  BN_OP_UNARY = 10,        /* elementwise f(a), strided in, contiguous out (COPY = permute/transpose/contiguous) */
  BN_OP_REDUCE = 11,       /* sum/mean/max/min/argmax/var along one axis           */
  BN_OP_SOFTMAX = 12,      /* row-wise, stable, optional causal mask               */
  BN_OP_RMSNORM = 13,      /* y = x · rsqrt(mean(x²) + eps) · w                    */
  BN_OP_ROPE = 14,         /* rotary embedding, NEOX style                         */
  BN_OP_RMSNORM_QUANT = 15,/* RMSNorm fused with quantize_act_int8                 */
  BN_OP_COUNT_ = 16        /* one past the last op id */
};

/* BN_OP_QUANTIZE_TERNARY — buffers: 0 W f32[n·k] (in), 1 packed u8[n·row_bytes] (out),
 * 2 scale f32[1] (out).
 * scale = mean(|W|) (absmean, BitNet b1.58); q = clamp(roundEven(W / scale), −1, 1); when
 * scale is 0 every q is 0. Non-finite input gives a non-finite scale (the TS API turns
 * that into a RangeError). */
typedef struct bn_quantize_ternary_params {
  uint32_t n, k, reserved0, reserved1;
} bn_quantize_ternary_params_t;

/* BN_OP_QUANTIZE_ACT_INT8 — buffers: 0 X f32[m·k] (in), 1 Xq i8[m·kp] (out),
 * 2 scale f32[m] (out).
 * Per row: amax = max|x|; xq = clamp(roundEven(x · (127 / amax)), −127, 127) with 127/amax
 * computed in f32; scale = amax / 127; a row of zeros gives xq = 0 and scale = 0; a row
 * with a NaN gives xq = 0 and a NaN scale, an Inf gives an Inf scale (the TS API turns a
 * non-finite scale into a RangeError). */
typedef struct bn_quantize_act_params {
  uint32_t m, k, reserved0, reserved1;
} bn_quantize_act_params_t;

/* BN_OP_BITLINEAR — buffers: 0 packed u8[n·row_bytes] (in), 1 weight scale f32[1] (in),
 * 2 Xq i8[m·kp] (in), 3 x scale f32[m] (in), 4 Y (out): f32[m·n] or i32[m·n].
 * acc[i][j] = Σ_k q[j][k]·xq[i][k], exact in int32 (|acc| ≤ 127·k < 2^31 for k < 2^24).
 * mode BN_BITLINEAR_F32: Y[i][j] = (float)acc · (w_scale · x_scale[i]).
 * mode BN_BITLINEAR_I32: Y[i][j] = acc (exact; what the tests compare across backends). */
enum { BN_BITLINEAR_F32 = 0, BN_BITLINEAR_I32 = 1 };
typedef struct bn_bitlinear_params {
  uint32_t m, n, k, mode;
} bn_bitlinear_params_t;

/* BN_OP_DEQUANTIZE_TERNARY — buffers: 0 packed (in), 1 scale f32[1] (in), 2 W f32[n·k]
 * (out): W = q · scale. */
typedef struct bn_dequantize_ternary_params {
  uint32_t n, k, reserved0, reserved1;
} bn_dequantize_ternary_params_t;

/* BN_OP_MATMUL_F32 — buffers: 0 A f32[m·k] (in), 1 B (in), 2 C f32[m·n] (out).
 * C = A · Bᵀ when b_trans = 1 (B is [n][k], the nn.Linear weight layout);
 * C = A · B  when b_trans = 0 (B is [k][n]). f32 accumulation. */
typedef struct bn_matmul_f32_params {
  uint32_t m, n, k, b_trans;
} bn_matmul_f32_params_t;

/* BN_OP_MPS_MATMUL — the dense baseline on Metal, through Metal Performance Shaders.
 * buffers: 0 A[m·k], 1 B ([n][k] when b_trans = 1, else [k][n]), 2 C[m·n]; the element
 * type of all three is f32 (dtype 0) or f16 (dtype 1); f32 accumulation where MPS does.
 * Other backends report BN_ERR_UNSUPPORTED (bn_device_supports_op says 0). */
enum { BN_DTYPE_F32 = 0, BN_DTYPE_F16 = 1 };
typedef struct bn_mps_matmul_params {
  uint32_t m, n, k, flags; /* flags: bit 0 b_trans, bits 8..15 dtype */
} bn_mps_matmul_params_t;

/* BN_OP_READ_PROBE — buffers: 0 data u32[words] (in), 1 sum u32[1] (out).
 * sum = Σ data[i] mod 2^32: every byte is read once, and the result is exact and checkable,
 * so no backend can skip the reads. The benchmarks' "% of measured bandwidth" divides by
 * this op's bytes/second on the same device. */
typedef struct bn_read_probe_params {
  uint32_t words, reserved0, reserved1, reserved2;
} bn_read_probe_params_t;

/* ---- tensor ops ----------------------------------------------------------------------
 * Element types: BN_DTYPE_F32 or BN_DTYPE_F16 (IEEE binary16, stored as 2 bytes). An f16
 * buffer must hold round_up(2·elements, 4) bytes (GPUs access f16 pairs as 32-bit words).
 * Strided operands give, for every dimension of the OUTPUT shape, the operand's stride in
 * elements (0 broadcasts it along that dimension) and an element offset; strides are
 * non-negative. Outputs are always dense, row-major. Shapes are outermost first.
 * Params of tensor ops are larger than 16 bytes (≤ BN_MAX_PARAMS_BYTES, the Vulkan
 * minimum push-constant size). */
#define BN_MAX_RANK 6
#define BN_MAX_PARAMS_BYTES 128

/* BN_OP_MATMUL — buffers: 0 A, 1 B, 2 C f32.
 * For each batch index z < batch: C_z[m][n] = Σ_k A_z[m][k] · B_z[k][n] with
 * A_z = A + z·a_batch_stride ([m][k], or [k][m] when flags bit 0 "trans_a"),
 * B_z = B + z·b_batch_stride ([k][n], or [n][k] when flags bit 1 "trans_b"),
 * C_z = C + z·m·n. A stride of 0 shares the operand across the batch. A and B are f32 or
 * f16 (flags bits 8..15, BN_DTYPE_*), accumulation and C are f32. */
enum { BN_MATMUL_TRANS_A = 1u << 0, BN_MATMUL_TRANS_B = 1u << 1 };
typedef struct bn_matmul_params {
  uint32_t m, n, k, batch;
  uint32_t flags;
  uint32_t a_batch_stride, b_batch_stride; /* elements */
  uint32_t reserved0;
} bn_matmul_params_t;

/* BN_OP_BINARY — buffers: 0 a, 1 b, 2 out (all of dtype). out is dense of shape[0..rank). */
enum {
  BN_BINARY_ADD = 0, BN_BINARY_SUB = 1, BN_BINARY_MUL = 2, BN_BINARY_DIV = 3,
  BN_BINARY_MAX = 4, BN_BINARY_MIN = 5, BN_BINARY_POW = 6, BN_BINARY_COUNT_ = 7
};
typedef struct bn_binary_params {
  uint32_t op, dtype, rank, numel;   /* numel = Π shape (≥ 1)                       */
  uint32_t shape[BN_MAX_RANK];
  uint32_t a_strides[BN_MAX_RANK];
  uint32_t b_strides[BN_MAX_RANK];
  uint32_t a_offset, b_offset, reserved0, reserved1;
} bn_binary_params_t;

/* BN_OP_UNARY — buffers: 0 a, 1 out (dtype). COPY is the identity: with permuted strides it
 * is permute/transpose, with any strides it makes a tensor contiguous.
 * GELU is the exact erf form, 0.5·x·(1 + erf(x/√2)); RELU2 is relu(x)², BitNet 2B-4T's FFN
 * activation; SILU is x·sigmoid(x). */
enum {
  BN_UNARY_COPY = 0, BN_UNARY_NEG = 1, BN_UNARY_ABS = 2, BN_UNARY_EXP = 3, BN_UNARY_LOG = 4,
  BN_UNARY_SQRT = 5, BN_UNARY_RSQRT = 6, BN_UNARY_TANH = 7, BN_UNARY_SIGMOID = 8,
  BN_UNARY_RELU = 9, BN_UNARY_RELU2 = 10, BN_UNARY_SILU = 11, BN_UNARY_GELU = 12,
  BN_UNARY_COUNT_ = 13
};
typedef struct bn_unary_params {
  uint32_t op, dtype, rank, numel;
  uint32_t shape[BN_MAX_RANK];
  uint32_t a_strides[BN_MAX_RANK];
  uint32_t a_offset, reserved0, reserved1, reserved2;
} bn_unary_params_t;

/* BN_OP_REDUCE — buffers: 0 a (dtype, dense, viewed as [outer][len][inner]), 1 out
 * ([outer][inner]: f32, or i32 indexes for ARGMAX — the first index of the maximum).
 * MEAN = SUM/len; VAR = Σ(x − mean)²/(len − ddof), two-pass; NaN propagates (ARGMAX
 * returns the first NaN's index). */
enum {
  BN_REDUCE_SUM = 0, BN_REDUCE_MEAN = 1, BN_REDUCE_MAX = 2, BN_REDUCE_MIN = 3,
  BN_REDUCE_ARGMAX = 4, BN_REDUCE_VAR = 5, BN_REDUCE_COUNT_ = 6
};
typedef struct bn_reduce_params {
  uint32_t op, dtype, outer, len, inner, ddof, reserved0, reserved1;
} bn_reduce_params_t;

/* BN_OP_SOFTMAX — buffers: 0 x, 1 y (dtype, [rows][cols]). y = exp(x − max)/Σ exp(x − max)
 * per row. causal = 1 masks key j of query row i when j > i + (cols − rows) (needs
 * cols ≥ rows); masked entries are 0. */
typedef struct bn_softmax_params {
  uint32_t rows, cols, causal, dtype;
} bn_softmax_params_t;

/* BN_OP_RMSNORM — buffers: 0 x (dtype, [rows][cols]), 1 w f32[cols], 2 y (dtype).
 * y = x · (1 / sqrt(mean(x²) + eps)) · w, computed in f32. */
typedef struct bn_rmsnorm_params {
  uint32_t rows, cols, dtype;
  float eps;
} bn_rmsnorm_params_t;

/* BN_OP_ROPE — buffers: 0 x (dtype, [tokens][heads][head_dim]), 1 pos i32[tokens], 2 y.
 * NEOX style: for i < d/2 (d = head_dim, even), θ_i = pos · theta^(−2i/d),
 * y[i] = x[i]·cos θ_i − x[i + d/2]·sin θ_i, y[i + d/2] = x[i]·sin θ_i + x[i + d/2]·cos θ_i. */
typedef struct bn_rope_params {
  uint32_t tokens, heads, head_dim, dtype;
  float theta;
  uint32_t reserved0, reserved1, reserved2;
} bn_rope_params_t;

/* BN_OP_RMSNORM_QUANT — buffers: 0 x f32[rows][cols], 1 w f32[cols], 2 xq i8[rows][kp],
 * 3 scale f32[rows]: RMSNorm (as BN_OP_RMSNORM) then quantize_act_int8 of the result, in
 * one pass: the input of every BitLinear. */
typedef struct bn_rmsnorm_quant_params {
  uint32_t rows, cols;
  float eps;
  uint32_t reserved0;
} bn_rmsnorm_quant_params_t;

/* Largest k the int32 accumulation of BITLINEAR allows exactly (127·2^24 < 2^31). */
#define BN_MAX_K (1u << 24)

/* ---- library ----------------------------------------------------------------------- */
BN_API uint32_t bn_abi_version(void);
/* Static text for a status code ("invalid argument", …); never NULL. */
BN_API const char* bn_status_string(int32_t status);
/* The message of the last failed call on this thread; "" if none. Valid until the next
 * call on this thread. */
BN_API const char* bn_last_error(void);
/* Writes at most cap bytes (NUL-terminated) of the last error on this thread into buf;
 * returns the full length. For callers that cannot read a returned C string safely. */
BN_API uint32_t bn_last_error_copy(char* buf, uint32_t cap);
BN_API uint32_t bn_device_info_size(void);
BN_API uint32_t bn_pool_stats_size(void);

/* Op metadata, so callers and tests need not hard-code it. */
BN_API const char* bn_op_name(uint32_t op);         /* NULL for an unknown op */
BN_API uint32_t bn_op_params_size(uint32_t op);     /* 0 for an unknown op    */
BN_API uint32_t bn_op_buffer_count(uint32_t op);    /* 0 for an unknown op    */
/* Bytes buffer `index` of op needs for these params (a size check, as the validator does). */
BN_API int32_t bn_op_buffer_bytes(uint32_t op, const void* params, uint32_t params_size,
                                  uint32_t index, uint64_t* out_bytes);

/* ---- devices ----------------------------------------------------------------------- */
/* Number of devices over all backends, in a stable order: Metal, Vulkan, CPU (CPU last). */
BN_API int32_t bn_device_count(uint32_t* out_count);
BN_API int32_t bn_device_info(uint32_t index, bn_device_info_t* out_info);
/* Opens the device at index (of bn_device_count). Each open gets its own handle. */
BN_API int32_t bn_device_open(uint32_t index, uint64_t* out_device);
/* Closes the device: waits for its work, frees its buffers and batches (their handles
 * become invalid). Closing twice gives BN_ERR_INVALID_HANDLE. */
BN_API int32_t bn_device_close(uint64_t device);
BN_API int32_t bn_device_get_info(uint64_t device, bn_device_info_t* out_info);
/* Last error recorded on the device, copied like bn_last_error_copy. */
BN_API uint32_t bn_device_last_error_copy(uint64_t device, char* buf, uint32_t cap);
/* 1 when the device runs op natively, 0 when it cannot (encode then fails with
 * BN_ERR_UNSUPPORTED; the library never falls back silently). */
BN_API int32_t bn_device_supports_op(uint64_t device, uint32_t op, uint32_t* out_supported);

/* ---- buffers ----------------------------------------------------------------------- */
/* size > 0; storage BN_STORAGE_*. Contents are zero on creation (pooled memory too). */
BN_API int32_t bn_buffer_create(uint64_t device, uint64_t size, uint32_t storage,
                                uint64_t* out_buffer);
/* Releases the caller's reference. Memory returns to the pool once no batch in flight
 * uses it. Freeing twice gives BN_ERR_INVALID_HANDLE. */
BN_API int32_t bn_buffer_free(uint64_t buffer);
BN_API int32_t bn_buffer_write(uint64_t buffer, uint64_t offset, const void* src, uint64_t len);
BN_API int32_t bn_buffer_read(uint64_t buffer, uint64_t offset, void* dst, uint64_t len);
/* SHARED storage only: a host pointer valid until the buffer is freed. */
BN_API int32_t bn_buffer_host_ptr(uint64_t buffer, void** out_ptr);
BN_API int32_t bn_buffer_size(uint64_t buffer, uint64_t* out_size);
BN_API int32_t bn_buffer_storage(uint64_t buffer, uint32_t* out_storage);

BN_API int32_t bn_pool_stats(uint64_t device, bn_pool_stats_t* out_stats);
/* Frees the memory the pool caches for reuse. */
BN_API int32_t bn_pool_trim(uint64_t device);

/* ---- batches ----------------------------------------------------------------------- *
 * begin → encode… → commit → wait → free. Ops run in encode order; each op sees the
 * results of the ones before it. A batch holds a reference to every buffer it uses until
 * it completes, so freeing a buffer early is safe. wait may be called from any thread and
 * more than once; it returns the batch's status. */
BN_API int32_t bn_batch_begin(uint64_t device, uint64_t* out_batch);
/* buffers: an array of n_buffers buffer handles, in the op's order. */
BN_API int32_t bn_batch_encode(uint64_t batch, uint32_t op, const void* params,
                               uint32_t params_size, const uint64_t* buffers,
                               uint32_t n_buffers);
BN_API int32_t bn_batch_commit(uint64_t batch);
BN_API int32_t bn_batch_wait(uint64_t batch);
/* After a successful wait: out[0] = GPU seconds (the device's own clock; CPU backend: the
 * kernels' wall time), out[1] = seconds from commit to completion. -1 when unknown. */
BN_API int32_t bn_batch_times(uint64_t batch, double* out_two);
BN_API int32_t bn_batch_free(uint64_t batch);

#ifdef __cplusplus
}
#endif

/* Thermal and system queries (macOS thermal state, Linux sysfs zones, NVIDIA NVML). */
#include "bitnet_metal_thermal.h"

#endif /* BITNET_METAL_H */
