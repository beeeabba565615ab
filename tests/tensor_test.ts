/**
 * Tensors: round trips of every dtype and storage, zero-copy views (and their detachment
 * when memory goes away), shape/dtype validation, huge and empty sizes, and memory
 * stability over 10,000 create/free cycles.
 */

import assert from "node:assert/strict";
import { BitnetError, type DType } from "../mod.ts";
import { tensorHandle } from "../src/tensor.ts";
import { deviceTest, leakCheck, randomF32 } from "./_helpers.ts";

const SAMPLES: Record<
  DType,
  () => Float32Array | Uint16Array | Int32Array | Uint32Array | Int8Array | Uint8Array
> = {
  f32: () => randomF32(1000, 1),
  f16: () => new Uint16Array(1000).map((_, i) => (i * 40503) & 0xffff),
  i32: () => new Int32Array(1000).map((_, i) => (i * 2654435761) | 0),
  u32: () => new Uint32Array(1000).map((_, i) => (i * 2654435761) >>> 0),
  i8: () => new Int8Array(1000).map((_, i) => (i % 256) - 128),
  u8: () => new Uint8Array(1000).map((_, i) => (i * 7) & 255),
};

deviceTest("tensor: every dtype and storage round-trips", async (dev) => {
  for (const storage of ["shared", "private"] as const) {
    for (const [dtype, make] of Object.entries(SAMPLES)) {
      const data = make();
      using t = dev.tensor(data, [10, 100], { storage });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [10, 100]);
      assert.equal(t.size, 1000);
      assert.equal(t.byteLength, data.byteLength);
      assert.equal(t.storage, storage);
      assert.equal(t.device, dev);
      const back = await t.read();
      assert.equal(back.constructor, data.constructor);
      assert.deepEqual(back, data, `${dtype} ${storage}`);
      const other = make().reverse();
      await t.write(other as never);
      assert.deepEqual(await t.read(), other);
    }
  }
  // default shape, small (on-heap) arrays, subarrays
  using a = dev.tensor(new Int8Array([1, -2, 3]));
  assert.deepEqual(a.shape, [3]);
  assert.deepEqual([...await a.read()], [1, -2, 3]);
  const big = new Float32Array([9, 8, 7, 6, 5]);
  using b = dev.tensor(big.subarray(1, 4));
  assert.deepEqual([...await b.read()], [8, 7, 6]);
  using s = dev.tensor(new Float32Array([4.5]), []);
  assert.equal(s.size, 1);
  using e = dev.empty([3, 5], "i32");
  assert.deepEqual([...await e.read()], new Array(15).fill(0), "empty() is zero-filled");
});

deviceTest("tensor: view() is zero-copy over shared memory", async (dev) => {
  using t = dev.tensor(new Float32Array([1, 2, 3, 4]), [2, 2], { storage: "shared" });
  const v = t.view();
  assert.ok(v instanceof Float32Array);
  assert.deepEqual([...v], [1, 2, 3, 4]);
  v[2] = 42;
  assert.deepEqual([...await t.read()], [1, 2, 42, 4], "a write through the view is seen");
  await t.write(new Float32Array([5, 6, 7, 8]));
  assert.deepEqual([...v], [5, 6, 7, 8], "a write through write() is seen by the view");
  const v2 = t.view();
  t.close();
  assert.equal(v.length, 0, "view detached on close");
  assert.equal(v2.length, 0, "every view detached");
  assert.equal((v.buffer as ArrayBuffer).detached, true);
  assert.equal(v[0], undefined, "reads of a detached view touch no memory");
  v[0] = 1; // silently ignored, no crash
  using p = dev.tensor(new Float32Array(4), [4], { storage: "private" });
  assert.throws(() => p.view(), (e: Error) => e instanceof TypeError && /shared/.test(e.message));
});

deviceTest("tensor: detaching a big view is cheap (no copy)", (dev) => {
  const t = dev.empty([16 * 1024 * 1024], "u8", { storage: "shared" });
  const v = t.view();
  v.fill(1);
  const rss0 = Deno.memoryUsage().rss;
  const t0 = performance.now();
  t.close();
  const ms = performance.now() - t0;
  const grew = Deno.memoryUsage().rss - rss0;
  assert.equal(v.length, 0);
  assert.ok(ms < 50, `close took ${ms} ms`);
  assert.ok(grew < 8 * 1024 * 1024, `RSS grew ${grew} bytes while detaching a 16 MiB view`);
});

deviceTest("tensor: views of a reused pool block never see a stale tensor", async (dev) => {
  const a = dev.tensor(new Uint8Array(4096).fill(7), [4096], { storage: "shared" });
  const va = a.view();
  a.close();
  using b = dev.tensor(new Uint8Array(4096).fill(9), [4096], { storage: "shared" });
  assert.equal(va.length, 0);
  assert.equal((await b.read())[0], 9);
});

deviceTest("tensor: closed tensors are refused with TypeError", async (dev) => {
  const t = dev.tensor(new Float32Array([1, 2]));
  t.close();
  t.close();
  t[Symbol.dispose]();
  assert.equal(t.closed, true);
  assert.equal(tensorHandle(t), 0n);
  const closed = (e: Error) => e instanceof TypeError && /closed tensor/.test(e.message);
  await assert.rejects(t.read(), closed);
  await assert.rejects(t.write(new Float32Array(2)), closed);
  assert.throws(() => t.view(), closed);
  assert.match(String(t), /closed/);
});

deviceTest("tensor: bad data, shapes and dtypes are typed errors", async (dev) => {
  const f = new Float32Array(6);
  assert.throws(() => dev.tensor(f, [4]), RangeError, "length mismatch");
  assert.throws(() => dev.tensor(f, [2, 2.5]), RangeError, "non-integer dim");
  assert.throws(() => dev.tensor(f, [-2, -3]), RangeError, "negative dim");
  assert.throws(() => dev.tensor(f, [NaN]), RangeError, "NaN dim");
  assert.throws(() => dev.tensor(f, ["6" as unknown as number]), TypeError, "string dim");
  assert.throws(() => dev.tensor(f, 6 as unknown as number[]), TypeError, "shape not an array");
  assert.throws(() => dev.tensor([1, 2, 3] as unknown as Float32Array), TypeError, "plain array");
  assert.throws(() => dev.tensor(new Float64Array(3) as unknown as Float32Array), TypeError, "f64");
  assert.throws(
    () => dev.tensor(new Uint8ClampedArray(3) as unknown as Uint8Array),
    TypeError,
    "u8c",
  );
  assert.throws(() => dev.tensor(new Float32Array(0)), RangeError, "zero-size");
  assert.throws(() => dev.tensor(f, [0, 6]), RangeError, "zero-size dim");
  assert.throws(() => dev.empty([0], "f32"), RangeError, "empty zero-size");
  assert.throws(() => dev.empty([3], "f64" as DType), TypeError, "bad dtype");
  assert.throws(() => dev.empty([2 ** 53], "u8"), RangeError, "dim ≥ 2^53");
  assert.throws(() => dev.empty([2 ** 30, 2 ** 30, 2 ** 30], "u8"), RangeError, "≥ 2^53 bytes");
  assert.throws(() => dev.tensor(f, [6], { storage: "gpu" as "shared" }), TypeError, "storage");
  using t = dev.tensor(f, [2, 3]);
  await assert.rejects(t.write(new Float32Array(5)), RangeError);
  await assert.rejects(t.write(new Int32Array(6) as unknown as Float32Array), TypeError);
  // messages follow "[op] expected … but received …"
  try {
    dev.tensor(f, [4]);
  } catch (e) {
    assert.match((e as Error).message, /^\[tensor\] expected 4 elements but received 6$/);
  }
  // and a correct tensor right after
  using ok = dev.tensor(new Float32Array([1, 2, 3]));
  assert.deepEqual([...await ok.read()], [1, 2, 3]);
});

deviceTest("tensor: huge sizes are refused natively (BitnetError), no crash", async (dev) => {
  for (const bytes of [2 ** 50, 2 ** 45, dev.info.maxBufferBytes + 1]) {
    assert.throws(
      () => dev.empty([bytes], "u8"),
      (e: Error) =>
        e instanceof BitnetError && ["SIZE", "OUT_OF_MEMORY"].includes(e.code) &&
        e.nativeMessage.length > 0,
      `${bytes} bytes`,
    );
  }
  assert.throws(() => dev.empty([2 ** 24, 2 ** 24], "f32"), BitnetError, "n·k·4 = 2^50 bytes");
  using ok = dev.tensor(new Float32Array([1]));
  assert.deepEqual([...await ok.read()], [1]);
});

deviceTest("tensor: 10,000 create/free cycles keep pool and RSS flat", async (dev) => {
  const data = randomF32(4096, 3); // 16 KiB each: a leak would be 160 MiB
  // warm up: pools, JIT, allocator
  for (let i = 0; i < 500; i++) dev.tensor(data).close();
  const stats0 = dev.poolStats();
  const rss0 = Deno.memoryUsage().rss;
  for (let i = 0; i < 10_000; i++) {
    const t = dev.tensor(data, [64, 64], { storage: i % 2 ? "private" : "shared" });
    if (i % 1000 === 0) t.view(); // views too (of shared storage)
    t.close();
  }
  const stats1 = dev.poolStats();
  const rss1 = Deno.memoryUsage().rss;
  assert.equal(stats1.bytesInUse, stats0.bytesInUse, "bytes_in_use is flat");
  assert.equal(stats1.buffersInUse, stats0.buffersInUse, "buffers_in_use is flat");
  assert.ok(stats1.allocations <= stats0.allocations + 2, "the pool reuses memory");
  // Bound: 32 MiB of RSS growth for 10,000 × 16 KiB tensors.
  const grew = rss1 - rss0;
  assert.ok(grew < 32 * 1024 * 1024, `RSS grew by ${(grew / 2 ** 20).toFixed(1)} MiB`);
  using t = dev.tensor(data);
  assert.deepEqual(await t.read(), data);
});

leakCheck();
