/**
 * The shapes of the tensor-matmul benchmarks (bench/matmul_bench.ts, bench/matmul_report.ts,
 * and bench/torch_compare.py through the report's JSON).
 * @module
 */
import type { Batch, Device, Tensor } from "../mod.ts";
import { toF16 } from "../src/dtype.ts";
import { randomF32 } from "./common.ts";

/** One GEMM: C [m, n] = A [m, k] · B (B [k, n], or [n, k] with transposeB). */
export interface GemmShape {
  /** Short name: `1024³`, `m64 k2560 n6912`. */
  name: string;
  m: number;
  n: number;
  k: number;
  transposeB: boolean;
  /** What it is. */
  note: string;
}

/** Square GEMMs, then the BitNet b1.58 2B-4T projections as GEMMs over 64 tokens
 * (x [64, k] · Wᵀ with W [n, k], the nn.Linear layout). */
export const GEMM_SHAPES: readonly GemmShape[] = [
  ...[512, 1024, 2048, 4096].map((s) => ({
    name: `${s}³`,
    m: s,
    n: s,
    k: s,
    transposeB: false,
    note: "square, A·B",
  })),
  ...([[2560, 2560, "attention q/o"], [2560, 6912, "FFN up/gate"], [
    6912,
    2560,
    "FFN down",
  ]] as const)
    .map(([k, n, what]) => ({
      name: `m64 k${k} n${n}`,
      m: 64,
      n,
      k,
      transposeB: true,
      note: `2B-4T ${what}, 64 tokens, x·Wᵀ`,
    })),
];

/** The dtypes measured. */
export const GEMM_DTYPES = ["f32", "f16"] as const;

/** 2·m·n·k. */
export function gemmFlops(s: GemmShape): number {
  return 2 * s.m * s.n * s.k;
}

/** Operands of a shape on a device (random values in [-1, 1)); `host` caches the data. */
export function gemmOperands(
  dev: Device,
  s: GemmShape,
  dtype: "f32" | "f16",
  host: Map<string, Float32Array>,
): { a: Tensor<"f32"> | Tensor<"f16">; b: Tensor<"f32"> | Tensor<"f16"> } {
  const get = (key: string, n: number) => {
    let v = host.get(key);
    if (!v) host.set(key, v = randomF32(n));
    return v;
  };
  const A = get(`a ${s.m}x${s.k}`, s.m * s.k), B = get(`b ${s.k}x${s.n}`, s.k * s.n);
  const bShape = s.transposeB ? [s.n, s.k] : [s.k, s.n];
  if (dtype === "f32") {
    return { a: dev.tensor(A, [s.m, s.k]), b: dev.tensor(B, bShape) };
  }
  return { a: dev.tensor(toF16(A), [s.m, s.k]), b: dev.tensor(toF16(B), bShape) };
}

/** Encodes the tensor matmul of a shape into a batch. */
export function encodeGemm(
  b: Batch,
  s: GemmShape,
  x: { a: Tensor<"f32"> | Tensor<"f16">; b: Tensor<"f32"> | Tensor<"f16"> },
): Tensor<"f32"> {
  return b.gemm(x.a, x.b, { transposeB: s.transposeB });
}
