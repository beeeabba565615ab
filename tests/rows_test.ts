/**
 * Reductions and transformer row ops (sum, mean, max, min, argmax, variance, softmax,
 * rmsnorm, rope, rmsnormQuant) on every device under test, f32 and f16, against the
 * TypeScript reference (src/reference_rows.ts: double sums, f32 rounding where the native
 * code holds an f32, f16 rounding to nearest even).
 *
 * Tolerances (named below; `|got − ref| ≤ atol + rtol·|ref|` per element):
 * - SUM / MEAN: atol = SUM.atolOfAbsSum · Σ|x| (÷ len for the mean) — an f32 tree of
 *   Kahan-compensated partial sums (GPUs) or a double sum (CPU), then one rounding.
 * - VARIANCE: rtol VAR.rtol, atol VAR.atolOfMeanSq · mean(|x|)² (two-pass: the error of the
 *   mean enters only squared).
 * - MAX, MIN, ARGMAX: exact (argmax: the first index of the maximum; a NaN is the maximum).
 * - SOFTMAX: SOFTMAX (GPUs use the exp builtin, Vulkan's bound is 3 + 2|x| ulp; the CPU a
 *   ~1 ulp polynomial).
 * - RMSNORM: RMSNORM (f32 sum of squares and inversesqrt + a Newton step on GPUs).
 * - ROPE: ROPE.rtol plus (|x[i]| + |x[i+h]|) · (ROPE.trig + ROPE.perPos · |pos|): the angle
 *   θ = pos · theta^(−2i/d) of a GPU may differ from the reference's by a few f32 ulps of
 *   pos (exp2/log2/cos/sin builtins), so the allowed error grows with the position.
 * - f16 results: the f32 tolerance plus one f16 ulp (rtol 2^-10, atol 2^-24): the f32 value
 *   before rounding may differ slightly from the reference's, and the rounding may flip.
 * - rmsnormQuant: bit-exact against quantizeActivations(rmsnorm(x)) of the same device (the
 *   fused op computes the normalised values exactly as rmsnorm does); against the
 *   reference, scales within RMSNORM.rtol and codes exact except that a code may differ by
 *   one step where the reference's value before rounding, y·127/amax, lies within
 *   RMSQ_TIE_EPS (relative to max(1, |v|)) of a rounding tie (x.5).
 */

import assert from "node:assert/strict";
import { BitnetError, type Device, type Tensor } from "../mod.ts";
import * as R from "../src/reference_rows.ts";
import * as R0 from "../src/reference.ts";
import { f16BitsToF32, f32ToF16Bits, fromF16, toF16 } from "../src/dtype.ts";
import { paddedK } from "../src/abi.ts";
import {
  assertClose,
  assertExact,
  deviceTest,
  leakCheck,
  mixedF32,
  randomF32,
  randomTernary,
  rng,
  tieDistance,
} from "./_helpers.ts";

// ---- tolerances -------------------------------------------------------------------------

/** Sums and means: relative to Σ|x| (÷ len), plus the final rounding. */
export const SUM = { atolOfAbsSum: 2 ** -19, rtol: 2 ** -22 } as const;
/** Variance (two-pass). */
export const VAR = { rtol: 2 ** -18, atolOfMeanSq: 2 ** -40 } as const;
/** Softmax probabilities. */
export const SOFTMAX = { atol: 2 ** -22, rtol: 2 ** -17 } as const;
/** RMSNorm outputs. */
export const RMSNORM = { atol: 0, rtol: 2 ** -19 } as const;
/** RoPE outputs (see the module doc for the position-dependent part). */
export const ROPE = { rtol: 2 ** -21, trig: 2 ** -20, perPos: 2 ** -21 } as const;
/** rmsnormQuant codes vs the reference may differ this close to a tie. */
export const RMSQ_TIE_EPS = 2 ** -17;
/** What an f16 result adds to the f32 tolerance: one f16 ulp. */
export const F16_ULP = { atol: 2 ** -24, rtol: 2 ** -10 } as const;

type FDType = "f32" | "f16";
const DTYPES: FDType[] = ["f32", "f16"];

function tol(dtype: FDType, t: { atol: number; rtol: number }): { atol: number; rtol: number } {
  return dtype === "f16" ? { atol: t.atol + F16_ULP.atol, rtol: t.rtol + F16_ULP.rtol } : t;
}

/** A device tensor of `values` as dtype; returns it with the values it really holds. */
function upload(
  dev: Device,
  values: Float32Array,
  shape: number[],
  dtype: FDType,
): { t: Tensor<"f32"> | Tensor<"f16">; v: Float32Array } {
  if (dtype === "f32") return { t: dev.tensor(values, shape), v: values };
  const bits = toF16(values);
  return { t: dev.tensor(bits, shape), v: fromF16(bits) };
}

async function readF(t: Tensor): Promise<Float32Array> {
  const v = await t.read();
  return t.dtype === "f16" ? fromF16(v as Uint16Array) : v as Float32Array;
}

function prod(a: readonly number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

// ---- reductions ----------------------------------------------------------------------------

const REDUCTIONS = ["sum", "mean", "max", "min", "argmax", "variance"] as const;
type Red = (typeof REDUCTIONS)[number];

/** [outer, len, inner] of a reduction of shape along axis (undefined: all). */
function split(shape: readonly number[], axis: number | undefined): [number, number, number] {
  if (axis === undefined) return [1, prod(shape), 1];
  const a = axis < 0 ? axis + shape.length : axis;
  return [prod(shape.slice(0, a)), shape[a], prod(shape.slice(a + 1))];
}

function checkReduction(
  got: ArrayLike<number>,
  x: Float32Array,
  shape: readonly number[],
  axis: number | undefined,
  op: Red,
  what: string,
  ddof = 0,
): void {
  const [outer, len, inner] = split(shape, axis);
  const want = R.reduce(x, outer, len, inner, op, ddof);
  if (op === "max" || op === "min" || op === "argmax") {
    assertExact(got, want, what);
    return;
  }
  const abs = R.reduceAbsSum(x, outer, len, inner);
  if (op === "variance") {
    assertClose(got, want, {
      atol: Array.from(abs, (a) => VAR.atolOfMeanSq * (a / len) ** 2),
      rtol: VAR.rtol,
    }, what);
    return;
  }
  const div = op === "mean" ? len : 1;
  assertClose(got, want, {
    atol: Array.from(abs, (a) => SUM.atolOfAbsSum * a / div),
    rtol: SUM.rtol,
  }, what);
}

/** Runs every reduction along every axis (negative ones too) and all, in one batch. */
async function reduceAllAxes(dev: Device, shape: number[], dtype: FDType, seed: number) {
  const n = prod(shape);
  const { t, v } = upload(dev, mixedF32(n, seed), shape, dtype);
  using _t = t;
  const rank = shape.length;
  const axes: (number | undefined)[] = [undefined];
  for (let a = 0; a < rank; a++) axes.push(a % 2 === 0 ? a : a - rank); // both signs
  using b = dev.batch();
  const runs: { op: Red; axis: number | undefined; keepDims: boolean; out: Tensor }[] = [];
  for (const op of REDUCTIONS) {
    for (const axis of axes) {
      const keepDims = runs.length % 3 === 0;
      runs.push({ op, axis, keepDims, out: b[op](t, { axis, keepDims }) });
    }
  }
  await b.run();
  for (const { op, axis, keepDims, out } of runs) {
    using _o = out;
    const what = `${op} ${dtype} [${shape}] axis ${axis} keepDims ${keepDims}`;
    const a = axis === undefined ? undefined : (axis + rank) % rank;
    const wantShape = a === undefined
      ? (keepDims ? shape.map(() => 1) : [])
      : keepDims
      ? shape.map((d, i) => (i === a ? 1 : d))
      : shape.filter((_, i) => i !== a);
    assert.deepEqual(out.shape, wantShape, `${what}: shape`);
    assert.equal(out.dtype, op === "argmax" ? "i32" : "f32", `${what}: dtype`);
    checkReduction(await out.read(), v, shape, axis, op, what);
  }
}

const REDUCE_SHAPES: number[][] = [
  [1],
  [3],
  [127],
  [1000],
  [4097],
  [3, 5],
  [127, 3],
  [1, 1000],
  [33, 65],
  [2, 3, 4],
  [5, 1, 7],
  [3, 129, 2],
  [2, 3, 4, 5],
  [1, 7, 1, 33],
  [3, 2, 65, 2],
];

deviceTest("reduce: every op along every axis of rank 1-4 tensors, f32 and f16", async (dev) => {
  let seed = 1;
  for (const dtype of DTYPES) {
    for (const shape of REDUCE_SHAPES) await reduceAllAxes(dev, shape, dtype, seed++);
  }
});

deviceTest(
  "reduce: long and wide shapes (split reductions, len ≫ inner, inner ≫ len)",
  async (dev) => {
    const cases: { shape: number[]; axes: (number | undefined)[]; dtype: FDType }[] = [
      { shape: [1 << 20], axes: [undefined, 0], dtype: "f32" }, // 2^20 elements, split
      { shape: [1 << 20], axes: [undefined], dtype: "f16" },
      { shape: [4, 1 << 16, 3], axes: [1], dtype: "f32" }, // len ≫ inner
      { shape: [2, 3, 1 << 16], axes: [1, 0], dtype: "f32" }, // inner ≫ len
      { shape: [4, 5000, 40], axes: [1], dtype: "f16" }, // split with 160 outputs
      { shape: [130, 9000], axes: [1], dtype: "f32" }, // many long rows, one stage
      { shape: [3, 40000], axes: [1, 0], dtype: "f32" },
      { shape: [5000, 7], axes: [1, 0], dtype: "f16" }, // short rows: one invocation per output
    ];
    let seed = 100;
    for (const { shape, axes, dtype } of cases) {
      const { t, v } = upload(dev, randomF32(prod(shape), seed++, -2, 3), shape, dtype);
      using _t = t;
      using b = dev.batch();
      const runs: { op: Red; axis: number | undefined; out: Tensor }[] = [];
      for (const op of REDUCTIONS) {
        for (const axis of axes) runs.push({ op, axis, out: b[op](t, { axis }) });
      }
      await b.run();
      for (const { op, axis, out } of runs) {
        using _o = out;
        checkReduction(
          await out.read(),
          v,
          shape,
          axis,
          op,
          `${op} ${dtype} [${shape}] axis ${axis}`,
        );
      }
    }
  },
);

deviceTest("more workgroups than a grid dimension holds (folded grids)", async (dev) => {
  // 65537 reduce tiles (one per outer index of [65537, 3, 2] along axis 1) and 65537 rope
  // tokens. (softmax / rmsnorm share bn_group_linear; they fold only past 2^26 elements.)
  const n = 65537;
  const x = randomF32(n * 6, 61);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  using t = dev.tensor(x, [n, 3, 2]);
  using pos = dev.tensor(p);
  using b = dev.batch();
  using s = b.sum(t, { axis: 1 });
  using r = b.rope(t, pos);
  await b.run();
  checkReduction(await s.read(), x, [n, 3, 2], 1, "sum", "sum [65537, 3, 2] axis 1");
  const ry = await r.read(), rw = R.rope(x, p, n, 3, 2, 10000);
  const atol = Array.from(rw, (_, e) => {
    const tk = Math.floor(e / 6), b0 = e - (e % 2);
    const mag = Math.abs(x[b0]) + Math.abs(x[b0 + 1]);
    return mag * (ROPE.trig + ROPE.perPos * tk);
  });
  assertClose(ry, rw, { atol, rtol: ROPE.rtol }, "rope [65537, 3, 2]");
});

deviceTest("reduce: 2^24 + 5 elements (f32 sum, mean, variance, max, argmax)", async (dev) => {
  const n = (1 << 24) + 5;
  const r = rng(77);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 10 + (r() - 0.5); // an offset makes variance need care
  x[12_345_678] = 11;
  x[16_000_001] = 11; // a later tie of the maximum
  using t = dev.tensor(x);
  using b = dev.batch();
  using s = b.sum(t);
  using m = b.mean(t);
  using va = b.variance(t, { ddof: 1 });
  using mx = b.max(t);
  using am = b.argmax(t);
  await b.run();
  checkReduction(await s.read(), x, [n], undefined, "sum", "sum 2^24+5");
  checkReduction(await m.read(), x, [n], undefined, "mean", "mean 2^24+5");
  checkReduction(await va.read(), x, [n], undefined, "variance", "variance 2^24+5", 1);
  assertExact(await mx.read(), [11], "max 2^24+5");
  assertExact(await am.read(), [12_345_678], "argmax 2^24+5");
});

deviceTest("reduce: argmax ties and NaN, max/min NaN, infinities", async (dev) => {
  const check = async (
    values: number[],
    op: Red,
    want: number[],
    axis?: number,
    shape?: number[],
  ) => {
    using t = dev.tensor(new Float32Array(values), shape ?? [values.length]);
    using out = await dev[op](t, { axis });
    assertExact(await out.read(), want, `${op}(${values.slice(0, 8)}…) axis ${axis}`);
  };
  await check([1, 5, 5, 2], "argmax", [1]);
  await check([-Infinity, -Infinity], "argmax", [0]);
  await check([-0, 0, 0], "argmax", [0]);
  await check([1, NaN, 7, NaN], "argmax", [1]);
  await check([1, NaN, 7], "max", [NaN]);
  await check([1, NaN, -7], "min", [NaN]);
  await check([Infinity, 1], "sum", [Infinity]);
  await check([Infinity, -Infinity], "sum", [NaN]);
  await check([-Infinity, 3], "max", [3]);
  // columns: ties and NaN along a strided axis
  await check([3, 1, 2, 3, 3, NaN, 0, 9, 9], "argmax", [0, 2, 1], 0, [3, 3]);
  // ties and NaNs far apart: across GPU lanes, chunks and CPU chunks
  for (const dtype of DTYPES) {
    const n = 1 << 20;
    const x = randomF32(n, 5);
    x[700_000] = 2;
    x[300_001] = 2;
    x[999_999] = 2;
    const { t } = upload(dev, x, [n], dtype);
    using _t = t;
    using a1 = await dev.argmax(t);
    assertExact(await a1.read(), [300_001], `${dtype} argmax tie`);
    const y = x.slice();
    y[900_000] = NaN;
    y[500_000] = NaN;
    const { t: t2 } = upload(dev, y, [n], dtype);
    using _t2 = t2;
    using a2 = await dev.argmax(t2);
    assertExact(await a2.read(), [500_000], `${dtype} argmax first NaN`);
    using m2 = await dev.max(t2);
    assertExact(await m2.read(), [NaN], `${dtype} max NaN`);
    using s2 = await dev.min(t2, { axis: 0, keepDims: true });
    assertExact(await s2.read(), [NaN], `${dtype} min NaN`);
  }
});

deviceTest("reduce: variance ddof", async (dev) => {
  const x = mixedF32(3 * 50, 9);
  using t = dev.tensor(x, [3, 50]);
  for (const ddof of [0, 1, 49]) {
    using v = await dev.variance(t, { axis: 1, ddof });
    checkReduction(await v.read(), x, [3, 50], 1, "variance", `ddof ${ddof}`, ddof);
  }
  using one = dev.tensor(new Float32Array([4]));
  using v1 = await dev.variance(one);
  assertExact(await v1.read(), [0], "variance of one element");
  using scalar = dev.tensor(new Float32Array([-2.5]), []); // 0-d
  using s0 = await dev.sum(scalar);
  using a0 = await dev.argmax(scalar, { keepDims: true });
  assert.deepEqual([s0.shape, a0.shape], [[], []]);
  assertExact([...await s0.read(), ...await a0.read()], [-2.5, 0], "0-d tensor");
  await assert.rejects(dev.sum(scalar, { axis: 0 }), RangeError);
  await assert.rejects(dev.variance(t, { axis: 1, ddof: 50 }), RangeError);
  await assert.rejects(dev.variance(t, { ddof: 1.5 }), TypeError);
  await assert.rejects(dev.sum(t, { ddof: 1 } as never), TypeError);
});

// ---- softmax ---------------------------------------------------------------------------------

async function checkSoftmax(
  dev: Device,
  x: Float32Array,
  shape: number[],
  dtype: FDType,
  causal: boolean,
  what: string,
) {
  const { t, v } = upload(dev, x, shape, dtype);
  using _t = t;
  using y = await dev.softmax(t, { causal });
  assert.deepEqual(y.shape, shape);
  assert.equal(y.dtype, dtype);
  const cols = shape[shape.length - 1];
  const want = R.softmax(v, v.length / cols, cols, causal, dtype);
  assertClose(await readF(y), want, tol(dtype, SOFTMAX), `${what} ${dtype}`);
}

deviceTest("softmax: odd shapes, f32 and f16, causal", async (dev) => {
  const shapes = [[1, 1], [3, 5], [7, 127], [2, 1000], [1, 4097], [5, 33, 17], [9], [300, 3]];
  let seed = 300;
  for (const dtype of DTYPES) {
    for (const shape of shapes) {
      const x = randomF32(prod(shape), seed++, -8, 8);
      await checkSoftmax(dev, x, shape, dtype, false, `[${shape}]`);
    }
    for (const shape of [[5, 9], [7, 7], [1, 6], [3, 5], [6, 1001]]) {
      const x = randomF32(prod(shape), seed++, -4, 4);
      await checkSoftmax(dev, x, shape, dtype, true, `causal [${shape}]`);
    }
  }
});

deviceTest("softmax: -Inf, huge values and rows of -Inf", async (dev) => {
  for (const dtype of DTYPES) {
    const big = dtype === "f16" ? 60000 : 3e38;
    const x = new Float32Array([
      ...[-Infinity, 0, 1, -Infinity, 2],
      ...[big, -big, big, 0, 1],
      ...[-1e30, -1e30 + 1, -Infinity, -1e30, -1e30],
      ...[88, 89, 90, -88, 1000],
    ]);
    await checkSoftmax(dev, x, [4, 5], dtype, false, "extreme rows");
    await checkSoftmax(dev, x, [4, 5], dtype, true, "extreme rows, causal");
    // a row of only -Inf: exp(NaN) → NaN, as the formula says
    const { t } = upload(dev, new Float32Array(6).fill(-Infinity), [2, 3], dtype);
    using _t = t;
    using y = await dev.softmax(t);
    assert.ok((await readF(y)).every(Number.isNaN), `${dtype}: all -Inf row gives NaN`);
  }
});

// ---- rmsnorm ------------------------------------------------------------------------------------

deviceTest("rmsnorm: odd shapes, f32 and f16, eps", async (dev) => {
  const cases: [number[], number][] = [
    [[1, 1], 1e-6],
    [[3, 5], 0],
    [[4, 2560], 1e-5],
    [[2, 4097], 1e-6],
    [[5, 3, 7], 0.5],
    [[1000], 1],
    [[65, 127], 1e-6],
  ];
  let seed = 500;
  for (const dtype of DTYPES) {
    for (const [shape, eps] of cases) {
      const cols = shape[shape.length - 1];
      const { t, v } = upload(dev, mixedF32(prod(shape), seed++), shape, dtype);
      const w = randomF32(cols, seed++, 0.5, 1.5);
      using _t = t;
      using wt = dev.tensor(w);
      using y = await dev.rmsnorm(t, wt, { eps });
      assert.deepEqual(y.shape, shape);
      assert.equal(y.dtype, dtype);
      const want = R.rmsnorm(v, w, v.length / cols, cols, eps, dtype);
      assertClose(await readF(y), want, tol(dtype, RMSNORM), `[${shape}] ${dtype} eps ${eps}`);
    }
  }
  // a zero row: y = 0 with eps > 0 (and 0·inf = NaN with eps = 0, as the formula says)
  using z = dev.tensor(new Float32Array(6), [2, 3]);
  using w1 = dev.tensor(new Float32Array([1, 2, 3]));
  using y0 = await dev.rmsnorm(z, w1);
  assertExact(await y0.read(), new Float32Array(6), "zero rows, eps 1e-6");
  using y1 = await dev.rmsnorm(z, w1, { eps: 0 });
  assert.ok((await y1.read()).every(Number.isNaN), "zero rows, eps 0");
});

// ---- rope -----------------------------------------------------------------------------------------

deviceTest("rope: odd heads, positions past 4096, f32 and f16", async (dev) => {
  const cases: { shape: number[]; pos: number[]; theta?: number }[] = [
    { shape: [3, 5, 8], pos: [0, 1, 2] },
    { shape: [4, 1, 2], pos: [7, 4095, 4096, 4097] },
    { shape: [2, 3, 6], pos: [5000, -3] }, // head_dim/2 odd: f16 words straddle halves
    { shape: [5, 7, 128], pos: [0, 100, 8191, 32768, 100000], theta: 500000 },
    { shape: [1, 32, 64], pos: [131072] },
    { shape: [6, 10], pos: [0, 1, 2, 3, 4, 65537], theta: 1.5 },
    { shape: [3, 3, 256], pos: [17, 2047, 9999] },
    { shape: [2, 1, 1000], pos: [3, 12345] },
    { shape: [2, 1, 2050], pos: [1, 70000] }, // 1025 pairs: the CPU's blocks and heap table
  ];
  let seed = 700;
  for (const dtype of DTYPES) {
    for (const { shape, pos, theta } of cases) {
      const what = `[${shape}] pos ${pos} theta ${theta ?? 10000} ${dtype}`;
      const { t, v } = upload(dev, randomF32(prod(shape), seed++), shape, dtype);
      using _t = t;
      using pt = dev.tensor(new Int32Array(pos));
      using y = await dev.rope(t, pt, theta === undefined ? {} : { theta });
      assert.deepEqual(y.shape, shape, what);
      const [tokens, heads, d] = shape.length === 3 ? shape : [shape[0], 1, shape[1]];
      const want = R.rope(v, pos, tokens, heads, d, theta ?? 10000, dtype);
      const h = d / 2;
      const atol = Array.from(want, (_, e) => {
        const tk = Math.floor(e / (heads * d)), i = (e % d) % h, b = e - (e % d);
        const mag = Math.abs(v[b + i]) + Math.abs(v[b + i + h]);
        return mag * (ROPE.trig + ROPE.perPos * Math.abs(pos[tk]));
      });
      const t2 = tol(dtype, { atol: 0, rtol: ROPE.rtol });
      assertClose(
        await readF(y),
        want,
        { atol: atol.map((a) => a + t2.atol), rtol: t2.rtol },
        what,
      );
    }
  }
});

// ---- rmsnormQuant -----------------------------------------------------------------------------

deviceTest(
  "rmsnormQuant: equals quantizeActivations(rmsnorm(x)) and the reference",
  async (dev) => {
    const cases: [number[], number][] = [
      [[1, 1], 1e-6],
      [[3, 127], 1e-6],
      [[4, 2560], 1e-5],
      [[9, 1000], 0],
      [[130], 1e-6],
      [[2, 4097], 0.25],
    ];
    let seed = 900;
    for (const [shape, eps] of cases) {
      const what = `[${shape}] eps ${eps}`;
      const k = shape[shape.length - 1], m = prod(shape) / k, kp = paddedK(k);
      const x = mixedF32(m * k, seed++);
      const w = randomF32(k, seed++, 0.25, 2);
      using xt = dev.tensor(x, shape);
      using wt = dev.tensor(w);
      using b = dev.batch();
      using qa = b.rmsnormQuant(xt, wt, { eps });
      using y = b.rmsnorm(xt, wt, { eps });
      using q2 = b.quantizeActivations(y);
      await b.run();
      assert.deepEqual(qa.shape, shape, what);
      assert.equal(qa.kp, kp);
      const q = await qa.q.read(), s = await qa.scale.read();
      // 1. bit-exact with the two-op path on the same device
      assertExact(q, await q2.q.read(), `${what}: codes vs quantizeActivations(rmsnorm(x))`);
      assertExact(s, await q2.scale.read(), `${what}: scales vs quantizeActivations(rmsnorm(x))`);
      // 2. the reference, with the tie rule
      const ref = R.rmsnormQuant(x, w, m, k, eps);
      assertClose(s, ref.scale, { atol: 0, rtol: 2 * RMSNORM.rtol }, `${what}: scales`);
      let bad = 0;
      for (let i = 0; i < q.length; i++) {
        if (q[i] === ref.q[i]) continue;
        const r = Math.floor(i / kp), c = i % kp;
        const pre = c < k ? ref.y[r * k + c] * R0.activationMultiplier(ref.amax[r]) : 0;
        if (Math.abs(q[i] - ref.q[i]) === 1 && tieDistance(pre) <= RMSQ_TIE_EPS) continue;
        if (bad++ < 5) console.error(`${what}: [${i}] got ${q[i]} want ${ref.q[i]} (pre ${pre})`);
      }
      assert.equal(bad, 0, `${what}: ${bad} codes differ beyond the tie rule`);
    }
  },
);

deviceTest(
  "rmsnormQuant: a NaN row gives xq = 0 and a NaN scale (a RangeError in the API)",
  async (dev) => {
    const k = 200;
    const x = randomF32(3 * k, 81);
    x[k + 17] = NaN; // row 1
    const w = randomF32(k, 82, 0.5, 1.5);
    using xt = dev.tensor(x, [3, k]);
    using wt = dev.tensor(w);
    await assert.rejects(dev.rmsnormQuant(xt, wt), RangeError);
    const kp = paddedK(k);
    using q = dev.empty([3, kp], "i8");
    using s = dev.empty([3], "f32");
    using b = dev.batch();
    b.encode(15, [3, k, new Uint32Array(new Float32Array([1e-6]).buffer)[0], 0], [xt, wt, q, s]);
    await b.run();
    const ref = R.rmsnormQuant(x, w, 3, k, 1e-6);
    const qs = await q.read(), ss = await s.read();
    assert.ok(Number.isNaN(ss[1]), "NaN row: NaN scale");
    assertExact(qs.subarray(kp, 2 * kp), new Int8Array(kp), "NaN row: xq = 0");
    const other = [ss[0], ss[2]], want = [ref.scale[0], ref.scale[2]];
    assertClose(other, want, { atol: 0, rtol: 2 * RMSNORM.rtol }, "other rows: scales");
  },
);

deviceTest("rmsnormQuant: feeds bitlinear directly", async (dev) => {
  const m = 3, k = 300, n = 17;
  const x = mixedF32(m * k, 41);
  const g = randomF32(k, 42, 0.5, 1.5);
  const wq = randomTernary(n * k, 43);
  using tw = dev.ternaryWeights(R0.packTernary(wq, n, k), 0.02, [n, k]);
  using xt = dev.tensor(x, [m, k]);
  using gt = dev.tensor(g);
  using b = dev.batch();
  using qa = b.rmsnormQuant(xt, gt);
  using y = b.bitlinear(qa, tw, { output: "int32" });
  using yn = b.rmsnorm(xt, gt);
  using y2 = b.bitlinear(yn, tw, { output: "int32" });
  await b.run();
  assert.deepEqual(y.shape, [m, n]);
  assertExact(await y.read(), R0.bitlinearAcc(wq, await qa.q.read(), m, n, k), "int32 sums");
  assertExact(await y.read(), await y2.read(), "same as bitlinear(rmsnorm(x))");
});

// ---- views ------------------------------------------------------------------------------------

deviceTest(
  "row ops take views (permuted, sliced, broadcast): copied into temporaries",
  async (dev) => {
    const x = mixedF32(4 * 6 * 10, 71);
    using base = dev.tensor(x, [4, 6, 10]);
    using w = dev.tensor(randomF32(4, 72, 0.5, 1.5));
    const views = {
      permuted: base.permute(2, 0, 1), // [10, 4, 6]
      sliced: base.slice(1, 1, 5), // [4, 4, 10] at an offset
      broadcast: dev.tensor(randomF32(4, 73), [4]).broadcastTo([3, 4]),
    };
    try {
      for (const [name, v] of Object.entries(views)) {
        const vals = (await v.read()) as Float32Array; // gathered in row-major order
        const shape = [...v.shape];
        for (const op of REDUCTIONS) {
          for (const axis of [undefined, 0, -1]) {
            using out = await dev[op](v, { axis });
            checkReduction(
              await out.read(),
              vals,
              shape,
              axis,
              op,
              `${op} of ${name} axis ${axis}`,
            );
          }
        }
        const cols = shape[shape.length - 1];
        using sm = await dev.softmax(v);
        assertClose(await sm.read(), R.softmax(vals, vals.length / cols, cols), SOFTMAX, name);
      }
      // rmsnorm / rmsnormQuant / rope over a transposed [6, 4] view of rows of 4
      using t2 = dev.tensor(x.subarray(0, 24), [4, 6]);
      using tv = t2.transpose();
      const tvals = (await tv.read()) as Float32Array;
      const wv = (await w.read()) as Float32Array;
      using y = await dev.rmsnorm(tv, w);
      assertClose(await y.read(), R.rmsnorm(tvals, wv, 6, 4, 1e-6), RMSNORM, "rmsnorm of a view");
      using qa = await dev.rmsnormQuant(tv, w);
      using q2 = await dev.quantizeActivations(y);
      assertExact(await qa.q.read(), await q2.q.read(), "rmsnormQuant of a view: codes");
      assertExact(await qa.scale.read(), await q2.scale.read(), "rmsnormQuant of a view: scales");
      using pos = dev.tensor(new Int32Array([0, 1, 2, 3, 4, 5]));
      using r = await dev.rope(tv, pos);
      const want = R.rope(tvals, [0, 1, 2, 3, 4, 5], 6, 1, 4, 10000);
      assertClose(await r.read(), want, { atol: ROPE.trig * 4, rtol: ROPE.rtol }, "rope of a view");
    } finally {
      for (const v of Object.values(views)) v.close();
      views.broadcast.base?.close();
    }
  },
);

// ---- errors ------------------------------------------------------------------------------------

deviceTest("row ops: bad shapes and dtypes are typed errors", async (dev) => {
  using x = dev.tensor(new Float32Array(12), [3, 4]);
  using xi = dev.tensor(new Int32Array(12), [3, 4]);
  using x3 = dev.tensor(new Float32Array(12), [2, 2, 3]);
  using w4 = dev.tensor(new Float32Array(4));
  using w3 = dev.tensor(new Float32Array(3));
  using wh = dev.tensor(toF16([1, 1, 1, 1]));
  using pos3 = dev.tensor(new Int32Array(3));
  using posf = dev.tensor(new Float32Array(3));
  using x32 = dev.tensor(new Float32Array(6), [3, 2]);
  using xh = dev.tensor(toF16(new Array(12).fill(0)), [3, 4]);
  using x224 = dev.tensor(new Float32Array(16), [2, 2, 4]);
  using x33 = dev.tensor(new Float32Array(9), [3, 3]);
  using x12 = dev.tensor(new Float32Array(12), [12]);
  using pos2 = dev.tensor(new Int32Array(2));
  const msg = (op: string) => new RegExp(`^\\[${op}\\] expected .* but received `);
  const cases: [string, () => Promise<unknown>, ErrorConstructor][] = [
    ["sum", () => dev.sum(xi as never), TypeError],
    ["sum", () => dev.sum(x, { axis: 2 }), RangeError],
    ["mean", () => dev.mean(x, { axis: -3 }), RangeError],
    ["max", () => dev.max(x, { axis: 0.5 }), TypeError],
    ["argmax", () => dev.argmax(x, { keepDims: 1 as never }), TypeError],
    ["softmax", () => dev.softmax(xi as never), TypeError],
    ["softmax", () => dev.softmax(x32, { causal: true }), RangeError],
    ["softmax", () => dev.softmax(x3, { causal: true }), RangeError],
    ["softmax", () => dev.softmax(x, { causal: "yes" as never }), TypeError],
    ["rmsnorm", () => dev.rmsnorm(x, w3), RangeError],
    ["rmsnorm", () => dev.rmsnorm(x, wh as never), TypeError],
    ["rmsnorm", () => dev.rmsnorm(x, w4, { eps: -1 }), RangeError],
    ["rmsnorm", () => dev.rmsnorm(x, w4, { eps: 2 }), RangeError],
    ["rmsnormQuant", () => dev.rmsnormQuant(xh as never, w4), TypeError],
    ["rmsnormQuant", () => dev.rmsnormQuant(x224, w4), RangeError],
    ["rope", () => dev.rope(x33, pos3), RangeError],
    ["rope", () => dev.rope(x224, pos3), RangeError],
    ["rope", () => dev.rope(x, posf as never), TypeError],
    ["rope", () => dev.rope(x, pos3, { theta: 1 }), RangeError],
    ["rope", () => dev.rope(x12, pos3), RangeError],
  ];
  for (const [op, fn, Ctor] of cases) {
    await assert.rejects(fn, (e: Error) => {
      assert.ok(e instanceof Ctor, `${op}: ${e}`);
      assert.match(e.message, msg(op));
      return true;
    });
  }
  await assert.rejects(dev.rope(x3, pos2), /even head_dim/);
});

deviceTest("row ops: the native validator refuses bad params (raw encode)", (dev) => {
  using x = dev.tensor(new Float32Array(12), [3, 4]);
  using out = dev.empty([12], "f32");
  const invalid = (e: Error) => e instanceof BitnetError && e.code === "INVALID_ARGUMENT";
  const size = (e: Error) => e instanceof BitnetError && e.code === "SIZE";
  using b = dev.batch();
  // reduce: unknown op, ddof >= len, ddof on sum, reserved fields
  assert.throws(() => b.encode(11, [6, 0, 3, 4, 1, 0, 0, 0], [x, out]), invalid);
  assert.throws(() => b.encode(11, [5, 0, 3, 4, 1, 4, 0, 0], [x, out]), invalid);
  assert.throws(() => b.encode(11, [0, 0, 3, 4, 1, 1, 0, 0], [x, out]), invalid);
  assert.throws(() => b.encode(11, [0, 0, 3, 4, 1, 0, 1, 0], [x, out]), invalid);
  assert.throws(() => b.encode(11, [0, 0, 4, 4, 1, 0, 0, 0], [x, out]), size); // x too small
  // softmax causal with cols < rows; rope odd head_dim
  assert.throws(() => b.encode(12, [4, 3, 1, 0], [x, out]), invalid);
  assert.throws(() => b.encode(14, [1, 1, 3, 0, 0x461c4000, 0, 0, 0], [x, x, out]), invalid);
});

// ---- guard bytes ----------------------------------------------------------------------------------

deviceTest("row ops write nothing past their outputs (guard bytes, raw encode)", async (dev) => {
  const GUARD = 0xa5;
  const guarded = (bytes: number) => dev.tensor(new Uint8Array(bytes + 64).fill(GUARD));
  const checkGuard = async (t: Tensor, from: number, what: string) => {
    const v = new Uint8Array((await t.read()).buffer);
    const bad = v.subarray(from).findIndex((b) => b !== GUARD);
    assert.equal(bad, -1, `${what}: byte ${from + bad} past the output was written`);
  };
  const f32 = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];
  for (const dtype of DTYPES) {
    const es = dtype === "f16" ? 2 : 4, dt = dtype === "f16" ? 1 : 0;
    // odd totals: 3 × 5 = 15 elements, so an f16 output ends in the middle of a word
    const { t: x } = upload(dev, randomF32(15, 1), [15], dtype);
    using _x = x;
    using w = dev.tensor(randomF32(5, 2, 0.5, 1));
    using pos = dev.tensor(new Int32Array([3, 4097, 9]));
    const { t: xr } = upload(dev, randomF32(3 * 2 * 6, 3), [36], dtype);
    using _xr = xr;
    using ySm = guarded(15 * es);
    using yRn = guarded(15 * es);
    using yRp = guarded(36 * es);
    using yRd = guarded(3 * 4);
    using yAm = guarded(5 * 4);
    using b = dev.batch();
    b.encode(12, [3, 5, 1, dt], [x, ySm]);
    b.encode(13, [3, 5, dt, f32(1e-6)], [x, w, yRn]);
    b.encode(14, [3, 2, 6, dt, f32(10000), 0, 0, 0], [xr, pos, yRp]);
    b.encode(11, [1, dt, 3, 5, 1, 0, 0, 0], [x, yRd]); // mean over rows
    b.encode(11, [4, dt, 1, 3, 5, 0, 0, 0], [x, yAm]); // argmax over columns
    await b.run();
    await checkGuard(ySm, 15 * es, `softmax ${dtype}`);
    await checkGuard(yRn, 15 * es, `rmsnorm ${dtype}`);
    await checkGuard(yRp, 36 * es, `rope ${dtype}`);
    await checkGuard(yRd, 3 * 4, `reduce ${dtype}`);
    await checkGuard(yAm, 5 * 4, `argmax ${dtype}`);
    // and the values written are right
    const xs = await readF(x);
    const sm = new Uint8Array((await ySm.read()).buffer).slice(0, 15 * es);
    const smv = dtype === "f16" ? fromF16(new Uint16Array(sm.buffer)) : new Float32Array(sm.buffer);
    assertClose(smv, R.softmax(xs, 3, 5, true, dtype), tol(dtype, SOFTMAX), `softmax ${dtype}`);
  }
  // rmsnorm_quant: xq rows of kp bytes and the scales
  using x = dev.tensor(randomF32(2 * 130, 4), [2, 130]);
  using w = dev.tensor(randomF32(130, 5, 0.5, 1));
  using q = guarded(2 * 256);
  using s = guarded(2 * 4);
  using b = dev.batch();
  b.encode(15, [2, 130, f32(1e-6), 0], [x, w, q, s]);
  await b.run();
  await checkGuard(q, 2 * 256, "rmsnorm_quant xq");
  await checkGuard(s, 2 * 4, "rmsnorm_quant scale");
});

// ---- f16 rounding ----------------------------------------------------------------------------------

deviceTest("f16 results are rounded to nearest even (ties, subnormals, overflow)", async (dev) => {
  // rmsnorm with w = 1 and a row scaled so that r = 1 exactly: y = x·1·w with w chosen to
  // land between f16 values; compare the bits with f32ToF16Bits of the f32 result.
  const vals = [
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    65519,
    65520,
    2 ** -25,
    3 * 2 ** -25,
    2 ** -15 + 2 ** -26,
    -1.00048828125,
  ];
  const k = vals.length;
  // x = [1, 1, …] (f16), eps = 0: mean(x²) = 1, r = 1; y = w exactly in f32
  using x = dev.tensor(toF16(new Array(k).fill(1)), [1, k]);
  using w = dev.tensor(new Float32Array(vals));
  using y = await dev.rmsnorm(x, w, { eps: 0 });
  const want = Array.from(new Float32Array(vals), (v) => f32ToF16Bits(v));
  assertExact(await y.read(), want, "f16 bits");
  assert.equal(f16BitsToF32(want[3]), Infinity);
});

Deno.test("row ops: every shader gpu_plan_rows.c dispatches exists, and is used", async () => {
  const root = new URL("../", import.meta.url);
  const plan = await Deno.readTextFile(new URL("objc/core/gpu_plan_rows.c", root));
  const manifest = JSON.parse(
    await Deno.readTextFile(new URL("shaders/gen/manifest.json", root)),
  ) as { shaders: { name: string }[] };
  const rowShaders = /^(reduce|softmax|rmsnorm|rope)/;
  const names = manifest.shaders.map((s) => s.name).filter((n) => rowShaders.test(n));
  const used = new Set(
    [...plan.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1]).filter((n) => rowShaders.test(n)),
  );
  for (const n of used) {
    assert.ok(names.includes(n), `gpu_plan_rows.c uses '${n}', not in shaders/gen`);
  }
  for (const n of names) assert.ok(used.has(n), `shaders/gen has '${n}', which no plan dispatches`);
});

leakCheck();
