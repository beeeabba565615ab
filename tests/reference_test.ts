/**
 * The reference itself (no native code): rounding, the TL2 layout, and hand-computed
 * values of every op.
 */

import assert from "node:assert/strict";
import * as R from "../src/reference.ts";
import { paddedK, ternaryRowBytes } from "../src/abi.ts";
import { randomF32, randomInt8Rows, randomTernary } from "./_helpers.ts";

Deno.test("reference: roundEven rounds half to even", () => {
  const cases: [number, number][] = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, -0],
    [-1.5, -2],
    [-2.5, -2],
    [0.49999997, 0],
    [0.50000006, 1],
    [126.5, 126],
    [127.5, 128],
    [-126.5, -126],
    [3.2, 3],
    [-3.7, -4],
  ];
  for (const [x, want] of cases) assert.equal(R.roundEven(x), want, `roundEven(${x})`);
  assert.ok(Number.isNaN(R.roundEven(NaN)));
  assert.equal(R.roundEven(Infinity), Infinity);
});

Deno.test("reference: TL2 layout matches the header's description", () => {
  // k = 300: kp = 384, rowBytes = 96, three blocks of 32 bytes.
  const n = 2, k = 300;
  assert.equal(paddedK(k), 384);
  assert.equal(ternaryRowBytes(k), 96);
  const q = new Int8Array(n * k); // all zero → code 01 everywhere
  assert.deepEqual([...R.packTernary(q, n, k)], new Array(n * 96).fill(0x55));
  // weight (row 1, col 128·2 + 5 + 32·1 = 293) = +1 → row 1, block 2, byte 5, bits 2..3 = 10
  q[1 * k + 293] = 1;
  // weight (row 0, col 64 + 7) = -1 → block 0, byte 7, p = 2, bits 4..5 = 00
  q[71] = -1;
  const p = R.packTernary(q, n, k);
  assert.equal(p[96 + 64 + 5], 0b01011001);
  assert.equal(p[7], 0b01000101);
  assert.deepEqual(R.tl2Position(1, 293, k), { byte: 96 + 69, shift: 2 });
  assert.equal(R.checkTernaryPadding(p, n, k), null);
  const bad = p.slice();
  bad[95] = 0; // byte 31 of block 2 holds weights 287, 319, 351, 383: 319+ are padding
  assert.deepEqual(R.checkTernaryPadding(bad, n, k), { row: 0, col: 319, code: 0 });
  assert.throws(() => R.unpackTernary(new Uint8Array(96).fill(0xff), 1, k), RangeError);
});

Deno.test("reference: pack/unpack round trip for odd k", () => {
  for (const k of [1, 3, 17, 33, 127, 128, 129, 255, 256, 257, 1000]) {
    for (const n of [1, 3]) {
      const q = randomTernary(n * k, k * 7 + n);
      const packed = R.packTernary(q, n, k);
      assert.equal(packed.length, n * ternaryRowBytes(k));
      assert.deepEqual(R.unpackTernary(packed, n, k), q, `k=${k} n=${n}`);
      assert.equal(R.checkTernaryPadding(packed, n, k), null);
    }
  }
});

Deno.test("reference: quantizeTernary (absmean, clamp, zero scale)", () => {
  const w = new Float32Array([0.5, -1, 0, 2, -0.2, 0.1]);
  const s = R.absmean(w); // (0.5 + 1 + 0 + 2 + 0.2 + 0.1) / 6 = 0.6333…
  assert.equal(s, Math.fround(3.8000000044703484 / 6));
  const { q } = R.quantizeTernary(w, 2, 3);
  // w/s: 0.789, -1.58, 0, 3.16, -0.316, 0.158
  assert.deepEqual([...q], [1, -1, 0, 1, 0, 0]);
  const z = R.quantizeTernary(new Float32Array(5), 1, 5);
  assert.equal(z.scale, 0);
  assert.deepEqual([...z.q], [0, 0, 0, 0, 0]);
  // exact tie: w/s = 0.5 rounds to 0 (even), 1.5 rounds to 2 → clamped to 1
  assert.equal(R.ternaryOf(0.5, 1), 0);
  assert.equal(R.ternaryOf(-0.5, 1), 0);
  assert.equal(R.ternaryOf(1.5, 1), 1);
  assert.equal(R.ternaryOf(-7, 1), -1);
});

Deno.test("reference: quantizeActivations (per row, roundEven, clamp, zero row)", () => {
  const x = new Float32Array([1, -0.5, 0.25, 0, 0, 0, -2, 1, 0.1]);
  const { q, scale } = R.quantizeActivations(x, 3, 3);
  const kp = 128;
  assert.equal(q.length, 3 * kp);
  // row 0: amax 1, 127/1 = 127: [127, -63.5 → -64, 31.75 → 32]
  assert.deepEqual([...q.subarray(0, 3)], [127, -64, 32]);
  assert.equal(scale[0], Math.fround(1 / 127));
  // row 1: zeros
  assert.deepEqual([...q.subarray(kp, kp + 3)], [0, 0, 0]);
  assert.equal(scale[1], 0);
  // row 2: amax 2, 63.5 in f32: [-127, 63.5 → 64, 6.35 → 6]
  assert.deepEqual([...q.subarray(2 * kp, 2 * kp + 3)], [-127, 64, 6]);
  assert.equal(scale[2], Math.fround(2 / 127));
  // padding stays zero
  assert.ok(q.subarray(3, kp).every((v) => v === 0));
  // NaN propagates into the scale
  const bad = R.quantizeActivations(new Float32Array([1, NaN, 2]), 1, 3);
  assert.ok(Number.isNaN(bad.scale[0]));
});

Deno.test("reference: bitlinear accumulates exactly and scales in f32", () => {
  const m = 2, n = 3, k = 5;
  const wq = new Int8Array([1, -1, 0, 1, 1, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1]);
  const kp = paddedK(k);
  const xq = new Int8Array(m * kp);
  xq.set([10, 20, 30, 40, 50], 0);
  xq.set([-127, 127, -127, 127, -127], kp);
  const packed = R.packTernary(wq, n, k);
  const acc = R.bitlinear(packed, 0.5, xq, new Float32Array([0.1, 0.2]), m, n, k, "int32");
  assert.deepEqual([...acc], [10 - 20 + 40 + 50, 0, -150, -127 - 127 + 127 - 127, 0, 127]);
  const y = R.bitlinear(packed, 0.5, xq, new Float32Array([0.1, 0.2]), m, n, k, "f32");
  const s0 = Math.fround(Math.fround(0.5) * Math.fround(0.1));
  assert.equal(y[0], Math.fround(80 * s0));
  // large k: the sum exceeds 16 bits and stays exact
  const K = 70000;
  const big = R.bitlinearAcc(
    new Int8Array(K).fill(1),
    new Int8Array(paddedK(K)).fill(127),
    1,
    1,
    K,
  );
  assert.equal(big[0], 127 * K);
});

Deno.test("reference: dequantizeTernary and matmul", () => {
  const q = randomTernary(2 * 129, 5);
  const packed = R.packTernary(q, 2, 129);
  const w = R.dequantizeTernary(packed, 0.75, 2, 129);
  for (let i = 0; i < q.length; i++) assert.equal(w[i], q[i] * 0.75);
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = new Float32Array([1, 0, 0, 1, 1, 1]); // [3, 2]
  assert.deepEqual([...R.matmul(a, b, 2, 2, 3, false)], [4, 5, 10, 11]);
  const bt = new Float32Array([1, 0, 1, 0, 1, 1]); // [2, 3] = bᵀ
  assert.deepEqual([...R.matmul(a, bt, 2, 2, 3, true)], [4, 5, 10, 11]);
});

Deno.test("reference: quantizeActivations agrees with a direct formula on random rows", () => {
  const m = 4, k = 257, kp = paddedK(k);
  const x = randomF32(m * k, 99);
  const { q, scale } = R.quantizeActivations(x, m, k);
  for (let i = 0; i < m; i++) {
    let amax = 0;
    for (let c = 0; c < k; c++) amax = Math.max(amax, Math.abs(x[i * k + c]));
    const inv = Math.fround(127 / amax);
    for (let c = 0; c < k; c++) {
      const v = Math.fround(x[i * k + c] * inv);
      assert.ok(Math.abs(q[i * kp + c] - v) <= 0.5);
    }
    assert.equal(scale[i], Math.fround(amax / 127));
  }
  // int8 helper sanity
  assert.equal(randomInt8Rows(2, 3, 128, 1).length, 256);
});
