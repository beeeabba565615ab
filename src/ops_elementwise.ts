/**
 * Elementwise tensor ops: broadcasting binary ops (`BN_OP_BINARY`), unary ops and the
 * strided copy behind `contiguous()` (`BN_OP_UNARY`). Operands may be strided views
 * (`permute`, `transpose`, `broadcastTo`, `slice`); outputs are dense.
 *
 * Semantics (every backend; see objc/cpu/tensor_elementwise.c): f32 or f16 operands of one
 * dtype, math in f32, f16 results rounded to nearest even. Broadcasting follows NumPy:
 * shapes align from the right and a dim of size 1 (or a missing one) repeats. `maximum` /
 * `minimum` propagate NaN; `pow` follows C99 `powf`; `neg`, `abs` and `contiguous` are
 * exact bit operations; `gelu` is the exact erf form.
 *
 * Before encoding, the operands' layouts are simplified (size-1 dims dropped, dims that
 * are contiguous for every operand merged), so dense operands become one run and any rank
 * that merges down to 6 or fewer dims is accepted.
 *
 * @module
 */

import { MAX_RANK, OpId } from "./abi.ts";
import type { DType } from "./dtype.ts";
import { describe, rangeError, typeError } from "./errors.ts";
import { assertOpen } from "./internal.ts";
import { checkTensor, type EncodeContext } from "./ops.ts";
import { type Tensor, viewBase } from "./tensor.ts";

/** Element types of the elementwise ops. */
export type FloatDType = "f32" | "f16";

/** Binary ops, by their method names. */
export type BinaryOpName = "add" | "sub" | "mul" | "div" | "maximum" | "minimum" | "pow";

/** Unary ops, by their method names (`"copy"` is `contiguous`). */
export type UnaryOpName =
  | "copy"
  | "neg"
  | "abs"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "tanh"
  | "sigmoid"
  | "relu"
  | "relu2"
  | "silu"
  | "gelu";

/** `BN_BINARY_*` of each binary op. */
export const BINARY_OPS: { readonly [K in BinaryOpName]: number } = Object.freeze({
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  pow: 6,
});

/** `BN_UNARY_*` of each unary op. */
export const UNARY_OPS: { readonly [K in UnaryOpName]: number } = Object.freeze({
  copy: 0,
  neg: 1,
  abs: 2,
  exp: 3,
  log: 4,
  sqrt: 5,
  rsqrt: 6,
  tanh: 7,
  sigmoid: 8,
  relu: 9,
  relu2: 10,
  silu: 11,
  gelu: 12,
});

const DTYPE_ID: { readonly [K in FloatDType]: number } = { f32: 0, f16: 1 };

/** Params words of bn_binary_params_t (104 bytes) and bn_unary_params_t (80 bytes). */
const BINARY_WORDS = 26;
const UNARY_WORDS = 20;

function checkFloat(ctx: EncodeContext, t: unknown, op: string, what: string): Tensor {
  const x = checkTensor(ctx, t, op, what);
  if (x.dtype !== "f32" && x.dtype !== "f16") {
    throw typeError(op, `${what} of dtype f32 or f16`, `dtype ${x.dtype}`);
  }
  return x;
}

function fmtShape(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

/** NumPy broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShapes(
  a: readonly number[],
  b: readonly number[],
): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1, db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `t` for each dim of the output `shape` (0 where t is broadcast). */
function stridesFor(t: Tensor, shape: readonly number[]): number[] {
  const r = shape.length, own = t.shape.length;
  return shape.map((_, i) => {
    const j = i - (r - own);
    if (j < 0 || t.shape[j] === 1) return 0;
    return t.strides[j];
  });
}

/**
 * Drops size-1 dims and merges adjacent dims that are contiguous for every operand (as the
 * native kernels do); at least one dim remains.
 */
export function simplifyLayout(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && strides.every((s, k) => s[d] === st[k][last] * sh[last])) {
      sh[last] *= shape[d];
      continue;
    }
    sh.push(shape[d]);
    strides.forEach((s, k) => st[k].push(s[d]));
  }
  if (sh.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: sh.reverse(), strides: st.map((s) => s.reverse()) };
}

function u32(v: number, op: string, what: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** 32)) {
    throw rangeError(op, `${what} below 2^32`, describe(v));
  }
  return v;
}

/** Fills shape / strides of the params (word offsets as in the C structs). */
function layoutParams(
  p: Uint32Array,
  op: string,
  outShape: readonly number[],
  operands: { t: Tensor; strides: number[] }[],
  stridesAt: number[],
  offsetAt: number[],
): void {
  const numel = outShape.reduce((a, d) => a * d, 1);
  if (numel >= 2 ** 32) {
    throw rangeError(op, "fewer than 2^32 elements", `shape ${fmtShape(outShape)}`);
  }
  const simple = simplifyLayout(outShape, operands.map((o) => o.strides));
  if (simple.shape.length > MAX_RANK) {
    throw rangeError(
      op,
      `at most ${MAX_RANK} dimensions once contiguous ones are merged`,
      `${simple.shape.length} (output shape ${fmtShape(outShape)})`,
    );
  }
  p[2] = simple.shape.length;
  p[3] = numel;
  simple.shape.forEach((d, i) => (p[4 + i] = d));
  operands.forEach((o, k) => {
    simple.strides[k].forEach((s, i) => (p[stridesAt[k] + i] = u32(s, op, "strides")));
    p[offsetAt[k]] = u32(o.t.offset, op, "an element offset");
  });
}

/** `a ∘ b` with NumPy broadcasting; the result has the broadcast shape and a's dtype. */
export function encodeBinary(
  ctx: EncodeContext,
  name: BinaryOpName,
  a: unknown,
  b: unknown,
  opName: string = name,
): Tensor {
  const op = opName;
  assertOpen(ctx.core, op);
  if (!Object.hasOwn(BINARY_OPS, name)) {
    throw typeError(op, `a binary op (${Object.keys(BINARY_OPS).join(", ")})`, describe(name));
  }
  const at = checkFloat(ctx, a, op, "a");
  const bt = checkFloat(ctx, b, op, "b");
  if (at.dtype !== bt.dtype) {
    throw typeError(op, `b of dtype ${at.dtype} (the dtype of a)`, `dtype ${bt.dtype}`);
  }
  const shape = broadcastShapes(at.shape, bt.shape);
  if (shape === null) {
    throw rangeError(
      op,
      "shapes that broadcast",
      `${fmtShape(at.shape)} and ${fmtShape(bt.shape)}`,
    );
  }
  const dtype = at.dtype as FloatDType;
  const p = new Uint32Array(new ArrayBuffer(BINARY_WORDS * 4));
  p[0] = BINARY_OPS[name];
  p[1] = DTYPE_ID[dtype];
  layoutParams(
    p,
    op,
    shape,
    [{ t: at, strides: stridesFor(at, shape) }, { t: bt, strides: stridesFor(bt, shape) }],
    [10, 16],
    [22, 23],
  );
  const out = ctx.output(shape, dtype as DType, op);
  ctx.encode(OpId.BINARY, p, [viewBase(at), viewBase(bt), out], op);
  return out;
}

/** `f(x)` elementwise, or (`"copy"`) a dense copy of any view. */
export function encodeUnary(
  ctx: EncodeContext,
  name: UnaryOpName,
  x: unknown,
  opName: string = name,
): Tensor {
  const op = opName;
  assertOpen(ctx.core, op);
  if (!Object.hasOwn(UNARY_OPS, name)) {
    throw typeError(op, `a unary op (${Object.keys(UNARY_OPS).join(", ")})`, describe(name));
  }
  const xt = checkFloat(ctx, x, op, "x");
  const dtype = xt.dtype as FloatDType;
  const p = new Uint32Array(new ArrayBuffer(UNARY_WORDS * 4));
  p[0] = UNARY_OPS[name];
  p[1] = DTYPE_ID[dtype];
  layoutParams(p, op, xt.shape, [{ t: xt, strides: [...xt.strides] }], [10], [16]);
  const out = ctx.output([...xt.shape], dtype as DType, op);
  ctx.encode(OpId.UNARY, p, [viewBase(xt), out], op);
  return out;
}
