/**
 * Elementwise ops on 16M-element f32 tensors ([4096, 4096]): add, mul, silu, relu2 and a
 * transpose (`contiguous(x.transpose())`, the GPUs' tiled kernel). One group per op, the
 * CPU backend as the baseline, so `deno bench` prints each GPU's speed-up.
 *
 * Each bench name carries the op's bandwidth, measured once before the runs: bytes moved
 * (inputs read + output written) over the median device time of 5 batches of 4 ops (the
 * device's own clock where it has one), also printed as a console line. The Deno.bench
 * times themselves are one op per batch, FFI round trip included.
 *
 * `BITNET_BENCH_SMALL=1` uses 1M elements.
 * @module
 */
import { type Batch, Device, type Tensor } from "../mod.ts";
import { benchDevices, deviceLabel, randomF32 } from "./common.ts";

const SMALL = Deno.env.get("BITNET_BENCH_SMALL") === "1";
const SIDE = SMALL ? 1024 : 4096;
const N = SIDE * SIDE;
const SIZE = SMALL ? "1M" : "16M";

type Op = (b: Batch, x: Tensor<"f32">, y: Tensor<"f32">) => Tensor;

/** name, encoder, bytes moved per op */
const OPS: [string, Op, number][] = [
  ["add", (b, x, y) => b.add(x, y), 3 * 4 * N],
  ["mul", (b, x, y) => b.mul(x, y), 3 * 4 * N],
  ["silu", (b, x) => b.silu(x), 2 * 4 * N],
  ["relu2", (b, x) => b.relu2(x), 2 * 4 * N],
  ["transpose", (b, x) => b.contiguous(x.transpose()), 2 * 4 * N],
];

/** Median seconds per op over 5 batches of `reps` ops (after one warm-up batch). */
async function measure(dev: Device, op: Op, x: Tensor<"f32">, y: Tensor<"f32">): Promise<number> {
  const reps = 4;
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    using b = dev.batch();
    const outs = Array.from({ length: reps }, () => op(b, x, y));
    const t0 = performance.now();
    const times = await b.run();
    const wall = (performance.now() - t0) / 1000;
    for (const o of outs) o.close();
    if (i > 0) samples.push((times.gpuSeconds ?? wall) / reps);
  }
  samples.sort((p, q) => p - q);
  return samples[samples.length >> 1];
}

for (const { info, index } of benchDevices()) {
  const dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const baseline = info.backend === "cpu";
  const x: Tensor<"f32"> = dev.tensor(randomF32(N), [SIDE, SIDE]);
  const y: Tensor<"f32"> = dev.tensor(randomF32(N), [SIDE, SIDE]);
  for (const [name, op, bytes] of OPS) {
    const s = await measure(dev, op, x, y);
    const gbps = bytes / s / 1e9;
    console.log(
      `${label} ${name} ${SIZE} f32: ${(s * 1e3).toFixed(3)} ms, ${gbps.toFixed(1)} GB/s`,
    );
    Deno.bench(
      `${label} (${gbps.toFixed(1)} GB/s)`,
      { group: `${name} ${SIZE} f32`, baseline },
      async () => {
        using b = dev.batch();
        using _o = op(b, x, y);
        await b.run();
      },
    );
  }
}
