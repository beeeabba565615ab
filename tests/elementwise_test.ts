/**
 * Elementwise tensor ops (add … pow, neg … gelu, contiguous) and strided views (permute,
 * transpose, reshape, broadcastTo, slice) on every device under test, against the
 * TypeScript reference (src/reference_elementwise.ts, double precision).
 *
 * What "correct" means (tolerances below, per element `|got − ref| ≤ atol + rtol·|ref|`):
 * - Exact (bit for bit, after rounding the double reference to f32, or to f32 then f16):
 *   add, sub, mul, maximum, minimum, neg, abs, relu, relu2, contiguous/permute/transpose
 *   (copies are bit moves: NaN payloads too). f16 math is f32 math rounded once to f16,
 *   which for +, −, × is the correctly rounded f16 result.
 * - The others within the named bounds: Vulkan's precision rules (exp 3 + 2|x| ulp, log
 *   2^-21 absolute near 1, division 2.5 ulp, inversesqrt 2 ulp, pow through exp2/log2) plus
 *   our own formulas' rounding; the CPU backend (libm) is far inside them. f16 results add
 *   half an f16 ulp (2^-11 relative, 2^-25 absolute).
 * - A reference that rounds to ±Inf must be met exactly; NaN matches only NaN; GPUs may
 *   flush f32 subnormal results (atol 2^-126 everywhere).
 * Odd sizes (1, 3, 1023, 65537), broadcasting edge cases (size-1 dims, rank mismatch,
 * scalars [1] and [], rank 6), strided views as inputs, typed errors, closed tensors and
 * views, guard bytes after outputs (raw encode), NaN/Inf/±0 special values.
 */

import assert from "node:assert/strict";
import { BitnetError, type Device, type Tensor } from "../mod.ts";
import type { BinaryOpName, FloatDType, UnaryOpName } from "../src/ops_elementwise.ts";
import { simplifyLayout } from "../src/ops_elementwise.ts";
import * as R from "../src/reference_elementwise.ts";
import { fromF16, toF16 } from "../src/dtype.ts";
import { OpId } from "../src/abi.ts";
import { deviceTest, leakCheck, mixedF32, randomF32, rng, sharedDevice } from "./_helpers.ts";
import { allDevices } from "./_helpers.ts";

// ---- tolerances (named) ----------------------------------------------------------------------

/** One unit in the last place of a value in [1, 2), f32. */
const ULP = 2 ** -23;
/** GPUs may flush f32 subnormal results to zero. */
const SUBNORMAL_ATOL = 2 ** -126;
/** f16 rounding of an f32 result: half an f16 ulp, relative / absolute (subnormals). */
const F16_RTOL = 2 ** -11;
const F16_ATOL = 2 ** -25;

/** Ops whose results are bit-exact on every backend. */
const EXACT = new Set<string>([
  "add",
  "sub",
  "mul",
  "maximum",
  "minimum",
  "copy",
  "neg",
  "abs",
  "relu",
  "relu2",
]);

/** div: Vulkan allows 2.5 ulp. */
const DIV_RTOL = 3 * ULP;
/** sqrt: Vulkan's sqrt is 1/inversesqrt (2 ulp + 2.5 ulp). */
const SQRT_RTOL = 6 * ULP;
/** rsqrt: inversesqrt 2 ulp; CPU 1/sqrtf rounds twice. */
const RSQRT_RTOL = 3 * ULP;
/** exp: Vulkan 3 + 2|x| ulp. */
const EXP_ULPS = (x: number) => 3 + 2 * Math.abs(x);
/** log: Vulkan 3 ulp, or 2^-21 absolute inside [0.5, 2]. */
const LOG = { atol: 2 ** -21, rtol: 3 * ULP } as const;
/** tanh: polynomial (1.9e-7) below 0.625, (1 − e)/(1 + e) with e = exp(−2|x|) above. */
const TANH_RTOL = 8 * ULP;
/** sigmoid: exp's error (at −|x|), one division (2.5 ulp) and an add. */
const SIGMOID_ULPS = (x: number) => 6 + 2 * Math.abs(x);
/** silu: sigmoid plus one multiply. */
const SILU_ULPS = (x: number) => 7 + 2 * Math.abs(x);
/** gelu: erf to within 1e-7 absolute (8.8e-8 measured), then 0.5·x·(1 + erf): ~2 ulp. */
const GELU = { atol: 3e-7, rtol: 2.5e-7 } as const;
/** pow: Vulkan's pow is exp2(y·log2 x): exp2 3 + 2|p| ulp (p = y·log2|x|), log2 2^-21
 * absolute (|y|·2^-21 in p), and the rounding of p. */
const POW_ULPS = (x: number, y: number) => {
  const p = Math.abs(y * Math.log2(Math.abs(x)));
  return 4 + 3 * p + 3 * Math.abs(y);
};

/** Allowed |got − ref| of a non-exact op on f32 (ref: the double reference). */
function f32Tolerance(op: string, ref: number, x: number, y = 0): number {
  const r = Math.abs(ref);
  let tol: number;
  switch (op) {
    case "div":
      tol = DIV_RTOL * r;
      break;
    case "sqrt":
      tol = SQRT_RTOL * r;
      break;
    case "rsqrt":
      tol = RSQRT_RTOL * r;
      break;
    case "exp":
      tol = EXP_ULPS(x) * ULP * r;
      break;
    case "log":
      tol = LOG.atol + LOG.rtol * r;
      break;
    case "tanh":
      tol = TANH_RTOL * r;
      break;
    case "sigmoid":
      tol = SIGMOID_ULPS(x) * ULP * r;
      break;
    case "silu":
      tol = SILU_ULPS(x) * ULP * r;
      break;
    case "gelu":
      tol = GELU.atol + GELU.rtol * r;
      break;
    case "pow":
      tol = POW_ULPS(x, y) * ULP * r;
      break;
    default:
      tol = 0;
  }
  // |x| = Inf with an exact 0 or ±1 result: no slack (and no Inf·0)
  return (Number.isNaN(tol) ? 0 : tol) + SUBNORMAL_ATOL;
}

// ---- helpers -------------------------------------------------------------------------------

const BINARY: BinaryOpName[] = ["add", "sub", "mul", "div", "maximum", "minimum", "pow"];
const UNARY: Exclude<UnaryOpName, "copy">[] = [
  "neg",
  "abs",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "sigmoid",
  "relu",
  "relu2",
  "silu",
  "gelu",
];
const DTYPES: FloatDType[] = ["f32", "f16"];

function bitsOf(v: ArrayLike<number>): Uint32Array | Uint16Array {
  if (v instanceof Float32Array) return new Uint32Array(v.buffer, v.byteOffset, v.length);
  if (v instanceof Uint16Array) return v;
  throw new TypeError("expected f32 or f16 data");
}

/** Host data of a dtype from f32 values, and the values it really holds. */
function hostData(dtype: FloatDType, v: Float32Array): {
  data: Float32Array | Uint16Array;
  values: Float32Array;
} {
  if (dtype === "f32") return { data: v, values: v };
  const h = toF16(v);
  return { data: h, values: fromF16(h) };
}

function upload(dev: Device, dtype: FloatDType, v: Float32Array, shape: number[]) {
  const { data, values } = hostData(dtype, v);
  return { t: dev.tensor(data, shape) as Tensor<FloatDType>, values };
}

/**
 * Checks device output `got` (f32 values, or f16 bits) against the double reference `ref`,
 * exactly for exact ops (bits, except that any NaN matches any NaN), else within the op's
 * tolerance (`xs`/`ys`: the inputs per output element, for the |x|-dependent bounds).
 */
function checkResult(
  gotData: ArrayLike<number>,
  ref: ArrayLike<number>,
  op: string,
  dtype: FloatDType,
  xs: (i: number) => number,
  ys: (i: number) => number,
  what: string,
): void {
  const got = gotData as Float32Array | Uint16Array;
  assert.equal(got.length, ref.length, `${what}: length`);
  const rounded = dtype === "f32" ? R.roundF32(ref) : R.roundF16(ref);
  const gv = dtype === "f32" ? (got as Float32Array) : fromF16(got as Uint16Array);
  const rv = dtype === "f32" ? (rounded as Float32Array) : fromF16(rounded as Uint16Array);
  const gb = bitsOf(got), rb = bitsOf(rounded);
  const lines: string[] = [];
  let bad = 0;
  for (let i = 0; i < ref.length; i++) {
    let ok: boolean;
    if (Number.isNaN(rv[i])) ok = Number.isNaN(gv[i]);
    else if (EXACT.has(op) || !Number.isFinite(rv[i])) ok = gb[i] === rb[i];
    else {
      let tol = f32Tolerance(op, ref[i], xs(i), ys(i));
      if (dtype === "f16") tol += F16_RTOL * Math.abs(ref[i]) + F16_ATOL;
      ok = Math.abs(gv[i] - ref[i]) <= tol;
    }
    if (!ok) {
      if (lines.length < 8) {
        lines.push(
          `  [${i}] x=${xs(i)} y=${ys(i)}: got ${Object.is(gv[i], -0) ? "-0" : gv[i]} ` +
            `expected ${Object.is(rv[i], -0) ? "-0" : rv[i]} (exact ${ref[i]})`,
        );
      }
      bad++;
    }
  }
  if (bad) assert.fail(`${what}: ${bad} of ${ref.length} elements wrong:\n${lines.join("\n")}`);
}

/** Operand values suited to each op (f16-safe ranges when f16). */
function operands(op: string, n: number, seed: number, dtype: FloatDType): Float32Array[] {
  const r = rng(seed);
  const u = (lo: number, hi: number) => new Float32Array(n).map(() => lo + (hi - lo) * r());
  const f16 = dtype === "f16";
  switch (op) {
    case "pow": {
      const a = new Float32Array(n).map(() => (r() < 0.3 ? -1 : 1) * (0.25 + 3.75 * r()));
      const b = new Float32Array(n).map(() => r() < 0.4 ? Math.floor(r() * 9) - 4 : -3 + 6 * r());
      return [a, b];
    }
    case "div":
      return [mixedF32(n, seed), u(0.05, 4).map((v) => (r() < 0.5 ? -v : v))];
    case "exp":
      return [u(f16 ? -10 : -20, f16 ? 10 : 20)];
    case "log":
      return [u(0.001, 1000)];
    case "sqrt":
    case "rsqrt":
      return [u(0.001, 100)];
    case "tanh":
      return [u(-10, 10)];
    case "sigmoid":
    case "silu":
      return [u(-30, 30)];
    case "gelu":
      return [u(-8, 8)];
    default:
      return [mixedF32(n, seed), mixedF32(n, seed + 1)];
  }
}

async function runBinary(
  dev: Device,
  op: BinaryOpName,
  dtype: FloatDType,
  aShape: number[],
  bShape: number[],
  seed: number,
): Promise<void> {
  const na = aShape.reduce((p, d) => p * d, 1), nb = bShape.reduce((p, d) => p * d, 1);
  const [va] = operands(op, na, seed, dtype);
  const [, vb] = operands(op, nb, seed + 7, dtype);
  const a = upload(dev, dtype, va, aShape);
  const b = upload(dev, dtype, vb, bShape);
  try {
    using y = await dev.binary(op, a.t, b.t);
    const ref = R.binary(op, a.values, aShape, b.values, bShape);
    assert.deepEqual(y.shape, ref.shape, `${op} shape`);
    assert.equal(y.dtype, dtype);
    const shape = ref.shape;
    checkResult(
      await y.read(),
      ref.values,
      op,
      dtype,
      (i) => a.values[bIndex(i, shape, aShape)],
      (i) => b.values[bIndex(i, shape, bShape)],
      `${op} ${dtype} [${aShape}] ∘ [${bShape}]`,
    );
  } finally {
    a.t.close();
    b.t.close();
  }
}

/** Index into an operand of shape s broadcast to shape (for tolerance inputs). */
function bIndex(i: number, shape: readonly number[], s: readonly number[]): number {
  let idx = 0, mul = 1, rem = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const k = rem % shape[d];
    rem = Math.floor(rem / shape[d]);
    const ds = d - (shape.length - s.length);
    if (ds >= 0) {
      if (s[ds] !== 1) idx += k * mul;
      mul *= s[ds];
    }
  }
  return idx;
}

// ---- the reference itself --------------------------------------------------------------------

Deno.test("reference: erf, C99 pow and broadcast shapes", () => {
  // erf to 1e-15 (values from A&S tables / mpmath)
  for (
    const [x, e] of [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [-1.5, -0.9661051464753108],
    ]
  ) {
    assert.ok(Math.abs(R.erf(x) - e) < 1e-15, `erf(${x}) = ${R.erf(x)}`);
  }
  assert.ok(Object.is(R.erf(-0), -0));
  assert.equal(R.powC99(1, NaN), 1);
  assert.equal(R.powC99(NaN, 0), 1);
  assert.equal(R.powC99(-1, Infinity), 1);
  assert.ok(Number.isNaN(R.powC99(-2, 0.5)));
  assert.equal(R.powC99(-2, 3), -8);
  assert.equal(R.powC99(-0, -3), -Infinity);
  assert.equal(R.powC99(-0, -2), Infinity);
  assert.ok(Object.is(R.powC99(-0, 3), -0));
  assert.equal(R.powC99(0.5, -Infinity), Infinity);
  assert.equal(R.powC99(-Infinity, -3), -0);
  assert.deepEqual(R.broadcastShape([2, 1, 3], [4, 1]), [2, 4, 3]);
  assert.deepEqual(R.broadcastShape([], [3]), [3]);
  assert.equal(R.broadcastShape([2, 3], [4]), null);
  assert.deepEqual(R.permute([0, 1, 2, 3, 4, 5], [2, 3], [1, 0]), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(simplifyLayout([2, 1, 3, 4], [[12, 99, 4, 1], [0, 0, 0, 1]]), {
    shape: [6, 4],
    strides: [[4, 1], [0, 1]],
  });
  assert.deepEqual(simplifyLayout([1, 1], [[5, 7]]), { shape: [1], strides: [[0]] });
});

Deno.test("shaders: every shader gpu_plan_elementwise.c dispatches is generated, with its params", async () => {
  const root = new URL("../", import.meta.url);
  const plan = await Deno.readTextFile(new URL("objc/core/gpu_plan_elementwise.c", root));
  const manifest = JSON.parse(
    await Deno.readTextFile(new URL("shaders/gen/manifest.json", root)),
  ) as { shaders: { name: string; push_constant_block: string; push_constant_bytes: number }[] };
  const byName = new Map(manifest.shaders.map((s) => [s.name, s]));
  const used = [...plan.matchAll(/"(ew_[a-z0-9_]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(used).size, 10, "binary/unary × f32/f16 × dense/strided + 2 transposes");
  for (const n of used) {
    const s = byName.get(n);
    assert.ok(s, `gpu_plan_elementwise.c uses '${n}', not in shaders/gen`);
    const binary = n.startsWith("ew_binary");
    assert.equal(s.push_constant_block, binary ? "BinaryParams" : "UnaryParams", n);
    assert.equal(s.push_constant_bytes, binary ? 104 : 80, n);
  }
});

// ---- every op -------------------------------------------------------------------------------

deviceTest(
  "elementwise: every binary op, f32 and f16, odd sizes, vs the reference",
  async (dev) => {
    for (const dtype of DTYPES) {
      for (const op of BINARY) {
        for (const n of [1, 3, 1023, 65537]) {
          await runBinary(dev, op, dtype, [n], [n], n + BINARY.indexOf(op));
        }
        await runBinary(dev, op, dtype, [33, 65], [65], 5); // row broadcast (bias)
        await runBinary(dev, op, dtype, [1], [7, 9], 6); // scalar broadcast
      }
    }
  },
);

deviceTest("elementwise: every unary op, f32 and f16, odd sizes, vs the reference", async (dev) => {
  for (const dtype of DTYPES) {
    for (const op of UNARY) {
      for (const n of [1, 3, 1023, 65537]) {
        const [v] = operands(op, n, 100 + n, dtype);
        const x = upload(dev, dtype, v, [n]);
        try {
          using y = await dev.unary(op, x.t);
          assert.deepEqual(y.shape, [n]);
          checkResult(
            await y.read(),
            R.unary(op, x.values),
            op,
            dtype,
            (i) => x.values[i],
            () => 0,
            `${op} ${dtype} n=${n}`,
          );
        } finally {
          x.t.close();
        }
      }
    }
  }
});

deviceTest(
  "elementwise: named methods equal the generic forms, and one batch chains ops",
  async (dev) => {
    const v = mixedF32(300, 9);
    using x = dev.tensor(v, [3, 100]);
    using w = dev.tensor(randomF32(100, 10), [100]);
    for (const op of BINARY) {
      using a = await (dev[op] as (a: Tensor, b: Tensor) => Promise<Tensor>).call(dev, x, w);
      using b = await dev.binary(op, x, w);
      assert.deepEqual(
        bitsOf(await a.read() as Float32Array),
        bitsOf(await b.read() as Float32Array),
      );
    }
    for (const op of UNARY) {
      using a = await (dev[op] as (x: Tensor) => Promise<Tensor>).call(dev, x);
      using b = await dev.unary(op, x);
      assert.deepEqual(
        bitsOf(await a.read() as Float32Array),
        bitsOf(await b.read() as Float32Array),
      );
    }
    // y = gelu(x + w) · sigmoid(x), all in one batch
    using bt = dev.batch();
    using s = bt.add(x, w);
    using g = bt.gelu(s);
    using sg = bt.sigmoid(x);
    using y = bt.mul(g, sg);
    await bt.run();
    const sum = R.roundF32(R.binary("add", v, [3, 100], await w.read(), [100]).values);
    const gv = await g.read(), sv = await sg.read();
    checkResult(gv, R.unary("gelu", sum), "gelu", "f32", (i) => sum[i], () => 0, "batch gelu");
    assert.deepEqual(
      bitsOf(await y.read()),
      bitsOf(R.roundF32(R.binary("mul", gv, [300], sv, [300]).values)),
    );
  },
);

// ---- broadcasting -----------------------------------------------------------------------

deviceTest(
  "elementwise: broadcasting edge cases (size-1 dims, rank mismatch, scalars, rank 6)",
  async (dev) => {
    const cases: [number[], number[]][] = [
      [[2, 3], [3]],
      [[3], [2, 3]],
      [[2, 1], [1, 3]],
      [[4, 1, 5], [3, 1]],
      [[1], [1]],
      [[], [5]],
      [[5], []],
      [[], []],
      [[1, 1, 1], [7]],
      [[2, 1, 3, 1, 2, 3], [3, 1, 2, 1]],
      [[2, 3, 2, 3, 2, 3], [1, 3, 1, 3, 1, 3]], // rank 6, nothing merges: strided kernels
      [[3, 1, 3, 1, 3, 1], [1, 2, 1, 2, 1, 2]],
      [[2, 2, 2, 2, 2, 2, 2, 2], [1, 1, 1, 1, 2, 2, 2, 2]], // rank 8, merges to 2 dims
      [[65537], [1]],
      [[1023, 1], [1, 3]],
    ];
    for (const dtype of DTYPES) {
      for (const [i, [as, bs]] of cases.entries()) {
        for (const op of ["add", "mul", "maximum", "div"] as BinaryOpName[]) {
          await runBinary(dev, op, dtype, as, bs, 1000 + i);
        }
      }
    }
  },
);

deviceTest(
  "elementwise: shapes that do not broadcast and other bad operands are typed errors",
  async (dev) => {
    using a = dev.tensor(new Float32Array(6), [2, 3]);
    using b = dev.tensor(new Float32Array(4), [4]);
    using h = dev.tensor(new Uint16Array(6), [2, 3]);
    using i = dev.tensor(new Int32Array(6), [2, 3]);
    await assert.rejects(dev.add(a, b), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.message, "[add] expected shapes that broadcast but received [2, 3] and [4]");
      return true;
    });
    await assert.rejects(dev.maximum(a, h as unknown as Tensor<"f32">), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /^\[maximum\] expected b of dtype f32 \(the dtype of a\)/);
      return true;
    });
    await assert.rejects(dev.exp(i as unknown as Tensor<"f32">), TypeError);
    await assert.rejects(dev.add(a, 3 as unknown as Tensor<"f32">), TypeError);
    await assert.rejects(dev.unary("cosh" as UnaryOpName, a), TypeError);
    await assert.rejects(dev.binary("atan2" as BinaryOpName, a, a), TypeError);
    // rank 13 that cannot merge to 6 dims or fewer
    using r7a = dev.tensor(new Float32Array(128), [2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    using r7b = dev.tensor(new Float32Array(64), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]);
    await assert.rejects(dev.add(r7a, r7b), RangeError);
    // a batch that refused an op keeps nothing allocated and still runs the others
    using bt = dev.batch();
    assert.throws(() => bt.add(a, b), RangeError);
    using ok = bt.neg(a);
    await bt.run();
    assert.deepEqual([...await ok.read()], [-0, -0, -0, -0, -0, -0]);
  },
);

deviceTest(
  "elementwise: zero-size results are RangeErrors (tensors are never empty)",
  (dev) => {
    using a = dev.tensor(new Float32Array(6), [2, 3]);
    assert.throws(() => a.slice(0, 1, 1), RangeError);
    assert.throws(() => a.broadcastTo([0, 3]), RangeError);
    assert.throws(() => a.reshape([0, 6]), RangeError);
    assert.throws(() => dev.tensor(new Float32Array(0), [0]), RangeError);
  },
);

// ---- strided views ------------------------------------------------------------------------

deviceTest("views: permute / transpose / reshape / broadcastTo / slice layouts", async (dev) => {
  const v = new Float32Array(24).map((_, i) => i);
  using x = dev.tensor(v, [2, 3, 4]);
  assert.deepEqual(x.strides, [12, 4, 1]);
  assert.equal(x.offset, 0);
  assert.ok(x.isContiguous);
  assert.equal(x.base, null);
  using p = x.permute(2, 0, 1);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.deepEqual(p.strides, [1, 12, 4]);
  assert.ok(!p.isContiguous);
  assert.equal(p.base, x);
  assert.deepEqual([...await p.read()], R.permute(v, [2, 3, 4], [2, 0, 1]));
  using p2 = x.permute([-1, 0, 1]);
  assert.deepEqual(p2.strides, [1, 12, 4]);
  using t = x.transpose();
  assert.deepEqual(t.shape, [2, 4, 3]);
  assert.deepEqual([...await t.read()], R.permute(v, [2, 3, 4], [0, 2, 1]));
  using t02 = x.transpose(0, 2);
  assert.deepEqual(t02.shape, [4, 3, 2]);
  using tt = t.transpose();
  assert.ok(tt.isContiguous);
  assert.equal(tt.base, x, "a view of a view shares the first base");
  using r = x.reshape([6, -1]);
  assert.deepEqual(r.shape, [6, 4]);
  assert.ok(r.isContiguous);
  assert.deepEqual([...await r.read()], [...v]);
  assert.throws(() => p.reshape([24]), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /contiguous\(/);
    return true;
  });
  assert.throws(() => x.reshape([5, 5]), RangeError);
  assert.throws(() => x.reshape([-1, -1]), RangeError);
  using s = x.slice(1, 1, 3);
  assert.deepEqual(s.shape, [2, 2, 4]);
  assert.equal(s.offset, 4);
  assert.ok(!s.isContiguous);
  assert.deepEqual([...await s.read()], R.strided(v, [2, 2, 4], [12, 4, 1], 4));
  using s0 = x.slice(0, -1);
  assert.equal(s0.offset, 12);
  assert.ok(s0.isContiguous);
  assert.deepEqual([...await s0.read()], [...v.subarray(12)]);
  using bc = x.slice(2, 1, 2).broadcastTo([5, 2, 3, 4]);
  assert.deepEqual(bc.strides, [0, 12, 4, 0]);
  assert.deepEqual([...await bc.read()], R.strided(v, [5, 2, 3, 4], [0, 12, 4, 0], 1));
  assert.throws(() => x.broadcastTo([3, 3, 4]), RangeError);
  assert.throws(() => x.broadcastTo([3, 4]), RangeError);
  assert.throws(() => x.permute(0, 1), RangeError);
  assert.throws(() => x.permute(0, 0, 1), RangeError);
  assert.throws(() => x.permute(0, 1, 3), RangeError);
  assert.throws(() => x.slice(3, 0, 1), RangeError);
  using one = dev.tensor(new Float32Array([1, 2]));
  assert.throws(() => one.transpose(), RangeError);
  assert.match(String(p), /view strides \[1, 12, 4\] offset 0/);
  // writes and zero-copy views of contiguous views; not of strided ones
  await s0.write(new Float32Array(12).fill(7));
  assert.deepEqual([...(await x.read()).subarray(10, 14)], [10, 11, 7, 7]);
  await assert.rejects(p.write(new Float32Array(24)), TypeError);
  if (x.storage === "shared") {
    const tv = s0.view();
    assert.equal(tv.length, 12);
    assert.equal(tv[0], 7);
    assert.throws(() => p.view(), TypeError);
  }
});

deviceTest(
  "views: f16 views at odd element offsets read and write, shared and private",
  async (dev) => {
    for (const storage of ["shared", "private"] as const) {
      const bits = new Uint16Array(15).map((_, i) => 0x3c00 + i);
      using h = dev.tensor(bits, [3, 5], { storage });
      using hs = h.slice(1, 1, 4); // offset 1, strides [5, 1]: not contiguous
      assert.deepEqual([...await hs.read()], R.strided([...bits], [3, 3], [5, 1], 1));
      using row = h.slice(0, 1, 2); // offset 5: contiguous
      assert.deepEqual([...await row.read()], [...bits.subarray(5, 10)]);
      await row.write(new Uint16Array(5).fill(0x4000));
      const after = await h.read();
      assert.deepEqual([...after.subarray(4, 11)], [0x3c04, ...new Array(5).fill(0x4000), 0x3c0a]);
      using neg = await dev.neg(hs);
      assert.deepEqual(
        [...await neg.read()],
        R.strided([...after], [3, 3], [5, 1], 1).map((v) => v ^ 0x8000),
      );
    }
  },
);

deviceTest(
  "views: closing a view keeps the base; closing the base closes its views",
  async (dev) => {
    const x = dev.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const before = dev.poolStats().buffersInUse;
    const t = x.transpose();
    const u = x.reshape([6]);
    assert.equal(dev.poolStats().buffersInUse, before, "views allocate nothing");
    t.close();
    assert.ok(t.closed);
    assert.ok(!x.closed);
    await assert.rejects(t.read(), TypeError);
    await assert.rejects(dev.neg(t), TypeError);
    assert.throws(() => t.transpose(), TypeError);
    assert.deepEqual([...await u.read()], [1, 2, 3, 4, 5, 6], "other views still work");
    const n = await dev.neg(x.transpose());
    assert.deepEqual([...await n.read()], [-1, -4, -2, -5, -3, -6]);
    n.close();
    x.close();
    assert.ok(u.closed, "closing the base closes its views");
    await assert.rejects(u.read(), TypeError);
    await assert.rejects(dev.exp(u), TypeError);
    u.close(); // idempotent
    assert.equal(dev.poolStats().buffersInUse, before - 1);
  },
);

deviceTest(
  "views: strided inputs (permute, transpose, broadcastTo, slice) vs the reference",
  async (dev) => {
    for (const dtype of DTYPES) {
      const va = mixedF32(4 * 5 * 6, 31), vb = mixedF32(6 * 5, 32);
      const a = upload(dev, dtype, va, [4, 5, 6]);
      const b = upload(dev, dtype, vb, [6, 5]);
      try {
        using ap = a.t.permute(2, 0, 1); // [6, 4, 5]
        using bt = b.t.transpose(); // [5, 6]
        using bs = b.t.slice(1, 1, 4); // [6, 3]
        using bb = bt.slice(0, 2, 3).broadcastTo([4, 5, 6]); // row 2 of bᵀ everywhere
        const apv = R.permute([...a.values], [4, 5, 6], [2, 0, 1]);
        const btv = R.permute([...b.values], [6, 5], [1, 0]);
        const bsv = R.strided([...b.values], [6, 3], [5, 1], 1);
        const bbv = R.strided([...b.values], [4, 5, 6], [0, 0, 5], 2);
        const bcol = R.strided([...b.values], [1, 6], [1, 5], 1); // column 1 of b as [1, 6]
        const apT = R.permute(apv, [6, 4, 5], [2, 1, 0]); // [5, 4, 6]
        const runs: [BinaryOpName, Promise<Tensor>, number[], number[], number[], number[]][] = [
          ["add", dev.add(ap, b.t.reshape([6, 1, 5])), apv, [6, 4, 5], [...b.values], [6, 1, 5]],
          ["mul", dev.mul(a.t, bb), [...a.values], [4, 5, 6], bbv, [4, 5, 6]],
          ["sub", dev.sub(bt, a.t), btv, [5, 6], [...a.values], [4, 5, 6]],
          ["div", dev.div(bs, bs), bsv, [6, 3], bsv, [6, 3]],
          [
            "maximum",
            dev.maximum(ap.transpose(0, 2), bs.slice(1, 0, 1).transpose()),
            apT,
            [5, 4, 6],
            bcol,
            [1, 6],
          ],
        ];
        for (const [op, p, xv, xs, yv, ys] of runs) {
          using y = await p;
          const ref = R.binary(op, xv, xs, yv, ys);
          assert.deepEqual(y.shape, ref.shape, op);
          checkResult(await y.read(), ref.values, op, dtype, () => 1, () => 1, `${op} ${dtype}`);
        }
        for (const op of ["exp", "tanh", "gelu", "relu2", "neg"] as UnaryOpName[]) {
          using y = await dev.unary(op, ap);
          checkResult(
            await y.read(),
            R.unary(op, apv),
            op,
            dtype,
            (i) => apv[i],
            () => 0,
            `${op}(permuted) ${dtype}`,
          );
        }
      } finally {
        a.t.close();
        b.t.close();
      }
    }
  },
);

// ---- copies ---------------------------------------------------------------------------------

/** Random bit patterns (every float class, NaN payloads included). */
function randomBits(dtype: FloatDType, n: number, seed: number): Uint32Array | Uint16Array {
  const r = rng(seed);
  return dtype === "f32"
    ? new Uint32Array(n).map(() => Math.floor(r() * 2 ** 32))
    : new Uint16Array(n).map(() => Math.floor(r() * 2 ** 16));
}

async function checkCopy(
  dev: Device,
  dtype: FloatDType,
  shape: number[],
  axes: number[],
  seed: number,
): Promise<void> {
  const n = shape.reduce((p, d) => p * d, 1);
  const bits = randomBits(dtype, n, seed);
  const data = dtype === "f32" ? new Float32Array(bits.buffer as ArrayBuffer) : bits as Uint16Array;
  using x = dev.tensor(data, shape) as Tensor<FloatDType>;
  using v = x.permute(axes);
  using y = await dev.contiguous(v);
  assert.ok(y.isContiguous);
  assert.deepEqual(y.shape, axes.map((a) => shape[a]));
  const want = R.permute([...bits], shape, axes);
  const what = `permute([${shape}], [${axes}]) ${dtype}`;
  assertSameBits(bitsOf(await y.read()), want, `contiguous(${what})`);
  // read() of the view gathers in TypeScript: the same bits
  assertSameBits(bitsOf(await v.read()), want, `read of ${what}`);
}

function assertSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++) if (got[i] !== want[i]) bad = i;
  assert.equal(bad, -1, `${what}: element ${bad} is ${got[bad]}, expected ${want[bad]}`);
}

deviceTest(
  "contiguous: transposes and permutes are bit-exact copies (NaN payloads too)",
  async (dev) => {
    for (const dtype of DTYPES) {
      // 2-D and batched transposes of the last two axes (the GPU's tiled kernel; f16 only for
      // an even number of output columns), with ragged tiles
      for (
        const shape of [
          [64, 96],
          [33, 65],
          [65, 34],
          [34, 65],
          [1, 7],
          [7, 1],
          [3, 1023, 5],
          [2, 3, 40, 33],
        ]
      ) {
        const r = shape.length;
        const axes = shape.map((_, i) => i);
        [axes[r - 2], axes[r - 1]] = [axes[r - 1], axes[r - 2]];
        await checkCopy(dev, dtype, shape, axes, shape[0] * 7 + r);
      }
      // every permutation of a rank-4 tensor (generic strided kernel)
      const perms = (xs: number[]): number[][] =>
        xs.length <= 1
          ? [xs]
          : xs.flatMap((x, i) =>
            perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])
          );
      for (const axes of perms([0, 1, 2, 3])) await checkCopy(dev, dtype, [2, 3, 4, 5], axes, 9);
      // 65537 elements, and an identity permute (a plain copy)
      await checkCopy(dev, dtype, [65537, 1], [1, 0], 11);
      await checkCopy(dev, dtype, [3, 65537], [1, 0], 12);
      await checkCopy(dev, dtype, [1023], [0], 13);
    }
  },
);

deviceTest(
  "contiguous: a transpose too tall for one grid falls back to the strided kernel",
  async (dev) => {
    // R = 2^21 + 1 rows: 65537 tiles of 32 > the 65535 groups of one grid dimension
    await checkCopy(dev, "f16", [2, 2 ** 21 + 1], [1, 0], 14);
  },
);

deviceTest("contiguous: copies of broadcast and sliced views, f32 and f16", async (dev) => {
  for (const dtype of DTYPES) {
    const bits = randomBits(dtype, 60, 5);
    const data = dtype === "f32"
      ? new Float32Array(bits.buffer as ArrayBuffer)
      : bits as Uint16Array;
    using x = dev.tensor(data, [3, 4, 5]) as Tensor<FloatDType>;
    const views: [Tensor, number[], number[], number][] = [
      [x.slice(1, 1, 3), [3, 2, 5], [20, 5, 1], 5],
      [x.slice(2, 4, 5).broadcastTo([2, 3, 4, 7]), [2, 3, 4, 7], [0, 20, 5, 0], 4],
      [x.slice(0, 2, 3).slice(2, 1, 4).transpose(), [1, 3, 4], [20, 1, 5], 41],
    ];
    for (const [v, shape, strides, offset] of views) {
      using y = await dev.contiguous(v as Tensor<FloatDType>);
      assert.deepEqual([...bitsOf(await y.read())], R.strided([...bits], shape, strides, offset));
      v.close();
    }
  }
});

// ---- special values -------------------------------------------------------------------------

const SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  -2,
  3,
  -3,
  1e-3,
  100,
  -100,
  1e30,
  -1e30,
  65504,
  70000,
];

deviceTest("elementwise: NaN, ±Inf and ±0 follow IEEE (and C99 pow), f32 and f16", async (dev) => {
  for (const dtype of DTYPES) {
    const x = upload(dev, dtype, new Float32Array(SPECIALS), [SPECIALS.length]);
    try {
      for (const op of UNARY) {
        using y = await dev.unary(op, x.t);
        checkResult(
          await y.read(),
          R.unary(op, x.values),
          op,
          dtype,
          (i) => x.values[i],
          () => 0,
          `${op} ${dtype} specials`,
        );
      }
      // every pair of specials
      using xc = x.t.reshape([SPECIALS.length, 1]);
      for (const op of BINARY) {
        using y = await dev.binary(op, xc, x.t);
        const ref = R.binary(op, x.values, [SPECIALS.length, 1], x.values, [SPECIALS.length]);
        const n = SPECIALS.length;
        // max/min of +0 and -0 may return either zero (IEEE 754 maxNum/minNum leave the sign
        // open, and NVIDIA's fmax returns +0): compare zeros without their sign there.
        const zerosEqual = op === "maximum" || op === "minimum";
        const unsign = <T extends ArrayLike<number>>(a: T): T => {
          if (!zerosEqual) return a;
          if (a instanceof Float64Array) {
            return a.map((v) => (Object.is(v, -0) ? 0 : v)) as unknown as T;
          }
          if (a instanceof Uint16Array) { // f16 bits
            return a.map((v) => (v === 0x8000 ? 0 : v)) as unknown as T;
          }
          if (!(a instanceof Float32Array)) return a;
          const c = a.slice(); // bit-exact copy; only -0's sign bit is cleared
          const bits = new Uint32Array(c.buffer);
          for (let i = 0; i < bits.length; i++) if (bits[i] === 0x80000000) bits[i] = 0;
          return c as unknown as T;
        };
        checkResult(
          unsign(await y.read()),
          unsign(ref.values),
          op,
          dtype,
          (i) => x.values[Math.floor(i / n)],
          (i) => x.values[i % n],
          `${op} ${dtype} special pairs`,
        );
      }
    } finally {
      x.t.close();
    }
  }
  // signed zeros where IEEE defines them
  using z = dev.tensor(new Float32Array([-0, 0]));
  const sign = async (p: Promise<Tensor>) => {
    using t = await p;
    return [...await t.read()].map((v) => (Object.is(v, -0) ? "-0" : String(v)));
  };
  assert.deepEqual(await sign(dev.sqrt(z)), ["-0", "0"]);
  assert.deepEqual(await sign(dev.rsqrt(z)), ["-Infinity", "Infinity"]);
  assert.deepEqual(await sign(dev.relu(z)), ["0", "0"]);
  assert.deepEqual(await sign(dev.neg(z)), ["0", "-0"]);
  assert.deepEqual(await sign(dev.tanh(z)), ["-0", "0"]);
  assert.deepEqual(await sign(dev.gelu(z)), ["-0", "0"]);
});

// ---- errors, closed tensors, guard bytes ---------------------------------------------------

deviceTest(
  "elementwise: closed tensors and tensors of another device are refused",
  async (dev, info) => {
    const a = dev.tensor(new Float32Array(4));
    using b = dev.tensor(new Float32Array(4));
    a.close();
    await assert.rejects(dev.add(a, b), TypeError);
    await assert.rejects(dev.add(b, a), TypeError);
    await assert.rejects(dev.sigmoid(a), TypeError);
    await assert.rejects(dev.contiguous(a), TypeError);
    const other = allDevices().find((d) => d.index !== info.index);
    if (other) {
      const dev2 = await sharedDevice(other);
      using c = dev2.tensor(new Float32Array(4));
      await assert.rejects(dev.add(b, c), TypeError);
      await assert.rejects(dev.exp(c), TypeError);
    }
  },
);

deviceTest(
  "existing ops refuse strided views with a TypeError naming contiguous()",
  async (dev) => {
    using w = dev.tensor(randomF32(8 * 16, 3), [8, 16]);
    using wt = w.transpose(); // [16, 8], not contiguous
    const names = (e: Error) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, /contiguous\(/);
      return true;
    };
    await assert.rejects(dev.quantizeTernary(wt), names);
    await assert.rejects(dev.quantizeActivations(wt), names);
    await assert.rejects(dev.readProbe(w.slice(1, 0, 8)), names);
    using x = dev.tensor(randomF32(2 * 16, 4), [2, 16]);
    using tw0 = await dev.quantizeTernary(w);
    await assert.rejects(dev.bitlinear(x.slice(0, 1, 2).broadcastTo([3, 16]), tw0), names);
    // contiguous views at offset 0 (reshape) are fine; after contiguous() everything is
    using tw = await dev.quantizeTernary(w.reshape([8, 16]));
    using wc = await dev.contiguous(wt);
    using tw2 = await dev.quantizeTernary(wc);
    assert.deepEqual(tw2.shape, [16, 8]);
    using y = await dev.bitlinear(x.reshape([2, 16]), tw);
    assert.deepEqual(y.shape, [2, 8]);
  },
);

const GUARD = 64;
const PATTERN = 0xa5;

deviceTest("guard bytes: elementwise ops write exactly their output (raw encode)", async (dev) => {
  for (const dtype of DTYPES) {
    const bpe = dtype === "f32" ? 4 : 2, dt = dtype === "f32" ? 0 : 1;
    for (const n of [1, 3, 1023, 2049]) {
      const bytes = n * bpe;
      const guarded = async () => {
        const t = dev.empty([bytes + GUARD], "u8");
        await t.write(new Uint8Array(bytes + GUARD).fill(PATTERN));
        return t;
      };
      // 2n + 2 elements of 0x3c bytes (f32 ≈ 0.0115, f16 ≈ 1.06): room for stride 2
      using a = dev.tensor(new Uint8Array(Math.ceil(((2 * n + 2) * bpe) / 4) * 4).fill(0x3c));
      using o1 = await guarded();
      using o2 = await guarded();
      using o3 = await guarded();
      using o4 = await guarded();
      using b = dev.batch();
      const shape = [n, 0, 0, 0, 0, 0];
      const dense = [1, 0, 0, 0, 0, 0];
      const step2 = [2, 0, 0, 0, 0, 0];
      const zero = [0, 0, 0, 0, 0, 0];
      // binary params: 26 words, unary: 20 (op, dtype, rank, numel, shape, strides…, offsets)
      b.encode(OpId.BINARY, [0, dt, 1, n, ...shape, ...dense, ...zero, 0, 0, 0, 0], [a, a, o1]);
      b.encode(OpId.UNARY, [3, dt, 1, n, ...shape, ...dense, 1, 0, 0, 0], [a, o2]);
      b.encode(OpId.UNARY, [0, dt, 1, n, ...shape, ...step2, 1, 0, 0, 0], [a, o3]);
      b.encode(OpId.BINARY, [6, dt, 1, n, ...shape, ...step2, ...zero, 0, 3, 0, 0], [a, a, o4]);
      await b.run();
      for (const [o, what] of [[o1, "add"], [o2, "exp"], [o3, "copy"], [o4, "pow"]] as const) {
        const buf = await o.read();
        const tail = buf.subarray(bytes);
        const bad = tail.findIndex((v) => v !== PATTERN);
        assert.equal(bad, -1, `${what} ${dtype} n=${n}: guard byte ${bytes + bad} overwritten`);
        assert.ok(buf.subarray(0, bytes).some((v) => v !== PATTERN), `${what}: output written`);
      }
    }
  }
  // the native validator: outputs too small, unknown ops, strides past rank, reserved
  using a = dev.tensor(new Float32Array(8));
  using small = dev.empty([7], "f32");
  using b = dev.batch();
  const size = (e: Error) => e instanceof BitnetError && e.code === "SIZE";
  const invalid = (e: Error) => e instanceof BitnetError && e.code === "INVALID_ARGUMENT";
  const u = (
    op: number,
    rank: number,
    n: number,
    stride: number[],
    extra: number[] = [0, 0, 0],
  ) => [
    op,
    0,
    rank,
    n,
    n,
    0,
    0,
    0,
    0,
    0,
    ...stride,
    0,
    ...extra,
  ];
  assert.throws(() => b.encode(OpId.UNARY, u(3, 1, 8, [1, 0, 0, 0, 0, 0]), [a, small]), size);
  assert.throws(() => b.encode(OpId.UNARY, u(13, 1, 7, [1, 0, 0, 0, 0, 0]), [a, small]), invalid);
  assert.throws(() => b.encode(OpId.UNARY, u(3, 1, 7, [1, 1, 0, 0, 0, 0]), [a, small]), invalid);
  assert.throws(
    () => b.encode(OpId.UNARY, u(3, 1, 7, [1, 0, 0, 0, 0, 0], [0, 1, 0]), [a, small]),
    invalid,
  );
  assert.throws(() => b.encode(OpId.UNARY, u(3, 1, 7, [2, 0, 0, 0, 0, 0]), [a, small]), size);
});

leakCheck();
