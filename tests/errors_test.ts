/**
 * Bad input to the ops: wrong dtypes, shapes and option values, NaN/Inf data, closed
 * objects and objects of another device. Each is a typed error (TypeError / RangeError /
 * BitnetError) with an "[op] expected … but received …" message, never a crash, and a
 * correct op works right after.
 */

import assert from "node:assert/strict";
import {
  BitnetError,
  type Device,
  QuantizedActivations,
  type Tensor,
  TernaryWeights,
} from "../mod.ts";
import { MAX_K, paddedK } from "../src/abi.ts";
import * as R from "../src/reference.ts";
import {
  assertExact,
  deviceTest,
  leakCheck,
  openDevice,
  randomF32,
  randomTernary,
} from "./_helpers.ts";

const msg = (re: RegExp) => (e: Error) => re.test(e.message);
const typeErr = (re = /expected .* but received/) => (e: Error) =>
  e instanceof TypeError && re.test(e.message);
const rangeErr = (re = /expected .* but received/) => (e: Error) =>
  e instanceof RangeError && re.test(e.message);

async function sanity(dev: Device): Promise<void> {
  const n = 3, k = 17;
  const wq = randomTernary(n * k, 1);
  using tw = dev.ternaryWeights(R.packTernary(wq, n, k), 1, [n, k]);
  const xq = new Int8Array(paddedK(k)).map((_, i) => (i < k ? i - 8 : 0));
  using qa = dev.quantizedActivations(xq, new Float32Array([1]), [k]);
  using y = await dev.bitlinear(qa, tw, { output: "int32" });
  assertExact(await y.read(), R.bitlinearAcc(wq, xq, 1, n, k), "a correct op right after");
}

deviceTest("errors: wrong dtypes, ranks and shapes", async (dev) => {
  using w = dev.tensor(randomF32(4 * 8, 1), [4, 8]);
  using wi = dev.tensor(new Int32Array(32), [4, 8]);
  using w1 = dev.tensor(randomF32(8, 2));
  using w3 = dev.tensor(randomF32(8, 3), [2, 2, 2]);
  using x = dev.tensor(randomF32(2 * 8, 4), [2, 8]);
  using x5 = dev.tensor(randomF32(2 * 5, 5), [2, 5]);
  using tw = await dev.quantizeTernary(w);

  await assert.rejects(
    dev.quantizeTernary(wi as unknown as Tensor<"f32">),
    typeErr(/^\[quantizeTernary\] expected w of dtype f32 but received dtype i32$/),
  );
  await assert.rejects(dev.quantizeTernary(w1), rangeErr(/\[n, k\]/));
  await assert.rejects(
    dev.quantizeTernary(new Float32Array(4) as unknown as Tensor<"f32">),
    typeErr(/to be a Tensor/),
  );
  await assert.rejects(dev.quantizeActivations(wi as unknown as Tensor<"f32">), typeErr());
  await assert.rejects(dev.quantizeActivations(w3), rangeErr());

  await assert.rejects(
    dev.bitlinear(x5, tw),
    rangeErr(/^\[bitlinear\] expected x with k = 8 features/),
  );
  await assert.rejects(dev.bitlinear(wi as unknown as Tensor<"f32">, tw), typeErr());
  await assert.rejects(dev.bitlinear(x, w as unknown as TernaryWeights), typeErr(/TernaryWeights/));
  await assert.rejects(
    dev.bitlinear({} as Tensor<"f32">, tw),
    typeErr(/Tensor or QuantizedActivations/),
  );
  await assert.rejects(dev.bitlinear(x, tw, { output: "f16" as "f32" }), typeErr(/output/));
  await assert.rejects(dev.dequantizeTernary(w as unknown as TernaryWeights), typeErr());

  await assert.rejects(dev.matmul(x, x5), rangeErr(/\[matmul\] expected b of shape \[8, n\]/));
  await assert.rejects(dev.matmul(x, x5, { transposeB: true }), rangeErr());
  await assert.rejects(dev.matmul(x, w3), rangeErr());
  await assert.rejects(dev.matmul(x, w, { transposeB: "yes" as unknown as boolean }), typeErr());
  await assert.rejects(dev.matmul(wi as unknown as Tensor<"f32">, w), typeErr());

  // host-built operands
  assert.throws(() => dev.ternaryWeights(new Uint8Array(31), 1, [1, 5]), rangeErr());
  assert.throws(
    () => dev.ternaryWeights(new Uint8Array(32), NaN, [1, 5]),
    rangeErr(/finite scale/),
  );
  assert.throws(() => dev.ternaryWeights(new Uint8Array(32), 1, [1, 0]), rangeErr());
  assert.throws(
    () => dev.ternaryWeights(new Int8Array(32) as unknown as Uint8Array, 1, [1, 5]),
    typeErr(),
  );
  assert.throws(
    () => dev.quantizedActivations(new Int8Array(127), new Float32Array(1), [5]),
    rangeErr(),
  );
  assert.throws(
    () => dev.quantizedActivations(new Int8Array(256), new Float32Array(1), [2, 5]),
    rangeErr(),
  );
  assert.throws(
    () => new TernaryWeights(w as unknown as Tensor<"u8">, tw.scale, [4, 8]),
    typeErr(),
  );
  assert.throws(
    () => new QuantizedActivations(tw.packed as unknown as Tensor<"i8">, tw.scale, [8]),
    typeErr(),
  );

  // objects made by hand
  assert.throws(() => new (w.constructor as new (...a: unknown[]) => unknown)(), TypeError);
  assert.throws(() => new (dev.constructor as new (...a: unknown[]) => unknown)(), TypeError);
  await sanity(dev);
});

deviceTest(
  "errors: NaN and Inf inputs are RangeErrors (input contains NaN or Inf)",
  async (dev) => {
    const nanOrInf = rangeErr(/input contains NaN or Inf/);
    for (const bad of [Infinity, -Infinity, NaN]) {
      const w = randomF32(4 * 130, 9);
      w[77] = bad;
      using wt = dev.tensor(w, [4, 130]);
      await assert.rejects(dev.quantizeTernary(wt), nanOrInf, `quantizeTernary with ${bad}`);
      if (Number.isNaN(bad)) continue; // NaN activations: the next test
      const x = randomF32(3 * 130, 10);
      x[130 + 5] = bad; // row 1
      using xt = dev.tensor(x, [3, 130]);
      await assert.rejects(
        dev.quantizeActivations(xt),
        nanOrInf,
        `quantizeActivations with ${bad}`,
      );
      using w2 = dev.tensor(randomF32(4 * 130, 11), [4, 130]);
      using tw = await dev.quantizeTernary(w2);
      await assert.rejects(dev.bitlinear(xt, tw), nanOrInf, `bitlinear with ${bad} in x`);
      const before = dev.poolStats().buffersInUse;
      await assert.rejects(dev.bitlinear(xt, tw, { output: "int32" }), nanOrInf);
      assert.equal(dev.poolStats().buffersInUse, before, "a rejected op leaves nothing allocated");
    }
    await sanity(dev);
  },
);

deviceTest(
  "errors: NaN activations are RangeErrors (the scale must carry the NaN)",
  async (dev) => {
    const nanOrInf = rangeErr(/input contains NaN or Inf/);
    const x = randomF32(3 * 130, 10);
    x[130 + 5] = NaN; // row 1
    using xt = dev.tensor(x, [3, 130]);
    using w = dev.tensor(randomF32(4 * 130, 11), [4, 130]);
    using tw = await dev.quantizeTernary(w);
    // (a wrongly resolved result is closed, so one failure does not leak into the next)
    const qa = await dev.quantizeActivations(xt).then((r) => (r.close(), null), (e) => e);
    const y = await dev.bitlinear(xt, tw).then((r) => (r.close(), null), (e) => e);
    await sanity(dev);
    assert.ok(qa && nanOrInf(qa), `quantizeActivations with NaN: expected a RangeError`);
    assert.ok(y && nanOrInf(y), `bitlinear with NaN in x: expected a RangeError`);
  },
);

deviceTest("errors: closed tensors and weights", async (dev) => {
  using w = dev.tensor(randomF32(32, 1), [4, 8]);
  using x = dev.tensor(randomF32(8, 2));
  const tw = await dev.quantizeTernary(w);
  const qa = await dev.quantizeActivations(x);
  const closedX = dev.tensor(randomF32(8, 3));
  closedX.close();
  await assert.rejects(dev.bitlinear(closedX, tw), typeErr(/closed tensor/));
  await assert.rejects(dev.quantizeTernary(closedX), typeErr(/closed tensor/));
  qa.close();
  assert.equal(qa.closed, true);
  await assert.rejects(dev.bitlinear(qa, tw), typeErr(/closed tensor/));
  tw.close();
  tw.close();
  assert.equal(tw.closed, true);
  await assert.rejects(dev.bitlinear(x, tw), typeErr(/closed tensor/));
  await assert.rejects(dev.dequantizeTernary(tw), typeErr(/closed tensor/));
  await sanity(dev);
});

deviceTest("errors: tensors of another device are refused", async (dev) => {
  using other = await openDevice(dev.info);
  using w = dev.tensor(randomF32(32, 1), [4, 8]);
  using wOther = other.tensor(randomF32(32, 1), [4, 8]);
  using xOther = other.tensor(randomF32(8, 2));
  using tw = await dev.quantizeTernary(w);
  using twOther = await other.quantizeTernary(wOther);
  const foreign = typeErr(/another device/);
  await assert.rejects(dev.quantizeTernary(wOther), foreign);
  await assert.rejects(dev.bitlinear(xOther, tw), foreign);
  await assert.rejects(dev.bitlinear(xOther, twOther), foreign);
  await assert.rejects(dev.matmul(w, wOther, { transposeB: true }), foreign);
  using b = dev.batch();
  assert.throws(() => b.bitlinear(xOther, tw), foreign);
  await b.run();
  // the other device is fine and still works
  using y = await other.bitlinear(xOther, twOther, { output: "int32" });
  assert.equal(y.device, other);
  await sanity(dev);
});

deviceTest("errors: k beyond 2^24 is refused before any work", async (dev) => {
  const k = MAX_K + 1, kp = paddedK(k);
  using packed = dev.empty([1, kp / 4], "u8");
  using scale = dev.tensor(new Float32Array([1]));
  const tw = new TernaryWeights(packed, scale, [1, k]);
  using q = dev.empty([1, kp], "i8");
  using xs = dev.tensor(new Float32Array([1]));
  const qa = new QuantizedActivations(q, xs, [k]);
  await assert.rejects(dev.bitlinear(qa, tw), rangeErr(/2\^24/));
  // the same through the raw path reaches the native validator
  using y = dev.empty([1], "f32");
  using b = dev.batch();
  assert.throws(
    () => b.encode("bitlinear", [1, 1, k, 0], [packed, scale, q, xs, y]),
    (e: Error) => e instanceof BitnetError && ["SIZE", "INVALID_ARGUMENT"].includes(e.code),
  );
  await b.run();
  await sanity(dev);
});

deviceTest("errors: BitnetError carries status, code and the native message", (dev) => {
  try {
    dev.empty([2 ** 50], "u8");
    assert.fail("expected a BitnetError");
  } catch (e) {
    assert.ok(e instanceof BitnetError);
    assert.ok(e.status < 0);
    assert.ok(["SIZE", "OUT_OF_MEMORY"].includes(e.code));
    assert.ok(e.nativeMessage.length > 0, "native message present");
    assert.ok(msg(/^\[empty\] /)(e), e.message);
    assert.ok(e.message.includes(e.code));
    assert.equal(e.name, "BitnetError");
  }
});

leakCheck();
