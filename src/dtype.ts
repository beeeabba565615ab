/**
 * Element types of tensors and their typed arrays.
 *
 * @module
 */

import { describe, rangeError, typeError } from "./errors.ts";

/** Element type of a tensor. */
export type DType = "f32" | "i32" | "u32" | "i8" | "u8";

/** The typed array of each dtype. */
export interface DTypeArrayMap {
  f32: Float32Array;
  i32: Int32Array;
  u32: Uint32Array;
  i8: Int8Array;
  u8: Uint8Array;
}

/** The typed array of dtype `D`. */
export type ArrayOf<D extends DType> = DTypeArrayMap[D];

/** Typed arrays a tensor can be created from. */
export type TensorData = Float32Array | Int32Array | Uint32Array | Int8Array | Uint8Array;

/** The dtype of a typed array type. */
export type DTypeOf<T extends TensorData> = T extends Float32Array ? "f32"
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
  i32: Int32Array,
  u32: Uint32Array,
  i8: Int8Array,
  u8: Uint8Array,
};

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: { readonly [D in DType]: number } = {
  f32: 4,
  i32: 4,
  u32: 4,
  i8: 1,
  u8: 1,
};

/** All dtypes. */
export const DTYPES: readonly DType[] = ["f32", "i32", "u32", "i8", "u8"];

/** The dtype of a typed array, or a TypeError for anything else. */
export function dtypeOf(data: unknown, op: string): DType {
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  if (data instanceof Int8Array) return "i8";
  if (data instanceof Uint8Array) return "u8";
  throw typeError(
    op,
    "a Float32Array, Int32Array, Uint32Array, Int8Array or Uint8Array",
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
