/**
 * Reference implementations of the elementwise ops in plain TypeScript (double precision),
 * for tests: simple and obviously correct rather than fast.
 *
 * Values are numbers (f32 inputs, or f16 inputs decoded with `fromF16`); results are the
 * exact (double) values of the op's definition, which tests round with {@linkcode roundF32}
 * / {@linkcode roundF16} for the exact ops and compare with a tolerance for the others.
 * The definitions are the library's (objc/cpu/tensor_elementwise.c): `maximum`/`minimum`
 * propagate NaN and return b on ties; `pow` is C99 `powf` (not JavaScript's `**`, which
 * differs at pow(1, NaN) and pow(−1, ±Inf)); `relu(−0)` is +0.
 *
 * @module
 */

import { f32ToF16Bits } from "./dtype.ts";
import type { BinaryOpName, UnaryOpName } from "./ops_elementwise.ts";

/** NumPy broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
    const db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(Math.max(da, db));
  }
  return out;
}

/** erf(x) in double precision: A&S 7.1.6, erf x = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) >= 6) return Math.sign(x); // erfc(6) ≈ 2e-17
  const x2 = x * x;
  let term = x, sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

function isOddInteger(y: number): boolean {
  return Number.isInteger(y) && Math.abs(y % 2) === 1;
}

/** C99 Annex F pow (what `powf` does), in double. */
export function powC99(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (!Number.isFinite(y)) {
    const ax = Math.abs(x);
    if (ax === 1) return 1;
    return (ax > 1) === (y > 0) ? Infinity : 0;
  }
  if (x === 0) {
    const odd = isOddInteger(y);
    if (y < 0) return odd ? (Object.is(x, -0) ? -Infinity : Infinity) : Infinity;
    return odd ? x : 0;
  }
  if (x < 0 && Number.isFinite(x) && !Number.isInteger(y)) return NaN;
  return Math.pow(x, y); // agrees with C99 for every remaining case
}

/** One binary op on two values. */
export function binaryScalar(op: BinaryOpName, x: number, y: number): number {
  switch (op) {
    case "add":
      return x + y;
    case "sub":
      return x - y;
    case "mul":
      return x * y;
    case "div":
      return x / y;
    case "maximum":
      return Number.isNaN(x) ? x : Number.isNaN(y) ? y : x > y ? x : y;
    case "minimum":
      return Number.isNaN(x) ? x : Number.isNaN(y) ? y : x < y ? x : y;
    case "pow":
      return powC99(x, y);
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function relu(x: number): number {
  return x > 0 || Number.isNaN(x) ? x : 0;
}

/** One unary op on a value. */
export function unaryScalar(op: UnaryOpName, x: number): number {
  switch (op) {
    case "copy":
      return x;
    case "neg":
      return -x;
    case "abs":
      return Math.abs(x);
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "sqrt":
      return Math.sqrt(x);
    case "rsqrt":
      return 1 / Math.sqrt(x);
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return sigmoid(x);
    case "relu":
      return relu(x);
    case "relu2":
      return relu(x) * relu(x);
    case "silu":
      return x * sigmoid(x);
    case "gelu":
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
  }
}

/** Row-major index → index into an operand of shape `s` broadcast to `shape`. */
function broadcastIndex(i: number, shape: readonly number[], s: readonly number[]): number {
  let idx = 0, mul = 1, rem = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const k = rem % shape[d];
    rem = Math.floor(rem / shape[d]);
    const ds = d - (shape.length - s.length);
    if (ds >= 0) {
      if (s[ds] !== 1) idx += k * mul;
      mul *= s[ds];
    }
  }
  return idx;
}

/** `op(a, b)` with NumPy broadcasting: the broadcast shape and its values (row-major). */
export function binary(
  op: BinaryOpName,
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
): { shape: number[]; values: Float64Array } {
  const shape = broadcastShape(aShape, bShape);
  if (shape === null) throw new RangeError(`shapes [${aShape}] and [${bShape}] do not broadcast`);
  const n = shape.reduce((p, d) => p * d, 1);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = binaryScalar(
      op,
      a[broadcastIndex(i, shape, aShape)],
      b[broadcastIndex(i, shape, bShape)],
    );
  }
  return { shape, values };
}

/** `op(x)` for every value. */
export function unary(op: UnaryOpName, x: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => unaryScalar(op, x[i]));
}

/**
 * The elements of a strided view, row-major: element `offset + Σ index[d]·strides[d]` of
 * `data` for every index of `shape`.
 */
export function strided<T extends number>(
  data: ArrayLike<T>,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): T[] {
  const n = shape.reduce((p, d) => p * d, 1);
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    let rem = i, at = offset;
    for (let d = shape.length - 1; d >= 0; d--) {
      at += (rem % shape[d]) * strides[d];
      rem = Math.floor(rem / shape[d]);
    }
    out.push(data[at]);
  }
  return out;
}

/** `x` of `shape` with its axes permuted (result dim i = input dim axes[i]), row-major. */
export function permute<T extends number>(
  x: ArrayLike<T>,
  shape: readonly number[],
  axes: readonly number[],
): T[] {
  const strides: number[] = [];
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strided(x, axes.map((a) => shape[a]), axes.map((a) => strides[a]), 0);
}

/** Values rounded to f32 (round to nearest even). */
export function roundF32(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(values as ArrayLike<number>);
}

/** Values rounded to f32, then to f16 bits (what the library stores for f16 results). */
export function roundF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}
