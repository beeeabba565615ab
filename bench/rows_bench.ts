/**
 * Reductions and transformer row ops: softmax (32×4096, 4096×4096), RMSNorm (64×2560,
 * 4096×4096), the fused RMSNorm → int8 quantization (64×2560) and a sum over 16M elements,
 * all f32. One `Deno.bench` group per op and shape with the CPU backend as the baseline
 * (devices from bench/common.ts: the CPU backend and every GPU; lavapipe only with
 * BITNET_BENCH_SOFTWARE=1).
 *
 * Before the benches register, each case is timed on the device's own clock (median of 5
 * batches of several ops) and its effective bandwidth printed: bytes read + written per
 * op (softmax: x and y; RMSNorm: x, w and y; rmsnormQuant: x, w, the int8 rows and the
 * scales; sum: x) over the time per op.
 * @module
 */
import { type Batch, Device, type Tensor } from "../mod.ts";
import { paddedK } from "../src/abi.ts";
import { benchDevices, deviceLabel, randomF32 } from "./common.ts";

interface Case {
  group: string;
  bytes: number;
  /** Allocates the operands; returns the op to encode and a cleanup. */
  setup(dev: Device): { encode(b: Batch): Disposable & { close(): void }; close(): void };
}

function softmaxCase(rows: number, cols: number): Case {
  return {
    group: `softmax ${rows}×${cols} f32`,
    bytes: 2 * rows * cols * 4,
    setup(dev) {
      const x: Tensor<"f32"> = dev.tensor(randomF32(rows * cols), [rows, cols]);
      return { encode: (b) => b.softmax(x), close: () => x.close() };
    },
  };
}

function rmsnormCase(rows: number, cols: number): Case {
  return {
    group: `rmsnorm ${rows}×${cols} f32`,
    bytes: 2 * rows * cols * 4 + cols * 4,
    setup(dev) {
      const x: Tensor<"f32"> = dev.tensor(randomF32(rows * cols), [rows, cols]);
      const w: Tensor<"f32"> = dev.tensor(randomF32(cols), [cols]);
      return {
        encode: (b) => b.rmsnorm(x, w),
        close: () => {
          x.close();
          w.close();
        },
      };
    },
  };
}

function rmsnormQuantCase(rows: number, cols: number): Case {
  return {
    group: `rmsnormQuant ${rows}×${cols} f32 → int8`,
    bytes: rows * cols * 4 + cols * 4 + rows * paddedK(cols) + rows * 4,
    setup(dev) {
      const x: Tensor<"f32"> = dev.tensor(randomF32(rows * cols), [rows, cols]);
      const w: Tensor<"f32"> = dev.tensor(randomF32(cols), [cols]);
      return {
        encode: (b) => b.rmsnormQuant(x, w),
        close: () => {
          x.close();
          w.close();
        },
      };
    },
  };
}

function sumCase(n: number): Case {
  return {
    group: `sum of ${n / 2 ** 20}M f32`,
    bytes: n * 4,
    setup(dev) {
      const x: Tensor<"f32"> = dev.tensor(randomF32(n), [n]);
      return { encode: (b) => b.sum(x), close: () => x.close() };
    },
  };
}

const CASES: Case[] = [
  softmaxCase(32, 4096),
  softmaxCase(4096, 4096),
  rmsnormCase(64, 2560),
  rmsnormCase(4096, 4096),
  rmsnormQuantCase(64, 2560),
  sumCase(16 * 2 ** 20),
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds per op (device clock when it has one) over 5 batches of `ops` ops. */
async function timeOps(dev: Device, ops: number, encode: (b: Batch) => { close(): void }) {
  const samples: number[] = [];
  for (let rep = 0; rep < 6; rep++) {
    const b = dev.batch();
    const outs = Array.from({ length: ops }, () => encode(b));
    const t0 = performance.now();
    const times = await b.run();
    const wall = (performance.now() - t0) / 1000;
    outs.forEach((o) => o.close());
    b.close();
    if (rep > 0) samples.push((times.gpuSeconds ?? wall) / ops); // rep 0 warms up
  }
  return median(samples);
}

for (const { info, index } of benchDevices()) {
  const dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const baseline = info.backend === "cpu";
  for (const c of CASES) {
    const op = c.setup(dev);
    const ops = Math.max(2, Math.min(50, Math.ceil(2 ** 28 / c.bytes)));
    const s = await timeOps(dev, ops, op.encode);
    console.log(
      `${label} ${c.group}: ${(s * 1e6).toFixed(1)} µs/op, ${(c.bytes / s / 1e9).toFixed(1)} GB/s`,
    );
    Deno.bench(label, { group: c.group, baseline }, async () => {
      using b = dev.batch();
      using _y = op.encode(b);
      await b.run();
    });
  }
}
