/**
 * Quantized operands: packed ternary weights and int8 per-token activations.
 *
 * @module
 */

import { paddedK, ternaryRowBytes } from "./abi.ts";
import { describe, rangeError, typeError } from "./errors.ts";
import { Tensor } from "./tensor.ts";
import type { Device } from "./device.ts";

function checkDims(shape: unknown, rank: 1 | 2 | "1or2", op: string): number[] {
  const ok = Array.isArray(shape) &&
    (rank === "1or2" ? shape.length === 1 || shape.length === 2 : shape.length === rank) &&
    shape.every((d) => Number.isInteger(d) && d >= 1 && d < 2 ** 32);
  if (!ok) {
    const want = rank === 1
      ? "[k]"
      : rank === 2
      ? "[n, k] with positive integer dims"
      : "[k] or [m, k] with positive integer dims";
    throw rangeError(op, `a shape ${want}`, describe(shape));
  }
  return [...shape as number[]];
}

function checkPart(
  t: unknown,
  dtype: string,
  size: number,
  op: string,
  what: string,
): void {
  if (!(t instanceof Tensor)) {
    throw typeError(op, `${what} to be a Tensor`, describe(t));
  }
  if (t.dtype !== dtype) {
    throw typeError(op, `${what} of dtype ${dtype}`, `dtype ${t.dtype}`);
  }
  if (t.size !== size) {
    throw rangeError(op, `${what} with ${size} elements`, `${t.size}`);
  }
}

/**
 * Ternary weights W[n][k] in the TL2 packed layout (2 bits per weight, rows padded to
 * `kp = round_up(k, 128)` weights, `rowBytes = kp / 4`) with one f32 scale per tensor
 * (`mean(|W|)`). Made by `dev.quantizeTernary(w)` or `dev.ternaryWeights(...)`.
 *
 * @example
 * ```ts
 * import { Device } from "../mod.ts";
 * using dev = await Device.open({ backend: "cpu" });
 * using w = dev.tensor(new Float32Array(4 * 256).map(() => Math.random() - 0.5), [4, 256]);
 * using tw = await dev.quantizeTernary(w);
 * console.log(tw.shape, tw.rowBytes); // [4, 256] 64
 * ```
 */
export class TernaryWeights implements Disposable {
  /** Packed codes, u8 `[n, rowBytes]`. */
  readonly packed: Tensor<"u8">;
  /** The weight scale, f32 `[1]`. */
  readonly scale: Tensor<"f32">;
  /** Logical shape `[n, k]`. */
  readonly shape: readonly [number, number];
  /** Padded row length in weights (`round_up(k, 128)`). */
  readonly kp: number;
  /** Bytes per packed row (`kp / 4`). */
  readonly rowBytes: number;

  /**
   * Wraps existing tensors (no copy). `packed` must be u8 with `n·rowBytes` elements and
   * `scale` f32 with one element, on the same device.
   */
  constructor(
    packed: Tensor<"u8">,
    scale: Tensor<"f32">,
    shape: readonly [number, number],
  ) {
    const op = "TernaryWeights";
    const [n, k] = checkDims(shape, 2, op);
    const rowBytes = ternaryRowBytes(k);
    checkPart(packed, "u8", n * rowBytes, op, "packed");
    checkPart(scale, "f32", 1, op, "scale");
    if (packed.device !== scale.device) {
      throw typeError(op, "packed and scale on one device", "two devices");
    }
    this.packed = packed;
    this.scale = scale;
    this.shape = Object.freeze([n, k]) as readonly [number, number];
    this.kp = paddedK(k);
    this.rowBytes = rowBytes;
  }

  /** Output features. */
  get n(): number {
    return this.shape[0];
  }
  /** Input features. */
  get k(): number {
    return this.shape[1];
  }
  /** The device of the tensors. */
  get device(): Device {
    return this.packed.device;
  }
  /** True when either tensor is closed. */
  get closed(): boolean {
    return this.packed.closed || this.scale.closed;
  }
  /** Frees both tensors (idempotent). */
  close(): void {
    this.packed.close();
    this.scale.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Int8 per-token activations: `q` is i8 `[m, kp]` (rows zero-padded past k), `scale` is
 * f32 `[m]` (the dequantization scale `amax / 127` of each row). `shape` is the shape of
 * the activations that were quantized: `[m, k]`, or `[k]` for a single token (then m = 1
 * and `bitlinear` returns a 1-D result).
 */
export class QuantizedActivations implements Disposable {
  /** Quantized rows, i8 `[m, kp]`. */
  readonly q: Tensor<"i8">;
  /** Per-row scale, f32 `[m]`. */
  readonly scale: Tensor<"f32">;
  /** Shape of the original activations: `[m, k]` or `[k]`. */
  readonly shape: readonly number[];
  /** Rows (tokens). */
  readonly m: number;
  /** Features per row. */
  readonly k: number;
  /** Padded row length (`round_up(k, 128)`). */
  readonly kp: number;

  /** Wraps existing tensors (no copy); see the class description for their shapes. */
  constructor(
    q: Tensor<"i8">,
    scale: Tensor<"f32">,
    shape: readonly number[],
  ) {
    const op = "QuantizedActivations";
    const dims = checkDims(shape, "1or2", op);
    const m = dims.length === 2 ? dims[0] : 1;
    const k = dims[dims.length - 1];
    const kp = paddedK(k);
    checkPart(q, "i8", m * kp, op, "q");
    checkPart(scale, "f32", m, op, "scale");
    if (q.device !== scale.device) {
      throw typeError(op, "q and scale on one device", "two devices");
    }
    this.q = q;
    this.scale = scale;
    this.shape = Object.freeze(dims);
    this.m = m;
    this.k = k;
    this.kp = kp;
  }

  /** The device of the tensors. */
  get device(): Device {
    return this.q.device;
  }
  /** True when either tensor is closed. */
  get closed(): boolean {
    return this.q.closed || this.scale.closed;
  }
  /** Frees both tensors (idempotent). */
  close(): void {
    this.q.close();
    this.scale.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
