/**
 * Command batches: many ops, one await.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import { describe, rangeError, typeError } from "./errors.ts";
import { assertOpen, type BatchState, type BatchTimes, type DeviceCore } from "./internal.ts";
import { check, lib, nativeError, outU64, readOutU64 } from "./native.ts";
import {
  type BitlinearOptions,
  checkTensor,
  encodeBitlinear,
  type EncodeContext,
  encodeDequantizeTernary,
  encodeMatmul,
  encodeMpsMatmul,
  encodeQuantizeActivations,
  encodeQuantizeTernary,
  encodeReadProbe,
  type MatmulOptions,
  opIdOf,
  type OpName,
} from "./ops.ts";
import { createTensor, type Tensor, tensorHandle } from "./tensor.ts";
import type { QuantizedActivations, TernaryWeights } from "./weights.ts";
import type { Device } from "./device.ts";
import {
  type BinaryOpName,
  encodeBinary,
  encodeUnary,
  type FloatDType,
  type UnaryOpName,
} from "./ops_elementwise.ts";
import { encodeTensorMatmul } from "./ops_matmul.ts";

import {
  encodeReduce,
  encodeRmsnorm,
  encodeRmsnormQuant,
  encodeRope,
  encodeSoftmax,
  type ReduceOptions,
  type RmsnormOptions,
  type RopeOptions,
  type RowsContext,
  type SoftmaxOptions,
  type VarianceOptions,
} from "./ops_rows.ts";

/** Frees a native batch (idempotent; nothing to do once its device closed). */
export function freeBatchState(state: BatchState): void {
  if (state.freed) return;
  state.freed = true;
  state.core.batches.delete(state);
  batchFinalizer.unregister(state);
  if (!state.core.closed) lib().bn_batch_free(state.handle);
  state.handle = 0n;
}

const batchFinalizer = new FinalizationRegistry<BatchState>((state) => {
  try {
    freeBatchState(state);
  } catch {
    // never throw from a finalizer
  }
});

const timesBuf = new Float64Array(new ArrayBuffer(16));

/** Life of a batch: encode ops while "open"; `run()` makes it "running", then "done". */
export type BatchStatus = "open" | "running" | "done" | "failed" | "closed";

/**
 * A command batch: encode many ops, run them with one await. Outputs are allocated when
 * an op is added and hold the results once `run()` resolves. Ops run in order, each
 * seeing the results of the ones before it.
 *
 * If `run()` fails, the outputs the batch allocated are closed. Closing a batch that
 * never ran closes its outputs too.
 *
 * @example
 * ```ts
 * import { Device } from "../mod.ts";
 * using dev = await Device.open({ backend: "cpu" });
 * using w = dev.tensor(new Float32Array(64 * 256).map(() => Math.random() - 0.5), [64, 256]);
 * using x = dev.tensor(new Float32Array(4 * 256).map(() => Math.random() - 0.5), [4, 256]);
 * using b = dev.batch();
 * const tw = b.quantizeTernary(w);
 * const y = b.bitlinear(x, tw);          // x is quantized in the same batch
 * const exact = b.bitlinear(x, tw, { output: "int32" });
 * await b.run();
 * console.log(await y.read(), await exact.read(), b.times);
 * ```
 */
export class Batch implements Disposable {
  #device: Device;
  #core: DeviceCore;
  #state: BatchState;
  #status: BatchStatus = "open";
  #ops = 0;
  /** Every tensor an encoded command uses, kept alive until the batch settles. */
  #refs: Tensor[] = [];
  /** Outputs allocated by the batch (closed if it fails or is closed unrun). */
  #outputs: Tensor[] = [];
  /** Temporaries, closed once the batch settles. */
  #temps: Tensor[] = [];
  /** Scales to check for NaN/Inf after the run. */
  #finite: { t: Tensor<"f32">; op: string }[] = [];
  #times: BatchTimes | null = null;
  /** Names of the ops added, for error messages of the run. */
  #names = new Set<string>();
  #ctx: EncodeContext;

  /** @internal Use `dev.batch()`. */
  constructor(device: Device, core: DeviceCore) {
    assertOpen(core, "batch");
    check(lib().bn_batch_begin(core.handle, outU64), "batch");
    this.#device = device;
    this.#core = core;
    this.#state = { core, handle: readOutU64(), freed: false };
    core.batches.add(this.#state);
    batchFinalizer.register(this, this.#state, this.#state);
    // deno-lint-ignore no-this-alias
    const self = this;
    this.#ctx = {
      device,
      core,
      output<D extends DType>(shape: number[], dtype: D, op: string) {
        const t = createTensor(device, core, shape, dtype, core.defaultStorage, op);
        self.#outputs.push(t);
        return t;
      },
      temp<D extends DType>(shape: number[], dtype: D, op: string) {
        const t = createTensor(device, core, shape, dtype, core.defaultStorage, op);
        self.#temps.push(t);
        return t;
      },
      encode(op: number, p: Uint32Array, buffers: readonly Tensor[], opName: string) {
        self.#encodeNative(op, p, buffers, opName);
      },
      requireFinite(t: Tensor<"f32">, op: string) {
        self.#finite.push({ t, op });
      },
    };
  }

  /** The device the batch runs on. */
  get device(): Device {
    return this.#device;
  }

  /** Where the batch is in its life. */
  get status(): BatchStatus {
    return this.#status;
  }

  /** Number of native commands encoded so far. */
  get size(): number {
    return this.#ops;
  }

  /** GPU and wall time of the run; null until `run()` resolved. */
  get times(): BatchTimes | null {
    return this.#times;
  }

  /** Adds `quantizeTernary` (see `Device.quantizeTernary`). */
  quantizeTernary(w: Tensor<"f32">): TernaryWeights {
    return this.#add("quantizeTernary", () => encodeQuantizeTernary(this.#ctx, w));
  }

  /** Adds `quantizeActivations` (see `Device.quantizeActivations`). */
  quantizeActivations(x: Tensor<"f32">): QuantizedActivations {
    return this.#add("quantizeActivations", () => encodeQuantizeActivations(this.#ctx, x));
  }

  /** Adds `bitlinear` (see `Device.bitlinear`); a Tensor x is quantized first. */
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options: { output: "int32" },
  ): Tensor<"i32">;
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options?: { output?: "f32" },
  ): Tensor<"f32">;
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options?: BitlinearOptions,
  ): Tensor<"f32"> | Tensor<"i32">;
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options: BitlinearOptions = {},
  ): Tensor<"f32"> | Tensor<"i32"> {
    return this.#add(
      "bitlinear",
      () => encodeBitlinear(this.#ctx, x, w, options) as Tensor<"f32"> | Tensor<"i32">,
    );
  }

  /** Adds `dequantizeTernary` (see `Device.dequantizeTernary`). */
  dequantizeTernary(w: TernaryWeights): Tensor<"f32"> {
    return this.#add("dequantizeTernary", () => encodeDequantizeTernary(this.#ctx, w));
  }

  /** Adds `matmul` (see `Device.matmul`). */
  matmul(
    a: Tensor<"f32"> | Tensor<"f16">,
    b: Tensor<"f32"> | Tensor<"f16">,
    options: MatmulOptions = {},
  ): Tensor<"f32"> {
    return this.#add("matmul", () => encodeMatmul(this.#ctx, a, b, options));
  }

  /** Adds `mpsMatmul` (see `Device.mpsMatmul`). */
  mpsMatmul(a: Tensor<"f32">, b: Tensor<"f32">, options: MatmulOptions = {}): Tensor<"f32"> {
    return this.#add("mpsMatmul", () => encodeMpsMatmul(this.#ctx, a, b, options));
  }

  /** Adds `readProbe` (see `Device.readProbe`). */
  readProbe(data: Tensor): Tensor<"u32"> {
    return this.#add("readProbe", () => encodeReadProbe(this.#ctx, data));
  }

  // ---- tensor ops: matmul (src/ops_matmul.ts) ----

  /** Adds `gemm` (see `Device.gemm`). */
  gemm(
    a: Tensor<"f32"> | Tensor<"f16">,
    b: Tensor<"f32"> | Tensor<"f16">,
    options: MatmulOptions = {},
  ): Tensor<"f32"> {
    return this.#add("gemm", () => encodeTensorMatmul(this.#ctx, a, b, options, "gemm"));
  }

  // ---- tensor ops: elementwise, copy, permute (src/ops_elementwise.ts) ----

  /** Adds `add` (see `Device.add`). */
  add<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("add", () => encodeBinary(this.#ctx, "add", a, b) as Tensor<D>);
  }

  /** Adds `sub` (see `Device.sub`). */
  sub<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("sub", () => encodeBinary(this.#ctx, "sub", a, b) as Tensor<D>);
  }

  /** Adds `mul` (see `Device.mul`). */
  mul<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("mul", () => encodeBinary(this.#ctx, "mul", a, b) as Tensor<D>);
  }

  /** Adds `div` (see `Device.div`). */
  div<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("div", () => encodeBinary(this.#ctx, "div", a, b) as Tensor<D>);
  }

  /** Adds `maximum` (see `Device.maximum`). */
  maximum<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("maximum", () => encodeBinary(this.#ctx, "maximum", a, b) as Tensor<D>);
  }

  /** Adds `minimum` (see `Device.minimum`). */
  minimum<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("minimum", () => encodeBinary(this.#ctx, "minimum", a, b) as Tensor<D>);
  }

  /** Adds `pow` (see `Device.pow`). */
  pow<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add("pow", () => encodeBinary(this.#ctx, "pow", a, b) as Tensor<D>);
  }

  /** Adds a binary op by name (see `Device.binary`). */
  binary<D extends FloatDType>(op: BinaryOpName, a: Tensor<D>, b: Tensor<D>): Tensor<D> {
    return this.#add(String(op), () => encodeBinary(this.#ctx, op, a, b) as Tensor<D>);
  }

  /** Adds `neg` (see `Device.neg`). */
  neg<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("neg", () => encodeUnary(this.#ctx, "neg", x) as Tensor<D>);
  }

  /** Adds `abs` (see `Device.abs`). */
  abs<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("abs", () => encodeUnary(this.#ctx, "abs", x) as Tensor<D>);
  }

  /** Adds `exp` (see `Device.exp`). */
  exp<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("exp", () => encodeUnary(this.#ctx, "exp", x) as Tensor<D>);
  }

  /** Adds `log` (see `Device.log`). */
  log<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("log", () => encodeUnary(this.#ctx, "log", x) as Tensor<D>);
  }

  /** Adds `sqrt` (see `Device.sqrt`). */
  sqrt<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("sqrt", () => encodeUnary(this.#ctx, "sqrt", x) as Tensor<D>);
  }

  /** Adds `rsqrt` (see `Device.rsqrt`). */
  rsqrt<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("rsqrt", () => encodeUnary(this.#ctx, "rsqrt", x) as Tensor<D>);
  }

  /** Adds `tanh` (see `Device.tanh`). */
  tanh<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("tanh", () => encodeUnary(this.#ctx, "tanh", x) as Tensor<D>);
  }

  /** Adds `sigmoid` (see `Device.sigmoid`). */
  sigmoid<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("sigmoid", () => encodeUnary(this.#ctx, "sigmoid", x) as Tensor<D>);
  }

  /** Adds `relu` (see `Device.relu`). */
  relu<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("relu", () => encodeUnary(this.#ctx, "relu", x) as Tensor<D>);
  }

  /** Adds `relu2` (see `Device.relu2`). */
  relu2<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("relu2", () => encodeUnary(this.#ctx, "relu2", x) as Tensor<D>);
  }

  /** Adds `silu` (see `Device.silu`). */
  silu<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("silu", () => encodeUnary(this.#ctx, "silu", x) as Tensor<D>);
  }

  /** Adds `gelu` (see `Device.gelu`). */
  gelu<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add("gelu", () => encodeUnary(this.#ctx, "gelu", x) as Tensor<D>);
  }

  /** Adds a unary op by name (see `Device.unary`). */
  unary<D extends FloatDType>(op: UnaryOpName, x: Tensor<D>): Tensor<D> {
    return this.#add(String(op), () => encodeUnary(this.#ctx, op, x) as Tensor<D>);
  }

  /** Adds `contiguous` (see `Device.contiguous`). */
  contiguous<D extends FloatDType>(x: Tensor<D>): Tensor<D> {
    return this.#add(
      "contiguous",
      () => encodeUnary(this.#ctx, "copy", x, "contiguous") as Tensor<D>,
    );
  }

  // ---- tensor ops: reductions and transformer rows (src/ops_rows.ts) ----

  /** Adds `sum` (see `Device.sum`). */
  sum(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Tensor<"f32"> {
    return this.#add(
      "sum",
      () => encodeReduce(this.#rowsCtx(), x, "sum", options) as Tensor<"f32">,
    );
  }

  /** Adds `mean` (see `Device.mean`). */
  mean(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Tensor<"f32"> {
    return this.#add(
      "mean",
      () => encodeReduce(this.#rowsCtx(), x, "mean", options) as Tensor<"f32">,
    );
  }

  /** Adds `max` (see `Device.max`). */
  max(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Tensor<"f32"> {
    return this.#add(
      "max",
      () => encodeReduce(this.#rowsCtx(), x, "max", options) as Tensor<"f32">,
    );
  }

  /** Adds `min` (see `Device.min`). */
  min(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Tensor<"f32"> {
    return this.#add(
      "min",
      () => encodeReduce(this.#rowsCtx(), x, "min", options) as Tensor<"f32">,
    );
  }

  /** Adds `argmax` (see `Device.argmax`). */
  argmax(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Tensor<"i32"> {
    return this.#add(
      "argmax",
      () => encodeReduce(this.#rowsCtx(), x, "argmax", options) as Tensor<"i32">,
    );
  }

  /** Adds `variance` (see `Device.variance`). */
  variance(x: Tensor<"f32"> | Tensor<"f16">, options: VarianceOptions = {}): Tensor<"f32"> {
    return this.#add(
      "variance",
      () => encodeReduce(this.#rowsCtx(), x, "variance", options) as Tensor<"f32">,
    );
  }

  /** Adds `softmax` (see `Device.softmax`). */
  softmax<D extends "f32" | "f16">(x: Tensor<D>, options: SoftmaxOptions = {}): Tensor<D> {
    return this.#add("softmax", () => encodeSoftmax<D>(this.#rowsCtx(), x, options));
  }

  /** Adds `rmsnorm` (see `Device.rmsnorm`). */
  rmsnorm<D extends "f32" | "f16">(
    x: Tensor<D>,
    w: Tensor<"f32">,
    options: RmsnormOptions = {},
  ): Tensor<D> {
    return this.#add("rmsnorm", () => encodeRmsnorm<D>(this.#rowsCtx(), x, w, options));
  }

  /** Adds `rmsnormQuant` (see `Device.rmsnormQuant`). */
  rmsnormQuant(
    x: Tensor<"f32">,
    w: Tensor<"f32">,
    options: RmsnormOptions = {},
  ): QuantizedActivations {
    return this.#add("rmsnormQuant", () => encodeRmsnormQuant(this.#rowsCtx(), x, w, options));
  }

  /** Adds `rope` (see `Device.rope`). */
  rope<D extends "f32" | "f16">(
    x: Tensor<D>,
    positions: Tensor<"i32">,
    options: RopeOptions = {},
  ): Tensor<D> {
    return this.#add("rope", () => encodeRope<D>(this.#rowsCtx(), x, positions, options));
  }

  /** The encode context of the row ops: with the batch's `contiguous` op, when it has
   * one, whose copies of strided inputs become temporaries of this batch. */
  #rowsCtx(): RowsContext {
    const contiguous = (this as unknown as { contiguous?: unknown }).contiguous;
    if (typeof contiguous !== "function") return this.#ctx;
    return {
      ...this.#ctx,
      contiguous: (t: Tensor) => {
        const c = (contiguous as (t: Tensor) => Tensor).call(this, t);
        const i = this.#outputs.lastIndexOf(c);
        if (i >= 0) {
          this.#outputs.splice(i, 1);
          this.#temps.push(c);
        }
        return c;
      },
    };
  }

  /**
   * Raw encode: op (name or id), its params as 32-bit fields, and its buffers in the
   * header's order. Only the native validator checks sizes here (tests use this to check
   * it, with outputs bigger than needed for guard bytes). Params are not padded: pass
   * exactly the fields the op's struct has (4).
   */
  encode(op: OpName | number, params: ArrayLike<number>, buffers: readonly Tensor[]): void {
    const where = "batch.encode";
    const id = opIdOf(op, where);
    if (params == null || typeof params.length !== "number") {
      throw typeError(where, "params as an array of numbers", describe(params));
    }
    const p = new Uint32Array(new ArrayBuffer(Math.max(params.length, 1) * 4));
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
        throw rangeError(where, `params[${i}] to be a uint32`, describe(v));
      }
      p[i] = v;
    }
    if (!Array.isArray(buffers)) {
      throw typeError(where, "buffers as an array of tensors", describe(buffers));
    }
    buffers.forEach((t, i) => checkTensor(this.#ctx, t, where, `buffers[${i}]`));
    this.#checkOpen(where);
    this.#encodeNative(id, p.subarray(0, params.length), buffers, where);
    this.#names.add(`op ${id}`);
  }

  /**
   * Commits the batch and waits for it without blocking the event loop. Resolves with
   * the batch's times (also in {@linkcode Batch.times} and `dev.lastTimes`).
   */
  async run(): Promise<BatchTimes> {
    this.#checkOpen("batch.run");
    // A failure of a one-op batch (Device methods) is reported under that op's name.
    const where = this.#names.size === 1 ? [...this.#names][0] : "batch.run";
    const core = this.#core;
    const state = this.#state;
    const l = lib();
    this.#status = "running";
    try {
      check(l.bn_batch_commit(state.handle), where);
      const status = await l.bn_batch_wait(state.handle);
      assertOpen(core, where);
      if (status !== 0) {
        throw nativeError(status, where, { device: core.handle, threadLocal: false });
      }
      check(l.bn_batch_times(state.handle, timesBuf), where);
      const times: BatchTimes = {
        gpuSeconds: timesBuf[0] < 0 ? null : timesBuf[0],
        elapsedSeconds: timesBuf[1] < 0 ? null : timesBuf[1],
      };
      await this.#checkFinite();
      this.#times = times;
      core.lastTimes = times;
      this.#status = "done";
      return times;
    } catch (e) {
      this.#status = "failed";
      for (const t of this.#outputs) t.close();
      throw e;
    } finally {
      for (const t of this.#temps) t.close();
      this.#temps = [];
      this.#refs = [];
      this.#outputs = [];
      this.#finite = [];
      freeBatchState(state);
    }
  }

  /**
   * Frees the batch. A batch that never ran closes the outputs it allocated; after a
   * run this only releases what is left (idempotent). A running batch is freed when it
   * settles.
   */
  close(): void {
    if (this.#status === "running") return;
    if (this.#status === "open") {
      for (const t of [...this.#outputs, ...this.#temps]) t.close();
      this.#outputs = [];
      this.#temps = [];
      this.#refs = [];
      this.#finite = [];
      this.#status = "closed";
    }
    freeBatchState(this.#state);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(where: string): void {
    assertOpen(this.#core, where);
    if (this.#status !== "open") {
      throw typeError(where, "a batch that has not run yet", `a batch that is ${this.#status}`);
    }
  }

  #add<T>(name: string, fn: () => T): T {
    this.#checkOpen("batch");
    const outs = this.#outputs.length;
    const temps = this.#temps.length;
    const fins = this.#finite.length;
    try {
      const out = fn();
      this.#names.add(name);
      return out;
    } catch (e) {
      // Nothing of a refused op stays allocated. (Commands already encoded for it —
      // only the in-batch quantization of bitlinear — write into its temporaries only.)
      for (const t of this.#outputs.splice(outs)) t.close();
      for (const t of this.#temps.splice(temps)) t.close();
      this.#finite.length = fins;
      throw e;
    }
  }

  #encodeNative(op: number, p: Uint32Array, buffers: readonly Tensor[], opName: string): void {
    const ids = new BigUint64Array(new ArrayBuffer(Math.max(buffers.length, 1) * 8));
    buffers.forEach((t, i) => {
      ids[i] = tensorHandle(t);
    });
    const status = lib().bn_batch_encode(
      this.#state.handle,
      op,
      p,
      p.byteLength,
      ids,
      buffers.length,
    );
    check(status, opName);
    this.#ops++;
    for (const t of buffers) this.#refs.push(t);
  }

  async #checkFinite(): Promise<void> {
    if (this.#finite.length === 0) return;
    const values = await Promise.all(this.#finite.map(({ t }) => t.read()));
    this.#finite.forEach(({ op }, i) => {
      const v = values[i];
      for (let j = 0; j < v.length; j++) {
        if (!Number.isFinite(v[j])) {
          throw new RangeError(
            `[${op}] input contains NaN or Inf: expected finite values but received ` +
              `a non-finite scale (scale[${j}] = ${v[j]})`,
          );
        }
      }
    });
  }
}
