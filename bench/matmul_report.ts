/**
 * Tensor-matmul throughput (`BN_OP_MATMUL` through `dev.gemm`) on every device: square
 * GEMMs 512³ … 4096³ and the BitNet b1.58 2B-4T projections as GEMMs over 64 tokens, f32
 * and f16 operands (f32 accumulation and output). For f32 on GPUs the older
 * `BN_OP_MATMUL_F32` kernel (`dev.matmul`) is measured too, for comparison.
 *
 * Time per op is the device's own clock (`Batch.run()` → gpuSeconds; the CPU backend
 * reports its kernels' wall time): the median of BATCHES batches of several ops each, after
 * one warm-up batch; ops per batch are chosen so that a batch takes ~OPS_TARGET_S.
 *
 *   deno run -A bench/matmul_report.ts [--json out.json] [--small] [--no-cpu]
 *
 * --small skips 4096³; --no-cpu measures GPUs only. bench/torch_compare.py reads the JSON.
 * @module
 */
import { parseArgs } from "node:util";
import { Device, type Tensor } from "../mod.ts";
import { benchDevices, deviceLabel } from "./common.ts";
import {
  encodeGemm,
  GEMM_DTYPES,
  GEMM_SHAPES,
  gemmFlops,
  gemmOperands,
  type GemmShape,
} from "./matmul_shapes.ts";

const { values: args } = parseArgs({
  options: {
    json: { type: "string" },
    small: { type: "boolean", default: false },
    "no-cpu": { type: "boolean", default: false },
  },
});
const BATCHES = 5;
const OPS_TARGET_S = 0.02;
const MAX_OPS = 64;

/** TFLOPS with 3 significant digits (CPUs and software GPUs are far below 1). */
function tf(x: number): string {
  return x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median device seconds per op. */
async function timeOps(dev: Device, encode: (b: ReturnType<Device["batch"]>) => Tensor) {
  const one = async (ops: number) => {
    const b = dev.batch();
    const outs: Tensor[] = [];
    try {
      for (let i = 0; i < ops; i++) outs.push(encode(b));
      const t0 = performance.now();
      const times = await b.run();
      const wall = (performance.now() - t0) / 1000;
      return (times.gpuSeconds ?? wall) / ops;
    } finally {
      for (const o of outs) o.close();
      b.close();
    }
  };
  const first = await one(1); // warm-up: pipelines, page faults, clocks
  const ops = Math.max(1, Math.min(MAX_OPS, Math.ceil(OPS_TARGET_S / Math.max(first, 1e-7))));
  const samples: number[] = [];
  const batches = first > 0.5 ? 3 : BATCHES; // a slow CPU at 4096³: fewer samples
  for (let i = 0; i < batches; i++) samples.push(await one(ops));
  return { seconds: median(samples), ops, batches };
}

interface Row {
  device: string;
  backend: string;
  shape: string;
  m: number;
  n: number;
  k: number;
  transposeB: boolean;
  dtype: "f32" | "f16";
  op: "gemm" | "matmul_f32";
  seconds: number;
  tflops: number;
  opsPerBatch: number;
}
const rows: Row[] = [];
const host = new Map<string, Float32Array>();
const shapes: readonly GemmShape[] = GEMM_SHAPES.filter((s) =>
  !args.small || s.m * s.n * s.k < 2 ** 36
);

for (const { info, index } of benchDevices()) {
  if (args["no-cpu"] && info.backend === "cpu") continue;
  using dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const gpu = info.backend !== "cpu";
  for (const s of shapes) {
    for (const dtype of GEMM_DTYPES) {
      const x = gemmOperands(dev, s, dtype, host);
      try {
        const add = (op: Row["op"], t: { seconds: number; ops: number }) => {
          const tflops = gemmFlops(s) / t.seconds / 1e12;
          rows.push({
            device: label,
            backend: info.backend,
            shape: s.name,
            m: s.m,
            n: s.n,
            k: s.k,
            transposeB: s.transposeB,
            dtype,
            op,
            seconds: t.seconds,
            tflops,
            opsPerBatch: t.ops,
          });
          console.log(
            `${label} ${s.name} ${dtype} ${op}: ${(t.seconds * 1e3).toFixed(3)} ms/op, ` +
              `${tf(tflops)} TFLOPS (${t.ops} ops/batch)`,
          );
        };
        add("gemm", await timeOps(dev, (b) => encodeGemm(b, s, x)));
        if (gpu && dtype === "f32") {
          const a = x.a as Tensor<"f32">, bt = x.b as Tensor<"f32">;
          add(
            "matmul_f32",
            await timeOps(dev, (b) => b.matmul(a, bt, { transposeB: s.transposeB })),
          );
        }
      } finally {
        x.a.close();
        x.b.close();
      }
    }
  }
  dev.trimPool();
}

console.log("\n| device | shape | dtype | op | ms/op | TFLOPS |");
console.log("|---|---|---|---|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.device} | ${r.shape} | ${r.dtype} | ${r.op} | ${(r.seconds * 1e3).toFixed(3)} | ${
      tf(r.tflops)
    } |`,
  );
}
if (args.json) {
  await Deno.writeTextFile(
    args.json,
    JSON.stringify({ shapes: GEMM_SHAPES, rows }, null, 2),
  );
  console.log(`wrote ${args.json}`);
}
