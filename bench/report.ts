/**
 * The numbers of the README: for every device (CPU backend and GPUs), the read bandwidth
 * measured by our own probe op, then BitLinear GEMV (1 and 8 rows) and f32 GEMV at each
 * shape, as time per op on the device's own clock (median of 5 batches of many ops),
 * GB/s of weight bytes, % of the probe's bandwidth, and ternary-vs-f32 speed-up.
 *
 * "cold" rotates through enough copies of the weights to stream ≥ 256 MB per pass, so no
 * cache holds them (the H200's L2 is 50 MB; an EPYC's L3 32 MB per CCD); "hot" reuses one
 * copy (what a small model that fits in cache would see).
 *
 *   deno run -A bench/report.ts [--json out.json] [--small]
 * @module
 */
import { parseArgs } from "node:util";
import { Device, type QuantizedActivations, type Tensor, type TernaryWeights } from "../mod.ts";
import { ternaryRowBytes } from "../src/abi.ts";
import {
  benchDevices,
  deviceLabel,
  randomF32,
  randomWeights,
  shapeName,
  SHAPES,
} from "./common.ts";

const { values: args } = parseArgs({
  options: { json: { type: "string" }, small: { type: "boolean", default: false } },
});
const small = args.small || Deno.env.get("BITNET_BENCH_SMALL") === "1";
const COLD_BYTES = 256 * 2 ** 20;
const BATCHES = 5;
const WARMUP_MS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds per op of `ops` ops per batch, on the device clock when it has one. */
async function timeOps(
  dev: Device,
  ops: number,
  encode: (b: ReturnType<Device["batch"]>, i: number) => { close(): void },
): Promise<number> {
  const samples: number[] = [];
  // Warm-up: GPUs drop their clocks while the host prepares data (on the H200 the first
  // ~150 ms after an idle second ran at 510 MHz instead of 1980), so keep the device busy
  // for a second before timing anything.
  const warmUntil = performance.now() + WARMUP_MS;
  for (let rep = 0; rep < BATCHES + 1; rep++) {
    const b = dev.batch();
    const outs = [];
    for (let i = 0; i < ops; i++) outs.push(encode(b, i));
    const t0 = performance.now();
    const times = await b.run();
    const wall = (performance.now() - t0) / 1000;
    for (const o of outs) o.close();
    b.close();
    if (rep === 0) { // warm-up: pipelines, page faults, clocks
      if (performance.now() < warmUntil) rep--;
      continue;
    }
    samples.push((times.gpuSeconds ?? wall) / ops);
  }
  return median(samples);
}

interface Row {
  device: string;
  shape: string;
  weights: string;
  kind: string;
  us: number;
  gbs: number;
  pctProbe: number;
  vsF32?: number;
}
const rows: Row[] = [];
const probes: Record<string, number> = {};

for (const { info, index } of benchDevices()) {
  using dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const gpu = info.backend !== "cpu";

  // 1. Read-bandwidth probe: a wrapping u32 sum over a buffer far larger than any cache.
  const probeBytes = Math.min(gpu ? 2 ** 31 : 2 ** 30, Math.floor(info.maxBufferBytes / 4) * 4);
  const words = new Uint32Array(probeBytes / 4);
  using data = dev.tensor(words, [words.length]);
  const probeS = await timeOps(dev, 8, (b) => b.readProbe(data));
  const probeGBs = probeBytes / probeS / 1e9;
  probes[label] = probeGBs;
  console.log(
    `${label}: read probe ${probeGBs.toFixed(1)} GB/s (${(probeBytes / 2 ** 20).toFixed(0)} MiB)`,
  );

  for (const [n, k] of SHAPES) {
    if (small && n * k >= 2 ** 28) continue;
    const tBytes = n * ternaryRowBytes(k);
    const fBytes = n * k * 4;
    const name = shapeName([n, k]);
    const modes = gpu ? ["cold"] : ["hot", "cold"];
    for (const mode of modes) {
      const copies = mode === "hot" ? 1 : Math.max(1, Math.ceil(COLD_BYTES / tBytes));
      const fCopies = mode === "hot" ? 1 : Math.max(1, Math.ceil(COLD_BYTES / fBytes));
      const ws: TernaryWeights[] = Array.from({ length: copies }, () => randomWeights(dev, n, k));
      const x1: Tensor<"f32"> = dev.tensor(randomF32(k), [1, k]);
      const x8: Tensor<"f32"> = dev.tensor(randomF32(8 * k), [8, k]);
      const q1: QuantizedActivations = await dev.quantizeActivations(x1);
      const q8: QuantizedActivations = await dev.quantizeActivations(x8);
      const ops = Math.max(copies, gpu ? 50 : 10);
      const t1 = await timeOps(dev, ops, (b, i) => b.bitlinear(q1, ws[i % copies]));
      const t8 = await timeOps(dev, ops, (b, i) => b.bitlinear(q8, ws[i % copies]));
      ws.forEach((w) => w.close());
      q1.close();
      q8.close();
      x8.close();
      const wf: Tensor<"f32">[] = Array.from(
        { length: fCopies },
        () => dev.tensor(randomF32(n * k), [n, k]),
      );
      const tf = await timeOps(
        dev,
        Math.max(fCopies, gpu ? 20 : 4),
        (b, i) => b.matmul(x1, wf[i % fCopies], { transposeB: true }),
      );
      wf.forEach((t) => t.close());
      x1.close();
      const weights = `${mode} (${((copies * tBytes) / 2 ** 20).toFixed(0)} MiB ternary)`;
      const add = (kind: string, s: number, bytes: number, vsF32?: number) => {
        const gbs = bytes / s / 1e9;
        rows.push({
          device: label,
          shape: name,
          weights,
          kind,
          us: s * 1e6,
          gbs,
          pctProbe: (100 * gbs) / probeGBs,
          vsF32,
        });
      };
      add("ternary 1 row", t1, tBytes, tf / t1);
      add("ternary 8 rows", t8, tBytes, tf / t8);
      add("f32 1 row", tf, fBytes);
      const last = rows.slice(-3);
      console.log(
        `${label} ${name} ${mode}: ` +
          last.map((r) =>
            `${r.kind} ${r.us.toFixed(1)} µs ${r.gbs.toFixed(1)} GB/s (${r.pctProbe.toFixed(0)}%)`
          ).join(", ") +
          `; ternary ${(tf / t1).toFixed(1)}× f32; 8 rows = ${(t8 / t1).toFixed(2)}× 1 row`,
      );
    }
  }
  dev.trimPool();
}

console.log("\n| device | shape k×n | weights | op | µs/op | GB/s | % of probe | × f32 |");
console.log("|---|---|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.device} | ${r.shape} | ${r.weights} | ${r.kind} | ${r.us.toFixed(1)} | ${
      r.gbs.toFixed(1)
    } | ${r.pctProbe.toFixed(0)}% | ${r.vsF32 ? r.vsF32.toFixed(1) + "×" : ""} |`,
  );
}
if (args.json) await Deno.writeTextFile(args.json, JSON.stringify({ probes, rows }, null, 2));
