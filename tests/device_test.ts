/**
 * Device: listing, opening (options and BITNET_BACKEND), info, supports, pool stats,
 * closing (idempotent, dispose, every method refused afterwards).
 */

import assert from "node:assert/strict";
import { BitnetError, Device } from "../mod.ts";
import { OpId } from "../src/abi.ts";
import {
  allDevices,
  devicesUnderTest,
  deviceTest,
  label,
  leakCheck,
  openDevice,
} from "./_helpers.ts";

function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const old = Deno.env.get(name);
  if (value === undefined) Deno.env.delete(name);
  else Deno.env.set(name, value);
  try {
    return fn();
  } finally {
    if (old === undefined) Deno.env.delete(name);
    else Deno.env.set(name, old);
  }
}

Deno.test("device: open() with no options picks the preferred backend or BITNET_BACKEND", async () => {
  const list = allDevices();
  const forced = Deno.env.get("BITNET_BACKEND");
  {
    using dev = await withEnv("BITNET_BACKEND", forced, () => Device.open());
    if (forced) assert.equal(dev.backend, forced);
    else if (list.some((d) => d.backend === "metal")) assert.equal(dev.backend, "metal");
    else if (list.some((d) => d.backend === "vulkan" && d.deviceType !== "cpu")) {
      assert.equal(dev.backend, "vulkan");
    } else assert.equal(dev.backend, "cpu");
  }
  {
    using dev = await withEnv("BITNET_BACKEND", "cpu", () => Device.open());
    assert.equal(dev.backend, "cpu");
  }
  await assert.rejects(
    withEnv("BITNET_BACKEND", "cuda", () => Device.open()),
    (e: Error) => e instanceof TypeError && /BITNET_BACKEND/.test(e.message),
  );
  // an explicit option wins over the environment
  {
    using dev = await withEnv("BITNET_BACKEND", "bogus", () => Device.open({ backend: "cpu" }));
    assert.equal(dev.backend, "cpu");
  }
});

Deno.test("device: open() options are validated", async () => {
  await assert.rejects(Device.open({ backend: "cuda" as "cpu" }), TypeError);
  await assert.rejects(Device.open({ index: -1 }), RangeError);
  await assert.rejects(Device.open({ index: 1.5 }), RangeError);
  await assert.rejects(
    Device.open({ index: allDevices().length }),
    (e: Error) => e instanceof BitnetError && e.code === "NOT_FOUND",
  );
  await assert.rejects(
    Device.open({ backend: "cpu", index: 7 }),
    (e: Error) => e instanceof BitnetError && e.code === "NOT_FOUND",
  );
  if (!allDevices().some((d) => d.backend === "metal")) {
    await assert.rejects(
      Device.open({ backend: "metal" }),
      (e: Error) => e instanceof BitnetError && e.code === "NOT_FOUND" && /metal/.test(e.message),
    );
  }
});

deviceTest("device: info matches the listing", (dev, info) => {
  const got = dev.info;
  assert.equal(got.name, info.name);
  assert.equal(got.backend, info.backend);
  assert.equal(got.deviceType, info.deviceType);
  assert.equal(got.index, info.index);
  assert.equal(dev.backend, info.backend);
  assert.deepEqual(got.caps, info.caps);
  assert.ok(String(dev).includes(label(info)));
});

deviceTest("device: supports() knows every op, and says no to mpsMatmul off Metal", (dev) => {
  for (
    const op of [
      "quantizeTernary",
      "quantizeActivations",
      "bitlinear",
      "dequantizeTernary",
      "matmul",
      "readProbe",
    ] as const
  ) {
    assert.equal(dev.supports(op), true, op);
  }
  assert.equal(dev.supports("mpsMatmul"), dev.backend === "metal");
  assert.equal(dev.supports(3), true);
  assert.throws(() => dev.supports("conv2d" as "matmul"), TypeError);
  // an unknown op id is a native question: either "no" or an error, never a crash
  try {
    assert.equal(dev.supports(99), false);
  } catch (e) {
    assert.ok(e instanceof BitnetError);
  }
});

deviceTest("device: poolStats() and trimPool()", (dev) => {
  dev.trimPool();
  const before = dev.poolStats();
  for (
    const key of ["hits", "misses", "bytesInUse", "bytesCached", "buffersInUse", "allocations"]
  ) {
    assert.ok(Number.isSafeInteger(before[key as keyof typeof before]), key);
  }
  const t = dev.empty([1000], "f32");
  const during = dev.poolStats();
  assert.equal(during.buffersInUse, before.buffersInUse + 1);
  assert.ok(during.bytesInUse >= before.bytesInUse + 4000);
  t.close();
  const after = dev.poolStats();
  assert.equal(after.buffersInUse, before.buffersInUse);
  assert.equal(after.bytesInUse, before.bytesInUse);
  assert.ok(after.bytesCached >= 4000, "freed memory is cached");
  const t2 = dev.empty([1000], "f32");
  assert.equal(dev.poolStats().hits, after.hits + 1, "same size again: a pool hit");
  t2.close();
  dev.trimPool();
  assert.equal(dev.poolStats().bytesCached, 0);
});

for (const info of devicesUnderTest()) {
  Deno.test(`device: close() is idempotent and every later call throws "device is closed" [${label(info)}]`, async () => {
    const dev = await openDevice(info);
    const t = dev.tensor(new Float32Array([1, 2, 3]), [3], { storage: "shared" });
    const w = dev.tensor(new Float32Array(8), [2, 4]);
    const view = t.view();
    assert.equal(view.length, 3);
    dev.close();
    dev.close();
    dev[Symbol.dispose]();
    assert.equal(dev.closed, true);
    assert.equal(t.closed, true, "tensors die with their device");
    assert.equal(view.length, 0, "views are detached");
    assert.equal(dev.info.name, info.name, "info stays readable");
    const closed = (e: Error) => e instanceof TypeError && /device is closed/.test(e.message);
    assert.throws(() => dev.supports("bitlinear"), closed);
    assert.throws(() => dev.poolStats(), closed);
    assert.throws(() => dev.trimPool(), closed);
    assert.throws(() => dev.tensor(new Float32Array(3)), closed);
    assert.throws(() => dev.empty([3], "f32"), closed);
    assert.throws(() => dev.batch(), closed);
    assert.throws(() => dev.ternaryWeights(new Uint8Array(32), 1, [1, 1]), closed);
    assert.throws(() => t.view(), closed);
    await assert.rejects(t.read(), closed);
    await assert.rejects(t.write(new Float32Array(3)), closed);
    await assert.rejects(dev.quantizeTernary(w), closed);
    await assert.rejects(dev.matmul(w, w, { transposeB: true }), closed);
    t.close(); // still fine
    // and a fresh device works right after
    using dev2 = await openDevice(info);
    using t2 = dev2.tensor(new Int32Array([7, 8]));
    assert.deepEqual([...await t2.read()], [7, 8]);
  });

  Deno.test(`device: using-disposal closes the device [${label(info)}]`, async () => {
    let outer: Device;
    {
      using dev = await openDevice(info);
      outer = dev;
      assert.equal(dev.closed, false);
    }
    assert.equal(outer.closed, true);
  });

  Deno.test(`device: two opens of one device are independent [${label(info)}]`, async () => {
    using a = await openDevice(info);
    using b = await openDevice(info);
    using ta = a.tensor(new Float32Array([1]));
    a.close();
    using tb = b.tensor(new Float32Array([2]));
    assert.deepEqual([...await tb.read()], [2]);
    assert.equal(ta.closed, true);
  });
}

leakCheck();

deviceTest("device: runs every op natively (MPS only on Metal); none falls back", (dev, info) => {
  for (const [name, id] of Object.entries(OpId)) {
    const want = id === OpId.MPS_MATMUL ? info.backend === "metal" : true;
    if (id === OpId.MPS_MATMUL && info.backend === "metal") continue; // depends on the GPU
    assert.equal(dev.supports(id), want, `${name} on ${info.backend}`);
  }
});
