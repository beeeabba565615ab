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

/** Frees the native buffer of a tensor and detaches its views (idempotent). */
export function releaseTensorState(state: TensorState): void {
  if (state.closed) return;
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

  static {
    getState = (t: Tensor) => t.#state;
  }

  /** @internal Tensors are created by `Device.tensor` / `Device.empty`. */
  constructor(
    token: symbol,
    device: Device,
    state: TensorState,
    shape: readonly number[],
    dtype: D,
    size: number,
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
    return this.#state.byteLength;
  }

  /** True once closed, or once its device closed. */
  get closed(): boolean {
    return this.#state.closed;
  }

  /** Copies the contents into a new typed array. */
  async read(): Promise<ArrayOf<D>> {
    const state = this.#checkUsable("tensor.read");
    const Ctor = ARRAY_OF[this.dtype] as unknown as new (
      b: ArrayBuffer,
    ) => ArrayOf<D>;
    // A fresh ArrayBuffer is off-heap: its address stays put while another thread writes.
    const out = new Ctor(new ArrayBuffer(state.byteLength));
    const status = await lib().bn_buffer_read(
      state.handle,
      0n,
      out,
      BigInt(state.byteLength),
    );
    if (status !== 0) {
      throw nativeError(status, "tensor.read", {
        device: state.core.handle,
        threadLocal: false,
      });
    }
    return out;
  }

  /** Overwrites the contents with `data` (same dtype, exactly `size` elements). */
  async write(data: ArrayOf<D>): Promise<void> {
    const state = this.#checkUsable("tensor.write");
    checkData(data, this.dtype, this.size, "tensor.write");
    // Moves small on-heap typed arrays off-heap, so the pointer stays valid while the
    // nonblocking call runs on another thread; `data` stays referenced by this frame.
    void data.buffer;
    const status = await lib().bn_buffer_write(
      state.handle,
      0n,
      data,
      BigInt(state.byteLength),
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
   * uses the tensor is running.
   */
  view(): ArrayOf<D> {
    const state = this.#checkUsable("tensor.view");
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
    const ab = Deno.UnsafePointerView.getArrayBuffer(ptr, state.byteLength);
    // Forget views that were garbage-collected, then remember this one.
    state.views = state.views.filter((r) => r.deref() !== undefined);
    state.views.push(new WeakRef(ab));
    const Ctor = ARRAY_OF[this.dtype] as unknown as new (
      b: ArrayBuffer,
    ) => ArrayOf<D>;
    return new Ctor(ab);
  }

  /** Frees the tensor (idempotent); its views are detached. */
  close(): void {
    releaseTensorState(this.#state);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `Tensor<f32>[2, 3] (cpu:0, shared)`. */
  toString(): string {
    const s = this.#state;
    return `Tensor<${this.dtype}>[${this.shape.join(", ")}] (${s.core.label}, ${
      s.closed ? "closed" : s.storage
    })`;
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

/** Internal: the native buffer handle of a tensor (0n once closed). */
export function tensorHandle(t: Tensor): bigint {
  return getState(t).handle;
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
