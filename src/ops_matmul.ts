/**
 * The tensor matmul (`BN_OP_MATMUL`): batched, either operand transposed, f32 or f16 inputs,
 * f32 accumulation and output.
 *
 * Shapes follow numpy's `matmul`, with transposes applied to the last two dimensions:
 * - `a` is `[m, k]` (`[k, m]` with `transposeA`), `[batch, m, k]` (`[batch, k, m]`), or a
 *   vector `[k]` (a row: the `m` dimension is dropped from the result);
 * - `b` is `[k, n]` (`[n, k]` with `transposeB`), `[batch, k, n]` (`[batch, n, k]`), or a
 *   vector `[k]` (a column: the `n` dimension is dropped);
 * - a rank-2 or rank-1 operand with a rank-3 other is shared by every batch entry (batch
 *   stride 0), as is a rank-3 operand of batch 1;
 * - the result is f32 `[batch?, m?, n?]` (`[1]` for two vectors).
 *
 * Transposes of a vector are no-ops. Both operands must have the same dtype.
 *
 * Strided views (src/tensor.ts) are used in place when their memory is dense matrices: a
 * transposed view (`x.transpose()`) flips the op's transpose flag, a broadcast or size-1
 * batch dim shares the operand (stride 0), a batch dim with gaps keeps its stride. Other
 * views (an offset, permuted inner dims) are refused: copy them with `contiguous()` first.
 *
 * @module
 */

import { OpId } from "./abi.ts";
import { describe, rangeError, typeError } from "./errors.ts";
import { assertOpen } from "./internal.ts";
import { checkTensor, type EncodeContext, type MatmulOptions } from "./ops.ts";
import { type Tensor, viewBase } from "./tensor.ts";

/** `BN_MATMUL_TRANS_A` / `BN_MATMUL_TRANS_B` and the dtype field of `bn_matmul_params_t`. */
export const MatmulFlags = { TRANS_A: 1, TRANS_B: 2, DTYPE_SHIFT: 8 } as const;

/** `BN_DTYPE_*` of the tensor ops. */
const DTYPE_ID = { f32: 0, f16: 1 } as const;

/** Bytes of `bn_matmul_params_t` (eight uint32 fields). */
export const MATMUL_PARAMS_SIZE = 32;

/** The native call a matmul becomes: params fields and output shape. */
export interface MatmulPlan {
  m: number;
  n: number;
  k: number;
  batch: number;
  flags: number;
  aBatchStride: number;
  bBatchStride: number;
  shape: number[];
}

function flag(v: unknown, op: string, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw typeError(op, `${name} to be a boolean`, describe(v));
  return v;
}

function shapeText(t: Tensor): string {
  return `shape [${t.shape.join(", ")}]`;
}

/** Strides and offset of a tensor (a strided view's, or dense row-major). */
function layoutOf(t: Tensor): { strides: readonly number[]; offset: number } {
  const v = t as unknown as { strides?: readonly number[]; offset?: number };
  if (v.strides && v.strides.length === t.shape.length) {
    return { strides: v.strides, offset: v.offset ?? 0 };
  }
  const strides = new Array<number>(t.shape.length);
  let s = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= t.shape[i];
  }
  return { strides, offset: 0 };
}

/**
 * How an operand's memory holds its matrices: `swap` when its last two dims are a
 * transposed view of dense memory (so the op's transpose flag flips), and the batch stride
 * (0 for a missing, size-1 or broadcast batch dim). Anything else (an offset, other
 * strides) is a TypeError: such a view needs a contiguous copy first.
 */
function operandLayout(t: Tensor, op: string, what: string): { swap: boolean; stride: number } {
  const { strides, offset } = layoutOf(t);
  const r = t.shape.length;
  const bad = () =>
    typeError(
      op,
      `${what} to be contiguous or a transposed view, at offset 0 (copy it with contiguous() first)`,
      `a view of shape [${t.shape.join(", ")}], strides [${strides.join(", ")}], offset ${offset}`,
    );
  if (offset !== 0) throw bad();
  if (r === 1) {
    if (t.shape[0] !== 1 && strides[0] !== 1) throw bad();
    return { swap: false, stride: 0 };
  }
  const d0 = t.shape[r - 2], d1 = t.shape[r - 1], s0 = strides[r - 2], s1 = strides[r - 1];
  const dense = (d1 === 1 || s1 === 1) && (d0 === 1 || s0 === d1);
  const swapped = (d0 === 1 || s0 === 1) && (d1 === 1 || s1 === d0);
  if (!dense && !swapped) throw bad();
  let stride = 0;
  if (r === 3 && t.shape[0] > 1) {
    stride = strides[0];
    if (stride !== 0 && stride < d0 * d1) throw bad();
  }
  return { swap: !dense, stride };
}

/**
 * Shapes, strides and flags of `a · b` (see the module doc), validated; the operands must
 * already be open tensors of the device.
 */
export function planMatmul(
  a: Tensor,
  b: Tensor,
  options: MatmulOptions | undefined,
  op = "matmul",
): MatmulPlan {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw typeError(op, "an options object", describe(options));
  }
  const transA = flag(options?.transposeA, op, "transposeA");
  const transB = flag(options?.transposeB, op, "transposeB");
  if (a.dtype !== "f32" && a.dtype !== "f16") {
    throw typeError(op, "a of dtype f32 or f16", `dtype ${a.dtype}`);
  }
  if (b.dtype !== a.dtype) {
    throw typeError(op, `b of dtype ${a.dtype} (the dtype of a)`, `dtype ${b.dtype}`);
  }
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 1 || ra > 3) {
    throw rangeError(op, "a of rank 1, 2 or 3", `${shapeText(a)} (rank ${ra})`);
  }
  if (rb < 1 || rb > 3) {
    throw rangeError(op, "b of rank 1, 2 or 3", `${shapeText(b)} (rank ${rb})`);
  }
  const batchA = ra === 3 ? a.shape[0] : 1;
  const batchB = rb === 3 ? b.shape[0] : 1;
  let m: number, k: number, n: number, kb: number;
  const la = a.shape.slice(ra === 3 ? 1 : 0), lb = b.shape.slice(rb === 3 ? 1 : 0);
  if (ra === 1) [m, k] = [1, la[0]];
  else [m, k] = transA ? [la[1], la[0]] : [la[0], la[1]];
  if (rb === 1) [kb, n] = [lb[0], 1];
  else [kb, n] = transB ? [lb[1], lb[0]] : [lb[0], lb[1]];
  if (kb !== k) {
    const want = rb === 1 ? `[${k}]` : transB ? `[n, ${k}]` : `[${k}, n]`;
    throw rangeError(
      op,
      `b of ${rb === 3 ? "[batch, …] " : ""}shape ${want} to match a of ${shapeText(a)}` +
        `${transA ? " (transposed)" : ""}`,
      shapeText(b),
    );
  }
  if (ra === 3 && rb === 3 && batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw rangeError(
      op,
      `a and b with the same batch size (or one of them 1)`,
      `batch ${batchA} and ${batchB}`,
    );
  }
  const batch = Math.max(batchA, batchB);
  const limit = 2 ** 32;
  for (const [name, v] of [["m", m], ["n", n], ["k", k], ["batch", batch]] as const) {
    if (!(v < limit)) throw rangeError(op, `${name} below 2^32`, `${name} = ${v}`);
  }
  const la2 = operandLayout(a, op, "a"), lb2 = operandLayout(b, op, "b");
  const aStride = la2.stride, bStride = lb2.stride;
  if (aStride >= limit || bStride >= limit) {
    throw rangeError(
      op,
      "batch strides below 2^32 elements",
      `${aStride >= limit ? `a ${shapeText(a)}` : `b ${shapeText(b)}`}`,
    );
  }
  const shape: number[] = [];
  if (ra === 3 || rb === 3) shape.push(batch);
  if (ra !== 1) shape.push(m);
  if (rb !== 1) shape.push(n);
  if (shape.length === 0) shape.push(1);
  // A transposed view is dense memory of the other layout: the stored transpose flips.
  const flags = (ra !== 1 && transA !== la2.swap ? MatmulFlags.TRANS_A : 0) |
    (rb !== 1 && transB !== lb2.swap ? MatmulFlags.TRANS_B : 0) |
    (DTYPE_ID[a.dtype] << MatmulFlags.DTYPE_SHIFT);
  return { m, n, k, batch, flags, aBatchStride: aStride, bBatchStride: bStride, shape };
}

/** The `bn_matmul_params_t` of a plan. */
export function matmulParams(p: MatmulPlan): Uint32Array {
  const out = new Uint32Array(new ArrayBuffer(MATMUL_PARAMS_SIZE));
  out.set([p.m, p.n, p.k, p.batch, p.flags, p.aBatchStride, p.bBatchStride, 0]);
  return out;
}

/**
 * C = op(A) · op(B) with `BN_OP_MATMUL` (see the module doc for shapes): f32 or f16
 * operands of one dtype, f32 accumulation, f32 result.
 */
export function encodeTensorMatmul(
  ctx: EncodeContext,
  a: unknown,
  b: unknown,
  options: MatmulOptions = {},
  op = "matmul",
): Tensor<"f32"> {
  assertOpen(ctx.core, op);
  const at = checkTensor(ctx, a, op, "a");
  const bt = checkTensor(ctx, b, op, "b");
  const plan = planMatmul(at, bt, options, op);
  const c = ctx.output(plan.shape, "f32", op);
  // Views pass their base's buffer: planMatmul checked that their layout is expressible.
  ctx.encode(OpId.MATMUL, matmulParams(plan), [viewBase(at), viewBase(bt), c], op);
  return c;
}

/**
 * Whether `matmul(a, b, options)` needs the tensor matmul: anything but f32 `a` of rank 1
 * or 2 times f32 `b` of rank 2 without `transposeA`, which `BN_OP_MATMUL_F32` runs.
 */
export function needsTensorMatmul(a: unknown, b: unknown, options: unknown): boolean {
  const o = options as MatmulOptions | undefined;
  if (o != null && typeof o === "object" && o.transposeA !== undefined && o.transposeA !== false) {
    return true; // the tensor matmul validates it
  }
  const isT = (t: unknown): t is Tensor =>
    t !== null && typeof t === "object" && "dtype" in t && "shape" in t;
  if (!isT(a) || !isT(b)) return false; // let the f32 path report the type error
  if (a.dtype === "f16" || b.dtype === "f16") return true;
  if (a.shape.length === 3 || b.shape.length !== 2) return true;
  // Views that are not dense at offset 0 (matmul_f32 reads buffers as dense).
  const dense = (t: Tensor) => {
    const { strides, offset } = layoutOf(t);
    let want = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      if (t.shape[i] !== 1 && strides[i] !== want) return false;
      want *= t.shape[i];
    }
    return offset === 0;
  };
  return !dense(a) || !dense(b);
}
