/**
 * Pure-TypeScript reference of the reductions and transformer row ops (BN_OP_REDUCE,
 * SOFTMAX, RMSNORM, ROPE, RMSNORM_QUANT), with the numerics of `objc/include/bitnet_metal.h`
 * as the CPU backend implements them (objc/cpu/tensor_rows.c): sums in double, every value
 * the native code holds in an f32 rounded with `Math.fround`, f16 results rounded to nearest
 * even (`f32ToF16Bits`). Simple on purpose: the oracle of tests/rows_test.ts.
 *
 * Inputs are the f32 values of the elements (for f16 tensors: `fromF16(bits)`).
 *
 * @module
 */

import { f16BitsToF32, f32ToF16Bits } from "./dtype.ts";
import { quantizeActivations } from "./reference.ts";

const f = Math.fround;

/** The element types of the row ops. */
export type RowDType = "f32" | "f16";

/** Rounds an f32 result to what a tensor of `dtype` stores (f16: nearest even). */
export function store(v: number, dtype: RowDType): number {
  return dtype === "f16" ? f16BitsToF32(f32ToF16Bits(v)) : f(v);
}

/** The reductions of BN_OP_REDUCE. */
export type Reduction = "sum" | "mean" | "max" | "min" | "argmax" | "variance";

/**
 * BN_OP_REDUCE of `x` viewed as `[outer][len][inner]` → `[outer][inner]`: f32 values
 * (Float32Array), or the first index of the maximum for argmax (Int32Array; a NaN counts as
 * the maximum). Sums in double; variance is two-pass with `ddof`; max/min propagate NaN.
 */
export function reduce(
  x: ArrayLike<number>,
  outer: number,
  len: number,
  inner: number,
  op: Reduction,
  ddof = 0,
): Float32Array | Int32Array {
  const out = op === "argmax" ? new Int32Array(outer * inner) : new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < inner; c++) {
      const at = (l: number) => x[(o * len + l) * inner + c];
      let r: number;
      if (op === "sum" || op === "mean" || op === "variance") {
        let s = 0;
        for (let l = 0; l < len; l++) s += at(l);
        r = op === "sum" ? s : s / len;
        if (op === "variance") {
          const mean = s / len;
          let q = 0;
          for (let l = 0; l < len; l++) q += (at(l) - mean) ** 2;
          r = q / (len - ddof);
        }
      } else if (op === "argmax") {
        let best = -Infinity, idx = -1;
        for (let l = 0; l < len; l++) {
          const v = at(l);
          if (Number.isNaN(v)) {
            idx = l;
            break;
          }
          if (idx < 0 || v > best) {
            best = v;
            idx = l;
          }
        }
        r = idx;
      } else {
        r = op === "max" ? -Infinity : Infinity;
        for (let l = 0; l < len; l++) {
          const v = at(l);
          if (Number.isNaN(v)) {
            r = NaN;
            break;
          }
          r = op === "max" ? Math.max(r, v) : Math.min(r, v);
        }
      }
      out[o * inner + c] = r;
    }
  }
  return out;
}

/** Σ|x| per output of a `[outer][len][inner]` reduction (the scale of a sum's rounding). */
export function reduceAbsSum(
  x: ArrayLike<number>,
  outer: number,
  len: number,
  inner: number,
): Float64Array {
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (let c = 0; c < inner; c++) out[o * inner + c] += Math.abs(x[(o * len + l) * inner + c]);
    }
  }
  return out;
}

/**
 * BN_OP_SOFTMAX of `[rows][cols]`: `y = exp(x − max) / Σ exp(x − max)` per row in double,
 * stored as `dtype`. With `causal`, key j of row i is masked (y = 0, left out of max and Σ)
 * when `j > i + cols − rows`.
 */
export function softmax(
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  causal = false,
  dtype: RowDType = "f32",
): Float32Array {
  const y = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const valid = causal ? Math.min(cols, i + cols - rows + 1) : cols;
    let m = -Infinity;
    for (let j = 0; j < valid; j++) {
      const v = x[i * cols + j];
      if (v > m) m = v;
    }
    let s = 0;
    for (let j = 0; j < valid; j++) s += Math.exp(x[i * cols + j] - m);
    for (let j = 0; j < cols; j++) {
      y[i * cols + j] = j < valid ? store(Math.exp(x[i * cols + j] - m) / s, dtype) : 0;
    }
  }
  return y;
}

/** RMSNorm's f32 factor of a row: `fround(1 / sqrt(fround(fround(ss / cols) + eps)))`. */
export function rmsScale(ss: number, cols: number, eps: number): number {
  const mean = f(ss / cols);
  const v = f(mean + f(eps));
  return f(1 / Math.sqrt(v));
}

/**
 * BN_OP_RMSNORM of `[rows][cols]` with weight `w [cols]`: `ss = Σ x²` (double),
 * `r = rmsScale(ss)`, `y = fround(fround(x · r) · w)`, stored as `dtype`.
 */
export function rmsnorm(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
  dtype: RowDType = "f32",
): Float32Array {
  const y = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let ss = 0;
    for (let j = 0; j < cols; j++) ss += x[i * cols + j] ** 2;
    const r = rmsScale(ss, cols, eps);
    for (let j = 0; j < cols; j++) {
      y[i * cols + j] = store(f(f(x[i * cols + j] * r) * w[j]), dtype);
    }
  }
  return y;
}

/**
 * BN_OP_RMSNORM_QUANT: `quantizeActivations(rmsnorm(x))` (f32 RMSNorm, then the int8
 * per-row quantization of src/reference.ts). Also returns the f32 RMSNorm values.
 */
export function rmsnormQuant(
  x: Float32Array,
  w: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { q: Int8Array; scale: Float32Array; amax: Float32Array; y: Float32Array } {
  const y = rmsnorm(x, w, rows, cols, eps);
  return { ...quantizeActivations(y, rows, cols), y };
}

/** RoPE's inverse frequency `fround(theta^(−2i/d))` (theta as an f32). */
export function ropeInvFreq(i: number, d: number, theta: number): number {
  return f(Math.pow(f(theta), -(2 * i) / d));
}

/** RoPE's f32 angle of pair i at position pos: `fround(fround(pos) · invFreq(i))`. */
export function ropeAngle(pos: number, i: number, d: number, theta: number): number {
  return f(f(pos) * ropeInvFreq(i, d, theta));
}

/**
 * BN_OP_ROPE, NEOX style, of `x [tokens][heads][d]` with `pos [tokens]`: for i < d/2,
 * `θ = ropeAngle(pos, i)`, `c = fround(cos θ)`, `s = fround(sin θ)`,
 * `y[i] = fround(fround(x[i]·c) − fround(x[i+d/2]·s))`,
 * `y[i+d/2] = fround(fround(x[i]·s) + fround(x[i+d/2]·c))`, stored as `dtype`.
 */
export function rope(
  x: ArrayLike<number>,
  pos: ArrayLike<number>,
  tokens: number,
  heads: number,
  d: number,
  theta: number,
  dtype: RowDType = "f32",
): Float32Array {
  const h = d / 2;
  const y = new Float32Array(tokens * heads * d);
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < h; i++) {
      const th = ropeAngle(pos[t], i, d, theta);
      const c = f(Math.cos(th)), s = f(Math.sin(th));
      for (let hd = 0; hd < heads; hd++) {
        const b = (t * heads + hd) * d;
        const x1 = x[b + i], x2 = x[b + i + h];
        y[b + i] = store(f(f(x1 * c) - f(x2 * s)), dtype);
        y[b + i + h] = store(f(f(x1 * s) + f(x2 * c)), dtype);
      }
    }
  }
  return y;
}
