/**
 * Pure-TypeScript reference of every op: simple, obviously correct, and with the numerics
 * of `objc/include/bitnet_metal.h`. It is the oracle of the test suite, and the way to
 * pack weights on the host (`packTernary`) for `dev.ternaryWeights`.
 *
 * f32 rules: every value that the native code holds in an f32 is rounded with
 * `Math.fround` here. A product or quotient of two f32 values computed in double and
 * then rounded equals the correctly rounded f32 operation (53 ≥ 2·24 + 2 bits).
 *
 * @module
 */

import { paddedK, ternaryRowBytes, TL2_BLOCK, TL2_BLOCK_BYTES } from "./abi.ts";

const f = Math.fround;

/** Round half to even (banker's rounding), like `roundEven` in GLSL and `rintf`. */
export function roundEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const frac = Math.abs(x % 1);
  if (frac === 0.5) return 2 * Math.round(x / 2);
  return Math.round(x);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** `mean(|W|)`: the sum of |w| in double, divided by the count, rounded to f32. */
export function absmean(w: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < w.length; i++) sum += Math.abs(w[i]);
  return f(sum / w.length);
}

/** The pre-rounding value of a ternary weight: `fround(w / scale)`. */
export function ternaryValue(w: number, scale: number): number {
  return f(w / scale);
}

/** One ternary weight: `clamp(roundEven(fround(w / scale)), -1, 1)`; 0 when scale is 0. */
export function ternaryOf(w: number, scale: number): number {
  if (scale === 0) return 0;
  const q = clamp(roundEven(ternaryValue(w, scale)), -1, 1);
  return q === 0 ? 0 : q; // no -0
}

/**
 * BN_OP_QUANTIZE_TERNARY without the packing: `q` (n·k values in {-1, 0, 1}, row major)
 * and the absmean scale. `scale` may be given to quantize with a known scale.
 */
export function quantizeTernary(
  w: Float32Array,
  n: number,
  k: number,
  scale: number = absmean(w.subarray(0, n * k)),
): { q: Int8Array; scale: number } {
  const q = new Int8Array(n * k);
  for (let i = 0; i < n * k; i++) q[i] = ternaryOf(w[i], scale);
  return { q, scale };
}

/** Byte offset and bit shift of weight (row r, column c) in the TL2 layout. */
export function tl2Position(
  r: number,
  c: number,
  k: number,
): { byte: number; shift: number } {
  const rowBytes = ternaryRowBytes(k);
  const block = Math.floor(c / TL2_BLOCK);
  const within = c % TL2_BLOCK;
  const p = Math.floor(within / 32);
  const j = within % 32;
  return { byte: r * rowBytes + block * TL2_BLOCK_BYTES + j, shift: 2 * p };
}

/**
 * Packs ternary values (n·k, row major, each −1, 0 or +1) into TL2: rows of
 * `round_up(k, 128) / 4` bytes; byte j of block b holds weights 128b + j + 32p at bits
 * 2p..2p+1 as code value+1; padding weights have code 01.
 */
export function packTernary(q: Int8Array, n: number, k: number): Uint8Array {
  if (q.length < n * k) {
    throw new RangeError(
      `[packTernary] expected ${n * k} values but received ${q.length}`,
    );
  }
  const out = new Uint8Array(n * ternaryRowBytes(k)).fill(0b01010101);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const v = q[r * k + c];
      if (v < -1 || v > 1) {
        throw new RangeError(
          `[packTernary] expected values in {-1, 0, 1} but received ${v} at [${r}, ${c}]`,
        );
      }
      const { byte, shift } = tl2Position(r, c, k);
      out[byte] = (out[byte] & ~(3 << shift)) | ((v + 1) << shift);
    }
  }
  return out;
}

/** Unpacks TL2 into n·k ternary values; throws on code 11 (which never appears). */
export function unpackTernary(packed: Uint8Array, n: number, k: number): Int8Array {
  const need = n * ternaryRowBytes(k);
  if (packed.length < need) {
    throw new RangeError(
      `[unpackTernary] expected ${need} bytes but received ${packed.length}`,
    );
  }
  const q = new Int8Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const { byte, shift } = tl2Position(r, c, k);
      const code = (packed[byte] >> shift) & 3;
      if (code === 3) {
        throw new RangeError(
          `[unpackTernary] expected codes 0..2 but received 3 at [${r}, ${c}]`,
        );
      }
      q[r * k + c] = code - 1;
    }
  }
  return q;
}

/** Checks that every padding weight of a TL2 matrix has code 01; returns the first bad one. */
export function checkTernaryPadding(
  packed: Uint8Array,
  n: number,
  k: number,
): { row: number; col: number; code: number } | null {
  const kp = paddedK(k);
  for (let r = 0; r < n; r++) {
    for (let c = k; c < kp; c++) {
      const { byte, shift } = tl2Position(r, c, k);
      const code = (packed[byte] >> shift) & 3;
      if (code !== 1) return { row: r, col: c, code };
    }
  }
  return null;
}

/** The f32 multiplier `127 / amax` of a row (amax > 0). */
export function activationMultiplier(amax: number): number {
  return f(127 / amax);
}

/**
 * BN_OP_QUANTIZE_ACT_INT8: per row, `amax = max|x|`,
 * `xq = clamp(roundEven(fround(x · fround(127/amax))), −127, 127)`, `scale = fround(amax/127)`;
 * a zero row gives zeros and scale 0. `q` is m rows of `kp` bytes, zero-padded.
 * NaN propagates into amax (then into the scale).
 */
export function quantizeActivations(
  x: Float32Array,
  m: number,
  k: number,
): { q: Int8Array; scale: Float32Array; amax: Float32Array } {
  const kp = paddedK(k);
  const q = new Int8Array(m * kp);
  const scale = new Float32Array(m);
  const amaxes = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    let amax = 0;
    for (let c = 0; c < k; c++) {
      const a = Math.abs(x[i * k + c]);
      if (Number.isNaN(a)) {
        amax = NaN;
        break;
      }
      if (a > amax) amax = a;
    }
    amaxes[i] = amax;
    if (amax === 0) continue;
    const inv = activationMultiplier(amax);
    for (let c = 0; c < k; c++) {
      q[i * kp + c] = clamp(roundEven(f(x[i * k + c] * inv)), -127, 127);
    }
    scale[i] = f(amax / 127);
  }
  return { q, scale, amax: amaxes };
}

/**
 * The exact accumulator of BN_OP_BITLINEAR: `acc[i][j] = Σ_c wq[j][c]·xq[i][c]` with
 * `wq` unpacked (n·k) and `xq` in rows of kp.
 */
export function bitlinearAcc(
  wq: Int8Array,
  xq: Int8Array,
  m: number,
  n: number,
  k: number,
): Int32Array {
  const kp = paddedK(k);
  const acc = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += wq[j * k + c] * xq[i * kp + c];
      acc[i * n + j] = s;
    }
  }
  return acc;
}

/** BN_BITLINEAR_F32 from accumulators: `fround(fround(acc) · fround(ws · xs[i]))`. */
export function bitlinearScale(
  acc: Int32Array,
  wScale: number,
  xScale: Float32Array,
  m: number,
  n: number,
): Float32Array {
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const s = f(f(wScale) * f(xScale[i]));
    for (let j = 0; j < n; j++) y[i * n + j] = f(f(acc[i * n + j]) * s);
  }
  return y;
}

/** BN_OP_BITLINEAR with the op's buffers: packed weights, scales, quantized rows. */
export function bitlinear(
  packed: Uint8Array,
  wScale: number,
  xq: Int8Array,
  xScale: Float32Array,
  m: number,
  n: number,
  k: number,
  mode: "f32",
): Float32Array;
export function bitlinear(
  packed: Uint8Array,
  wScale: number,
  xq: Int8Array,
  xScale: Float32Array,
  m: number,
  n: number,
  k: number,
  mode: "int32",
): Int32Array;
export function bitlinear(
  packed: Uint8Array,
  wScale: number,
  xq: Int8Array,
  xScale: Float32Array,
  m: number,
  n: number,
  k: number,
  mode: "f32" | "int32",
): Float32Array | Int32Array {
  const acc = bitlinearAcc(unpackTernary(packed, n, k), xq, m, n, k);
  return mode === "int32" ? acc : bitlinearScale(acc, wScale, xScale, m, n);
}

/** BN_OP_DEQUANTIZE_TERNARY: `W = q · scale` as f32 (n·k). */
export function dequantizeTernary(
  packed: Uint8Array,
  scale: number,
  n: number,
  k: number,
): Float32Array {
  const q = unpackTernary(packed, n, k);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++) out[i] = f(q[i] * f(scale));
  return out;
}

/**
 * BN_OP_MATMUL_F32 in double, rounded once: C[m][n] = A[m][k]·B, B is [k][n], or [n][k]
 * when `transposeB`.
 */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeB: boolean,
): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) {
        s += a[i * k + t] * (transposeB ? b[j * k + t] : b[t * n + j]);
      }
      c[i * n + j] = f(s);
    }
  }
  return c;
}

/** Σ_t |a[i][t]·b[t][j]| in double: the scale of the rounding error of one C element. */
export function matmulAbs(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeB: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) {
        s += Math.abs(a[i * k + t] * (transposeB ? b[j * k + t] : b[t * n + j]));
      }
      c[i * n + j] = s;
    }
  }
  return c;
}
