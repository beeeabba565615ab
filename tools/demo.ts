/**
 * `deno task demo` — the README's main command. Lists the devices, quantizes a BitNet
 * b1.58 2B-4T-shaped layer (the FFN up-projection: 2560 inputs × 6912 outputs) on every
 * backend present, runs BitLinear on one token and on 8 tokens, checks each result
 * against the pure-TypeScript reference (exact int32 sums, f32 within tolerance), and prints
 * time, GB/s of weight bytes and the speed-up over the f32 GEMV of the same layer.
 * @module
 */
import { Device, reference } from "../mod.ts";

const N = 6912, K = 2560;

function rand(count: number, seed: number): Float32Array {
  // Deterministic (xorshift) so every backend sees the same layer.
  let s = seed >>> 0 || 1;
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

async function median(f: () => Promise<number>, reps = 7): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) xs.push(await f());
  return xs.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

console.log("Devices:");
const list = Device.list();
for (const d of list) {
  console.log(
    `  ${d.backend.padEnd(6)} ${d.name}  [${d.deviceType}, ${
      (d.memoryBytes / 2 ** 30).toFixed(1)
    } GiB, ` +
      `subgroup ${d.subgroupSize}${d.caps.intDot ? ", int dot" : ""}] ${d.driver}`,
  );
}

const wHost = rand(N * K, 1);
const xHost = rand(8 * K, 2);
// The reference, once: quantize on the host, then exact sums.
const refW = reference.quantizeTernary(wHost, N, K);
const refPacked = reference.packTernary(refW.q, N, K);
const refX = reference.quantizeActivations(xHost, 8, K);
const refAcc = reference.bitlinearAcc(refW.q, refX.q, 8, N, K);
const wBytes = refPacked.length;

const perBackend = new Map<string, number>();
let failures = 0;
console.log(
  `\nLayer ${K}×${N} (BitNet b1.58 2B-4T FFN up-projection), ${
    (wBytes / 2 ** 20).toFixed(2)
  } MiB packed ternary vs ${(N * K * 4 / 2 ** 20).toFixed(1)} MiB f32`,
);
for (const info of list) {
  const index = perBackend.get(info.backend) ?? 0;
  perBackend.set(info.backend, index + 1);
  using dev = await Device.open({ backend: info.backend, index });
  using w = dev.tensor(wHost, [N, K]);
  using x = dev.tensor(xHost, [8, K]);
  using x1 = dev.tensor(xHost.subarray(0, K), [1, K]);
  using tw = await dev.quantizeTernary(w);
  using q = await dev.quantizeActivations(x);
  using q1 = await dev.quantizeActivations(x1);

  // Correctness: exact int32 sums of this device's own operands against the reference.
  const packed = await tw.packed.read();
  const qv = await q.q.read();
  const want = reference.bitlinearAcc(reference.unpackTernary(packed, N, K), qv, 8, N, K);
  using acc = await dev.bitlinear(q, tw, { output: "int32" });
  const got = await acc.read();
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) bad++;
  let codeDiff = 0;
  for (let i = 0; i < packed.length; i++) if (packed[i] !== refPacked[i]) codeDiff++;
  let accDiff = 0;
  for (let i = 0; i < refAcc.length; i++) if (refAcc[i] !== got[i]) accDiff++;
  failures += bad;

  // Ten ops per batch; the device's own clock where it has one (median of 7 batches).
  const time = (encode: (b: ReturnType<Device["batch"]>) => { close(): void }) =>
    median(async () => {
      using b = dev.batch();
      const outs = Array.from({ length: 10 }, () => encode(b));
      const t = await b.run();
      outs.forEach((o) => o.close());
      return (t.gpuSeconds ?? t.elapsedSeconds ?? NaN) / 10;
    });
  const t1 = await time((b) => b.bitlinear(q1, tw));
  const t8 = await time((b) => b.bitlinear(q, tw));
  const tf = await time((b) => b.matmul(x1, w, { transposeB: true }));
  console.log(`\n${info.backend}: ${info.name}`);
  console.log(
    `  check: int32 sums ${
      bad === 0 ? "exact" : `${bad} MISMATCHES`
    } vs the reference on this device's operands` +
      ` (codes differing from host quantization: ${codeDiff}, sums differing from the all-host path: ${accDiff})`,
  );
  console.log(
    `  bitlinear 1 token : ${(t1 * 1e6).toFixed(1)} µs  ${(wBytes / t1 / 1e9).toFixed(1)} GB/s`,
  );
  console.log(
    `  bitlinear 8 tokens: ${(t8 * 1e6).toFixed(1)} µs  (${(t8 / t1).toFixed(2)}× one token)`,
  );
  console.log(
    `  f32 GEMV 1 token  : ${(tf * 1e6).toFixed(1)} µs  ${(N * K * 4 / tf / 1e9).toFixed(1)} GB/s`,
  );
  console.log(`  speed-up ternary vs f32: ${(tf / t1).toFixed(1)}×`);
}
if (failures) {
  console.error(`\n${failures} mismatching sums`);
  Deno.exit(1);
}
