/**
 * The tensor matmul (`BN_OP_MATMUL`, `dev.gemm` / `dev.matmul`) on every device under test,
 * against a TypeScript reference computed in double and rounded once to f32.
 *
 * Cases: every transpose combination × f32 / f16 operands × batch modes (one matrix pair;
 * a batch of 3; a batch of 3 sharing `b`; a batch of 3 sharing `a`) × odd shapes, including
 * GEMV (m = 1, n = 1), shapes that are not multiples of any tile, and deep k (which the GPU
 * plans split over k). The logical matrices are the same for all four transposes of a case,
 * so one reference serves them all.
 *
 * Tolerance: f32 accumulation in any order against the exact sum:
 * `|got − ref| ≤ 2^-20 · Σ_k |a·b| + 2^-120` per element (products of f16 values are exact
 * in f32, so f16 operands get the same bound, with 2^-19). NaN matches only NaN.
 */

import assert from "node:assert/strict";
import { BitnetError, type Device, type Tensor } from "../mod.ts";
import { fromF16, toF16 } from "../src/dtype.ts";
import { matmulParams, planMatmul } from "../src/ops_matmul.ts";
import { assertClose, deviceTest, leakCheck, randomF32, rng } from "./_helpers.ts";

type DT = "f32" | "f16";
type Mode = "single" | "batch3" | "shareB" | "shareA";

/** [m, n, k] */
const SHAPES: readonly [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 300], // GEMV: a vector times b
  [1, 45, 256], // GEMV, rows of 16-byte vectors (f16 too)
  [29, 1, 300], // GEMV: n = 1
  [17, 33, 65],
  [64, 64, 64],
  [129, 1, 257],
  [300, 200, 500],
  [40, 72, 2100], // few output tiles, deep k: split-k on GPUs
  [700, 1300, 9], // many output tiles: the GPUs' 128 × 128 kernel (in the batch modes)
  [2, 3, 4],
];
const MODES: readonly Mode[] = ["single", "batch3", "shareB", "shareA"];
const TRANSPOSES: readonly [boolean, boolean][] = [[false, false], [true, false], [
  false,
  true,
], [true, true]];

const TOL_F32 = 2 ** -20;
const TOL_F16 = 2 ** -19;
const TINY = 2 ** -120;

/** Values of a dtype: f32 as given; f16 rounded (the exact values the device sees). */
function values(n: number, seed: number, dtype: DT): Float32Array {
  const v = randomF32(n, seed);
  return dtype === "f32" ? v : fromF16(toF16(v));
}

/** Host data of a logical [rows][cols] matrix batch, stored transposed when `t`. */
function layout(
  logical: Float32Array,
  batch: number,
  rows: number,
  cols: number,
  t: boolean,
): Float32Array {
  if (!t) return logical;
  const out = new Float32Array(logical.length);
  for (let z = 0; z < batch; z++) {
    const o = z * rows * cols;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[o + c * rows + r] = logical[o + r * cols + c];
    }
  }
  return out;
}

/** C_z = A_z · B_z in double (A [za][m][k], B [zb][k][n], zx = 1 shares), then fround; and
 * Σ|a·b| per element. */
function reference(
  A: Float32Array,
  B: Float32Array,
  m: number,
  n: number,
  k: number,
  batch: number,
  shareA: boolean,
  shareB: boolean,
): { c: Float32Array; abs: Float64Array } {
  const c = new Float32Array(batch * m * n);
  const abs = new Float64Array(batch * m * n);
  const bt = new Float64Array(n * k); // B_z transposed, so the inner loop is contiguous
  for (let z = 0; z < batch; z++) {
    const ao = shareA ? 0 : z * m * k, bo = shareB ? 0 : z * k * n;
    for (let kk = 0; kk < k; kk++) {
      for (let j = 0; j < n; j++) bt[j * k + kk] = B[bo + kk * n + j];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, sa = 0;
        for (let kk = 0; kk < k; kk++) {
          const p = A[ao + i * k + kk] * bt[j * k + kk];
          s += p;
          sa += Math.abs(p);
        }
        c[(z * m + i) * n + j] = s;
        abs[(z * m + i) * n + j] = sa;
      }
    }
  }
  return { c, abs };
}

interface Case {
  A: Float32Array;
  B: Float32Array;
  ref: { c: Float32Array; abs: Float64Array };
}
const cases = new Map<string, Case>();

function getCase(m: number, n: number, k: number, dtype: DT, mode: Mode): Case {
  const key = `${m}x${n}x${k} ${dtype} ${mode}`;
  let c = cases.get(key);
  if (!c) {
    const za = mode === "shareA" ? 1 : mode === "single" ? 1 : 3;
    const zb = mode === "shareB" ? 1 : mode === "single" ? 1 : 3;
    const batch = mode === "single" ? 1 : 3;
    const seed = m * 1000003 + n * 1009 + k * 7 + (dtype === "f16" ? 1 : 0);
    const A = values(za * m * k, seed, dtype);
    const B = values(zb * k * n, seed + 17, dtype);
    c = { A, B, ref: reference(A, B, m, n, k, batch, za === 1, zb === 1) };
    cases.set(key, c);
  }
  return c;
}

function upload(dev: Device, v: Float32Array, shape: number[], dtype: DT): Tensor {
  return dtype === "f32" ? dev.tensor(v, shape) : dev.tensor(toF16(v), shape);
}

function tolFor(abs: Float64Array, dtype: DT): Float64Array {
  const f = dtype === "f32" ? TOL_F32 : TOL_F16;
  return abs.map((s) => f * s + TINY);
}

async function runCase(
  dev: Device,
  m: number,
  n: number,
  k: number,
  dtype: DT,
  mode: Mode,
  ta: boolean,
  tb: boolean,
): Promise<void> {
  const { A, B, ref } = getCase(m, n, k, dtype, mode);
  const za = mode === "shareA" || mode === "single" ? 1 : 3;
  const zb = mode === "shareB" || mode === "single" ? 1 : 3;
  const batch = mode === "single" ? 1 : 3;
  const aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n];
  using a = upload(dev, layout(A, za, m, k, ta), za === 3 ? [3, ...aShape] : aShape, dtype);
  using b = upload(dev, layout(B, zb, k, n, tb), zb === 3 ? [3, ...bShape] : bShape, dtype);
  using c = await dev.gemm(a as Tensor<"f32">, b as Tensor<"f32">, {
    transposeA: ta,
    transposeB: tb,
  });
  assert.deepEqual(c.shape, batch === 1 ? [m, n] : [batch, m, n]);
  assert.equal(c.dtype, "f32");
  const what = `${dev.backend} ${m}×${n}×${k} ${dtype} ${mode} transposeA=${ta} transposeB=${tb}`;
  assertClose(await c.read(), ref.c, { atol: tolFor(ref.abs, dtype), rtol: 0 }, what);
}

for (const [m, n, k] of SHAPES) {
  for (const dtype of ["f32", "f16"] as const) {
    deviceTest(`gemm ${m}×${n}×${k} ${dtype}: every transpose × batch mode`, async (dev) => {
      for (const mode of MODES) {
        for (const [ta, tb] of TRANSPOSES) await runCase(dev, m, n, k, dtype, mode, ta, tb);
      }
    });
  }
}

deviceTest("gemm: vectors (rank 1) with matrices and batches, numpy shapes", async (dev) => {
  const k = 45, n = 7, m = 5;
  const x = randomF32(k, 1), y = randomF32(k, 2);
  const Bm = randomF32(3 * k * n, 3), Am = randomF32(3 * m * k, 4);
  using xt = dev.tensor(x), yt = dev.tensor(y);
  using bt = dev.tensor(Bm, [3, k, n]), at = dev.tensor(Am, [3, m, k]);
  using b2 = dev.tensor(Bm.slice(0, k * n), [k, n]);
  // dot product
  using d = await dev.gemm(xt, yt);
  assert.deepEqual(d.shape, [1]);
  const dot = reference(x, y, 1, 1, k, 1, true, true);
  assertClose(await d.read(), dot.c, { atol: tolFor(dot.abs, "f32"), rtol: 0 }, "dot");
  // [k] · [k, n] → [n]
  using v1 = await dev.gemm(xt, b2);
  assert.deepEqual(v1.shape, [n]);
  const r1 = reference(x, Bm, 1, n, k, 1, true, true);
  assertClose(await v1.read(), r1.c, { atol: tolFor(r1.abs, "f32"), rtol: 0 }, "[k]·[k,n]");
  // [k] · [3, k, n] → [3, n]
  using v3 = await dev.gemm(xt, bt);
  assert.deepEqual(v3.shape, [3, n]);
  const r3 = reference(x, Bm, 1, n, k, 3, true, false);
  assertClose(await v3.read(), r3.c, { atol: tolFor(r3.abs, "f32"), rtol: 0 }, "[k]·[3,k,n]");
  // [3, m, k] · [k] → [3, m]
  using w3 = await dev.gemm(at, yt);
  assert.deepEqual(w3.shape, [3, m]);
  const r4 = reference(Am, y, m, 1, k, 3, false, true);
  assertClose(await w3.read(), r4.c, { atol: tolFor(r4.abs, "f32"), rtol: 0 }, "[3,m,k]·[k]");
  // transposes of vectors are no-ops
  using w3t = await dev.gemm(at, yt, { transposeB: true });
  assertClose(await w3t.read(), r4.c, { atol: tolFor(r4.abs, "f32"), rtol: 0 }, "[k]ᵀ");
  // a rank-3 operand of batch 1 is shared too
  using b1 = dev.tensor(Bm.slice(0, k * n), [1, k, n]);
  using s1 = await dev.gemm(at, b1);
  assert.deepEqual(s1.shape, [3, m, n]);
  const r5 = reference(Am, Bm, m, n, k, 3, false, true);
  assertClose(await s1.read(), r5.c, { atol: tolFor(r5.abs, "f32"), rtol: 0 }, "batch 1 shared");
});

deviceTest("gemm f16: subnormals, ±0, 65504, ±Inf and NaN convert exactly", async (dev) => {
  const k = 24, m = 3, n = 4;
  const bitsA = new Uint16Array(m * k), bitsB = new Uint16Array(k * n);
  const r = rng(9);
  for (let i = 0; i < bitsA.length; i++) bitsA[i] = 1 + Math.floor(r() * 0x3ff); // subnormals
  bitsA[5] = 0x8000; // -0
  bitsA[k + 3] = 0x7bff; // 65504
  bitsA[2 * k + 1] = 0x7c00; // +Inf in row 2
  for (let i = 0; i < bitsB.length; i++) bitsB[i] = 0x6400 + Math.floor(r() * 0x3ff); // ~1024+
  bitsB[7 * n + 2] = 0x7e00; // NaN in column 2 (row 7)
  bitsB[1 * n + 3] = 0xfc00; // -Inf in column 3 (row 1)
  for (const [ta, tb] of TRANSPOSES) {
    const A = fromF16(bitsA), B = fromF16(bitsB);
    const ref = reference(A, B, m, n, k, 1, true, true);
    const la = layout(A, 1, m, k, ta), lb = layout(B, 1, k, n, tb);
    using a = dev.tensor(toF16(la), ta ? [k, m] : [m, k]);
    using b = dev.tensor(toF16(lb), tb ? [n, k] : [k, n]);
    using c = await dev.gemm(a as Tensor<"f16">, b as Tensor<"f16">, {
      transposeA: ta,
      transposeB: tb,
    });
    const got = await c.read();
    assertClose(got, ref.c, { atol: tolFor(ref.abs, "f16"), rtol: 0 }, `specials ${ta} ${tb}`);
    assert.ok(Number.isNaN(got[0 * n + 2]), "NaN propagates");
    assert.equal(got[2 * n + 3], -Infinity, "+Inf · -Inf");
    assert.equal(got[2 * n + 0], Infinity, "+Inf · finite > 0");
  }
});

deviceTest(
  "matmul routes: f32 [m,k]·[k,n] stays matmul_f32; f16, transposeA, batches go to the tensor matmul",
  async (dev) => {
    const m = 9, n = 11, k = 13;
    const A = values(m * k, 5, "f16"), B = values(k * n, 6, "f16");
    const ref = reference(A, B, m, n, k, 1, true, true);
    const tol = { atol: tolFor(ref.abs, "f32"), rtol: 0 };
    using a32 = dev.tensor(A, [m, k]), b32 = dev.tensor(B, [k, n]);
    using a16 = dev.tensor(toF16(A), [m, k]), b16 = dev.tensor(toF16(B), [k, n]);
    using at32 = dev.tensor(layout(A, 1, m, k, true), [k, m]);
    using c1 = await dev.matmul(a32, b32);
    assertClose(await c1.read(), ref.c, tol, "matmul f32");
    using c2 = await dev.matmul(a16, b16);
    assertClose(await c2.read(), ref.c, tol, "matmul f16");
    using c3 = await dev.matmul(at32, b32, { transposeA: true });
    assertClose(await c3.read(), ref.c, tol, "matmul transposeA");
    using bb = dev.batch();
    const c4 = bb.matmul(a16, b16), c5 = bb.gemm(a32, b32);
    await bb.run();
    assertClose(await c4.read(), ref.c, tol, "batch.matmul f16");
    assertClose(await c5.read(), ref.c, tol, "batch.gemm f32");
    c4.close();
    c5.close();
    assert.throws(() => bb.gemm(a32, b32), TypeError); // the batch already ran
    await assert.rejects(() => dev.mpsMatmul(a32, b32, { transposeA: true }), (e) => {
      return e instanceof TypeError || e instanceof BitnetError;
    });
  },
);

deviceTest("gemm: guard bytes after the output stay untouched (raw encode)", async (dev) => {
  for (
    const [m, n, k, batch, dtype] of [
      [1, 37, 300, 2, "f16"],
      [29, 1, 300, 3, "f32"],
      [17, 33, 65, 2, "f32"],
      [40, 72, 2100, 1, "f16"],
      [130, 129, 20, 1, "f32"],
    ] as const
  ) {
    for (const [ta, tb] of TRANSPOSES) {
      const A = values(batch * m * k, 11, dtype), B = values(batch * k * n, 12, dtype);
      using a = upload(dev, A, [batch, ta ? k : m, ta ? m : k], dtype);
      using b = upload(dev, B, [batch, tb ? n : k, tb ? k : n], dtype);
      const plan = planMatmul(a, b, { transposeA: ta, transposeB: tb });
      const size = batch * m * n, guard = 67;
      const init = new Float32Array(size + guard).fill(-7.25);
      using c = dev.tensor(init);
      using bt = dev.batch();
      bt.encode(8, matmulParams(plan), [a, b, c]);
      await bt.run();
      const got = await c.read();
      for (let i = size; i < size + guard; i++) {
        assert.equal(got[i], -7.25, `${m}×${n}×${k} ${dtype} ${ta} ${tb}: guard [${i}]`);
      }
      const ref = reference(
        layout(A, batch, ta ? k : m, ta ? m : k, ta),
        layout(B, batch, tb ? n : k, tb ? k : n, tb),
        m,
        n,
        k,
        batch,
        false,
        false,
      );
      assertClose(
        got.subarray(0, size),
        ref.c,
        { atol: tolFor(ref.abs, dtype), rtol: 0 },
        `guard case ${m}×${n}×${k} ${dtype} ${ta} ${tb}`,
      );
    }
  }
});

deviceTest("gemm: raw batch strides with gaps, and 0 to share an operand", async (dev) => {
  const k = 40, batch = 3, gap = 7;
  for (const [m, n] of [[5, 70], [1, 70], [5, 1]]) {
    for (const dtype of ["f32", "f16"] as const) {
      for (const [ta, tb] of TRANSPOSES) {
        const sa = m * k + gap; // A entries start sa elements apart; B is shared (stride 0)
        const A = values(batch * sa, 21, dtype), B = values(k * n, 22, dtype);
        using a = upload(dev, A, [A.length], dtype);
        using b = upload(dev, B, [B.length], dtype);
        using c = dev.tensor(new Float32Array(batch * m * n));
        const flags = (ta ? 1 : 0) | (tb ? 2 : 0) | ((dtype === "f16" ? 1 : 0) << 8);
        using bt = dev.batch();
        bt.encode(8, [m, n, k, batch, flags, sa, 0, 0], [a, b, c]);
        await bt.run();
        // Logical A_z [m][k] from its (maybe transposed) storage at z·sa; B from storage.
        const logicalA = new Float32Array(batch * m * k);
        for (let z = 0; z < batch; z++) {
          for (let i = 0; i < m; i++) {
            for (let kk = 0; kk < k; kk++) {
              logicalA[(z * m + i) * k + kk] = A[z * sa + (ta ? kk * m + i : i * k + kk)];
            }
          }
        }
        const logicalB = new Float32Array(k * n);
        for (let kk = 0; kk < k; kk++) {
          for (let j = 0; j < n; j++) logicalB[kk * n + j] = B[tb ? j * k + kk : kk * n + j];
        }
        const ref = reference(logicalA, logicalB, m, n, k, batch, false, true);
        assertClose(
          await c.read(),
          ref.c,
          { atol: tolFor(ref.abs, dtype), rtol: 0 },
          `strides ${m}×${n}×${k} ${dtype} ${ta} ${tb}`,
        );
      }
    }
  }
});

deviceTest(
  "gemm: transposed and broadcast views are read in place; other views are refused",
  async (dev) => {
    const m = 19, n = 23, k = 37, batch = 3;
    for (const dtype of ["f32", "f16"] as const) {
      const A = values(batch * m * k, 31, dtype), B = values(k * n, 32, dtype);
      const ref = reference(A, B, m, n, k, batch, false, true);
      const tol = { atol: tolFor(ref.abs, dtype), rtol: 0 };
      // a stored [3, k, m] and viewed as [3, m, k]; b stored [n, k] and viewed as [k, n], then
      // broadcast to [3, k, n] (batch stride 0).
      using at = upload(dev, layout(A, batch, m, k, true), [batch, k, m], dtype);
      using bt = upload(dev, layout(B, 1, k, n, true), [n, k], dtype);
      const av = at.transpose(), bv = bt.transpose();
      const bb = bv.broadcastTo([batch, k, n]);
      assert.deepEqual(av.shape, [batch, m, k]);
      using c1 = await dev.gemm(av as Tensor<"f32">, bv as Tensor<"f32">);
      assertClose(await c1.read(), ref.c, tol, `${dtype} transposed views`);
      using c2 = await dev.gemm(av as Tensor<"f32">, bb as Tensor<"f32">);
      assertClose(await c2.read(), ref.c, tol, `${dtype} broadcast view`);
      // A flag on a transposed view transposes back: op(vᵀ) with transposeA reads v.
      using c3 = await dev.gemm(at.transpose().transpose() as Tensor<"f32">, bv as Tensor<"f32">, {
        transposeA: true,
      });
      assertClose(await c3.read(), ref.c, tol, `${dtype} twice transposed view + flag`);
      using c3b = await dev.gemm(av as Tensor<"f32">, bt as Tensor<"f32">, { transposeB: true });
      assertClose(await c3b.read(), ref.c, tol, `${dtype} view + flag on dense`);
      using c4 = await dev.gemm(at as Tensor<"f32">, bt as Tensor<"f32">, {
        transposeA: true,
        transposeB: true,
      });
      assertClose(await c4.read(), ref.c, tol, `${dtype} flags on dense memory`);
      using c5 = await dev.matmul(av as Tensor<"f32">, bv as Tensor<"f32">);
      assertClose(await c5.read(), ref.c, tol, `${dtype} matmul on views`);
      // Refused: an offset (a slice of the batch), and permuted batch/row dims.
      const te = (e: unknown) =>
        e instanceof TypeError && /contiguous or a transposed view, at offset 0/.test(e.message);
      await assert.rejects(
        () => dev.gemm(av.slice(0, 1, 3) as Tensor<"f32">, bv as Tensor<"f32">),
        te,
      );
      using mixed = upload(dev, A, [m, batch, k], dtype); // viewed as [batch, m, k]
      await assert.rejects(
        () => dev.gemm(mixed.permute(1, 0, 2) as Tensor<"f32">, bv as Tensor<"f32">),
        te,
      );
    }
    // matmul_f32's operands (f32, rank 2): a transposed view goes to the tensor matmul.
    const A2 = values(m * k, 33, "f32"), B2 = values(k * n, 34, "f32");
    const ref2 = reference(A2, B2, m, n, k, 1, true, true);
    using a2 = dev.tensor(layout(A2, 1, m, k, true), [k, m]);
    using b2 = dev.tensor(B2, [k, n]);
    using c6 = await dev.matmul(a2.transpose(), b2);
    assertClose(await c6.read(), ref2.c, { atol: tolFor(ref2.abs, "f32"), rtol: 0 }, "f32 view");
  },
);

deviceTest("gemm: bad shapes, dtypes, options and closed tensors are typed errors", async (dev) => {
  using a = dev.tensor(new Float32Array(6), [2, 3]);
  using b = dev.tensor(new Float32Array(12), [3, 4]);
  using bad = dev.tensor(new Float32Array(10), [2, 5]);
  using h = dev.tensor(new Uint16Array(12), [3, 4]);
  using i = dev.tensor(new Int32Array(12), [3, 4]);
  using r4 = dev.tensor(new Float32Array(12), [1, 1, 3, 4]);
  using b2 = dev.tensor(new Float32Array(24), [2, 3, 4]);
  using a3 = dev.tensor(new Float32Array(18), [3, 2, 3]);
  const re = (p: RegExp) => (e: unknown) => e instanceof RangeError && p.test(e.message);
  const te = (p: RegExp) => (e: unknown) => e instanceof TypeError && p.test(e.message);
  await assert.rejects(() => dev.gemm(a, bad), re(/^\[gemm\] expected b of shape \[3, n\]/));
  await assert.rejects(() => dev.gemm(a, b, { transposeA: true }), re(/but received shape/));
  await assert.rejects(() => dev.gemm(a, h as Tensor<"f16">), te(/dtype f32 \(the dtype of a\)/));
  await assert.rejects(
    () => dev.gemm(i as unknown as Tensor<"f32">, b),
    te(/^\[gemm\] expected a of dtype f32 or f16 but received dtype i32/),
  );
  await assert.rejects(() => dev.gemm(a, r4), re(/rank 1, 2 or 3/));
  await assert.rejects(() => dev.gemm(a3, b2), re(/same batch size/));
  await assert.rejects(
    () => dev.gemm(a, b, { transposeA: 1 as unknown as boolean }),
    te(/transposeA to be a boolean/),
  );
  await assert.rejects(
    () => dev.gemm(a, b, 5 as unknown as Record<string, never>),
    te(/an options object/),
  );
  await assert.rejects(() => dev.gemm(a, {} as Tensor<"f32">), te(/b to be a Tensor/));
  await assert.rejects(() => dev.matmul(a, bad), re(/^\[matmul\] expected/));
  await assert.rejects(() => dev.matmul(a3, b2), re(/^\[matmul\] expected .*same batch/));
  const closed = dev.tensor(new Float32Array(12), [3, 4]);
  closed.close();
  await assert.rejects(() => dev.gemm(a, closed), te(/an open tensor/));
  // The native validator: too-small output, a batch stride below m·k, unknown flags.
  using c = dev.tensor(new Float32Array(7));
  const run = async (params: number[], bufs: Tensor[]) => {
    using bt = dev.batch();
    bt.encode(8, params, bufs);
    await bt.run();
  };
  const code = (st: string) => (e: unknown) => e instanceof BitnetError && e.code === st;
  await assert.rejects(() => run([2, 4, 3, 1, 0, 0, 0, 0], [a, b, c]), code("SIZE"));
  using c16 = dev.tensor(new Float32Array(16));
  await assert.rejects(
    () => run([2, 4, 3, 2, 0, 5, 0, 0], [a3, b, c16]),
    code("INVALID_ARGUMENT"),
  );
  await assert.rejects(() => run([2, 4, 3, 1, 4, 0, 0, 0], [a, b, c16]), code("INVALID_ARGUMENT"));
  await assert.rejects(
    () => run([2, 4, 3, 1, 2 << 8, 0, 0, 0], [a, b, c16]),
    code("INVALID_ARGUMENT"),
  );
  // Nothing of a refused op stays allocated (the leak check below counts buffers).
});

leakCheck();
