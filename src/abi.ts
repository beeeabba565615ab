/**
 * Constants mirrored from `objc/include/bitnet_metal.h` (ABI version 1).
 *
 * Keep this file in step with the header: `tests/abi_test.ts` checks the values that the
 * library can report about itself (struct sizes, op metadata, status strings).
 *
 * @module
 */

/** The ABI version this TypeScript code was written against (`BN_ABI_VERSION`). */
export const ABI_VERSION = 1;

/** Status codes (`BN_OK`, `BN_ERR_*`). */
export const Status = {
  OK: 0,
  INVALID_ARGUMENT: -1,
  OUT_OF_MEMORY: -2,
  UNSUPPORTED: -3,
  DEVICE_LOST: -4,
  COMPILE: -5,
  NOT_FOUND: -6,
  INVALID_HANDLE: -7,
  SIZE: -8,
  STATE: -9,
  WRONG_DEVICE: -10,
  INTERNAL: -11,
} as const;

/** `BN_BACKEND_*`. */
export const BackendId = { cpu: 0, vulkan: 1, metal: 2 } as const;

/** `BN_DEVICE_TYPE_*`, by value. */
export const DEVICE_TYPES = [
  "other",
  "integrated",
  "discrete",
  "virtual",
  "cpu",
] as const;

/** `BN_STORAGE_*`. */
export const StorageId = { shared: 0, private: 1 } as const;

/** `BN_CAP_*` bits. */
export const Cap = {
  INT8_STORAGE: 1 << 0,
  FP16: 1 << 1,
  INT_DOT: 1 << 2,
  TIMESTAMPS: 1 << 3,
  SUBGROUP_ARITH: 1 << 4,
} as const;

/** Op ids (`BN_OP_*`). */
export const OpId = {
  QUANTIZE_TERNARY: 1,
  QUANTIZE_ACT_INT8: 2,
  BITLINEAR: 3,
  DEQUANTIZE_TERNARY: 4,
  MATMUL_F32: 5,
  MPS_MATMUL: 6,
  READ_PROBE: 7,
  MATMUL: 8,
  BINARY: 9,
  UNARY: 10,
  REDUCE: 11,
  SOFTMAX: 12,
  RMSNORM: 13,
  ROPE: 14,
  RMSNORM_QUANT: 15,
} as const;

/** One past the last op id (`BN_OP_COUNT_`). */
export const OP_COUNT = 16;

/** Bytes of each op's params struct (the header's; a test checks them natively). */
export const OP_PARAMS_BYTES: { readonly [op: number]: number } = {
  1: 16,
  2: 16,
  3: 16,
  4: 16,
  5: 16,
  6: 16,
  7: 16,
  8: 32, // bn_matmul_params_t
  9: 104, // bn_binary_params_t
  10: 80, // bn_unary_params_t
  11: 32, // bn_reduce_params_t
  12: 16, // bn_softmax_params_t
  13: 16, // bn_rmsnorm_params_t
  14: 32, // bn_rope_params_t
  15: 16, // bn_rmsnorm_quant_params_t
};

/** `BN_MAX_RANK`: the largest rank of strided tensor ops. */
export const MAX_RANK = 6;

/** `BN_BITLINEAR_F32` / `BN_BITLINEAR_I32`. */
export const BitlinearMode = { F32: 0, I32: 1 } as const;

/** `BN_DTYPE_*` of `BN_OP_MPS_MATMUL`. */
export const MpsDtype = { F32: 0, F16: 1 } as const;

/** The params struct of the BitNet ops (ids 1..7) is four 32-bit fields. */
export const OP_PARAMS_SIZE = 16;

/** `BN_MAX_K`: the largest k whose int32 bitlinear accumulation is exact. */
export const MAX_K = 2 ** 24;

/** `sizeof(bn_device_info_t)`. */
export const DEVICE_INFO_SIZE = 256;

/** `sizeof(bn_pool_stats_t)`. */
export const POOL_STATS_SIZE = 48;

/** Weights per TL2 block (a row is padded to a multiple of this). */
export const TL2_BLOCK = 128;

/** Bytes per TL2 block (4 weights per byte). */
export const TL2_BLOCK_BYTES = 32;

/** Padded k of the TL2 and int8 activation layouts: `round_up(k, 128)`. */
export function paddedK(k: number): number {
  return Math.ceil(k / TL2_BLOCK) * TL2_BLOCK;
}

/** Bytes of one packed TL2 row: `paddedK(k) / 4`. */
export function ternaryRowBytes(k: number): number {
  return paddedK(k) / 4;
}
