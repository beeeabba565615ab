/**
 * The m = 1 GEMV geometries side by side: every geometry of bitlinear_gemv_team.glsl (dot4
 * and plain) and of the f32 GEMV (matmul_f32_gemv, matmul_f32_gemv_team.glsl), forced one at
 * a time through BITNET_GEMV_VARIANT / BITNET_GEMV_F32_VARIANT (objc/core/gpu_plan.c reads
 * them at every plan), and "auto" (what the plan picks by itself).
 *
 * 1. Exactness: every variant against the CPU backend at odd shapes (int32 and f32 modes bit
 *    for bit; f32 GEMV within a bound of k·2^-22 · Σ|a·b|).
 * 2. Timing (skipped with --check): what idling does to the clock (consecutive batches
 *    after 3 s idle), the read probe on 1 GiB of random words, the per-op floor of a tiny
 *    bitlinear, then µs per op on the device clock at each shape, "cold" (enough weight
 *    copies that ≥ 128 MiB stream per pass, so the L2 cannot hold them), on random weights,
 *    every shape after a warm-up and with the variants interleaved (see below); constant
 *    data at the largest shapes as a diagnostic (on an H200 it reads as fast as random data
 *    once the clocks are up).
 *
 *   deno run -A bench/gemv_variants.ts [--check] [--smoke] [--json out.json]
 *
 * --smoke: tiny shapes only, to try the script on a software driver.
 * @module
 */
import { parseArgs } from "node:util";
import { Device, type Tensor, type TernaryWeights } from "../mod.ts";
import { paddedK, ternaryRowBytes } from "../src/abi.ts";
import * as R from "../src/reference.ts";
import { readGpuThermal } from "../src/thermal.ts";
import { benchDevices, deviceLabel, randomPacked } from "./common.ts";

const { values: args } = parseArgs({
  options: {
    check: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    json: { type: "string" },
  },
});

/** Variant names: objc/core/gpu_plan.c BL_VARIANTS / MM_VARIANTS ("" = the plan's choice;
 * "/plain" = the plain-integer bitlinear shader on a device with int dot products). */
const BL = ["t64r4u1", "t64r4u4", "w256t64r4u4", "w128t32r4u2"];
const MM = ["t64r4u1", "t128r4u4", "t256r2u8"];
const BL_ALL = ["", ...BL, ...BL.map((v) => `${v}/plain`)];
const MM_ALL = ["", ...MM];

function setVariant(bl: string, mm: string) {
  Deno.env.set("BITNET_GEMV_VARIANT", bl);
  Deno.env.set("BITNET_GEMV_F32_VARIANT", mm);
}

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// ---- 1. exactness ----------------------------------------------------------------------

async function checkVariants(dev: Device, cpu: Device): Promise<number> {
  let failures = 0;
  const blShapes: [number, number][] = [
    [1, 1],
    [5, 100],
    [67, 300],
    [130, 1000],
    [33, 2560],
    [257, 4096],
    [40, 16384 + 5],
  ];
  // Random rows, then extremes: rows of all +1, all −1, alternating, all 0 against
  // activations of all −128 or all 127 (the largest sums and lane values).
  const cases: [number, number, number][] = [
    ...blShapes.map(([n, k]): [number, number, number] => [n, k, 0]),
    [4, 4096, -128],
    [4, 16384 + 5, -128],
    [4, 16384 + 5, 127],
  ];
  for (const [n, k, fill] of cases) {
    const kp = paddedK(k);
    const r = rng(n * 7919 + k);
    const wq = Int8Array.from({ length: n * k }, () => Math.floor(r() * 3) - 1);
    if (n > 2) wq.fill(1, 0, k); // row 0 all +1 and x = 127 below in places: large sums
    if (fill) {
      wq.fill(-1, k, 2 * k);
      for (let c = 0; c < k; c++) wq[2 * k + c] = c % 2 ? 1 : -1;
      wq.fill(0, 3 * k, 4 * k);
    }
    const packed = R.packTernary(wq, n, k);
    const xq = new Int8Array(kp);
    for (let c = 0; c < k; c++) xq[c] = c % 97 === 0 ? 127 : Math.floor(r() * 255) - 127;
    if (fill) xq.fill(fill, 0, k);
    const xs = new Float32Array([Math.fround(0.001 + r() * 0.05)]);
    const ws = Math.fround(0.01 + r() * 0.1);
    const want: Int32Array[] = [];
    const wantF: Float32Array[] = [];
    {
      using tw = cpu.ternaryWeights(packed, ws, [n, k]);
      using qa = cpu.quantizedActivations(xq, xs, [1, k]);
      using yi = await cpu.bitlinear(qa, tw, { output: "int32" });
      using yf = await cpu.bitlinear(qa, tw);
      want.push(await yi.read());
      wantF.push(await yf.read());
    }
    using tw = dev.ternaryWeights(packed, ws, [n, k]);
    using qa = dev.quantizedActivations(xq, xs, [1, k]);
    for (const v of BL_ALL) {
      setVariant(v, "");
      using b = dev.batch();
      using yi = b.bitlinear(qa, tw, { output: "int32" });
      using yf = b.bitlinear(qa, tw);
      await b.run();
      const gi = await yi.read();
      const gf = new Uint32Array((await yf.read()).buffer);
      const wf = new Uint32Array(wantF[0].buffer);
      let bad = 0;
      for (let i = 0; i < n; i++) if (gi[i] !== want[0][i] || gf[i] !== wf[i]) bad++;
      if (bad) {
        failures++;
        console.log(`MISMATCH bitlinear ${v || "auto"} n=${n} k=${k} x=${fill}: ${bad} of ${n}`);
      }
    }
  }
  const mmShapes: [number, number][] = [[1, 1], [5, 3], [130, 1000], [300, 255], [64, 4096], [
    37,
    16384 + 4,
  ]];
  for (const [n, k] of mmShapes) {
    const r = rng(n * 31 + k);
    const a = Float32Array.from({ length: k }, () => r() * 2 - 1);
    const bm = Float32Array.from({ length: n * k }, () => r() * 2 - 1);
    const ref = R.matmul(a, bm, 1, n, k, true);
    const abs = R.matmulAbs(a, bm, 1, n, k, true);
    using at = dev.tensor(a, [1, k]);
    using bt = dev.tensor(bm, [n, k]);
    for (const v of MM_ALL) {
      setVariant("", v);
      using c = await dev.matmul(at, bt, { transposeB: true });
      const got = await c.read();
      let bad = 0;
      for (let j = 0; j < n; j++) {
        if (!(Math.abs(got[j] - ref[j]) <= abs[j] * k * 2 ** -22 + 1e-30)) bad++;
      }
      if (bad) {
        failures++;
        console.log(`MISMATCH matmul_f32 ${v || "auto"} n=${n} k=${k}: ${bad} of ${n} outputs`);
      }
    }
  }
  setVariant("", "");
  return failures;
}

// ---- 2. timing ---------------------------------------------------------------------------
//
// GPUs lower their clocks when idle and take a few hundred ms of load to raise them again;
// this script idles while it generates data, so every shape is measured only after
// `warm()` has kept the GPU busy for WARM_MS, and the variants of a shape are interleaved
// (ROUNDS rounds of one batch per variant; the median per variant), so that a drifting clock
// affects all of them alike. The SM clock NVML reports after each shape is printed.

const WARM_MS = 1500;
const ROUNDS = 7;
const COLD_BYTES = (args.smoke ? 1 : 128) * 2 ** 20;
const BL_TIMED = BL_ALL;
const MM_TIMED = MM_ALL;
const BL_SHAPES: [number, number][] = args.smoke ? [[512, 1024], [300, 2560]] : [ // [n, k]
  [65536, 16384],
  [16384, 16384],
  [4096, 14336],
  [14336, 4096],
  [4096, 4096],
  [2560, 2560],
  [6912, 2560],
  [2560, 6912],
];
const MM_SHAPES: [number, number][] = args.smoke ? [[512, 1024]] : [
  [16384, 16384],
  [4096, 14336],
  [14336, 4096],
  [4096, 4096],
  [2560, 2560],
  [6912, 2560],
];

interface Row {
  kind: string;
  shape: string;
  variant: string;
  data: string;
  us: number;
  gbs: number;
  pct: number;
}

function table(rows: Row[], kind: string, data: string, variants: string[], probe: number) {
  const rs = rows.filter((r) => r.kind === kind && r.data === data);
  const shapes = [...new Set(rs.map((r) => r.shape))];
  if (!shapes.length) return;
  console.log(`\n${kind}, ${data}: µs per op (% of the ${probe.toFixed(0)} GB/s probe)`);
  console.log(["variant".padEnd(18), ...shapes.map((s) => s.padStart(14))].join(""));
  for (const v of variants) {
    const cells = shapes.map((s) => {
      const r = rs.find((x) => x.shape === s && x.variant === (v || "auto"));
      return (r ? `${r.us.toFixed(1)} ${r.pct.toFixed(0)}%` : "-").padStart(14);
    });
    console.log([(v || "auto").padEnd(18), ...cells].join(""));
  }
}

async function smClock(): Promise<string> {
  try {
    const g = await readGpuThermal(0);
    return `SM ${g.smClockMHz ?? "?"} MHz, mem ${g.memClockMHz ?? "?"} MHz, ${
      g.powerW?.toFixed(0) ?? "?"
    } W`;
  } catch {
    return "SM clock unknown";
  }
}

/** One batch of `ops` ops: seconds per op on the device clock. */
async function batchSeconds(
  dev: Device,
  ops: number,
  encode: (b: ReturnType<Device["batch"]>, i: number) => { close(): void },
): Promise<number> {
  const b = dev.batch();
  const outs = [];
  for (let i = 0; i < ops; i++) outs.push(encode(b, i));
  const t0 = performance.now();
  const t = await b.run();
  const wall = (performance.now() - t0) / 1000;
  for (const o of outs) o.close();
  b.close();
  return (t.gpuSeconds ?? wall) / ops;
}

/** Median seconds per op of each variant: ROUNDS interleaved rounds after a warm-up round. */
async function timeVariants(
  dev: Device,
  variants: string[],
  set: (v: string) => void,
  ops: number,
  encode: (b: ReturnType<Device["batch"]>, i: number) => { close(): void },
): Promise<number[]> {
  const samples: number[][] = variants.map(() => []);
  for (let round = 0; round <= ROUNDS; round++) {
    for (let v = 0; v < variants.length; v++) {
      set(variants[v]);
      const s = await batchSeconds(dev, ops, encode);
      if (round > 0) samples[v].push(s);
    }
  }
  return samples.map(median);
}

for (const { info, index } of benchDevices()) {
  if (info.backend === "cpu") continue;
  using dev = await Device.open({ backend: info.backend, index });
  using cpu = await Device.open({ backend: "cpu" });
  const label = deviceLabel(info);
  console.log(
    `${label}: subgroup ${info.subgroupSize}, intDot ${info.caps.intDot}, ${
      (info.memoryBytes / 2 ** 30).toFixed(0)
    } GiB`,
  );
  const failures = await checkVariants(dev, cpu);
  console.log(`exactness: ${failures === 0 ? "all variants match" : `${failures} FAILURES`}`);
  if (args.check) {
    if (failures) Deno.exit(1);
    continue;
  }

  const rows: Row[] = [];
  const notes: string[] = [];
  let probe = NaN;
  const outFile = args.json ??
    (Deno.env.get("OUT") ? `${Deno.env.get("OUT")}/gemv_variants.json` : "");
  /** Writes what is measured so far (after every shape: a run cut short keeps its results). */
  const save = () => {
    if (!outFile) return;
    Deno.writeTextFileSync(
      outFile,
      JSON.stringify({ device: label, probe, notes, failures, rows }, null, 1),
    );
  };
  const add = (kind: string, n: number, k: number, data: string, v: string, s: number) => {
    const bytes = kind === "f32" ? n * k * 4 : n * ternaryRowBytes(k);
    const gbs = bytes / s / 1e9;
    rows.push({
      kind,
      shape: `${k}x${n}`,
      variant: v || "auto",
      data,
      us: s * 1e6,
      gbs,
      pct: (100 * gbs) / probe,
    });
  };

  // The probe's buffer (1 GiB of random words) also serves to keep the GPU busy.
  const words = Math.min(args.smoke ? 2 ** 22 : 2 ** 28, Math.floor(info.maxBufferBytes / 4));
  const pdata = new Uint32Array(words);
  for (let o = 0; o < words; o += 16384) crypto.getRandomValues(pdata.subarray(o, o + 16384));
  using pt = dev.tensor(pdata, [words]);
  const warm = async (ms = WARM_MS) => {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) await batchSeconds(dev, 16, (b) => b.readProbe(pt));
  };

  // A. What idling does: after 3 s idle, consecutive batches of the t64r4u1 ternary GEMV on
  //    256 MiB of random weights (µs per op, and ms since the first batch started).
  const [bn, bk] = args.smoke ? [1024, 1024] : [65536, 16384];
  const big = randomPacked(bn, bk);
  if (big.length <= info.maxBufferBytes) {
    using tw = dev.ternaryWeights(big, 0.0123, [bn, bk]);
    const xq = new Int8Array(bk).map((_, i) => ((i * 37) % 255) - 127);
    using qa = dev.quantizedActivations(xq, new Float32Array([0.01]), [1, bk]);
    setVariant("t64r4u1", "");
    await batchSeconds(dev, 1, (b) => b.bitlinear(qa, tw)); // pipeline built
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = performance.now();
    const seq: string[] = [];
    for (let i = 0; i < 24; i++) {
      const s = await batchSeconds(dev, 16, (b) => b.bitlinear(qa, tw));
      seq.push(`${(s * 1e6).toFixed(0)}@${(performance.now() - t0).toFixed(0)}ms`);
    }
    notes.push(`after 3 s idle, ternary t64r4u1 (dot4) ${bk}x${bn} per batch: ${seq.join(" ")}`);
    notes.push(`then ${await smClock()}`);
  }

  // B. Probe and per-op floor, warm.
  await warm();
  {
    const xs: number[] = [];
    for (let r = 0; r < 5; r++) xs.push(await batchSeconds(dev, 8, (b) => b.readProbe(pt)));
    const s = median(xs);
    probe = (words * 4) / s / 1e9;
    notes.push(
      `read probe ${(words * 4 / 2 ** 20).toFixed(0)} MiB random: ${probe.toFixed(0)} GB/s`,
    );
  }
  {
    using tw = dev.ternaryWeights(randomPacked(64, 128), 0.01, [64, 128]);
    const xq = new Int8Array(128).fill(3);
    using qa = dev.quantizedActivations(xq, new Float32Array([1]), [1, 128]);
    const vs = ["t64r4u1", "t64r4u4", "w256t64r4u4"];
    const ts = await timeVariants(
      dev,
      vs,
      (v) => setVariant(v, ""),
      64,
      (b) => b.bitlinear(qa, tw),
    );
    notes.push(
      `per-op floor (bitlinear 128x64, 64 ops/batch): ${
        vs.map((v, i) => `${v} ${(ts[i] * 1e6).toFixed(2)} µs`).join(", ")
      }`,
    );
  }
  save();

  // C. Ternary, random weights, cold (prefixes of one random TL2 buffer).
  for (const [n, k] of BL_SHAPES) {
    const bytes = n * ternaryRowBytes(k);
    if (bytes > info.maxBufferBytes || bytes > big.length) continue;
    const copies = Math.max(1, Math.ceil(COLD_BYTES / bytes));
    const ws: TernaryWeights[] = Array.from(
      { length: copies },
      () => dev.ternaryWeights(big.subarray(0, bytes), 0.0123, [n, k]),
    );
    const xq = new Int8Array(paddedK(k));
    const r = rng(k);
    for (let c = 0; c < k; c++) xq[c] = Math.floor(r() * 255) - 127;
    using qa = dev.quantizedActivations(xq, new Float32Array([0.01]), [1, k]);
    const ops = Math.ceil(Math.max(copies, 16) / copies) * copies;
    await warm();
    const ts = await timeVariants(
      dev,
      BL_TIMED,
      (v) => setVariant(v, ""),
      ops,
      (b, i) => b.bitlinear(qa, ws[i % copies]),
    );
    ts.forEach((s, i) => add("ternary", n, k, "random cold", BL_TIMED[i], s));
    notes.push(`ternary ${k}x${n}: ${copies} copies, ${ops} ops/batch, ${await smClock()}`);
    ws.forEach((w) => w.close());
    save();
  }
  // Constant weights (0x66) at the largest shape: does the data matter once warm?
  {
    const [n, k] = BL_SHAPES[0];
    const bytes = n * ternaryRowBytes(k);
    if (bytes <= info.maxBufferBytes) {
      using tw = dev.ternaryWeights(new Uint8Array(bytes).fill(0x66), 0.01, [n, k]);
      const xq = new Int8Array(paddedK(k)).fill(-5);
      using qa = dev.quantizedActivations(xq, new Float32Array([1]), [1, k]);
      const vs = ["", "t64r4u1", "t64r4u1/plain"];
      await warm();
      const ts = await timeVariants(
        dev,
        vs,
        (v) => setVariant(v, ""),
        16,
        (b) => b.bitlinear(qa, tw),
      );
      ts.forEach((s, i) => add("ternary", n, k, "constant", vs[i], s));
    }
  }
  setVariant("", "");
  dev.trimPool();
  save();

  // D. f32 GEMV (B [n][k]), random, cold (prefixes of one random f32 buffer), then constant.
  {
    const maxEl = Math.max(...MM_SHAPES.map(([n, k]) => n * k));
    const bigf = new Float32Array(maxEl);
    const r = rng(12345);
    for (let i = 0; i < maxEl; i++) bigf[i] = r() * 2 - 1;
    for (const [n, k] of MM_SHAPES) {
      const bytes = n * k * 4;
      if (bytes > info.maxBufferBytes) continue;
      const copies = Math.max(1, Math.ceil(COLD_BYTES / bytes));
      const bs: Tensor<"f32">[] = Array.from(
        { length: copies },
        () => dev.tensor(bigf.subarray(0, n * k), [n, k]),
      );
      using x = dev.tensor(bigf.subarray(0, k), [1, k]);
      const ops = Math.ceil(Math.max(copies, 8) / copies) * copies;
      await warm();
      const ts = await timeVariants(
        dev,
        MM_TIMED,
        (v) => setVariant("", v),
        ops,
        (b, i) => b.matmul(x, bs[i % copies], { transposeB: true }),
      );
      ts.forEach((s, i) => add("f32", n, k, "random cold", MM_TIMED[i], s));
      notes.push(`f32 ${k}x${n}: ${copies} copies, ${ops} ops/batch, ${await smClock()}`);
      bs.forEach((t) => t.close());
      save();
    }
    const [n, k] = MM_SHAPES[0];
    if (n * k * 4 <= info.maxBufferBytes) {
      using bt = dev.tensor(new Float32Array(n * k).fill(1 / 256), [n, k]);
      using x = dev.tensor(bigf.subarray(0, k), [1, k]);
      const vs = ["", "t64r4u1"];
      await warm();
      const ts = await timeVariants(
        dev,
        vs,
        (v) => setVariant("", v),
        8,
        (b) => b.matmul(x, bt, { transposeB: true }),
      );
      ts.forEach((s, i) => add("f32", n, k, "constant", vs[i], s));
    }
  }
  setVariant("", "");
  save();

  // Most important last (a captured tail keeps the end); everything is in the JSON too.
  console.log(`\n${label}`);
  for (const line of notes) console.log(line);
  table(rows, "ternary", "constant", ["", "t64r4u1", "t64r4u1/plain"], probe);
  table(rows, "f32", "constant", ["", "t64r4u1"], probe);
  table(rows, "f32", "random cold", MM_TIMED, probe);
  table(rows, "ternary", "random cold", BL_TIMED, probe);
  console.log(`\nexactness failures: ${failures}`);
}
