/**
 * Does the measured speed depend on the data? Some GPUs compress memory traffic, so a
 * buffer of zeros or of one repeated word can read faster than real weights. This script
 * times the read probe, the f32 GEMV and the ternary GEMV on constant and on random data,
 * and the ternary GEMV at a tall shape (many rows → many workgroups) against a square one.
 * The README's "% of probe" uses the random-data probe.
 *
 *   deno run -A bench/data_dependence.ts
 * @module
 */
import { Device } from "../mod.ts";
import { ternaryRowBytes } from "../src/abi.ts";
import { benchDevices, deviceLabel, randomF32, randomPacked } from "./common.ts";

async function perOp(
  dev: Device,
  ops: number,
  enc: (b: ReturnType<Device["batch"]>) => { close(): void },
) {
  const xs: number[] = [];
  const warmUntil = performance.now() + 1000; // clocks drop while the host makes data
  for (let r = 0; r < 4; r++) {
    using b = dev.batch();
    const outs = Array.from({ length: ops }, () => enc(b));
    const t = await b.run();
    outs.forEach((o) => o.close());
    if (r === 0 && performance.now() < warmUntil) r--;
    else if (r > 0) xs.push((t.gpuSeconds ?? t.elapsedSeconds ?? NaN) / ops);
  }
  return xs.sort((a, b) => a - b)[1];
}

function randomU32(count: number): Uint32Array {
  const a = new Uint32Array(count);
  for (let off = 0; off < count; off += 16384) crypto.getRandomValues(a.subarray(off, off + 16384));
  return a;
}

for (const { info, index } of benchDevices()) {
  if (info.backend === "cpu") continue;
  using dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const words = 2 ** 28; // 1 GiB
  for (
    const [name, data] of [["zeros", new Uint32Array(words)], ["random", randomU32(words)]] as const
  ) {
    using t = dev.tensor(data, [words]);
    const s = await perOp(dev, 8, (b) => b.readProbe(t));
    console.log(`${label} read probe 1 GiB ${name}: ${(words * 4 / s / 1e9).toFixed(0)} GB/s`);
  }
  const n = 16384, k = 16384;
  using x = dev.tensor(randomF32(k), [1, k]);
  for (const name of ["constant", "random"]) {
    const w = name === "random" ? randomF32(n * k) : new Float32Array(n * k).fill(1 / 256);
    using wt = dev.tensor(w, [n, k]);
    const s = await perOp(dev, 10, (b) => b.matmul(x, wt, { transposeB: true }));
    console.log(
      `${label} f32 GEMV ${k}×${n} ${name}: ${(s * 1e6).toFixed(1)} µs ${
        (n * k * 4 / s / 1e9).toFixed(0)
      } GB/s`,
    );
  }
  for (
    const [nn, kk] of [[16384, 16384], [65536, 16384], [4096, 4096], [14336, 4096], [4096, 14336]]
  ) {
    using xx = dev.tensor(randomF32(kk), [1, kk]);
    using q = await dev.quantizeActivations(xx);
    for (const name of ["constant", "random"]) {
      const p = name === "random"
        ? randomPacked(nn, kk)
        : new Uint8Array(nn * ternaryRowBytes(kk)).fill(0x66);
      using w = dev.ternaryWeights(p, 0.01, [nn, kk]);
      const s = await perOp(dev, 20, (b) => b.bitlinear(q, w));
      console.log(
        `${label} ternary GEMV ${kk}×${nn} ${name}: ${(s * 1e6).toFixed(1)} µs ${
          (p.length / s / 1e9).toFixed(0)
        } GB/s`,
      );
    }
  }
}
