/**
 * Reductions and the transformer row ops: TypeScript validation and encoding of
 * BN_OP_REDUCE (sum, mean, max, min, argmax, variance along one axis or all),
 * BN_OP_SOFTMAX, BN_OP_RMSNORM, BN_OP_ROPE and BN_OP_RMSNORM_QUANT.
 *
 * Every input is f32 or f16 (`rmsnormQuant`: f32; rope's positions: i32). A view that is
 * not contiguous at offset 0 (a permuted, broadcast or sliced tensor) is first copied by
 * the batch's `contiguous` op into a temporary of the batch. Errors read
 * `[op] expected … but received …`.
 *
 * @module
 */

import { MAX_K, OpId, paddedK } from "./abi.ts";
import type { DType } from "./dtype.ts";
import { describe, rangeError, typeError } from "./errors.ts";
import { assertOpen } from "./internal.ts";
import { checkTensor, type EncodeContext } from "./ops.ts";
import type { Tensor } from "./tensor.ts";
import { QuantizedActivations } from "./weights.ts";

/** `BN_REDUCE_*` by the name of the method. */
export const REDUCTIONS = {
  sum: 0,
  mean: 1,
  max: 2,
  min: 3,
  argmax: 4,
  variance: 5,
} as const;

/** A reduction's method name. */
export type ReductionName = keyof typeof REDUCTIONS;

/** Options of `sum`, `mean`, `max`, `min`, `argmax`. */
export interface ReduceOptions {
  /** The axis to reduce (negative counts from the end). Default: all elements. */
  axis?: number;
  /** Keep the reduced axis (axes) as size 1. Default false. */
  keepDims?: boolean;
}

/** Options of `variance`. */
export interface VarianceOptions extends ReduceOptions {
  /** Delta degrees of freedom: the divisor is `len − ddof` (default 0, the population
   * variance; 1 gives the sample variance). */
  ddof?: number;
}

/** Options of `softmax`. */
export interface SoftmaxOptions {
  /**
   * Mask key j of query row i when `j > i + cols − rows` (y = 0 there): the causal mask
   * of attention scores `[rows (queries), cols (keys)]` with the queries last among the
   * keys. Needs `cols ≥ rows` and a 2-D (or 1-D) x. Default false.
   */
  causal?: boolean;
}

/** Options of `rmsnorm` / `rmsnormQuant`. */
export interface RmsnormOptions {
  /** Added to mean(x²) before the square root (0 ≤ eps ≤ 1). Default 1e-6. */
  eps?: number;
}

/** Options of `rope`. */
export interface RopeOptions {
  /** The frequency base θ (θ_i = pos · theta^(−2i/d)); finite, > 1. Default 10000. */
  theta?: number;
}

/** What the row encoders need: the batch's context, and its `contiguous` op if any. */
export interface RowsContext extends EncodeContext {
  /** Encodes a contiguous copy of `t` into a temporary of the batch (when available). */
  contiguous?: (t: Tensor, op: string) => Tensor;
}

const DTYPE_ID = { f32: 0, f16: 1 } as const;

function options<T extends object>(o: unknown, op: string): Partial<T> {
  if (o === undefined || o === null) return {};
  if (typeof o !== "object") throw typeError(op, "an options object", describe(o));
  return o as Partial<T>;
}

function shapeText(t: Tensor): string {
  return `shape [${t.shape.join(", ")}]`;
}

/** An open tensor of this device of one of `dtypes`, made contiguous if it is a view. */
function input<D extends DType>(
  ctx: RowsContext,
  t: unknown,
  op: string,
  what: string,
  dtypes: readonly D[],
): Tensor<D> {
  const x = checkTensor(ctx, t, op, what);
  if (!(dtypes as readonly DType[]).includes(x.dtype)) {
    throw typeError(op, `${what} of dtype ${dtypes.join(" or ")}`, `dtype ${x.dtype}`);
  }
  if (!x.isContiguous || x.offset !== 0) {
    if (ctx.contiguous === undefined) {
      throw typeError(
        op,
        `${what} to be a contiguous tensor at offset 0 (copy it with contiguous() first)`,
        `a view of ${shapeText(x)} (strides [${x.strides.join(", ")}], offset ${x.offset})`,
      );
    }
    return ctx.contiguous(x, op) as Tensor<D>;
  }
  return x as Tensor<D>;
}

const FLOATS = ["f32", "f16"] as const;
const F32 = ["f32"] as const;

function below2p32(op: string, n: number, what: string): void {
  if (!(n < 2 ** 32)) {
    throw rangeError(op, `${what} below 2^32`, String(n));
  }
}

function boolOption(v: unknown, op: string, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw typeError(op, `${name} to be a boolean`, describe(v));
  return v;
}

function f32Param(
  v: unknown,
  fallback: number,
  op: string,
  name: string,
  ok: (x: number) => boolean,
  want: string,
): number {
  if (v === undefined) return Math.fround(fallback);
  if (typeof v !== "number") throw typeError(op, `${name} to be a number`, describe(v));
  const x = Math.fround(v);
  if (!ok(x)) throw rangeError(op, `${name} ${want}`, describe(v));
  return x;
}

/** Resolves `axis` against a rank: an integer in [-rank, rank), or undefined for all. */
function resolveAxis(axis: unknown, rank: number, op: string): number | undefined {
  if (axis === undefined) return undefined;
  if (typeof axis !== "number" || !Number.isInteger(axis)) {
    throw typeError(op, "axis to be an integer", describe(axis));
  }
  if (axis < -rank || axis >= rank) {
    throw rangeError(
      op,
      rank === 0 ? "no axis for a 0-d tensor" : `an axis in [${-rank}, ${rank - 1}]`,
      String(axis),
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * `sum`/`mean`/`max`/`min`/`argmax`/`variance` of x (f32 or f16) along `axis` (or all):
 * f32 result (i32 indexes for argmax) of x's shape without the axis (with it as 1 when
 * `keepDims`; `[]` for a reduction of everything).
 */
export function encodeReduce(
  ctx: RowsContext,
  x: unknown,
  kind: ReductionName,
  opts?: unknown,
): Tensor<"f32"> | Tensor<"i32"> {
  const op = kind;
  assertOpen(ctx.core, op);
  const o = options<VarianceOptions>(opts, op);
  const xt = input(ctx, x, op, "x", FLOATS);
  const shape = xt.shape;
  const axis = resolveAxis(o.axis, shape.length, op);
  const keepDims = boolOption(o.keepDims, op, "keepDims");
  let outer = 1, len = 1, inner = 1;
  let outShape: number[];
  if (axis === undefined) {
    len = xt.size;
    outShape = keepDims ? shape.map(() => 1) : [];
  } else {
    shape.forEach((d, i) => {
      if (i < axis) outer *= d;
      else if (i === axis) len = d;
      else inner *= d;
    });
    outShape = keepDims
      ? shape.map((d, i) => (i === axis ? 1 : d))
      : shape.filter((_, i) => i !== axis);
  }
  below2p32(op, xt.size, "the number of elements");
  let ddof = 0;
  if (kind === "variance") {
    if (o.ddof !== undefined) {
      if (typeof o.ddof !== "number" || !Number.isInteger(o.ddof)) {
        throw typeError(op, "ddof to be an integer", describe(o.ddof));
      }
      if (o.ddof < 0 || o.ddof >= len) {
        throw rangeError(op, `0 ≤ ddof < ${len} (the reduced length)`, String(o.ddof));
      }
      ddof = o.ddof;
    }
  } else if (o.ddof !== undefined) {
    throw typeError(op, "no ddof (only variance takes one)", describe(o.ddof));
  }
  const p = new Uint32Array([REDUCTIONS[kind], DTYPE_ID[xt.dtype], outer, len, inner, ddof, 0, 0]);
  const out = ctx.output(outShape, kind === "argmax" ? "i32" : "f32", op);
  ctx.encode(OpId.REDUCE, p, [xt, out], op);
  return out as Tensor<"f32"> | Tensor<"i32">;
}

/** Row-wise softmax over the last axis (f32 or f16, same shape and dtype out). */
export function encodeSoftmax<D extends "f32" | "f16">(
  ctx: RowsContext,
  x: unknown,
  opts?: unknown,
): Tensor<D> {
  const op = "softmax";
  assertOpen(ctx.core, op);
  const o = options<SoftmaxOptions>(opts, op);
  const causal = boolOption(o.causal, op, "causal");
  const xt = input(ctx, x, op, "x", FLOATS);
  if (xt.shape.length < 1) throw rangeError(op, "x of shape [..., cols]", shapeText(xt));
  const cols = xt.shape[xt.shape.length - 1];
  const rows = xt.size / cols;
  below2p32(op, xt.size, "the number of elements");
  if (causal) {
    const lead = xt.shape.slice(0, -2);
    if (lead.some((d) => d !== 1)) {
      throw rangeError(
        op,
        "x of shape [rows, cols] with causal (one call per head for batched scores)",
        shapeText(xt),
      );
    }
    if (cols < rows) {
      throw rangeError(op, `cols ≥ rows for a causal mask`, `${shapeText(xt)}`);
    }
  }
  const p = new Uint32Array([rows, cols, causal ? 1 : 0, DTYPE_ID[xt.dtype]]);
  const y = ctx.output([...xt.shape], xt.dtype, op);
  ctx.encode(OpId.SOFTMAX, p, [xt, y], op);
  return y as Tensor<D>;
}

function rmsOperands(
  ctx: RowsContext,
  x: unknown,
  w: unknown,
  opts: unknown,
  op: string,
  dtypes: readonly ("f32" | "f16")[],
): { xt: Tensor<"f32" | "f16">; wt: Tensor; rows: number; cols: number; eps: number } {
  const o = options<RmsnormOptions>(opts, op);
  const eps = f32Param(o.eps, 1e-6, op, "eps", (e) => e >= 0 && e <= 1, "in [0, 1]");
  const xt = input(ctx, x, op, "x", dtypes);
  if (xt.shape.length < 1) throw rangeError(op, "x of shape [..., cols]", shapeText(xt));
  const cols = xt.shape[xt.shape.length - 1];
  const wt = input(ctx, w, op, "w", F32);
  if (wt.shape.length !== 1 || wt.shape[0] !== cols) {
    throw rangeError(op, `w of shape [${cols}] (the last dimension of x)`, shapeText(wt));
  }
  below2p32(op, xt.size, "the number of elements");
  return { xt, wt, rows: xt.size / cols, cols, eps };
}

/** RMSNorm over the last axis with an f32 weight `[cols]`; x f32 or f16, y like x. */
export function encodeRmsnorm<D extends "f32" | "f16">(
  ctx: RowsContext,
  x: unknown,
  w: unknown,
  opts?: unknown,
): Tensor<D> {
  const op = "rmsnorm";
  assertOpen(ctx.core, op);
  const { xt, wt, rows, cols, eps } = rmsOperands(ctx, x, w, opts, op, FLOATS);
  const p = new Uint32Array(4);
  p.set([rows, cols, DTYPE_ID[xt.dtype]]);
  new Float32Array(p.buffer)[3] = eps;
  const y = ctx.output([...xt.shape], xt.dtype, op);
  ctx.encode(OpId.RMSNORM, p, [xt, wt, y], op);
  return y as Tensor<D>;
}

/**
 * RMSNorm fused with the int8 per-row quantization: x f32 `[m, k]` or `[k]`, w f32 `[k]`
 * → QuantizedActivations (feeds `bitlinear`), equal to `quantizeActivations(rmsnorm(x, w))`.
 */
export function encodeRmsnormQuant(
  ctx: RowsContext,
  x: unknown,
  w: unknown,
  opts?: unknown,
): QuantizedActivations {
  const op = "rmsnormQuant";
  assertOpen(ctx.core, op);
  const { xt, wt, rows, cols, eps } = rmsOperands(ctx, x, w, opts, op, F32);
  if (xt.shape.length > 2) {
    throw rangeError(op, "x of shape [m, k] or [k]", shapeText(xt));
  }
  if (cols > MAX_K) throw rangeError(op, "k ≤ 2^24", `k = ${cols}`);
  const p = new Uint32Array(4);
  p.set([rows, cols]);
  new Float32Array(p.buffer)[2] = eps;
  const q = ctx.output([rows, paddedK(cols)], "i8", op);
  const scale = ctx.output([rows], "f32", op);
  ctx.encode(OpId.RMSNORM_QUANT, p, [xt, wt, q, scale], op);
  ctx.requireFinite(scale, op);
  return new QuantizedActivations(q, scale, [...xt.shape]);
}

/**
 * Rotary position embedding, NEOX style (the two halves of each head rotate together):
 * x `[tokens, heads, head_dim]` or `[tokens, head_dim]` (f32 or f16, even head_dim),
 * positions i32 `[tokens]`; y like x.
 */
export function encodeRope<D extends "f32" | "f16">(
  ctx: RowsContext,
  x: unknown,
  positions: unknown,
  opts?: unknown,
): Tensor<D> {
  const op = "rope";
  assertOpen(ctx.core, op);
  const o = options<RopeOptions>(opts, op);
  const theta = f32Param(
    o.theta,
    10000,
    op,
    "theta",
    (t) => t > 1 && Number.isFinite(t),
    "to be finite and > 1",
  );
  const xt = input(ctx, x, op, "x", FLOATS);
  const r = xt.shape.length;
  if (r !== 2 && r !== 3) {
    throw rangeError(
      op,
      "x of shape [tokens, heads, head_dim] or [tokens, head_dim]",
      shapeText(xt),
    );
  }
  const tokens = xt.shape[0];
  const heads = r === 3 ? xt.shape[1] : 1;
  const d = xt.shape[r - 1];
  if (d % 2 !== 0) throw rangeError(op, "an even head_dim", `${shapeText(xt)}`);
  const pt = input(ctx, positions, op, "positions", ["i32"] as const);
  if (pt.shape.length !== 1 || pt.shape[0] !== tokens) {
    throw rangeError(op, `positions of shape [${tokens}] (one per token)`, shapeText(pt));
  }
  below2p32(op, xt.size, "the number of elements");
  const p = new Uint32Array(8);
  p.set([tokens, heads, d, DTYPE_ID[xt.dtype]]);
  new Float32Array(p.buffer)[4] = theta;
  const y = ctx.output([...xt.shape], xt.dtype, op);
  ctx.encode(OpId.ROPE, p, [xt, pt, y], op);
  return y as Tensor<D>;
}
