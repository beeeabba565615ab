/**
 * Batches: many ops per await, ordering, times, life cycle; the raw encode path with
 * guard bytes around every output; the native validator as the last line of defence;
 * and many concurrent awaits.
 */

import assert from "node:assert/strict";
import { BitnetError, type Device, type Tensor } from "../mod.ts";
import { OpId, paddedK, Status } from "../src/abi.ts";
import { lib } from "../src/native.ts";
import { tensorHandle } from "../src/tensor.ts";
import { deviceCore } from "../src/device.ts";
import * as R from "../src/reference.ts";
import {
  assertClose,
  assertExact,
  assertQuantized,
  assertRel,
  BITLINEAR_F32,
  deviceTest,
  label,
  leakCheck,
  MATMUL,
  openDevice,
  randomF32,
  randomInt8Rows,
  randomTernary,
  SCALE_RTOL_ACT,
  SCALE_RTOL_TERNARY,
} from "./_helpers.ts";

// ---- many ops, one await --------------------------------------------------------------

deviceTest("batch: a chain of ops sees the previous results, one await", async (dev) => {
  const k = 257, layers = 6;
  const ws = Array.from({ length: layers }, (_, i) => randomF32(k * k, 500 + i));
  const x = randomF32(2 * k, 7);
  using xt = dev.tensor(x, [2, k]);
  const wts = ws.map((w) => dev.tensor(w, [k, k]));
  // step by step: one batch per op
  const tws = [];
  for (const wt of wts) tws.push(await dev.quantizeTernary(wt));
  let cur: Tensor<"f32"> = xt;
  const stepwise: Tensor[] = [];
  for (const tw of tws) {
    cur = await dev.bitlinear(cur, tw);
    stepwise.push(cur);
  }
  // the same in one batch
  using b = dev.batch();
  const btws = wts.map((wt) => b.quantizeTernary(wt));
  let bcur: Tensor<"f32"> = xt;
  const outs: Tensor[] = [];
  for (const tw of btws) {
    bcur = b.bitlinear(bcur, tw);
    outs.push(bcur);
  }
  assert.equal(b.status, "open");
  assert.equal(b.size, layers * 3, "quantizeTernary + quantize x + bitlinear per layer");
  const times = await b.run();
  assert.equal(b.status, "done");
  assertExact(
    await outs[layers - 1].read(),
    await stepwise[layers - 1].read(),
    "batched = stepwise",
  );
  assert.ok(times.elapsedSeconds === null || times.elapsedSeconds >= 0);
  if (dev.backend === "cpu" || dev.info.caps.timestamps) {
    assert.equal(typeof times.gpuSeconds, "number", "GPU time is reported");
    assert.ok(times.gpuSeconds! >= 0);
  }
  assert.deepEqual(dev.lastTimes, times);
  for (const t of [...wts, ...tws, ...stepwise, ...btws, ...outs]) t.close();
});

deviceTest("batch: life cycle (run once, close, failures close outputs)", async (dev) => {
  using a = dev.tensor(randomF32(6, 1), [2, 3]);
  {
    const b = dev.batch();
    const c = b.matmul(a, a, { transposeB: true });
    await b.run();
    await assert.rejects(
      b.run(),
      (e: Error) => e instanceof TypeError && /already|done/.test(e.message),
    );
    assert.throws(() => b.matmul(a, a, { transposeB: true }), TypeError);
    b.close();
    b.close();
    assert.equal(c.closed, false, "outputs of a finished batch belong to the caller");
    c.close();
  }
  {
    const b = dev.batch();
    const c = b.matmul(a, a, { transposeB: true });
    b.close();
    assert.equal(b.status, "closed");
    assert.equal(c.closed, true, "closing an unrun batch closes its outputs");
    await assert.rejects(b.run(), TypeError);
  }
  {
    // an empty batch runs
    using b = dev.batch();
    await b.run();
  }
  {
    // a refused op leaves no outputs behind
    const before = dev.poolStats().buffersInUse;
    using b = dev.batch();
    assert.throws(() => b.matmul(a, a), RangeError);
    assert.equal(dev.poolStats().buffersInUse, before);
  }
  {
    // a run whose scale check fails closes the outputs it allocated
    using bad = dev.tensor(new Float32Array([1, NaN, 2, 3]), [2, 2]);
    const b = dev.batch();
    const tw = b.quantizeTernary(bad);
    await assert.rejects(b.run(), RangeError);
    assert.equal(b.status, "failed");
    assert.equal(tw.closed, true);
  }
});

// ---- guard bytes (raw encode) -----------------------------------------------------------

const GUARD = 64;
const PATTERN = 0xa5;

async function guarded(dev: Device, bytes: number): Promise<Tensor<"u8">> {
  const t = dev.empty([bytes + GUARD], "u8");
  await t.write(new Uint8Array(bytes + GUARD).fill(PATTERN));
  return t;
}

function checkGuard(buf: Uint8Array, bytes: number, what: string): void {
  const tail = buf.subarray(bytes);
  const bad = tail.findIndex((v) => v !== PATTERN);
  assert.equal(
    bad,
    -1,
    `${what}: guard byte ${bytes + bad} overwritten (0x${tail[bad]?.toString(16)})`,
  );
}

const f32 = (u8: Uint8Array, count: number) => new Float32Array(u8.buffer, u8.byteOffset, count);
const i32 = (u8: Uint8Array, count: number) => new Int32Array(u8.buffer, u8.byteOffset, count);
const i8 = (u8: Uint8Array, count: number) => new Int8Array(u8.buffer, u8.byteOffset, count);

deviceTest("guard bytes: no op writes past its outputs", async (dev) => {
  for (const [m, n, k] of [[1, 1, 1], [9, 3, 129], [2, 5, 33], [3, 2, 1000]]) {
    const what = `m=${m} n=${n} k=${k}`;
    const kp = paddedK(k), rowBytes = kp / 4;
    const w = randomF32(n * k, 3 * k + n);
    const x = randomF32(m * k, 5 * k + m);
    using wt = dev.tensor(w, [n, k]);
    using xt = dev.tensor(x, [m, k]);
    using packed = await guarded(dev, n * rowBytes);
    using wscale = await guarded(dev, 4);
    using q = await guarded(dev, m * kp);
    using xscale = await guarded(dev, m * 4);
    using yf = await guarded(dev, m * n * 4);
    using yi = await guarded(dev, m * n * 4);
    using deq = await guarded(dev, n * k * 4);
    using c = await guarded(dev, m * n * 4);
    using sum = await guarded(dev, 4);
    using b = dev.batch();
    b.encode("quantizeTernary", [n, k, 0, 0], [wt, packed, wscale]);
    b.encode("quantizeActivations", [m, k, 0, 0], [xt, q, xscale]);
    b.encode("bitlinear", [m, n, k, 0], [packed, wscale, q, xscale, yf]);
    b.encode("bitlinear", [m, n, k, 1], [packed, wscale, q, xscale, yi]);
    b.encode("dequantizeTernary", [n, k, 0, 0], [packed, wscale, deq]);
    b.encode(OpId.MATMUL_F32, [m, n, k, 1], [xt, wt, c]);
    b.encode(OpId.READ_PROBE, [m * k, 0, 0, 0], [xt, sum]);
    await b.run();
    const P = await packed.read(), WS = await wscale.read(), Q = await q.read();
    const XS = await xscale.read(), YF = await yf.read(), YI = await yi.read();
    const D = await deq.read(), C = await c.read(), S = await sum.read();
    checkGuard(P, n * rowBytes, `${what} packed`);
    checkGuard(WS, 4, `${what} weight scale`);
    checkGuard(Q, m * kp, `${what} int8 activations`);
    checkGuard(XS, m * 4, `${what} activation scales`);
    checkGuard(YF, m * n * 4, `${what} bitlinear f32`);
    checkGuard(YI, m * n * 4, `${what} bitlinear i32`);
    checkGuard(D, n * k * 4, `${what} dequantized`);
    checkGuard(C, m * n * 4, `${what} matmul`);
    checkGuard(S, 4, `${what} read probe`);
    // and the outputs themselves are right (every element written, padding included)
    const ws = f32(WS, 1)[0];
    assertRel(ws, R.absmean(w), SCALE_RTOL_TERNARY, `${what} scale`);
    const packedRef = R.packTernary(R.quantizeTernary(w, n, k, ws).q, n, k);
    assert.equal(R.checkTernaryPadding(P.subarray(0, n * rowBytes), n, k), null, `${what} padding`);
    assertQuantized(
      R.unpackTernary(P.subarray(0, n * rowBytes), n, k),
      R.unpackTernary(packedRef, n, k),
      (i) => R.ternaryValue(w[i], ws),
      `${what} codes`,
    );
    const ref = R.quantizeActivations(x, m, k);
    assertClose(
      f32(XS, m),
      ref.scale,
      { atol: 0, rtol: SCALE_RTOL_ACT },
      `${what} activation scales`,
    );
    assertQuantized(i8(Q, m * kp), ref.q, (i) => {
      const r = Math.floor(i / kp), col = i % kp;
      return col < k ? Math.fround(x[r * k + col] * R.activationMultiplier(ref.amax[r])) : 0;
    }, `${what} int8 (padding must be written as 0)`);
    const acc = R.bitlinearAcc(R.unpackTernary(P, n, k), i8(Q, m * kp), m, n, k);
    assertExact(i32(YI, m * n), acc, `${what} bitlinear i32`);
    assertClose(
      f32(YF, m * n),
      R.bitlinearScale(acc, ws, f32(XS, m), m, n),
      BITLINEAR_F32,
      `${what} bitlinear f32`,
    );
    assertExact(f32(D, n * k), R.dequantizeTernary(P, ws, n, k), `${what} dequantize`);
    const abs = R.matmulAbs(x, w, m, n, k, true);
    assertClose(f32(C, m * n), R.matmul(x, w, m, n, k, true), {
      atol: Array.from(abs, (v) => v * MATMUL.atolOfAbsSum),
      rtol: MATMUL.rtol,
    }, `${what} matmul`);
    let s = 0;
    const words = new Uint32Array(x.buffer);
    for (const v of words) s = (s + v) >>> 0;
    assertExact(new Uint32Array(S.buffer, 0, 1), [s], `${what} read probe`);
  }
});

// ---- the native validator -------------------------------------------------------------

interface OpCase {
  name: string;
  op: number;
  params: number[];
  bytes: number[];
}

function opCases(): OpCase[] {
  const m = 3, n = 5, k = 129, kp = paddedK(k);
  return [
    {
      name: "quantize_ternary",
      op: OpId.QUANTIZE_TERNARY,
      params: [n, k, 0, 0],
      bytes: [n * k * 4, (n * kp) / 4, 4],
    },
    {
      name: "quantize_act_int8",
      op: OpId.QUANTIZE_ACT_INT8,
      params: [m, k, 0, 0],
      bytes: [m * k * 4, m * kp, m * 4],
    },
    {
      name: "bitlinear f32",
      op: OpId.BITLINEAR,
      params: [m, n, k, 0],
      bytes: [(n * kp) / 4, 4, m * kp, m * 4, m * n * 4],
    },
    {
      name: "bitlinear i32",
      op: OpId.BITLINEAR,
      params: [m, n, k, 1],
      bytes: [(n * kp) / 4, 4, m * kp, m * 4, m * n * 4],
    },
    {
      name: "dequantize_ternary",
      op: OpId.DEQUANTIZE_TERNARY,
      params: [n, k, 0, 0],
      bytes: [(n * kp) / 4, 4, n * k * 4],
    },
    {
      name: "matmul_f32",
      op: OpId.MATMUL_F32,
      params: [m, n, k, 0],
      bytes: [m * k * 4, n * k * 4, m * n * 4],
    },
    { name: "read_probe", op: OpId.READ_PROBE, params: [100, 0, 0, 0], bytes: [400, 4] },
  ];
}

/** A small correct op, to show the device still works right after a refusal. */
async function sanity(dev: Device): Promise<void> {
  using a = dev.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  using c = await dev.matmul(a, a);
  assertExact(await c.read(), [7, 10, 15, 22], "a correct op right after");
}

deviceTest(
  "native validator: every buffer one byte too small is refused (SIZE), nothing written",
  async (dev) => {
    for (const c of opCases()) {
      for (let i = 0; i < c.bytes.length; i++) {
        const ts: Tensor[] = [];
        for (let j = 0; j < c.bytes.length; j++) {
          const size = j === i ? c.bytes[j] - 1 : c.bytes[j];
          if (size === 0) break;
          const t = dev.empty([size], "u8");
          await t.write(new Uint8Array(size).fill(PATTERN));
          ts.push(t);
        }
        if (ts.length === c.bytes.length) {
          using b = dev.batch();
          assert.throws(
            () => b.encode(c.op, c.params, ts),
            (e: Error) =>
              e instanceof BitnetError && e.code === "SIZE" && e.nativeMessage.length > 0,
            `${c.name}: buffer ${i} one byte short`,
          );
          assert.equal(b.size, 0);
          await b.run();
          for (const t of ts) {
            assert.ok((await t.read()).every((v) => v === PATTERN), `${c.name}: nothing written`);
          }
        }
        ts.forEach((t) => t.close());
      }
      // exact sizes are accepted
      const ok = c.bytes.map((n) => dev.empty([n], "u8"));
      using b = dev.batch();
      b.encode(c.op, c.params, ok);
      await b.run();
      ok.forEach((t) => t.close());
    }
    await sanity(dev);
  },
);

deviceTest("native validator: sizes whose 64-bit products overflow are refused", (dev) => {
  // m·k·4 = n·k·4 = m·n·4 = 2^64 wrap to 0 if computed naively: tiny buffers would pass.
  // (If the encode is wrongly accepted, the batch is closed unrun by `using`.)
  using x = dev.tensor(randomF32(8, 1), [2, 4]);
  using y = dev.empty([4], "f32");
  using b = dev.batch();
  for (
    const [op, params] of [
      ["matmul", [2 ** 31, 2 ** 31, 2 ** 31, 1]],
      ["matmul", [2 ** 31, 2 ** 31, 2 ** 31, 0]],
      ["dequantizeTernary", [2 ** 31, 2 ** 31, 0, 0]],
      ["quantizeTernary", [2 ** 31, 2 ** 31, 0, 0]],
    ] as const
  ) {
    const bufs = op === "matmul" ? [x, x, y] : [x, y, y];
    assert.throws(
      () => b.encode(op, params, bufs),
      (e: Error) => e instanceof BitnetError && e.code === "SIZE",
      `${op} ${params}`,
    );
  }
  assert.equal(b.size, 0, "nothing was encoded");
});

deviceTest("native validator: bad params, counts, handles and states", async (dev) => {
  const l = lib();
  using x = dev.tensor(randomF32(8, 1), [2, 4]);
  using y = dev.empty([4], "f32");
  const code = (want: string[]) => (e: Error) => e instanceof BitnetError && want.includes(e.code);
  {
    using b = dev.batch();
    // wrong number of buffers
    assert.throws(() => b.encode("matmul", [2, 2, 4, 1], [x, x]), code(["INVALID_ARGUMENT"]));
    assert.throws(() => b.encode("matmul", [2, 2, 4, 1], [x, x, y, y]), code(["INVALID_ARGUMENT"]));
    // wrong params size
    assert.throws(() => b.encode("matmul", [2, 2, 4], [x, x, y]), code(["INVALID_ARGUMENT"]));
    assert.throws(() => b.encode("matmul", [2, 2, 4, 1, 0], [x, x, y]), code(["INVALID_ARGUMENT"]));
    // reserved fields, modes, zero dims, unknown op
    assert.throws(
      () => b.encode("quantizeTernary", [2, 4, 1, 0], [x, y, y]),
      code(["INVALID_ARGUMENT"]),
    );
    assert.throws(
      () => b.encode("bitlinear", [1, 1, 4, 7], [y, y, y, y, y]),
      code(["INVALID_ARGUMENT"]),
    );
    assert.throws(() => b.encode("matmul", [0, 2, 4, 1], [x, x, y]), code(["INVALID_ARGUMENT"]));
    assert.throws(() => b.encode("matmul", [2, 2, 4, 2], [x, x, y]), code(["INVALID_ARGUMENT"]));
    assert.throws(() => b.encode(99, [1, 1, 1, 0], [x, x, y]), code(["INVALID_ARGUMENT"]));
    assert.throws(() => b.encode(0, [1, 1, 1, 0], [x, x, y]), code(["INVALID_ARGUMENT"]));
    // huge shapes with small buffers
    assert.throws(
      () => b.encode("quantizeTernary", [65536, 65536, 0, 0], [x, y, y]),
      code(["SIZE"]),
    );
    assert.throws(
      () => b.encode("bitlinear", [1, 1, 2 ** 24 + 1, 0], [y, y, y, y, y]),
      code(["SIZE", "INVALID_ARGUMENT"]),
    );
    assert.equal(b.size, 0, "nothing was encoded");
    await b.run();
  }
  {
    // raw FFI: forged/freed buffer handles, another device's buffer, null params
    using b = dev.batch();
    const ids = (hs: bigint[]) => new BigUint64Array(hs);
    const p = new Uint32Array([2, 2, 4, 1]);
    using other = await openDevice(dev.info);
    using foreign = other.empty([4], "f32");
    const tmp = dev.empty([4], "f32");
    const freed = tensorHandle(tmp);
    tmp.close();
    const begin = new BigUint64Array(1);
    assert.equal(l.bn_batch_begin(0n, begin), Status.INVALID_HANDLE);
    // a raw batch on this device
    const devHandle = deviceCore(dev).handle;
    assert.equal(l.bn_batch_begin(devHandle, begin), 0);
    const raw = begin[0];
    const hx = tensorHandle(x), hy = tensorHandle(y);
    assert.equal(
      l.bn_batch_encode(raw, OpId.MATMUL_F32, p, 16, ids([hx, hx, tensorHandle(foreign)]), 3),
      Status.WRONG_DEVICE,
    );
    assert.equal(
      l.bn_batch_encode(raw, OpId.MATMUL_F32, p, 16, ids([hx, hx, freed]), 3),
      Status.INVALID_HANDLE,
    );
    assert.equal(
      l.bn_batch_encode(raw, OpId.MATMUL_F32, p, 16, ids([hx, hx, 0xdeadbeefn]), 3),
      Status.INVALID_HANDLE,
    );
    assert.equal(
      l.bn_batch_encode(raw, OpId.MATMUL_F32, null, 16, ids([hx, hx, hy]), 3),
      Status.INVALID_ARGUMENT,
    );
    assert.equal(l.bn_batch_encode(raw, OpId.MATMUL_F32, p, 16, null, 3), Status.INVALID_ARGUMENT);
    assert.equal(l.bn_batch_encode(raw, OpId.MATMUL_F32, p, 16, ids([hx, hx, hy]), 3), 0);
    assert.equal(l.bn_batch_commit(raw), 0);
    // encode or commit after commit: out of order
    assert.equal(
      l.bn_batch_encode(raw, OpId.MATMUL_F32, p, 16, ids([hx, hx, hy]), 3),
      Status.STATE,
    );
    assert.equal(l.bn_batch_commit(raw), Status.STATE);
    assert.equal(await l.bn_batch_wait(raw), 0);
    assert.equal(await l.bn_batch_wait(raw), 0, "wait twice");
    const times = new Float64Array(2);
    assert.equal(l.bn_batch_times(raw, times), 0);
    assert.equal(l.bn_batch_free(raw), 0);
    assert.equal(l.bn_batch_free(raw), Status.INVALID_HANDLE);
    assert.equal(await l.bn_batch_wait(raw), Status.INVALID_HANDLE);
    // a tensor of another device through the TS API: TypeError before anything native
    assert.throws(
      () => b.encode("matmul", [2, 2, 4, 1], [x, x, foreign as unknown as Tensor]),
      (e: Error) => e instanceof TypeError && /another device/.test(e.message),
    );
    await b.run();
  }
  await sanity(dev);
});

// ---- many concurrent awaits -----------------------------------------------------------

deviceTest("concurrency: 64 bitlinear calls in flight at once are all correct", async (dev) => {
  const n = 48, k = 257, kp = paddedK(k);
  const wq = randomTernary(n * k, 64);
  using tw = dev.ternaryWeights(R.packTernary(wq, n, k), 0.5, [n, k]);
  const inputs = Array.from({ length: 64 }, (_, i) => {
    const m = 1 + (i % 9);
    const xq = randomInt8Rows(m, k, kp, 1000 + i);
    return { m, xq, qa: dev.quantizedActivations(xq, new Float32Array(m).fill(1), [m, k]) };
  });
  const results = await Promise.all(
    inputs.map(({ qa }) => dev.bitlinear(qa, tw, { output: "int32" })),
  );
  const reads = await Promise.all(results.map((y) => y.read()));
  inputs.forEach(({ m, xq }, i) => {
    assertExact(reads[i], R.bitlinearAcc(wq, xq, m, n, k), `call ${i} (m=${m})`);
  });
  // f32 inputs quantized inside each call, concurrently too
  const xs = Array.from({ length: 64 }, (_, i) => dev.tensor(randomF32(k, 7000 + i)));
  const ys = await Promise.all(xs.map((x) => dev.bitlinear(x, tw, { output: "int32" })));
  const got = await Promise.all(ys.map((y) => y.read()));
  for (let i = 0; i < 64; i++) {
    const ref = R.quantizeActivations(await xs[i].read(), 1, k);
    assertExact(got[i], R.bitlinearAcc(wq, ref.q, 1, n, k), `concurrent f32 call ${i}`);
  }
  for (const t of [...results, ...ys, ...xs]) t.close();
  for (const { qa } of inputs) qa.close();
});

deviceTest("concurrency: reads and writes in flight together", async (dev) => {
  const ts = Array.from({ length: 32 }, (_, i) => dev.tensor(randomF32(4096, i)));
  const fresh = Array.from({ length: 32 }, (_, i) => randomF32(4096, 100 + i));
  await Promise.all(ts.map((t, i) => t.write(fresh[i])));
  const back = await Promise.all(ts.map((t) => t.read()));
  back.forEach((b, i) => assertExact(b, fresh[i], `tensor ${i}`));
  ts.forEach((t) => t.close());
});

Deno.test("batch: label helper", () => {
  assert.equal(label({ backend: "cpu", backendIndex: 0 } as never), "cpu:0");
});

leakCheck();
