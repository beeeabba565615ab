/**
 * Tensors: typed, shaped native buffers of one device.
 *
 * @module
 */

import { StorageId } from "./abi.ts";
import {
  ARRAY_OF,
  type ArrayOf,
  bufferBytes,
  BYTES_PER_ELEMENT,
  checkShape,
  type DType,
  dtypeOf,
} from "./dtype.ts";
import { describe, rangeError, typeError } from "./errors.ts";
import {
  assertOpen,
  detachViews,
  type DeviceCore,
  type Storage,
  type TensorState,
} from "./internal.ts";
import { check, lib, nativeError, outU64, readOutU64 } from "./native.ts";
import type { Device } from "./device.ts";

const TOKEN = Symbol("bitnet.tensor");

/** Frees the native buffer of a tensor and detaches its views (idempotent). A view's state
 * only marks the view closed: the memory belongs to its base. */
export function releaseTensorState(state: TensorState): void {
  if (state.closed) return;
  if (VIEW_STATES.has(state)) {
    state.closed = true;
    return;
  }
  state.closed = true;
  detachViews(state);
  state.core.tensors.delete(state);
  finalizer.unregister(state);
  if (!state.core.closed && state.handle !== 0n) {
    // BN_ERR_INVALID_HANDLE here would mean the device already freed it: ignore.
    lib().bn_buffer_free(state.handle);
  }
  state.handle = 0n;
}

/** Marks a tensor's state as gone because its device closed (native freed it). */
export function invalidateTensorState(state: TensorState): void {
  if (state.closed) return;
  state.closed = true;
  detachViews(state);
  finalizer.unregister(state);
  state.handle = 0n;
}

const finalizer = new FinalizationRegistry<TensorState>((state) => {
  try {
    releaseTensorState(state);
  } catch {
    // Never throw from a finalizer.
  }
});

let getState: (t: Tensor) => TensorState;
let getBase: (t: Tensor) => Tensor | null;

/** States of strided views (see {@linkcode Tensor.permute}): they own no memory. */
const VIEW_STATES = new WeakSet<TensorState>();

/**
 * The state of a view of `root`: it reads as closed once the view or its base is closed, and
 * its handle is the base's while both are open. It frees nothing when closed.
 */
function viewState(root: TensorState): TensorState {
  let own = false;
  const st: TensorState = {
    core: root.core,
    get handle(): bigint {
      return own || root.closed ? 0n : root.handle;
    },
    set handle(_v: bigint) {
      // the base owns the handle
    },
    get closed(): boolean {
      return own || root.closed;
    },
    set closed(v: boolean) {
      if (v) own = true;
    },
    byteLength: root.byteLength,
    dtype: root.dtype,
    storage: root.storage,
    views: [],
  };
  VIEW_STATES.add(st);
  return st;
}

/** Row-major (dense) strides of a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/** Whether strides are row-major dense for shape (dims of size 1 may have any stride). */
export function isDenseLayout(shape: readonly number[], strides: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

/** The layout of a view: strides and offset in elements of the base, and the base. */
interface ViewLayout {
  strides: readonly number[];
  offset: number;
  base: Tensor;
}

function axisArg(axis: unknown, rank: number, op: string, what: string): number {
  if (typeof axis !== "number" || !Number.isInteger(axis)) {
    throw typeError(op, `${what} to be an integer`, describe(axis));
  }
  if (axis < -rank || axis >= rank) {
    throw rangeError(op, `${what} in [${-rank}, ${rank})`, `${axis} (rank ${rank})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Options of `dev.tensor` / `dev.empty`. */
export interface TensorOptions {
  /**
   * `"shared"`: host-visible memory with a zero-copy {@linkcode Tensor.view};
   * `"private"`: device-local memory (weights on discrete GPUs). Default: `"shared"`,
   * or `"private"` on discrete GPUs.
   */
  storage?: Storage;
}

/**
 * A typed, shaped buffer on a device. Create one with `dev.tensor(data, shape)` or
 * `dev.empty(shape, dtype)`; free it with `close()` or `using`.
 *
 * @example
 * ```ts
 * import { Device } from "../mod.ts";
 * using dev = await Device.open({ backend: "cpu" });
 * using t = dev.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * console.log(t.shape, t.dtype, await t.read()); // [2, 3] "f32" Float32Array(6)
 * ```
 */
export class Tensor<D extends DType = DType> implements Disposable {
  #state: TensorState;
  #device: Device;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  /** Number of elements. */
  readonly size: number;
  /**
   * Step between consecutive elements of each dimension, in elements of the underlying
   * memory (row-major for a tensor that is not a view; 0 along broadcast dimensions).
   */
  readonly strides: readonly number[];
  /** Index (in elements) of the first element in the underlying memory (0 unless a view). */
  readonly offset: number;
  /** The tensor whose memory a view shares (null for a tensor that owns its memory). */
  #base: Tensor | null;
  /** The state of the memory's owner (this tensor's own state unless a view). */
  #root: TensorState;

  static {
    getState = (t: Tensor) => t.#state;
    getBase = (t: Tensor) => t.#base;
  }

  /** @internal Tensors are created by `Device.tensor` / `Device.empty` and the view methods. */
  constructor(
    token: symbol,
    device: Device,
    state: TensorState,
    shape: readonly number[],
    dtype: D,
    size: number,
    view?: ViewLayout,
  ) {
    if (token !== TOKEN) {
      throw new TypeError(
        "Tensor cannot be constructed directly: use dev.tensor() or dev.empty()",
      );
    }
    this.#device = device;
    this.#state = state;
    this.shape = shape;
    this.dtype = dtype;
    this.size = size;
    if (view) {
      this.strides = Object.freeze([...view.strides]);
      this.offset = view.offset;
      this.#base = view.base;
      this.#root = getState(view.base);
    } else {
      this.strides = Object.freeze(contiguousStrides(shape));
      this.offset = 0;
      this.#base = null;
      this.#root = state;
    }
  }

  /** The device that owns the tensor. */
  get device(): Device {
    return this.#device;
  }

  /** Where the memory lives. */
  get storage(): Storage {
    return this.#state.storage;
  }

  /** Size in bytes (`size × bytes per element`). */
  get byteLength(): number {
    return this.size * BYTES_PER_ELEMENT[this.dtype];
  }

  /** True once closed, or once its device closed (a view: or once its base closed). */
  get closed(): boolean {
    return this.#state.closed;
  }

  /**
   * Whether the elements lie densely in row-major order from `offset` (every tensor that
   * is not a view is; a transposed or broadcast view is not). Ops other than the
   * elementwise ones and `read()` need contiguous tensors at offset 0: use
   * `dev.contiguous(t)`.
   */
  get isContiguous(): boolean {
    return isDenseLayout(this.shape, this.strides);
  }

  /** The tensor that owns the memory of this view, or null when this is not a view. */
  get base(): Tensor | null {
    return this.#base;
  }

  /**
   * Copies the contents into a new typed array, in row-major order of `shape`. A
   * non-contiguous view reads the span of its base's memory that it covers and gathers the
   * elements in TypeScript (no device work).
   */
  async read(): Promise<ArrayOf<D>> {
    const state = this.#checkUsable("tensor.read");
    const Ctor = ARRAY_OF[this.dtype] as unknown as new (
      b: ArrayBuffer,
    ) => ArrayOf<D>;
    const bpe = BYTES_PER_ELEMENT[this.dtype];
    const dense = this.isContiguous;
    let span = this.size;
    if (!dense) {
      span = 1;
      for (let i = 0; i < this.shape.length; i++) span += (this.shape[i] - 1) * this.strides[i];
    }
    // A fresh ArrayBuffer is off-heap: its address stays put while another thread writes.
    const raw = new Ctor(new ArrayBuffer(span * bpe));
    const status = await lib().bn_buffer_read(
      state.handle,
      BigInt(this.offset * bpe),
      raw,
      BigInt(span * bpe),
    );
    if (status !== 0) {
      throw nativeError(status, "tensor.read", {
        device: state.core.handle,
        threadLocal: false,
      });
    }
    if (dense) return raw;
    // Gather the bit patterns (a Float32Array copy could quieten NaN payloads).
    const outBuf = new ArrayBuffer(this.byteLength);
    const rawBuf = raw.buffer as ArrayBuffer;
    const Bits = bpe === 4 ? Uint32Array : bpe === 2 ? Uint16Array : Uint8Array;
    gather(new Bits(rawBuf), this.shape, this.strides, new Bits(outBuf));
    return new Ctor(outBuf);
  }

  /** Overwrites the contents with `data` (same dtype, exactly `size` elements). */
  async write(data: ArrayOf<D>): Promise<void> {
    const state = this.#checkUsable("tensor.write");
    this.#checkContiguous("tensor.write", "write into");
    checkData(data, this.dtype, this.size, "tensor.write");
    // Moves small on-heap typed arrays off-heap, so the pointer stays valid while the
    // nonblocking call runs on another thread; `data` stays referenced by this frame.
    void data.buffer;
    const bpe = BYTES_PER_ELEMENT[this.dtype];
    const status = await lib().bn_buffer_write(
      state.handle,
      BigInt(this.offset * bpe),
      data,
      BigInt(this.size * bpe),
    );
    if (status !== 0) {
      throw nativeError(status, "tensor.write", {
        device: state.core.handle,
        threadLocal: false,
      });
    }
  }

  /**
   * A zero-copy typed array over the tensor's memory (shared storage only). The view is
   * detached (length 0) when the tensor is closed or its device closes. Do not transfer
   * its buffer. Writes are seen by the next batch; do not touch it while a batch that
   * uses the tensor is running. Of a contiguous strided view (`reshape`, `slice` of the
   * outermost axis): its elements within the base's memory, detached when the base's
   * memory goes away.
   */
  view(): ArrayOf<D> {
    const state = this.#checkUsable("tensor.view");
    this.#checkContiguous("tensor.view", "view");
    if (state.storage !== "shared") {
      throw typeError(
        "tensor.view",
        "a tensor with shared storage",
        `one with ${state.storage} storage (use read() instead)`,
      );
    }
    check(lib().bn_buffer_host_ptr(state.handle, outU64), "tensor.view");
    const ptr = Deno.UnsafePointer.create(outU64[0]);
    if (ptr === null) {
      throw typeError("tensor.view", "a host pointer", "NULL");
    }
    const root = this.#root;
    const ab = Deno.UnsafePointerView.getArrayBuffer(ptr, root.byteLength);
    // Forget views that were garbage-collected, then remember this one (with the memory's
    // owner, whose close detaches it).
    root.views = root.views.filter((r) => r.deref() !== undefined);
    root.views.push(new WeakRef(ab));
    const Ctor = ARRAY_OF[this.dtype] as unknown as new (
      b: ArrayBuffer,
      byteOffset: number,
      length: number,
    ) => ArrayOf<D>;
    return new Ctor(ab, this.offset * BYTES_PER_ELEMENT[this.dtype], this.size);
  }

  // ---- strided views (zero-copy; they share this tensor's memory) -----------------------

  /**
   * A view with the axes reordered: dimension i of the result is dimension `axes[i]` of
   * this tensor. Accepts `permute(2, 0, 1)` or `permute([2, 0, 1])`; negative axes count
   * from the end. Zero-copy: the view shares the memory (see {@linkcode Tensor.base}).
   *
   * @example
   * ```ts
   * import { Device } from "../mod.ts";
   * using dev = await Device.open({ backend: "cpu" });
   * using x = dev.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
   * using xt = x.permute(1, 0);              // [3, 2], strides [1, 3]: not contiguous
   * console.log(await xt.read());            // Float32Array [1, 4, 2, 5, 3, 6]
   * using c = await dev.contiguous(xt);      // a dense copy
   * ```
   */
  permute(...axes: number[] | [readonly number[]]): Tensor<D> {
    const op = "tensor.permute";
    this.#checkUsable(op);
    const list = (axes.length === 1 && Array.isArray(axes[0]) ? axes[0] : axes) as unknown[];
    const rank = this.shape.length;
    if (list.length !== rank) {
      throw rangeError(op, `${rank} axes (a permutation of the dims)`, describe(list));
    }
    const seen = new Set<number>();
    const perm = list.map((a, i) => {
      const ax = axisArg(a, rank, op, `axes[${i}]`);
      if (seen.has(ax)) throw rangeError(op, "each axis once", describe(list));
      seen.add(ax);
      return ax;
    });
    return this.#view(
      perm.map((a) => this.shape[a]),
      perm.map((a) => this.strides[a]),
      this.offset,
    );
  }

  /** A view with axes a and b swapped (default: the last two). Zero-copy. */
  transpose(a?: number, b?: number): Tensor<D> {
    const op = "tensor.transpose";
    this.#checkUsable(op);
    const rank = this.shape.length;
    if (rank < 2 && a === undefined && b === undefined) {
      throw rangeError(op, "a tensor of rank >= 2 (the last two axes are swapped)", `rank ${rank}`);
    }
    const x = axisArg(a ?? -2, rank, op, "a"), y = axisArg(b ?? -1, rank, op, "b");
    const perm = this.shape.map((_, i) => i);
    perm[x] = y;
    perm[y] = x;
    return this.permute(perm);
  }

  /**
   * A view with another shape of the same size (one dim may be -1: inferred). Only of a
   * contiguous tensor (a TypeError otherwise: call `dev.contiguous(t)` first). Zero-copy.
   */
  reshape(shape: readonly number[]): Tensor<D> {
    const op = "tensor.reshape";
    this.#checkUsable(op);
    if (!Array.isArray(shape)) {
      throw typeError(op, "a shape (an array of integers)", describe(shape));
    }
    const dims = [...shape];
    const infer = dims.indexOf(-1);
    if (infer >= 0 && dims.indexOf(-1, infer + 1) >= 0) {
      throw rangeError(op, "at most one dim of -1", describe(shape));
    }
    if (infer >= 0) {
      const rest = dims.reduce((p, d, i) => (i === infer ? p : p * d), 1);
      if (!(rest > 0) || this.size % rest !== 0) {
        throw rangeError(op, `a shape of ${this.size} elements`, describe(shape));
      }
      dims[infer] = this.size / rest;
    }
    const { shape: s2, size } = checkShape(dims, this.dtype, op);
    if (size !== this.size) {
      throw rangeError(
        op,
        `a shape of ${this.size} elements (shape [${this.shape.join(", ")}])`,
        `${describe(shape)} (${size} elements)`,
      );
    }
    this.#checkContiguous(op, "reshape");
    return this.#view(s2, contiguousStrides(s2), this.offset);
  }

  /**
   * A view broadcast to `shape` (NumPy rules: align from the right; a dim of size 1, or a
   * missing one, repeats with stride 0). Zero-copy; the result is not contiguous unless
   * nothing was repeated.
   */
  broadcastTo(shape: readonly number[]): Tensor<D> {
    const op = "tensor.broadcastTo";
    this.#checkUsable(op);
    const { shape: target } = checkShape(shape, this.dtype, op);
    const r = target.length, own = this.shape.length;
    const bad = () =>
      rangeError(
        op,
        `a shape that [${this.shape.join(", ")}] broadcasts to`,
        `[${target.join(", ")}]`,
      );
    if (own > r) throw bad();
    const strides = target.map((d, i) => {
      const j = i - (r - own);
      if (j < 0) return 0;
      if (this.shape[j] === d) return this.shape[j] === 1 ? 0 : this.strides[j];
      if (this.shape[j] === 1) return 0;
      throw bad();
    });
    return this.#view(target, strides, this.offset);
  }

  /**
   * A view of the elements `start <= i < end` along `axis` (negative values count from the
   * end; the result must not be empty). Zero-copy.
   */
  slice(axis: number, start: number, end?: number): Tensor<D> {
    const op = "tensor.slice";
    this.#checkUsable(op);
    const rank = this.shape.length;
    const ax = axisArg(axis, rank, op, "axis");
    const n = this.shape[ax];
    const norm = (v: unknown, what: string) => {
      if (typeof v !== "number" || !Number.isInteger(v)) {
        throw typeError(op, `${what} to be an integer`, describe(v));
      }
      return v < 0 ? v + n : v;
    };
    const s = norm(start, "start"), e = end === undefined ? n : norm(end, "end");
    if (!(s >= 0 && s < e && e <= n)) {
      throw rangeError(
        op,
        `0 <= start < end <= ${n} (a non-empty slice of axis ${ax}; zero-size tensors are not supported)`,
        `start ${start}, end ${end ?? n}`,
      );
    }
    const shape = [...this.shape];
    shape[ax] = e - s;
    return this.#view(shape, this.strides, this.offset + s * this.strides[ax]);
  }

  #view(shape: readonly number[], strides: readonly number[], offset: number): Tensor<D> {
    const base = this.#base ?? this;
    const size = shape.reduce((p, d) => p * d, 1);
    return new Tensor<D>(
      TOKEN,
      this.#device,
      viewState(this.#root),
      Object.freeze([...shape]),
      this.dtype,
      size,
      { strides, offset, base },
    );
  }

  #checkContiguous(op: string, what: string): void {
    if (!this.isContiguous) {
      throw typeError(
        op,
        `a contiguous tensor to ${what} (call dev.contiguous(t) first)`,
        `a non-contiguous view (shape [${this.shape.join(", ")}], strides [${
          this.strides.join(", ")
        }])`,
      );
    }
  }

  /** Frees the tensor (idempotent); its views are detached. */
  close(): void {
    releaseTensorState(this.#state);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `Tensor<f32>[2, 3] (cpu:0, shared)`; a view adds its strides and offset. */
  toString(): string {
    const s = this.#state;
    const view = this.#base
      ? `, view strides [${this.strides.join(", ")}] offset ${this.offset}`
      : "";
    return `Tensor<${this.dtype}>[${this.shape.join(", ")}] (${s.core.label}, ${
      s.closed ? "closed" : s.storage
    }${view})`;
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  #checkUsable(op: string): TensorState {
    const state = this.#state;
    assertOpen(state.core, op);
    if (state.closed) {
      throw typeError(op, "an open tensor", "a closed tensor");
    }
    return state;
  }
}

/** Internal: the native state of a tensor. */
export function tensorState(t: Tensor): TensorState {
  return getState(t);
}

/**
 * Internal: the native buffer handle of a tensor (0n once closed), for ops that read and
 * write dense tensors from the start of their buffer. A view qualifies when it is
 * contiguous at offset 0 (its base's handle); any other view is a TypeError naming
 * contiguous(). (The elementwise ops take views through {@linkcode viewBase}.)
 */
export function tensorHandle(t: Tensor): bigint {
  const st = getState(t);
  if (st.closed || getBase(t) === null) return st.handle;
  if (t.offset !== 0 || !t.isContiguous) {
    throw typeError(
      "encode",
      "a contiguous tensor at offset 0 (call dev.contiguous(t) first)",
      `a strided view (shape [${t.shape.join(", ")}], strides [${
        t.strides.join(", ")
      }], offset ${t.offset})`,
    );
  }
  return st.handle;
}

/** Internal: the tensor owning a view's memory (t itself when it is not a view). */
export function viewBase(t: Tensor): Tensor {
  return getBase(t) ?? t;
}

/** Row-major gather of a strided layout from `raw` (whose element 0 is the view's offset). */
function gather(
  raw: Uint32Array | Uint16Array | Uint8Array,
  shape: readonly number[],
  strides: readonly number[],
  out: Uint32Array | Uint16Array | Uint8Array,
): void {
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = raw[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Validates a typed array against a dtype and element count. */
export function checkData(
  data: unknown,
  dtype: DType,
  size: number,
  op: string,
): void {
  const got = dtypeOf(data, op);
  if (got !== dtype) {
    throw typeError(op, `${dtype} data`, `${got} data (${describe(data)})`);
  }
  const len = (data as ArrayOf<DType>).length;
  if (len !== size) {
    throw rangeError(op, `${size} elements`, `${len}`);
  }
}

/** Validates a storage option. */
export function checkStorage(
  storage: unknown,
  fallback: Storage,
  op: string,
): Storage {
  if (storage === undefined) return fallback;
  if (storage === "shared" || storage === "private") return storage;
  throw typeError(op, `storage "shared" or "private"`, describe(storage));
}

/**
 * Internal: allocates a tensor on a device (zero-filled), optionally uploading data
 * synchronously.
 */
export function createTensor<D extends DType>(
  device: Device,
  core: DeviceCore,
  shape: unknown,
  dtype: D,
  storage: Storage,
  op: string,
  data?: ArrayOf<D>,
): Tensor<D> {
  assertOpen(core, op);
  const { shape: dims, size } = checkShape(shape, dtype, op);
  if (data !== undefined) checkData(data, dtype, size, op);
  const byteLength = size * BYTES_PER_ELEMENT[dtype];
  const l = lib();
  check(
    l.bn_buffer_create(
      core.handle,
      BigInt(bufferBytes(dtype, size)),
      StorageId[storage],
      outU64,
    ),
    op,
  );
  const handle = readOutU64();
  if (data !== undefined) {
    const st = l.bn_buffer_write_sync(handle, 0n, data, BigInt(byteLength));
    if (st !== 0) {
      const err = nativeError(st, op, { device: core.handle });
      l.bn_buffer_free(handle);
      throw err;
    }
  }
  const state: TensorState = {
    core,
    handle,
    closed: false,
    byteLength,
    dtype,
    storage,
    views: [],
  };
  const t = new Tensor<D>(TOKEN, device, state, dims, dtype, size);
  core.tensors.add(state);
  finalizer.register(t, state, state);
  return t;
}
