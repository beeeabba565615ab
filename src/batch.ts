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
  matmul(a: Tensor<"f32">, b: Tensor<"f32">, options: MatmulOptions = {}): Tensor<"f32"> {
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

  // ---- tensor ops: elementwise, copy, permute (src/ops_elementwise.ts) ----

  // ---- tensor ops: reductions and transformer rows (src/ops_rows.ts) ----

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
