/**
 * `deno task bench`: BitLinear GEMV (ternary × int8) and the f32 GEMV it replaces, at the
 * BitNet b1.58 2B-4T shapes and larger, plus the quantization ops. One group per op and
 * shape, with the CPU backend as the baseline, so `deno bench` prints each GPU's speed-up.
 * GB/s and % of the measured bandwidth are printed by bench/report.ts, which the task runs
 * after this file.
 *
 * Each iteration is one batch (one await), so the times include the FFI round trip
 * (tens of µs); bench/report.ts also gives the device's own time per op.
 * @module
 */
import { Device, type QuantizedActivations, type Tensor, type TernaryWeights } from "../mod.ts";
import {
  benchDevices,
  deviceLabel,
  randomF32,
  randomWeights,
  shapeName,
  SHAPES,
} from "./common.ts";

const SMALL = Deno.env.get("BITNET_BENCH_SMALL") === "1"; // skip the 16384×16384 layer
const shapes = SHAPES.filter(([n, k]) => !SMALL || n * k < 2 ** 28);

for (const { info, index } of benchDevices()) {
  const dev = await Device.open({ backend: info.backend, index });
  const label = deviceLabel(info);
  const baseline = info.backend === "cpu";
  for (const [n, k] of shapes) {
    const w: TernaryWeights = randomWeights(dev, n, k);
    const x1: Tensor<"f32"> = dev.tensor(randomF32(k), [1, k]);
    const x8: Tensor<"f32"> = dev.tensor(randomF32(8 * k), [8, k]);
    const q1: QuantizedActivations = await dev.quantizeActivations(x1);
    const q8: QuantizedActivations = await dev.quantizeActivations(x8);
    const wf: Tensor<"f32"> = dev.tensor(randomF32(n * k), [n, k]);
    const name = shapeName([n, k]);
    Deno.bench(`${label} ternary`, { group: `bitlinear 1 row ${name}`, baseline }, async () => {
      using b = dev.batch();
      using _y = b.bitlinear(q1, w);
      await b.run();
    });
    Deno.bench(`${label} ternary`, { group: `bitlinear 8 rows ${name}`, baseline }, async () => {
      using b = dev.batch();
      using _y = b.bitlinear(q8, w);
      await b.run();
    });
    Deno.bench(`${label} f32`, { group: `f32 gemv ${name}`, baseline }, async () => {
      using b = dev.batch();
      using _y = b.matmul(x1, wf, { transposeB: true });
      await b.run();
    });
  }
  const wq: Tensor<"f32"> = dev.tensor(randomF32(4096 * 4096), [4096, 4096]);
  Deno.bench(`${label}`, { group: "quantize_ternary 4096×4096", baseline }, async () => {
    using b = dev.batch();
    using _t = b.quantizeTernary(wq);
    await b.run();
  });
  const xa: Tensor<"f32"> = dev.tensor(randomF32(64 * 4096), [64, 4096]);
  Deno.bench(`${label}`, { group: "quantize_act_int8 64×4096", baseline }, async () => {
    using b = dev.batch();
    using _q = b.quantizeActivations(xa);
    await b.run();
  });
}
