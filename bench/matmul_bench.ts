/**
 * `deno bench -A bench/matmul_bench.ts`: the tensor matmul (`dev.gemm`, `BN_OP_MATMUL`) on
 * every device, one group per shape and dtype with the CPU backend as the baseline — square
 * GEMMs (512³ … 4096³) and the BitNet b1.58 2B-4T projections over 64 tokens — f32 and f16
 * operands, f32 accumulation. When the run ends it prints TFLOPS (best device time of the
 * iterations; bench/matmul_report.ts gives medians on the device clock and writes JSON).
 *
 * Each iteration is one batch (one await), so Deno's times include the FFI round trip.
 * `BITNET_BENCH_SMALL=1` skips 4096³.
 * @module
 */
import { Device } from "../mod.ts";
import { benchDevices, deviceLabel } from "./common.ts";
import {
  encodeGemm,
  GEMM_DTYPES,
  GEMM_SHAPES,
  gemmFlops,
  gemmOperands,
  type GemmShape,
} from "./matmul_shapes.ts";

const SMALL = Deno.env.get("BITNET_BENCH_SMALL") === "1";
const shapes = GEMM_SHAPES.filter((s) => !SMALL || s.m * s.n * s.k < 2 ** 36);

const best = new Map<string, { label: string; group: string; s: GemmShape; seconds: number }>();
const host = new Map<string, Float32Array>();

for (const { info, index } of benchDevices()) {
  const dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const cpu = info.backend === "cpu";
  for (const s of shapes) {
    for (const dtype of GEMM_DTYPES) {
      const x = gemmOperands(dev, s, dtype, host);
      const group = `gemm ${s.name} ${dtype}`;
      // The CPU needs seconds for 4096³: a few iterations only.
      const slow = cpu && gemmFlops(s) > 2e10;
      Deno.bench(`${label} ${dtype}`, {
        group,
        baseline: cpu,
        ...(slow ? { n: 3, warmup: 1 } : {}),
      }, async () => {
        using b = dev.batch();
        using _c = encodeGemm(b, s, x);
        const t = await b.run();
        const key = `${label}\u0000${group}`;
        const sec = t.gpuSeconds ?? t.elapsedSeconds ?? Infinity;
        const cur = best.get(key);
        if (!cur || sec < cur.seconds) best.set(key, { label, group, s, seconds: sec });
      });
    }
  }
}

globalThis.addEventListener("unload", () => {
  if (best.size === 0) return;
  console.log("\ntensor matmul, best device time per op:");
  console.log("| device | shape | dtype | ms | TFLOPS |");
  console.log("|---|---|---|---:|---:|");
  for (const { label, group, s, seconds } of best.values()) {
    console.log(
      `| ${label} | ${s.name} | ${group.split(" ").pop()} | ${(seconds * 1e3).toFixed(3)} | ${
        (gemmFlops(s) / seconds / 1e12).toPrecision(3)
      } |`,
    );
  }
});
