/**
 * Element types of tensors and their typed arrays.
 *
 * @module
 */

import { describe, rangeError, typeError } from "./errors.ts";

/** Element type of a tensor. */
export type DType = "f32" | "f16" | "i32" | "u32" | "i8" | "u8";

/** The typed array of each dtype. */
export interface DTypeArrayMap {
  f32: Float32Array;
  /** IEEE binary16 bit patterns (see `toF16` / `fromF16`). */
  f16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  i8: Int8Array;
  u8: Uint8Array;
}

/** The typed array of dtype `D`. */
export type ArrayOf<D extends DType> = DTypeArrayMap[D];

/** Typed arrays a tensor can be created from. */
export type TensorData =
  | Float32Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Int8Array
  | Uint8Array;

/** The dtype of a typed array type. */
export type DTypeOf<T extends TensorData> = T extends Float32Array ? "f32"
  : T extends Uint16Array ? "f16"
  : T extends Int32Array ? "i32"
  : T extends Uint32Array ? "u32"
  : T extends Int8Array ? "i8"
  : T extends Uint8Array ? "u8"
  : never;

interface TypedArrayCtor<T> {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** Constructor of each dtype's typed array. */
export const ARRAY_OF: { [D in DType]: TypedArrayCtor<ArrayOf<D>> } = {
  f32: Float32Array,
  f16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  i8: Int8Array,
  u8: Uint8Array,
};

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: { readonly [D in DType]: number } = {
  f32: 4,
  f16: 2,
  i32: 4,
  u32: 4,
  i8: 1,
  u8: 1,
};

/** All dtypes. */
export const DTYPES: readonly DType[] = ["f32", "f16", "i32", "u32", "i8", "u8"];

/** The dtype of a typed array, or a TypeError for anything else. */
export function dtypeOf(data: unknown, op: string): DType {
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Uint16Array) return "f16";
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  if (data instanceof Int8Array) return "i8";
  if (data instanceof Uint8Array) return "u8";
  throw typeError(
    op,
    "a Float32Array, Uint16Array (f16 bits), Int32Array, Uint32Array, Int8Array or Uint8Array",
    describe(data),
  );
}

/** Validates a dtype name. */
export function checkDType(dtype: unknown, op: string): DType {
  if (typeof dtype === "string" && (DTYPES as readonly string[]).includes(dtype)) {
    return dtype as DType;
  }
  throw typeError(op, `a dtype (${DTYPES.join(", ")})`, describe(dtype));
}

/** Largest byte size of a tensor (exact as a JS number). */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * Validates a shape and returns a frozen copy and its element count.
 * Dims are positive integers; the byte size must be exact in a double (< 2^53). (Ops
 * check their own limits: their dims travel to native code as uint32.)
 */
export function checkShape(
  shape: unknown,
  dtype: DType,
  op: string,
): { shape: readonly number[]; size: number } {
  if (!Array.isArray(shape)) {
    throw typeError(op, "a shape (an array of integers)", describe(shape));
  }
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== "number") {
      throw typeError(op, `shape[${i}] to be a number`, describe(d));
    }
    if (!Number.isSafeInteger(d) || d < 0) {
      throw rangeError(op, `shape[${i}] to be a positive integer`, describe(d));
    }
    size *= d;
  }
  if (size === 0) {
    throw rangeError(
      op,
      "a non-empty shape (zero-size tensors are not supported)",
      `shape ${describe(shape)}`,
    );
  }
  if (size * BYTES_PER_ELEMENT[dtype] > MAX_BYTES) {
    throw rangeError(
      op,
      `at most 2^53 - 1 bytes`,
      `shape ${describe(shape)} of ${dtype}`,
    );
  }
  return { shape: Object.freeze([...shape]), size };
}

/**
 * Native buffer bytes of `size` elements: f16 buffers are rounded up to whole 32-bit words
 * (GPUs access f16 pairs as words; the header requires it).
 */
export function bufferBytes(dtype: DType, size: number): number {
  const b = size * BYTES_PER_ELEMENT[dtype];
  return dtype === "f16" ? Math.ceil(b / 4) * 4 : b;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** f32 → IEEE binary16 bits, round to nearest even (what the native side does). */
export function f32ToF16Bits(value: number): number {
  f32buf[0] = value;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf/NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent: fine
  return sign | h;
}

/** IEEE binary16 bits → number (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts f32 values to an f16 (bit pattern) array, for `dev.tensor(toF16(x))`. */
export function toF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

/** Converts f16 bit patterns (e.g. from `await t.read()` of an f16 tensor) to f32. */
export function fromF16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
  return out;
}
