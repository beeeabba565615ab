/**
 * Accuracy of every op on every device under test, against the TypeScript reference
 * (src/reference.ts) and, for GPU backends, against the CPU backend.
 *
 * What "correct" means here (tolerances named in _helpers.ts):
 * - bitlinear int32 sums, packed ternary codes and int8 activations: exact — except that
 *   a quantized code may differ by one step where the value before rounding lies within
 *   TIE_EPS = 1e-6 (relative) of a rounding tie (the ternary scale is a float reduction
 *   whose last bit depends on the summation order; the reference then uses the device's
 *   own scale, so only true near-ties can differ).
 * - ternary scale: rtol SCALE_RTOL_TERNARY; activation scale: rtol SCALE_RTOL_ACT.
 * - bitlinear f32: rtol BITLINEAR_F32; dequantize: exact; matmul: MATMUL bounds.
 * Odd shapes on purpose: k ∈ {1, 3, 17, 33, 127, 128, 129, 255, 256, 257, 1000},
 * n = 1, m = 1 (one token), m ∈ {8, 9, 33}, 1-D activations.
 */

import assert from "node:assert/strict";
import {
  BitnetError,
  type Device,
  type QuantizedActivations,
  type TernaryWeights,
} from "../mod.ts";
import * as R from "../src/reference.ts";
import { MAX_K, paddedK } from "../src/abi.ts";
import {
  assertClose,
  assertExact,
  assertQuantized,
  assertRel,
  BITLINEAR_F32,
  cpuInfo,
  deviceTest,
  leakCheck,
  MATMUL,
  mixedF32,
  randomF32,
  randomInt8Rows,
  randomTernary,
  rng,
  SCALE_RTOL_ACT,
  SCALE_RTOL_TERNARY,
  sharedDevice,
} from "./_helpers.ts";

const K_LIST = [1, 3, 17, 33, 127, 128, 129, 255, 256, 257, 1000];

/** Checks device ternary weights against the reference for input w; returns (q, scale). */
async function checkTernary(
  tw: TernaryWeights,
  w: Float32Array,
  n: number,
  k: number,
  what: string,
): Promise<{ q: Int8Array; packed: Uint8Array; scale: number }> {
  const packed = await tw.packed.read();
  const scale = (await tw.scale.read())[0];
  assertRel(scale, R.absmean(w), SCALE_RTOL_TERNARY, `${what}: scale`);
  const pad = R.checkTernaryPadding(packed, n, k);
  assert.equal(pad, null, `${what}: padding code at ${JSON.stringify(pad)}`);
  const q = R.unpackTernary(packed, n, k);
  const want = R.quantizeTernary(w, n, k, scale).q;
  assertQuantized(q, want, (i) => R.ternaryValue(w[i], scale), `${what}: codes`);
  return { q, packed, scale };
}

/** Checks device activations against the reference for input x [m, k]. */
async function checkActivations(
  qa: QuantizedActivations,
  x: Float32Array,
  m: number,
  k: number,
  what: string,
): Promise<{ q: Int8Array; scale: Float32Array }> {
  const kp = paddedK(k);
  const q = await qa.q.read();
  const scale = await qa.scale.read();
  const ref = R.quantizeActivations(x, m, k);
  assertClose(scale, ref.scale, { atol: 0, rtol: SCALE_RTOL_ACT }, `${what}: scales`);
  assertQuantized(q, ref.q, (i) => {
    const r = Math.floor(i / kp), c = i % kp;
    if (c >= k || ref.amax[r] === 0) return 0;
    return Math.fround(x[r * k + c] * R.activationMultiplier(ref.amax[r]));
  }, `${what}: int8 values`);
  return { q, scale };
}

deviceTest("quantizeTernary: odd shapes match the reference", async (dev) => {
  for (const k of K_LIST) {
    for (const n of [1, 3, 16, 70]) { // 70·1000 spans several 16384-element GPU chunks
      const w = mixedF32(n * k, 1000 * k + n);
      using wt = dev.tensor(w, [n, k]);
      using tw = await dev.quantizeTernary(wt);
      assert.deepEqual(tw.shape, [n, k]);
      assert.equal(tw.kp, paddedK(k));
      assert.equal(tw.rowBytes, paddedK(k) / 4);
      assert.deepEqual(tw.packed.shape, [n, paddedK(k) / 4]);
      await checkTernary(tw, w, n, k, `n=${n} k=${k}`);
    }
  }
});

deviceTest("quantizeTernary: zeros, constants and exact ties (half to even)", async (dev) => {
  {
    using wt = dev.tensor(new Float32Array(2 * 129), [2, 129]);
    using tw = await dev.quantizeTernary(wt);
    assert.equal((await tw.scale.read())[0], 0, "all-zero W: scale 0");
    const q = R.unpackTernary(await tw.packed.read(), 2, 129);
    assert.ok(q.every((v) => v === 0), "all-zero W: q = 0");
  }
  {
    const w = new Float32Array(3 * 40).fill(-0.3);
    using wt = dev.tensor(w, [3, 40]);
    using tw = await dev.quantizeTernary(wt);
    assertRel((await tw.scale.read())[0], Math.fround(0.3), SCALE_RTOL_TERNARY, "constant W");
    assertExact(
      R.unpackTernary(await tw.packed.read(), 3, 40),
      new Int8Array(120).fill(-1),
      "constant W",
    );
  }
  {
    // |w| ∈ {0.5, 1.5}, half each: the sum is exact in any order, so scale = 1 exactly and
    // w/scale hits the ties ±0.5 (→ 0) and ±1.5 (→ ±2 → clamped to ±1). No exemption.
    const w = new Float32Array([0.5, -0.5, 1.5, -1.5, 1.5, 0.5, -1.5, -0.5]);
    using wt = dev.tensor(w, [2, 4]);
    using tw = await dev.quantizeTernary(wt);
    assert.equal((await tw.scale.read())[0], 1);
    assertExact(R.unpackTernary(await tw.packed.read(), 2, 4), [0, 0, 1, -1, 1, 0, -1, 0], "ties");
  }
});

deviceTest("quantizeActivations: odd shapes and many rows match the reference", async (dev) => {
  for (const k of K_LIST) {
    for (const m of [1, 8, 9, 33]) {
      const x = mixedF32(m * k, 77 * k + m);
      using xt = dev.tensor(x, [m, k]);
      using qa = await dev.quantizeActivations(xt);
      assert.equal(qa.m, m);
      assert.equal(qa.k, k);
      assert.deepEqual(qa.q.shape, [m, paddedK(k)]);
      await checkActivations(qa, x, m, k, `m=${m} k=${k}`);
    }
  }
  // one token as a 1-D tensor
  const x = randomF32(257, 5);
  using xt = dev.tensor(x);
  using qa = await dev.quantizeActivations(xt);
  assert.deepEqual(qa.shape, [257]);
  assert.equal(qa.m, 1);
  await checkActivations(qa, x, 1, 257, "1-D");
});

deviceTest("quantizeActivations: zero rows, exact ties and ±127", async (dev) => {
  // row 0: amax 127 → multiplier exactly 1, so x is its own pre-rounding value.
  // row 1: zeros → q 0, scale 0.   row 2: amax 1 → [-127, 64 (63.5 tie → even)]
  const k = 6;
  const x = new Float32Array([
    127,
    0.5,
    1.5,
    -2.5,
    63.5,
    -126.5,
    0,
    0,
    0,
    0,
    0,
    0,
    -1,
    0.5,
    0,
    0,
    0,
    0,
  ]);
  using xt = dev.tensor(x, [3, k]);
  using qa = await dev.quantizeActivations(xt);
  const q = await qa.q.read();
  const kp = paddedK(k);
  assertExact(q.subarray(0, k), [127, 0, 2, -2, 64, -126], "row 0 (ties → even)");
  assertExact(q.subarray(kp, kp + k), [0, 0, 0, 0, 0, 0], "zero row");
  assertExact(q.subarray(2 * kp, 2 * kp + 2), [-127, 64], "row 2");
  assert.ok(q.subarray(k, kp).every((v) => v === 0), "padding is zero");
  const s = await qa.scale.read();
  assertExact(s, [1, 0, Math.fround(1 / 127)], "scales");
});

/** Ternary weights and int8 activations built on the host (exact inputs). */
function hostOperands(dev: Device, m: number, n: number, k: number, seed: number) {
  const kp = paddedK(k);
  const wq = randomTernary(n * k, seed);
  const packed = R.packTernary(wq, n, k);
  const ws = Math.fround(0.01 + rng(seed + 1)() * 0.1);
  const xq = randomInt8Rows(m, k, kp, seed + 2);
  const xs = randomF32(m, seed + 3, 0.001, 0.05);
  const tw = dev.ternaryWeights(packed, ws, [n, k]);
  const qa = dev.quantizedActivations(xq, xs, [m, k]);
  return { wq, packed, ws, xq, xs, tw, qa };
}

// m = 1 (GEMV), 2..8 (small-m GEMV), > 8 (GEMM; > 64 crosses a tile in m and n)
const MN = [[1, 1], [1, 64], [2, 5], [8, 3], [9, 17], [33, 5], [100, 130]];

deviceTest(
  "bitlinear: int32 sums are exact and f32 within BITLINEAR_F32 (odd shapes)",
  async (dev) => {
    for (const k of K_LIST) {
      for (const [m, n] of MN) {
        const what = `m=${m} n=${n} k=${k}`;
        const o = hostOperands(dev, m, n, k, k * 31 + m * 7 + n);
        using _tw = o.tw;
        using _qa = o.qa;
        using b = dev.batch();
        using yi = b.bitlinear(o.qa, o.tw, { output: "int32" });
        using yf = b.bitlinear(o.qa, o.tw);
        await b.run();
        assert.equal(yi.dtype, "i32");
        assert.deepEqual(yi.shape, [m, n]);
        const acc = R.bitlinearAcc(o.wq, o.xq, m, n, k);
        assertExact(await yi.read(), acc, `${what}: int32`);
        assertClose(
          await yf.read(),
          R.bitlinearScale(acc, o.ws, o.xs, m, n),
          BITLINEAR_F32,
          `${what}: f32`,
        );
      }
    }
  },
);

deviceTest("bitlinear: extreme sums (±127·k) stay exact for large k", async (dev) => {
  for (const k of [4096, 65536 + 3]) {
    const n = 3, m = 2, kp = paddedK(k);
    const wq = new Int8Array(n * k);
    wq.fill(1, 0, k); // row 0: +1
    wq.fill(-1, k, 2 * k); // row 1: -1
    for (let c = 0; c < k; c++) wq[2 * k + c] = c % 2 ? 1 : -1; // row 2: alternating
    const xq = new Int8Array(m * kp);
    xq.fill(127, 0, k);
    xq.fill(-127, kp, kp + k);
    using tw = dev.ternaryWeights(R.packTernary(wq, n, k), 1, [n, k]);
    using qa = dev.quantizedActivations(xq, new Float32Array([1, 1]), [m, k]);
    using y = await dev.bitlinear(qa, tw, { output: "int32" });
    const alt = k % 2 ? -127 : 0;
    assertExact(await y.read(), [127 * k, -127 * k, alt, -127 * k, 127 * k, -alt], `k=${k}`);
  }
});

deviceTest("bitlinear: k = 2^24 (BN_MAX_K) is allowed and 127·2^24 stays exact", async (dev) => {
  const k = MAX_K, kp = paddedK(k), n = 2;
  if (9 * kp > dev.info.maxBufferBytes) {
    // lavapipe caps one buffer at 128 MiB: the 9-row operand (151 MB) must be refused
    // cleanly, and the paths that fit are still checked below.
    assert.throws(
      () => dev.quantizedActivations(new Int8Array(9 * kp), new Float32Array(9), [9, k]),
      (e: unknown) => e instanceof BitnetError && e.code === "SIZE",
    );
  }
  // row 0 all +1, row 1 all -1: codes 10 and 00 in every 2-bit slot
  const packed = new Uint8Array(n * (kp / 4));
  packed.fill(0b10101010, 0, kp / 4);
  using tw = dev.ternaryWeights(packed, 1, [n, k]);
  for (const m of [1, 2, 9].filter((m) => m * kp <= dev.info.maxBufferBytes)) { // GEMV, small-m, GEMM
    const xq = new Int8Array(m * kp).fill(127);
    using qa = dev.quantizedActivations(xq, new Float32Array(m).fill(1), [m, k]);
    using y = await dev.bitlinear(qa, tw, { output: "int32" });
    const want = new Int32Array(m * n).map((_, i) => (i % 2 ? -127 : 127) * k);
    assertExact(await y.read(), want, `m=${m} k=2^24`);
  }
});

deviceTest(
  "bitlinear: f32 activations and weights quantized on the device, end to end",
  async (dev) => {
    const shapes: [number, number, number, boolean][] = [
      [1, 1, 1, false],
      [1, 7, 17, true],
      [8, 33, 129, false],
      [9, 5, 1000, false],
      [33, 64, 257, false],
      [1, 16, 255, true],
    ];
    for (const [m, n, k, oneD] of shapes) {
      const what = `m=${m} n=${n} k=${k}${oneD ? " (1-D x)" : ""}`;
      const w = mixedF32(n * k, n * 1000 + k);
      const x = mixedF32(m * k, m * 1000 + k + 1);
      using wt = dev.tensor(w, [n, k]);
      using xt = dev.tensor(x, oneD ? [k] : [m, k]);
      using b = dev.batch();
      using tw = b.quantizeTernary(wt);
      using qa = b.quantizeActivations(xt);
      using yi = b.bitlinear(qa, tw, { output: "int32" });
      using yq = b.bitlinear(qa, tw);
      using yx = b.bitlinear(xt, tw); // quantizes x again inside the batch
      const times = await b.run();
      assert.equal(times, b.times);
      assert.deepEqual(yx.shape, oneD ? [n] : [m, n]);
      const t = await checkTernary(tw, w, n, k, what);
      const a = await checkActivations(qa, x, m, k, what);
      const acc = R.bitlinearAcc(t.q, a.q, m, n, k);
      assertExact(await yi.read(), acc, `${what}: int32 from the device's operands`);
      const yqv = await yq.read();
      assertClose(
        yqv,
        R.bitlinearScale(acc, t.scale, a.scale, m, n),
        BITLINEAR_F32,
        `${what}: f32`,
      );
      assertExact(await yx.read(), yqv, `${what}: Tensor x path equals the two-step path`);
    }
  },
);

deviceTest("bitlinear: one-call API on a Tensor x", async (dev) => {
  const n = 5, k = 300;
  const w = randomF32(n * k, 11);
  const x = randomF32(k, 12);
  using wt = dev.tensor(w, [n, k]);
  using xt = dev.tensor(x);
  using tw = await dev.quantizeTernary(wt);
  using y = await dev.bitlinear(xt, tw);
  assert.deepEqual(y.shape, [n]);
  assert.ok(dev.lastTimes !== null);
  const packed = await tw.packed.read();
  const ws = (await tw.scale.read())[0];
  const ref = R.quantizeActivations(x, 1, k);
  const want = R.bitlinear(packed, ws, ref.q, ref.scale, 1, n, k, "f32");
  // only ties could differ here; with these seeds there are none
  assertClose(await y.read(), want, BITLINEAR_F32, "y");
});

deviceTest("dequantizeTernary: exact q·scale", async (dev) => {
  for (const k of [1, 17, 128, 257, 1000]) {
    for (const n of [1, 5]) {
      const wq = randomTernary(n * k, k + n);
      const packed = R.packTernary(wq, n, k);
      const ws = Math.fround(0.0371);
      using tw = dev.ternaryWeights(packed, ws, [n, k]);
      using out = await dev.dequantizeTernary(tw);
      assert.deepEqual(out.shape, [n, k]);
      assertExact(await out.read(), R.dequantizeTernary(packed, ws, n, k), `n=${n} k=${k}`);
    }
  }
  // quantize → dequantize in one batch
  const w = randomF32(4 * 33, 9);
  using wt = dev.tensor(w, [4, 33]);
  using b = dev.batch();
  using tw = b.quantizeTernary(wt);
  using back = b.dequantizeTernary(tw);
  await b.run();
  const packed = await tw.packed.read();
  const s = (await tw.scale.read())[0];
  assertExact(await back.read(), R.dequantizeTernary(packed, s, 4, 33), "round trip");
});

deviceTest("matmul: f32 within MATMUL bounds, both layouts, odd shapes", async (dev) => {
  // m = 1 takes the GEMV shaders (split k when b is [k, n]); m > 64 crosses GEMM tiles
  const shapes: [number, number, number][] = [];
  shapes.push([1, 1, 1], [1, 5, 3], [8, 17, 33], [9, 3, 127], [33, 2, 129], [2, 64, 257]);
  shapes.push([3, 7, 1000], [1, 300, 255], [1, 130, 1000], [100, 130, 70], [65, 65, 257]);
  for (const [m, n, k] of shapes) {
    for (const transposeB of [false, true]) {
      const what = `m=${m} n=${n} k=${k} transposeB=${transposeB}`;
      const a = randomF32(m * k, m + n + k);
      const bv = randomF32(n * k, m * n * k);
      using at = dev.tensor(a, [m, k]);
      using bt = dev.tensor(bv, transposeB ? [n, k] : [k, n]);
      using c = await dev.matmul(at, bt, { transposeB });
      assert.deepEqual(c.shape, [m, n]);
      const ref = R.matmul(a, bv, m, n, k, transposeB);
      const abs = R.matmulAbs(a, bv, m, n, k, transposeB);
      assertClose(await c.read(), ref, {
        atol: Array.from(abs, (v) => v * MATMUL.atolOfAbsSum),
        rtol: MATMUL.rtol,
      }, what);
    }
  }
  // 1-D a
  using a1 = dev.tensor(new Float32Array([1, 2, 3]));
  using b1 = dev.tensor(new Float32Array([1, 0, 0, 1, 1, 1]), [3, 2]);
  using c1 = await dev.matmul(a1, b1);
  assert.deepEqual(c1.shape, [2]);
  assertExact(await c1.read(), [4, 5], "1-D a");
});

deviceTest("readProbe: exact word sum mod 2^32", async (dev) => {
  for (const words of [1, 7, 1000, 65537]) {
    const r = rng(words);
    const data = new Uint32Array(words).map(() => Math.floor(r() * 2 ** 32));
    using t = dev.tensor(data);
    using sum = await dev.readProbe(t);
    let want = 0;
    for (const v of data) want = (want + v) >>> 0;
    assertExact(await sum.read(), [want], `${words} words`);
  }
  using odd = dev.tensor(new Uint8Array(6));
  await assert.rejects(dev.readProbe(odd), RangeError);
});

deviceTest("mpsMatmul: UNSUPPORTED off Metal (no silent fallback)", async (dev) => {
  using a = dev.tensor(new Float32Array(4), [2, 2]);
  using c = dev.empty([2, 2], "f32");
  const unsupported = (e: Error) => e instanceof BitnetError && e.code === "UNSUPPORTED";
  await assert.rejects(dev.mpsMatmul(a, a), unsupported);
  // the native library refuses it too, at encode time
  using b = dev.batch();
  assert.throws(() => b.encode("mpsMatmul", [2, 2, 2, 0], [a, a, c]), unsupported);
}, { ignore: (info) => info.backend === "metal" });

deviceTest("mpsMatmul: matches the reference on Metal", async (dev) => {
  for (const [m, n, k] of [[1, 1, 1], [8, 17, 33], [33, 64, 257]]) {
    for (const transposeB of [false, true]) {
      const a = randomF32(m * k, 3);
      const bv = randomF32(n * k, 4);
      using at = dev.tensor(a, [m, k]);
      using bt = dev.tensor(bv, transposeB ? [n, k] : [k, n]);
      using c = await dev.mpsMatmul(at, bt, { transposeB });
      const abs = R.matmulAbs(a, bv, m, n, k, transposeB);
      assertClose(await c.read(), R.matmul(a, bv, m, n, k, transposeB), {
        atol: Array.from(abs, (v) => v * MATMUL.atolOfAbsSum),
        rtol: MATMUL.rtol,
      }, `m=${m} n=${n} k=${k} transposeB=${transposeB}`);
    }
  }
}, { ignore: (info) => info.backend !== "metal" || Deno.build.os !== "darwin" });

deviceTest("cross-backend: quantized codes and int32 sums equal the CPU backend", async (dev) => {
  const cpu = await sharedDevice(cpuInfo()!);
  for (const [m, n, k] of [[1, 64, 1000], [9, 17, 257], [33, 5, 129]]) {
    const what = `m=${m} n=${n} k=${k}`;
    const w = mixedF32(n * k, 4242 + k);
    const x = mixedF32(m * k, 4343 + k);
    const run = async (d: Device) => {
      using wt = d.tensor(w, [n, k]);
      using xt = d.tensor(x, [m, k]);
      using b = d.batch();
      using tw = b.quantizeTernary(wt);
      using qa = b.quantizeActivations(xt);
      using y = b.bitlinear(qa, tw, { output: "int32" });
      await b.run();
      return {
        packed: await tw.packed.read(),
        scale: (await tw.scale.read())[0],
        q: await qa.q.read(),
        xs: await qa.scale.read(),
        y: await y.read(),
      };
    };
    const g = await run(dev);
    const c = await run(cpu);
    assertRel(g.scale, c.scale, 2 * SCALE_RTOL_TERNARY, `${what}: ternary scale vs CPU`);
    assertClose(
      g.xs,
      c.xs,
      { atol: 0, rtol: 2 * SCALE_RTOL_ACT },
      `${what}: activation scales vs CPU`,
    );
    const exemptQ = assertQuantized(g.q, c.q, (i) => {
      const r = Math.floor(i / paddedK(k)), col = i % paddedK(k);
      return col < k ? Math.fround(x[r * k + col] / c.xs[r]) : 0;
    }, `${what}: int8 vs CPU`);
    const gq = R.unpackTernary(g.packed, n, k), cq = R.unpackTernary(c.packed, n, k);
    const exemptW = assertQuantized(gq, cq, (i) => w[i] / c.scale, `${what}: ternary codes vs CPU`);
    if (exemptQ === 0 && exemptW === 0) {
      assertExact(g.y, c.y, `${what}: int32 sums vs CPU (identical operands)`);
    }
    // and each against the reference from its own operands
    assertExact(g.y, R.bitlinearAcc(gq, g.q, m, n, k), `${what}: int32 (device) vs reference`);
  }
  // host-built operands: the int32 sums must be identical on both backends
  for (const [m, n, k] of [[1, 1, 1], [8, 64, 1000], [33, 17, 257]]) {
    const od = hostOperands(dev, m, n, k, 900 + k);
    const oc = hostOperands(cpu, m, n, k, 900 + k);
    using yd = await dev.bitlinear(od.qa, od.tw, { output: "int32" });
    using yc = await cpu.bitlinear(oc.qa, oc.tw, { output: "int32" });
    assertExact(await yd.read(), await yc.read(), `m=${m} n=${n} k=${k}: int32 sums vs CPU`);
    od.tw.close();
    od.qa.close();
    oc.tw.close();
    oc.qa.close();
  }
}, { ignore: (info) => info.backend === "cpu" || cpuInfo() === undefined });

leakCheck();
