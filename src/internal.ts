/**
 * Internal state shared by Device, Tensor and Batch. Not part of the public API.
 *
 * Ownership rules (so FinalizationRegistry can work): a `DeviceCore` never references its
 * `Device`, and a `TensorState` never references its `Tensor`; the public objects hold
 * their state strongly, never the other way round.
 *
 * @module
 */

import { typeError } from "./errors.ts";
import type { DType } from "./dtype.ts";

/** Where a tensor's memory lives. */
export type Storage = "shared" | "private";

/** GPU/CPU time of one batch, in seconds; null when the backend cannot tell. */
export interface BatchTimes {
  /** Time of the work on the device's own clock (CPU backend: the kernels' wall time). */
  gpuSeconds: number | null;
  /** Seconds from commit to completion, as seen by the host. */
  elapsedSeconds: number | null;
}

/** Native state of an open device. */
export interface DeviceCore {
  /** Native device handle (an id below 2^53); 0n once closed. */
  handle: bigint;
  closed: boolean;
  /** Short name for messages, e.g. `cpu:0`. */
  label: string;
  /** Storage used when a tensor is created without an explicit one. */
  defaultStorage: Storage;
  /** Live tensors (their states), invalidated when the device closes. */
  tensors: Set<TensorState>;
  /** Native batches not yet freed, freed when the device closes. */
  batches: Set<BatchState>;
  /** Times of the last batch that completed on this device. */
  lastTimes: BatchTimes | null;
}

/** Native state of a tensor. */
export interface TensorState {
  core: DeviceCore;
  /** Native buffer handle; 0n once freed. */
  handle: bigint;
  closed: boolean;
  byteLength: number;
  dtype: DType;
  storage: Storage;
  /** Zero-copy views handed out; detached when the memory goes away. */
  views: WeakRef<ArrayBuffer>[];
}

/** Native state of a batch. */
export interface BatchState {
  core: DeviceCore;
  handle: bigint;
  freed: boolean;
}

/** Throws the "device is closed" TypeError when the device is closed. */
export function assertOpen(core: DeviceCore, op: string): void {
  if (core.closed) {
    throw typeError(
      op,
      `an open device`,
      `device ${core.label}, which is closed (device is closed)`,
    );
  }
}

/** Detaches every zero-copy view of a tensor (transfer(0) allocates nothing to copy). */
export function detachViews(state: TensorState): void {
  for (const ref of state.views) {
    const ab = ref.deref();
    if (ab && !ab.detached) {
      try {
        ab.transfer(0);
      } catch {
        // Already detached or not detachable: nothing more we can do.
      }
    }
  }
  state.views.length = 0;
}
