/**
 * Shared pieces of the benchmarks: the shapes, the devices to measure, and fast random
 * operands (packed ternary weights are generated directly in the TL2 layout, so a
 * 16384×16384 layer needs no 1 GiB f32 upload and quantization).
 * @module
 */
import { type Backend, Device, type DeviceInfo, type TernaryWeights } from "../mod.ts";
import { ternaryRowBytes } from "../src/abi.ts";

/** GEMV shapes [n (outputs), k (inputs)]: the BitNet b1.58 2B-4T layers and larger. */
export const SHAPES: readonly (readonly [number, number])[] = [
  [2560, 2560],
  [6912, 2560],
  [2560, 6912],
  [4096, 4096],
  [14336, 4096],
  [16384, 16384],
];

/** `n×k` as the README writes it (k inputs × n outputs, llama.cpp order). */
export function shapeName([n, k]: readonly [number, number]): string {
  return `${k}×${n}`;
}

/** One entry per device worth measuring: the CPU backend, every GPU, and a software
 * Vulkan driver (lavapipe) only when BITNET_BENCH_SOFTWARE=1 (it is a correctness tool). */
export function benchDevices(): { info: DeviceInfo; index: number }[] {
  const only = Deno.env.get("BITNET_BACKEND") as Backend | undefined;
  const software = Deno.env.get("BITNET_BENCH_SOFTWARE") === "1";
  const perBackend = new Map<string, number>();
  const out: { info: DeviceInfo; index: number }[] = [];
  for (const info of Device.list()) {
    const index = perBackend.get(info.backend) ?? 0;
    perBackend.set(info.backend, index + 1);
    if (only && info.backend !== only) continue;
    if (info.backend !== "cpu" && info.deviceType === "cpu" && !software) continue;
    out.push({ info, index });
  }
  return out;
}

/** A short label: "cpu", "vulkan:NVIDIA H200", … */
export function deviceLabel(info: DeviceInfo): string {
  return info.backend === "cpu" ? "cpu" : `${info.backend}:${info.name}`;
}

/** Valid TL2 bytes: four codes from {0, 1, 2} (81 of them); random bytes map onto them. */
const VALID = (() => {
  const v: number[] = [];
  for (let b = 0; b < 256; b++) {
    if (((b & 3) !== 3) && ((b >> 2 & 3) !== 3) && ((b >> 4 & 3) !== 3) && ((b >> 6) !== 3)) {
      v.push(b);
    }
  }
  return Uint8Array.from({ length: 256 }, (_, i) => v[i % v.length]);
})();

/** Random packed ternary codes for an n×k layer (padding codes are 01, i.e. zero). */
export function randomPacked(n: number, k: number): Uint8Array {
  const rb = ternaryRowBytes(k);
  const out = new Uint8Array(n * rb);
  for (let off = 0; off < out.length; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(out.length, off + 65536)));
  }
  for (let i = 0; i < out.length; i++) out[i] = VALID[out[i]];
  if (k % 128 !== 0) {
    // Padding weights must be code 01; the benchmark shapes are multiples of 128.
    throw new RangeError(`randomPacked: k = ${k} is not a multiple of 128`);
  }
  return out;
}

/** Uploads random ternary weights to dev ("private" storage on discrete GPUs). */
export function randomWeights(dev: Device, n: number, k: number): TernaryWeights {
  return dev.ternaryWeights(randomPacked(n, k), 0.0123, [n, k]);
}

/** Uniform f32 values in [-1, 1). */
export function randomF32(count: number): Float32Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = Math.random() * 2 - 1;
  return a;
}
