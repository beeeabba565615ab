/**
 * Devices: enumerate, open, allocate tensors, run ops.
 *
 * @module
 */

import {
  Cap,
  DEVICE_INFO_SIZE,
  DEVICE_TYPES,
  POOL_STATS_SIZE,
  Status,
  ternaryRowBytes,
} from "./abi.ts";
import { Batch } from "./batch.ts";
import {
  type ArrayOf,
  checkDType,
  type DType,
  type DTypeOf,
  dtypeOf,
  type TensorData,
} from "./dtype.ts";
import { BitnetError, describe, rangeError, typeError } from "./errors.ts";
import { assertOpen, type BatchTimes, type DeviceCore, type Storage } from "./internal.ts";
import { check, lib, outU32, outU64, readOutU64 } from "./native.ts";
import {
  type BitlinearOptions,
  deviceSupports,
  type MatmulOptions,
  opIdOf,
  type OpName,
} from "./ops.ts";
import {
  checkStorage,
  createTensor,
  invalidateTensorState,
  type Tensor,
  type TensorOptions,
} from "./tensor.ts";
import { QuantizedActivations, TernaryWeights } from "./weights.ts";
import { readThermal, type ReadThermalOptions, type ThermalReading } from "./thermal.ts";
import type { BinaryOpName, FloatDType, UnaryOpName } from "./ops_elementwise.ts";

import type {
  ReduceOptions,
  RmsnormOptions,
  RopeOptions,
  SoftmaxOptions,
  VarianceOptions,
} from "./ops_rows.ts";

/** A compute backend. */
export type Backend = "cpu" | "vulkan" | "metal";

/** Kind of device (`BN_DEVICE_TYPE_*`). */
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Capability flags (`BN_CAP_*`). */
export interface DeviceCaps {
  /** 8-bit storage buffers. */
  int8Storage: boolean;
  /** 16-bit float arithmetic in shaders. */
  fp16: boolean;
  /** Packed 4×int8 dot products. */
  intDot: boolean;
  /** Batches report GPU time. */
  timestamps: boolean;
  /** Subgroup add/max reductions. */
  subgroupArith: boolean;
}

/** What the library reports about a device (`bn_device_info_t`). */
export interface DeviceInfo {
  /** Index over all backends (for `bn_device_open`): Metal, Vulkan, then CPU. */
  index: number;
  /** Index among the devices of its backend (for `Device.open({ backend, index })`). */
  backendIndex: number;
  name: string;
  backend: Backend;
  deviceType: DeviceType;
  /** Host and device share memory. */
  unifiedMemory: boolean;
  caps: DeviceCaps;
  /** Raw `BN_CAP_*` bits. */
  capsBits: number;
  /** Device memory (or recommended working set), bytes. */
  memoryBytes: number;
  /** Largest single buffer, bytes. */
  maxBufferBytes: number;
  /** SIMD width (1 on CPU). */
  subgroupSize: number;
  /** Max threads per workgroup (CPU: worker threads). */
  maxThreadsPerGroup: number;
  /** PCI vendor id, 0 if unknown. */
  vendorId: number;
  /** PCI device id, 0 if unknown. */
  deviceId: number;
  /** Shared (threadgroup) memory per workgroup, bytes. */
  maxSharedBytes: number;
  /** CPU threads / GPU compute units when known. */
  computeUnits: number;
  /** Driver or API version text. */
  driver: string;
}

/** Options of {@linkcode Device.open}. */
export interface DeviceOpenOptions {
  /** Backend to open. Default: `BITNET_BACKEND` from the environment, else the best one. */
  backend?: Backend;
  /**
   * With `backend`: index among that backend's devices (default 0). Without: index over
   * all devices as {@linkcode Device.list} returns them.
   */
  index?: number;
}

/** Buffer pool statistics of a device (`bn_pool_stats_t`). */
export interface PoolStats {
  /** Buffer creations served from the pool. */
  hits: number;
  /** Buffer creations that allocated fresh memory. */
  misses: number;
  /** Bytes of live buffers (rounded to their bin). */
  bytesInUse: number;
  /** Bytes held by the pool for reuse. */
  bytesCached: number;
  /** Live buffers. */
  buffersInUse: number;
  /** Backend allocations alive (in use + cached). */
  allocations: number;
}

const BACKENDS: readonly Backend[] = ["cpu", "vulkan", "metal"];
const TOKEN = Symbol("bitnet.device");
const utf8 = new TextDecoder();

function cstr(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Decodes a 256-byte `bn_device_info_t`. */
export function decodeDeviceInfo(
  buf: Uint8Array,
  index: number,
  backendIndex: number,
): DeviceInfo {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => Number(dv.getBigUint64(o, true));
  const caps = u32(140);
  const backendId = u32(128);
  return {
    index,
    backendIndex,
    name: cstr(buf.subarray(0, 128)),
    backend: BACKENDS[backendId] ?? ("unknown" as Backend),
    deviceType: DEVICE_TYPES[u32(132)] ?? "other",
    unifiedMemory: u32(136) !== 0,
    caps: {
      int8Storage: (caps & Cap.INT8_STORAGE) !== 0,
      fp16: (caps & Cap.FP16) !== 0,
      intDot: (caps & Cap.INT_DOT) !== 0,
      timestamps: (caps & Cap.TIMESTAMPS) !== 0,
      subgroupArith: (caps & Cap.SUBGROUP_ARITH) !== 0,
    },
    capsBits: caps,
    memoryBytes: u64(144),
    maxBufferBytes: u64(152),
    subgroupSize: u32(160),
    maxThreadsPerGroup: u32(164),
    vendorId: u32(168),
    deviceId: u32(172),
    maxSharedBytes: u32(176),
    computeUnits: u32(180),
    driver: cstr(buf.subarray(184, 248)),
  };
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function checkBackend(b: unknown, op: string, what = "backend"): Backend {
  if (typeof b === "string" && (BACKENDS as readonly string[]).includes(b)) {
    return b as Backend;
  }
  throw typeError(op, `${what} "cpu", "vulkan" or "metal"`, describe(b));
}

/** Preference when no device is named: Metal, hardware Vulkan, CPU, software Vulkan. */
function rank(d: DeviceInfo): number {
  const typeRank: Record<DeviceType, number> = {
    discrete: 0,
    integrated: 1,
    virtual: 2,
    other: 3,
    cpu: 4,
  };
  const t = typeRank[d.deviceType] ?? 5;
  if (d.backend === "metal") return 0 + t;
  if (d.backend === "vulkan" && d.deviceType !== "cpu") return 10 + t;
  if (d.backend === "cpu") return 20;
  return 30 + t; // Vulkan on a CPU (lavapipe, SwiftShader): slower than our CPU backend
}

let getCore: (d: Device) => DeviceCore;

/** Internal: the native state of a device (tests use its handle for raw FFI calls). */
export function deviceCore(d: Device): DeviceCore {
  return getCore(d);
}

const deviceFinalizer = new FinalizationRegistry<DeviceCore>((core) => {
  try {
    closeCore(core);
  } catch {
    // never throw from a finalizer
  }
});

function closeCore(core: DeviceCore): void {
  if (core.closed) return;
  core.closed = true;
  for (const s of core.tensors) invalidateTensorState(s);
  core.tensors.clear();
  for (const b of core.batches) {
    b.freed = true;
    b.handle = 0n;
  }
  core.batches.clear();
  const h = core.handle;
  core.handle = 0n;
  deviceFinalizer.unregister(core);
  lib().bn_device_close(h);
}

function runOne<T>(dev: Device, fn: (b: Batch) => T): Promise<T> {
  let b: Batch;
  let out: T;
  try {
    b = dev.batch();
  } catch (e) {
    return Promise.reject(e);
  }
  try {
    out = fn(b);
  } catch (e) {
    b.close();
    return Promise.reject(e);
  }
  return b.run().then(() => out);
}

/**
 * A compute device (CPU, Vulkan GPU or Metal GPU). Open one with
 * {@linkcode Device.open}; close it with `close()` or `using` — that frees every tensor
 * it owns and detaches their views.
 *
 * @example
 * ```ts
 * import { Device } from "../mod.ts";
 * using dev = await Device.open();             // Metal > Vulkan > CPU, or BITNET_BACKEND
 * const n = 64, k = 256;
 * using w = dev.tensor(new Float32Array(n * k).map(() => Math.random() - 0.5), [n, k]);
 * using x = dev.tensor(new Float32Array(k).map(() => Math.random() - 0.5));
 * using tw = await dev.quantizeTernary(w);     // 2-bit TL2 + absmean scale
 * using y = await dev.bitlinear(x, tw);        // int8 activations, exact int sums
 * console.log(await y.read(), dev.lastTimes);
 * ```
 */
export class Device implements Disposable {
  #core: DeviceCore;
  #info: DeviceInfo;

  static {
    getCore = (d: Device) => d.#core;
  }

  /** @internal Use {@linkcode Device.open}. */
  constructor(token: symbol, handle: bigint, info: DeviceInfo) {
    if (token !== TOKEN) {
      throw new TypeError("Device cannot be constructed directly: use Device.open()");
    }
    this.#info = info;
    this.#core = {
      handle,
      closed: false,
      label: `${info.backend}:${info.backendIndex}`,
      defaultStorage: info.deviceType === "discrete" ? "private" : "shared",
      tensors: new Set(),
      batches: new Set(),
      lastTimes: null,
    };
    deviceFinalizer.register(this, this.#core, this.#core);
  }

  /** Every device the library can open, in its order: Metal, Vulkan, CPU. */
  static list(): DeviceInfo[] {
    const l = lib();
    check(l.bn_device_count(outU32), "Device.list");
    const count = outU32[0];
    const buf = new Uint8Array(new ArrayBuffer(DEVICE_INFO_SIZE));
    const perBackend = new Map<number, number>();
    const out: DeviceInfo[] = [];
    for (let i = 0; i < count; i++) {
      buf.fill(0);
      check(l.bn_device_info(i, buf), "Device.list");
      const backendId = new DataView(buf.buffer).getUint32(128, true);
      const bi = perBackend.get(backendId) ?? 0;
      perBackend.set(backendId, bi + 1);
      out.push(decodeDeviceInfo(buf, i, bi));
    }
    return out;
  }

  /**
   * Opens a device. With no options: the backend named by `BITNET_BACKEND`
   * (cpu|vulkan|metal) if set, else the best device: Metal, then a hardware Vulkan GPU,
   * then the CPU backend (a software Vulkan driver such as lavapipe ranks last; ask for
   * it with `{ backend: "vulkan" }`).
   */
  static open(options: DeviceOpenOptions = {}): Promise<Device> {
    try {
      return Promise.resolve(Device.#openSync(options ?? {}));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  static #openSync(options: DeviceOpenOptions): Device {
    const op = "Device.open";
    if (typeof options !== "object") {
      throw typeError(op, "an options object", describe(options));
    }
    let { backend, index } = options;
    if (index !== undefined && (!Number.isInteger(index) || index < 0)) {
      throw rangeError(op, "index to be a non-negative integer", describe(index));
    }
    if (backend !== undefined) backend = checkBackend(backend, op);
    if (backend === undefined && index === undefined) {
      const env = readEnv("BITNET_BACKEND");
      if (env) backend = checkBackend(env, op, "BITNET_BACKEND to be");
    }
    const all = Device.list();
    let pick: DeviceInfo | undefined;
    if (backend !== undefined) {
      const of = all.filter((d) => d.backend === backend);
      pick = of[index ?? 0];
      if (!pick) {
        throw new BitnetError(
          Status.NOT_FOUND,
          of.length === 0
            ? `no ${backend} device is available (devices: ${
              all.map((d) => `${d.backend}:${d.name}`).join(", ") || "none"
            })`
            : `expected a ${backend} device index below ${of.length} but received ${index}`,
          { op },
        );
      }
    } else if (index !== undefined) {
      pick = all[index];
      if (!pick) {
        throw new BitnetError(
          Status.NOT_FOUND,
          `expected a device index below ${all.length} but received ${index}`,
          { op },
        );
      }
    } else {
      pick = [...all].sort((a, b) => rank(a) - rank(b) || a.index - b.index)[0];
      if (!pick) throw new BitnetError(Status.NOT_FOUND, "no device is available", { op });
    }
    const l = lib();
    check(l.bn_device_open(pick.index, outU64), op);
    const handle = readOutU64();
    const buf = new Uint8Array(new ArrayBuffer(DEVICE_INFO_SIZE));
    const st = l.bn_device_get_info(handle, buf);
    if (st !== 0) {
      l.bn_device_close(handle);
      check(st, op);
    }
    return new Device(TOKEN, handle, decodeDeviceInfo(buf, pick.index, pick.backendIndex));
  }

  /** What the library reports about this device (still readable after close). */
  get info(): DeviceInfo {
    return this.#info;
  }

  /** The backend of this device. */
  get backend(): Backend {
    return this.#info.backend;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /** Times of the last batch (or op) that completed on this device; null before any. */
  get lastTimes(): BatchTimes | null {
    return this.#core.lastTimes;
  }

  /** Storage a tensor gets when none is asked for (`"private"` on discrete GPUs). */
  get defaultStorage(): Storage {
    return this.#core.defaultStorage;
  }

  /** Whether the device runs `op` natively (no op ever falls back silently). */
  supports(op: OpName | number): boolean {
    const id = opIdOf(op, "supports");
    return deviceSupports(this.#core, id, "supports");
  }

  /** Buffer pool statistics. */
  poolStats(): PoolStats {
    const op = "poolStats";
    assertOpen(this.#core, op);
    const buf = new Uint8Array(new ArrayBuffer(POOL_STATS_SIZE));
    check(lib().bn_pool_stats(this.#core.handle, buf), op);
    const dv = new DataView(buf.buffer);
    const u64 = (i: number) => Number(dv.getBigUint64(i * 8, true));
    return {
      hits: u64(0),
      misses: u64(1),
      bytesInUse: u64(2),
      bytesCached: u64(3),
      buffersInUse: u64(4),
      allocations: u64(5),
    };
  }

  /** Frees the memory the pool caches for reuse. */
  trimPool(): void {
    assertOpen(this.#core, "trimPool");
    check(lib().bn_pool_trim(this.#core.handle), "trimPool");
  }

  /**
   * Uploads a typed array as a tensor (a copy). `shape` defaults to `[data.length]`.
   *
   * @example
   * ```ts
   * import { Device } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * using a = dev.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
   * ```
   */
  tensor<T extends TensorData>(
    data: T,
    shape?: readonly number[],
    options: TensorOptions = {},
  ): Tensor<DTypeOf<T>> {
    const op = "tensor";
    assertOpen(this.#core, op);
    const dtype = dtypeOf(data, op) as DTypeOf<T>;
    const storage = checkStorage(options?.storage, this.#core.defaultStorage, op);
    return createTensor(
      this,
      this.#core,
      shape === undefined ? [data.length] : shape,
      dtype,
      storage,
      op,
      data as unknown as ArrayOf<DTypeOf<T>>,
    );
  }

  /** A zero-filled tensor. */
  empty<D extends DType>(
    shape: readonly number[],
    dtype: D,
    options: TensorOptions = {},
  ): Tensor<D> {
    const op = "empty";
    assertOpen(this.#core, op);
    checkDType(dtype, op);
    const storage = checkStorage(options?.storage, this.#core.defaultStorage, op);
    return createTensor(this, this.#core, shape, dtype, storage, op);
  }

  /**
   * Ternary weights from host data already in the TL2 layout (see `packTernary` in
   * `src/reference.ts`): `packed` has `n · rowBytes` bytes of codes 0..2, `scale` is
   * the f32 weight scale.
   */
  ternaryWeights(
    packed: Uint8Array,
    scale: number,
    shape: readonly [number, number],
    options: TensorOptions = {},
  ): TernaryWeights {
    const op = "ternaryWeights";
    assertOpen(this.#core, op);
    if (!Array.isArray(shape) || shape.length !== 2) {
      throw rangeError(op, "a shape [n, k]", describe(shape));
    }
    if (typeof scale !== "number" || !Number.isFinite(scale)) {
      throw rangeError(op, "a finite scale", describe(scale));
    }
    const [n, k] = shape;
    if (!Number.isInteger(k) || k < 1) {
      throw rangeError(op, "k to be a positive integer", describe(k));
    }
    if (!(packed instanceof Uint8Array)) {
      throw typeError(op, "packed codes as a Uint8Array", describe(packed));
    }
    const p = this.tensor(packed, [n, ternaryRowBytes(k)], options);
    let s: Tensor<"f32"> | undefined;
    try {
      s = this.tensor(new Float32Array([scale]), [1], options);
      return new TernaryWeights(p, s, [n, k]);
    } catch (e) {
      p.close();
      s?.close();
      throw e;
    }
  }

  /**
   * Quantized activations from host data: `q` has `m · kp` int8 values (rows padded with
   * zeros to `kp = round_up(k, 128)`), `scale` has m f32 values; `shape` is `[m, k]` or
   * `[k]`.
   */
  quantizedActivations(
    q: Int8Array,
    scale: Float32Array,
    shape: readonly number[],
    options: TensorOptions = {},
  ): QuantizedActivations {
    const op = "quantizedActivations";
    assertOpen(this.#core, op);
    if (!Array.isArray(shape) || (shape.length !== 1 && shape.length !== 2)) {
      throw rangeError(op, "a shape [m, k] or [k]", describe(shape));
    }
    const m = shape.length === 2 ? shape[0] : 1;
    const k = shape[shape.length - 1];
    if (!Number.isInteger(k) || k < 1) {
      throw rangeError(op, "k to be a positive integer", describe(k));
    }
    const kp = Math.ceil(k / 128) * 128;
    if (!(q instanceof Int8Array)) {
      throw typeError(op, "q as an Int8Array", describe(q));
    }
    if (!(scale instanceof Float32Array)) {
      throw typeError(op, "scale as a Float32Array", describe(scale));
    }
    const qt = this.tensor(q, [m, kp], options);
    let st: Tensor<"f32"> | undefined;
    try {
      st = this.tensor(scale, [m], options);
      return new QuantizedActivations(qt, st, shape);
    } catch (e) {
      qt.close();
      st?.close();
      throw e;
    }
  }

  /** A new command batch: many ops, one await. */
  batch(): Batch {
    assertOpen(this.#core, "batch");
    return new Batch(this, this.#core);
  }

  /**
   * Quantizes f32 weights `[n, k]` to ternary: `scale = mean(|W|)`,
   * `q = clamp(roundEven(W / scale), -1, 1)`, packed in TL2. Rejects (RangeError) when
   * the input contains NaN or Inf.
   */
  quantizeTernary(w: Tensor<"f32">): Promise<TernaryWeights> {
    return runOne(this, (b) => b.quantizeTernary(w));
  }

  /**
   * Quantizes f32 activations `[m, k]` or `[k]` to int8 per row:
   * `xq = clamp(roundEven(x · 127/amax), -127, 127)`, `scale = amax / 127`. Rejects
   * (RangeError) when a row's scale is NaN or Inf.
   */
  quantizeActivations(x: Tensor<"f32">): Promise<QuantizedActivations> {
    return runOne(this, (b) => b.quantizeActivations(x));
  }

  /**
   * BitLinear: `y[i][j] = Σ_k q[j][k]·xq[i][k] · (w_scale · x_scale[i])`. `x` is an f32
   * Tensor `[m, k]` / `[k]` (quantized first, in the same batch) or QuantizedActivations.
   * `{ output: "int32" }` returns the exact integer sums instead.
   */
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options: { output: "int32" },
  ): Promise<Tensor<"i32">>;
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options?: { output?: "f32" },
  ): Promise<Tensor<"f32">>;
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options?: BitlinearOptions,
  ): Promise<Tensor<"f32"> | Tensor<"i32">>;
  bitlinear(
    x: Tensor<"f32"> | QuantizedActivations,
    w: TernaryWeights,
    options: BitlinearOptions = {},
  ): Promise<Tensor<"f32"> | Tensor<"i32">> {
    return runOne(this, (b) => b.bitlinear(x, w, options));
  }

  /** Ternary weights back to f32 `[n, k]` (`q · scale`). */
  dequantizeTernary(w: TernaryWeights): Promise<Tensor<"f32">> {
    return runOne(this, (b) => b.dequantizeTernary(w));
  }

  /**
   * Dense matmul, f32 result and accumulation: `a [m, k]` (or `[k]`) times `b [k, n]`, or
   * `b [n, k]` transposed with `{ transposeB: true }` (the `matmul_f32` op). f16 operands,
   * `transposeA`, batches (rank 3) and a vector `b` run the tensor matmul (see `gemm`).
   */
  matmul(
    a: Tensor<"f32"> | Tensor<"f16">,
    b: Tensor<"f32"> | Tensor<"f16">,
    options: MatmulOptions = {},
  ): Promise<Tensor<"f32">> {
    return runOne(this, (bt) => bt.matmul(a, b, options));
  }

  /**
   * The dense baseline through Metal Performance Shaders. Only where
   * `dev.supports("mpsMatmul")`; elsewhere it rejects with a BitnetError UNSUPPORTED.
   */
  mpsMatmul(
    a: Tensor<"f32">,
    b: Tensor<"f32">,
    options: MatmulOptions = {},
  ): Promise<Tensor<"f32">> {
    return runOne(this, (bt) => bt.mpsMatmul(a, b, options));
  }

  /**
   * The memory read-bandwidth probe: `Σ words of data mod 2^32` as u32 `[1]`. Its batch
   * time (`dev.lastTimes`) measures how fast this device reads `data.byteLength` bytes.
   */
  readProbe(data: Tensor): Promise<Tensor<"u32">> {
    return runOne(this, (b) => b.readProbe(data));
  }

  // ---- tensor ops: matmul (src/ops_matmul.ts) ----

  /**
   * The tensor matmul (`BN_OP_MATMUL`), numpy-style: `a [m, k]`, `[batch, m, k]` or `[k]`
   * times `b [k, n]`, `[batch, k, n]` or `[k]`; `transposeA` / `transposeB` swap the last
   * two dimensions of `a` / `b` (`[k, m]`, `[n, k]`). A rank-2 operand with a rank-3 other
   * (or a batch of 1) is shared by the whole batch. f32 or f16 operands (one dtype), f32
   * accumulation, f32 result `[batch?, m?, n?]` (a vector operand drops its dimension).
   *
   * @example
   * ```ts
   * import { Device, toF16 } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * using q = dev.tensor(toF16([1, 2, 3, 4, 5, 6]), [2, 1, 3]);   // [batch, m, k]
   * using k = dev.tensor(toF16([1, 0, 0, 0, 1, 0]), [2, 3]);      // [n, k], shared
   * using s = await dev.gemm(q, k, { transposeB: true });         // f32 [2, 1, 2]
   * ```
   */
  gemm(
    a: Tensor<"f32"> | Tensor<"f16">,
    b: Tensor<"f32"> | Tensor<"f16">,
    options: MatmulOptions = {},
  ): Promise<Tensor<"f32">> {
    return runOne(this, (bt) => bt.gemm(a, b, options));
  }

  // ---- tensor ops: elementwise, copy, permute (src/ops_elementwise.ts) ----

  /**
   * `a + b` elementwise with NumPy broadcasting (shapes align from the right; a dim of 1
   * repeats), f32 or f16 (both operands the same dtype; math in f32, f16 rounded to nearest
   * even). Operands may be strided views (`permute`, `transpose`, `broadcastTo`, `slice`);
   * the result is a new dense tensor of the broadcast shape.
   *
   * @example
   * ```ts
   * import { Device } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * using x = dev.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
   * using bias = dev.tensor(new Float32Array([10, 20, 30]));
   * using y = await dev.add(x, bias);        // [2, 3]: [11, 22, 33, 14, 25, 36]
   * using yt = await dev.add(x.transpose(), bias.reshape([1, 3]).transpose()); // [3, 2]
   * ```
   */
  add<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.add(a, b));
  }

  /** `a − b` elementwise, broadcasting (see {@linkcode Device.add}). */
  sub<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.sub(a, b));
  }

  /** `a · b` elementwise, broadcasting (see {@linkcode Device.add}). */
  mul<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.mul(a, b));
  }

  /** `a / b` elementwise, broadcasting (IEEE: x/0 = ±Inf, 0/0 = NaN). */
  div<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.div(a, b));
  }

  /** Elementwise maximum, broadcasting; NaN in either operand gives NaN. */
  maximum<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.maximum(a, b));
  }

  /** Elementwise minimum, broadcasting; NaN in either operand gives NaN. */
  minimum<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.minimum(a, b));
  }

  /** `a ** b` elementwise, broadcasting, with C99 `powf` semantics (pow(x, 0) = 1, …). */
  pow<D extends FloatDType>(a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.pow(a, b));
  }

  /** A binary op by name: `dev.binary("add", a, b)` is `dev.add(a, b)`. */
  binary<D extends FloatDType>(op: BinaryOpName, a: Tensor<D>, b: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.binary(op, a, b));
  }

  /** `−x` (flips the sign bit: exact, also for NaN and ±0). f32 or f16, any view. */
  neg<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.neg(x));
  }

  /** `|x|` (clears the sign bit: exact). */
  abs<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.abs(x));
  }

  /** `e^x` elementwise. */
  exp<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.exp(x));
  }

  /** Natural logarithm (log(0) = −Inf, log(x < 0) = NaN). */
  log<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.log(x));
  }

  /** Square root (sqrt(−0) = −0, sqrt(x < 0) = NaN). */
  sqrt<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.sqrt(x));
  }

  /** `1/√x` (rsqrt(±0) = ±Inf, rsqrt(Inf) = 0). */
  rsqrt<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.rsqrt(x));
  }

  /** Hyperbolic tangent. */
  tanh<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.tanh(x));
  }

  /** `1 / (1 + e^−x)` (computed without overflow on both sides). */
  sigmoid<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.sigmoid(x));
  }

  /** `max(x, 0)` (NaN stays NaN; relu(−0) = +0). */
  relu<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.relu(x));
  }

  /** Squared ReLU, `relu(x)²` (the FFN activation of BitNet b1.58 2B-4T). */
  relu2<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.relu2(x));
  }

  /** SiLU (swish), `x · sigmoid(x)`. */
  silu<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.silu(x));
  }

  /** GELU, exact erf form `0.5 · x · (1 + erf(x / √2))` (erf to within 1e-7). */
  gelu<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.gelu(x));
  }

  /** A unary op by name: `dev.unary("exp", x)` is `dev.exp(x)`; `"copy"` is `contiguous`. */
  unary<D extends FloatDType>(op: UnaryOpName, x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.unary(op, x));
  }

  /**
   * A dense, row-major copy of `x` (always a new tensor, bit-exact), e.g. of a `permute` /
   * `transpose` / `broadcastTo` view before an op that needs contiguous memory. GPUs copy a
   * transpose of the last two axes through 32×32 shared-memory tiles.
   *
   * @example
   * ```ts
   * import { Device } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * using x = dev.tensor(new Float32Array(24).map((_, i) => i), [2, 3, 4]);
   * using y = await dev.contiguous(x.permute(2, 0, 1)); // [4, 2, 3], dense
   * ```
   */
  contiguous<D extends FloatDType>(x: Tensor<D>): Promise<Tensor<D>> {
    return runOne(this, (bt) => bt.contiguous(x));
  }

  // ---- tensor ops: reductions and transformer rows (src/ops_rows.ts) ----

  /**
   * Sum of x (f32 or f16) along `axis` (negative counts from the end), or of all elements
   * when no axis is given; f32 result without the axis (as size 1 with `keepDims`; shape
   * `[]` for all). CPU: double accumulation; GPUs: f32 Kahan per invocation + fixed trees.
   *
   * @example
   * ```ts
   * import { Device } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * using x = dev.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
   * using s = await dev.sum(x, { axis: -1 });   // [6, 15]
   * using all = await dev.sum(x);                // shape [], 21
   * ```
   */
  sum(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Promise<Tensor<"f32">> {
    return runOne(this, (b) => b.sum(x, options));
  }

  /** Mean along `axis` (or of all elements): `sum / len`, f32. */
  mean(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Promise<Tensor<"f32">> {
    return runOne(this, (b) => b.mean(x, options));
  }

  /** Maximum along `axis` (or of all elements), f32; NaN propagates. */
  max(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Promise<Tensor<"f32">> {
    return runOne(this, (b) => b.max(x, options));
  }

  /** Minimum along `axis` (or of all elements), f32; NaN propagates. */
  min(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Promise<Tensor<"f32">> {
    return runOne(this, (b) => b.min(x, options));
  }

  /**
   * Index of the maximum along `axis` (or in the flattened tensor), i32: the first
   * occurrence; a NaN counts as the maximum (the first NaN's index).
   */
  argmax(x: Tensor<"f32"> | Tensor<"f16">, options: ReduceOptions = {}): Promise<Tensor<"i32">> {
    return runOne(this, (b) => b.argmax(x, options));
  }

  /**
   * Variance along `axis` (or of all elements), two-pass: `Σ(x − mean)² / (len − ddof)`
   * (`ddof` default 0), f32.
   */
  variance(
    x: Tensor<"f32"> | Tensor<"f16">,
    options: VarianceOptions = {},
  ): Promise<Tensor<"f32">> {
    return runOne(this, (b) => b.variance(x, options));
  }

  /**
   * Softmax over the last axis, numerically stable (`exp(x − max) / Σ exp(x − max)`), f32
   * or f16 like x. `{ causal: true }` masks key j of row i when `j > i + cols − rows`
   * (those outputs are 0); x must then be `[rows, cols]` with `cols ≥ rows`.
   */
  softmax<D extends "f32" | "f16">(x: Tensor<D>, options: SoftmaxOptions = {}): Promise<Tensor<D>> {
    return runOne(this, (b) => b.softmax(x, options));
  }

  /**
   * RMSNorm over the last axis: `y = x · (1 / sqrt(mean(x²) + eps)) · w` in f32 (`eps`
   * default 1e-6), with an f32 weight `w [cols]`; x and y f32 or f16.
   */
  rmsnorm<D extends "f32" | "f16">(
    x: Tensor<D>,
    w: Tensor<"f32">,
    options: RmsnormOptions = {},
  ): Promise<Tensor<D>> {
    return runOne(this, (b) => b.rmsnorm(x, w, options));
  }

  /**
   * RMSNorm fused with the int8 per-token quantization of BitLinear inputs: x f32 `[m, k]`
   * or `[k]`, w f32 `[k]` → QuantizedActivations, the same values as
   * `quantizeActivations(await rmsnorm(x, w))`; pass it straight to `bitlinear`.
   */
  rmsnormQuant(
    x: Tensor<"f32">,
    w: Tensor<"f32">,
    options: RmsnormOptions = {},
  ): Promise<QuantizedActivations> {
    return runOne(this, (b) => b.rmsnormQuant(x, w, options));
  }

  /**
   * Rotary position embedding, NEOX style: x `[tokens, heads, head_dim]` or
   * `[tokens, head_dim]` (f32 or f16, even head_dim), `positions` i32 `[tokens]`;
   * θ_i = pos · theta^(−2i/head_dim) (`theta` default 10000) rotates the pairs
   * (x[i], x[i + head_dim/2]).
   */
  rope<D extends "f32" | "f16">(
    x: Tensor<D>,
    positions: Tensor<"i32">,
    options: RopeOptions = {},
  ): Promise<Tensor<D>> {
    return runOne(this, (b) => b.rope(x, positions, options));
  }

  // ---- thermal ----

  /**
   * The machine's thermal state: macOS `thermalState` and low-power mode, Linux thermal
   * zones with their trip points, and (through NVML, when present) NVIDIA GPU temperature,
   * power, clocks, utilisation and throttle reasons. The same for every device of the
   * machine; `ThermalMonitor` polls it and emits throttle events.
   *
   * @example
   * ```ts
   * import { Device } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * const t = await dev.thermal();
   * console.log(t.state, t.zones.length, t.gpus.map((g) => g.tempC));
   * ```
   */
  thermal(options?: ReadThermalOptions): Promise<ThermalReading> {
    assertOpen(this.#core, "thermal");
    return readThermal(options);
  }

  /**
   * Closes the device (idempotent): waits for its work, frees its tensors and batches
   * and detaches every view. Later calls on it throw a "device is closed" TypeError.
   */
  close(): void {
    closeCore(this.#core);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `Device(cpu:0 "name")`. */
  toString(): string {
    return `Device(${this.#core.label} ${JSON.stringify(this.#info.name)}${
      this.#core.closed ? ", closed" : ""
    })`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}
