/**
 * The ops: TypeScript-side validation, output allocation and encoding into a batch.
 *
 * Each `encode*` function checks its operands (typed errors with `[op] expected … but
 * received …`), allocates the outputs up front and encodes one or more native commands.
 * The native validator runs at encode time as the last line of defence. `Device` methods
 * run one of these in a batch of its own; `Batch` methods expose them for many ops per
 * await.
 *
 * @module
 */

import {
  BitlinearMode,
  MAX_K,
  MpsDtype,
  OP_PARAMS_SIZE,
  OpId,
  paddedK,
  Status,
  ternaryRowBytes,
} from "./abi.ts";
import type { DType } from "./dtype.ts";
import { BitnetError, describe, rangeError, typeError } from "./errors.ts";
import { assertOpen, type DeviceCore } from "./internal.ts";
import { check, lib, outU32 } from "./native.ts";
import { Tensor, tensorState } from "./tensor.ts";
import { QuantizedActivations, TernaryWeights } from "./weights.ts";
import type { Device } from "./device.ts";
import { encodeTensorMatmul, needsTensorMatmul } from "./ops_matmul.ts";

/** Names of the ops, as the methods of `Device` and `Batch` call them. */
export type OpName =
  | "quantizeTernary"
  | "quantizeActivations"
  | "bitlinear"
  | "dequantizeTernary"
  | "matmul"
  | "mpsMatmul"
  | "readProbe";

/** Native op id of each op. */
export const OPS: { readonly [K in OpName]: number } = Object.freeze({
  quantizeTernary: OpId.QUANTIZE_TERNARY,
  quantizeActivations: OpId.QUANTIZE_ACT_INT8,
  bitlinear: OpId.BITLINEAR,
  dequantizeTernary: OpId.DEQUANTIZE_TERNARY,
  matmul: OpId.MATMUL_F32,
  mpsMatmul: OpId.MPS_MATMUL,
  readProbe: OpId.READ_PROBE,
});

/** Options of `bitlinear`. */
export interface BitlinearOptions {
  /**
   * `"f32"` (default): `y = acc · (w_scale · x_scale)`; `"int32"`: the exact integer
   * accumulator `acc = Σ q·xq`.
   */
  output?: "f32" | "int32";
}

/** Options of `matmul` / `gemm` / `mpsMatmul`. */
export interface MatmulOptions {
  /** When true, `a` is `[k, m]` (per batch entry) and C = Aᵀ·B (not for `mpsMatmul`). */
  transposeA?: boolean;
  /** When true, `b` is `[n, k]` (the nn.Linear weight layout) and C = A·Bᵀ. */
  transposeB?: boolean;
}

/** What an encoder needs from the batch it encodes into. */
export interface EncodeContext {
  readonly device: Device;
  readonly core: DeviceCore;
  /** Allocates an output tensor (the caller keeps it). */
  output<D extends DType>(shape: number[], dtype: D, op: string): Tensor<D>;
  /** Allocates a temporary tensor, closed when the batch finishes. */
  temp<D extends DType>(shape: number[], dtype: D, op: string): Tensor<D>;
  /** Encodes one native command; buffers are kept alive until the batch settles. */
  encode(op: number, params: Uint32Array, buffers: readonly Tensor[], opName: string): void;
  /** After the batch ran: throw a RangeError if any value of `scale` is NaN or ±Inf. */
  requireFinite(scale: Tensor<"f32">, opName: string): void;
}

/** Resolves an op name or id to a native op id. */
export function opIdOf(op: unknown, where: string): number {
  if (typeof op === "number" && Number.isInteger(op) && op >= 0 && op < 2 ** 32) {
    return op;
  }
  if (typeof op === "string" && Object.hasOwn(OPS, op)) {
    return OPS[op as OpName];
  }
  throw typeError(
    where,
    `an op name (${Object.keys(OPS).join(", ")}) or op id`,
    describe(op),
  );
}

/** Whether the device runs the op natively (`bn_device_supports_op`). */
export function deviceSupports(core: DeviceCore, opId: number, where: string): boolean {
  assertOpen(core, where);
  check(lib().bn_device_supports_op(core.handle, opId, outU32), where);
  return outU32[0] !== 0;
}

/** Checks that `t` is an open tensor of this device with the given dtype. */
export function checkTensor(
  ctx: { core: DeviceCore },
  t: unknown,
  op: string,
  what: string,
  dtype?: DType,
): Tensor {
  if (!(t instanceof Tensor)) {
    throw typeError(op, `${what} to be a Tensor`, describe(t));
  }
  const st = tensorState(t);
  if (st.closed) {
    throw typeError(op, `${what} to be an open tensor`, "a closed tensor");
  }
  if (st.core !== ctx.core) {
    throw typeError(
      op,
      `${what} to be a tensor of device ${ctx.core.label}`,
      `a tensor of another device (${st.core.label})`,
    );
  }
  if (dtype !== undefined && t.dtype !== dtype) {
    throw typeError(op, `${what} of dtype ${dtype}`, `dtype ${t.dtype}`);
  }
  return t;
}

function rank12(t: Tensor, op: string, what: string, names: string): [number, number, boolean] {
  if (t.shape.length === 2) return [t.shape[0], t.shape[1], false];
  if (t.shape.length === 1) return [1, t.shape[0], true];
  throw rangeError(op, `${what} of shape ${names}`, `shape [${t.shape.join(", ")}]`);
}

function rank2(t: Tensor, op: string, what: string, names: string): [number, number] {
  if (t.shape.length === 2) return [t.shape[0], t.shape[1]];
  throw rangeError(op, `${what} of shape ${names}`, `shape [${t.shape.join(", ")}]`);
}

const PARAM_NAMES = ["first", "second", "third", "fourth"];

/** The op's params struct; every dim must fit the native uint32 fields. */
function params(op: string, a: number, b: number, c: number, d: number): Uint32Array {
  const p = new Uint32Array(new ArrayBuffer(OP_PARAMS_SIZE));
  [a, b, c, d].forEach((v, i) => {
    if (!(v >= 0 && v < 2 ** 32)) {
      throw rangeError(op, `dims below 2^32 (${PARAM_NAMES[i]} param)`, describe(v));
    }
    p[i] = v;
  });
  return p;
}

function checkWeights(ctx: EncodeContext, w: unknown, op: string): TernaryWeights {
  if (!(w instanceof TernaryWeights)) {
    throw typeError(op, "w to be TernaryWeights (from quantizeTernary)", describe(w));
  }
  checkTensor(ctx, w.packed, op, "w.packed", "u8");
  checkTensor(ctx, w.scale, op, "w.scale", "f32");
  return w;
}

/** W [n, k] f32 → TernaryWeights (absmean scale, TL2 packing). */
export function encodeQuantizeTernary(ctx: EncodeContext, w: unknown): TernaryWeights {
  const op = "quantizeTernary";
  assertOpen(ctx.core, op);
  const wt = checkTensor(ctx, w, op, "w", "f32");
  const [n, k] = rank2(wt, op, "w", "[n, k]");
  const p = params(op, n, k, 0, 0);
  const packed = ctx.output([n, ternaryRowBytes(k)], "u8", op);
  const scale = ctx.output([1], "f32", op);
  ctx.encode(OpId.QUANTIZE_TERNARY, p, [wt, packed, scale], op);
  ctx.requireFinite(scale, op);
  return new TernaryWeights(packed, scale, [n, k]);
}

/** X [m, k] or [k] f32 → QuantizedActivations (int8 per row, absmax scale). */
export function encodeQuantizeActivations(
  ctx: EncodeContext,
  x: unknown,
  opName = "quantizeActivations",
  temporary = false,
): QuantizedActivations {
  const op = opName;
  assertOpen(ctx.core, op);
  const xt = checkTensor(ctx, x, op, "x", "f32");
  const [m, k] = rank12(xt, op, "x", "[m, k] or [k]");
  const p = params(op, m, k, 0, 0);
  const alloc = temporary ? ctx.temp.bind(ctx) : ctx.output.bind(ctx);
  const q = alloc([m, paddedK(k)], "i8", op);
  const scale = alloc([m], "f32", op);
  ctx.encode(OpId.QUANTIZE_ACT_INT8, p, [xt, q, scale], op);
  ctx.requireFinite(scale, op);
  return new QuantizedActivations(q, scale, xt.shape);
}

/** y = x · Wᵀ with ternary W: f32 [m, n] (or [n] for 1-D x), or the exact int32 sums. */
export function encodeBitlinear(
  ctx: EncodeContext,
  x: unknown,
  w: unknown,
  options: BitlinearOptions = {},
): Tensor {
  const op = "bitlinear";
  assertOpen(ctx.core, op);
  const tw = checkWeights(ctx, w, op);
  const out = options?.output ?? "f32";
  if (out !== "f32" && out !== "int32") {
    throw typeError(op, `output "f32" or "int32"`, describe(out));
  }
  const [n, k] = tw.shape;
  if (k > MAX_K) {
    throw rangeError(op, `k ≤ 2^24 (exact int32 accumulation)`, `k = ${k}`);
  }
  let qa: QuantizedActivations;
  if (x instanceof Tensor) {
    const xt = checkTensor(ctx, x, op, "x", "f32");
    const [, xk] = rank12(xt, op, "x", "[m, k] or [k]");
    if (xk !== k) {
      throw rangeError(
        op,
        `x with k = ${k} features (w is [${n}, ${k}])`,
        `shape [${xt.shape.join(", ")}]`,
      );
    }
    qa = encodeQuantizeActivations(ctx, xt, op, true);
  } else if (x instanceof QuantizedActivations) {
    checkTensor(ctx, x.q, op, "x.q", "i8");
    checkTensor(ctx, x.scale, op, "x.scale", "f32");
    if (x.k !== k) {
      throw rangeError(
        op,
        `x with k = ${k} features (w is [${n}, ${k}])`,
        `shape [${x.shape.join(", ")}]`,
      );
    }
    qa = x;
  } else {
    throw typeError(op, "x to be a Tensor or QuantizedActivations", describe(x));
  }
  const m = qa.m;
  const oneD = qa.shape.length === 1;
  const mode = out === "f32" ? BitlinearMode.F32 : BitlinearMode.I32;
  const p = params(op, m, n, k, mode);
  const y = ctx.output(oneD ? [n] : [m, n], out === "f32" ? "f32" : "i32", op);
  ctx.encode(OpId.BITLINEAR, p, [tw.packed, tw.scale, qa.q, qa.scale, y], op);
  return y;
}

/** TernaryWeights → W f32 [n, k] = q · scale. */
export function encodeDequantizeTernary(ctx: EncodeContext, w: unknown): Tensor<"f32"> {
  const op = "dequantizeTernary";
  assertOpen(ctx.core, op);
  const tw = checkWeights(ctx, w, op);
  const [n, k] = tw.shape;
  const p = params(op, n, k, 0, 0);
  const out = ctx.output([n, k], "f32", op);
  ctx.encode(OpId.DEQUANTIZE_TERNARY, p, [tw.packed, tw.scale, out], op);
  return out;
}

function matmulShapes(
  ctx: EncodeContext,
  a: unknown,
  b: unknown,
  options: MatmulOptions,
  op: string,
): { at: Tensor; bt: Tensor; m: number; n: number; k: number; trans: boolean; oneD: boolean } {
  const at = checkTensor(ctx, a, op, "a", "f32");
  const bt = checkTensor(ctx, b, op, "b", "f32");
  const trans = options?.transposeB ?? false;
  if (typeof trans !== "boolean") {
    throw typeError(op, "transposeB to be a boolean", describe(trans));
  }
  if (options?.transposeA !== undefined && options.transposeA !== false) {
    throw typeError(
      op,
      "transposeA unset or false (only b transposes here)",
      describe(options.transposeA),
    );
  }
  const [m, k, oneD] = rank12(at, op, "a", "[m, k] or [k]");
  const [b0, b1] = rank2(bt, op, "b", trans ? "[n, k]" : "[k, n]");
  const [bk, n] = trans ? [b1, b0] : [b0, b1];
  if (bk !== k) {
    throw rangeError(
      op,
      `b of shape ${trans ? `[n, ${k}]` : `[${k}, n]`} to match a [${at.shape.join(", ")}]`,
      `shape [${bt.shape.join(", ")}]`,
    );
  }
  return { at, bt, m, n, k, trans, oneD };
}

/**
 * C = A·B (or A·Bᵀ with transposeB), f32: `BN_OP_MATMUL_F32` for f32 `a` [m, k] / [k] and
 * `b` [k, n] / [n, k]; everything else (f16, transposeA, batches, a vector `b`) goes to the
 * tensor matmul `BN_OP_MATMUL` (src/ops_matmul.ts).
 */
export function encodeMatmul(
  ctx: EncodeContext,
  a: unknown,
  b: unknown,
  options: MatmulOptions = {},
): Tensor<"f32"> {
  const op = "matmul";
  assertOpen(ctx.core, op);
  if (needsTensorMatmul(a, b, options)) return encodeTensorMatmul(ctx, a, b, options, op);
  const { at, bt, m, n, k, trans, oneD } = matmulShapes(ctx, a, b, options, op);
  const p = params(op, m, n, k, trans ? 1 : 0);
  const c = ctx.output(oneD ? [n] : [m, n], "f32", op);
  ctx.encode(OpId.MATMUL_F32, p, [at, bt, c], op);
  return c;
}

/** C = A·B through Metal Performance Shaders (Metal only; UNSUPPORTED elsewhere). */
export function encodeMpsMatmul(
  ctx: EncodeContext,
  a: unknown,
  b: unknown,
  options: MatmulOptions = {},
): Tensor<"f32"> {
  const op = "mpsMatmul";
  assertOpen(ctx.core, op);
  if (!deviceSupports(ctx.core, OpId.MPS_MATMUL, op)) {
    throw new BitnetError(
      Status.UNSUPPORTED,
      `device ${ctx.core.label} cannot run mpsMatmul (Metal Performance Shaders); ` +
        `use matmul instead (no silent fallback)`,
      { op },
    );
  }
  const { at, bt, m, n, k, trans, oneD } = matmulShapes(ctx, a, b, options, op);
  const p = params(op, m, n, k, (trans ? 1 : 0) | (MpsDtype.F32 << 8));
  const c = ctx.output(oneD ? [n] : [m, n], "f32", op);
  ctx.encode(OpId.MPS_MATMUL, p, [at, bt, c], op);
  return c;
}

/**
 * The read-bandwidth probe: `sum = Σ words of data mod 2^32` (u32 [1]). Reads every byte of
 * `data` (any dtype, byteLength a multiple of 4) once; benchmarks divide by its time.
 */
export function encodeReadProbe(ctx: EncodeContext, data: unknown): Tensor<"u32"> {
  const op = "readProbe";
  assertOpen(ctx.core, op);
  const dt = checkTensor(ctx, data, op, "data");
  if (dt.byteLength % 4 !== 0) {
    throw rangeError(op, "data of a whole number of 32-bit words", `${dt.byteLength} bytes`);
  }
  const p = params(op, dt.byteLength / 4, 0, 0, 0);
  const sum = ctx.output([1], "u32", op);
  ctx.encode(OpId.READ_PROBE, p, [dt, sum], op);
  return sum;
}
