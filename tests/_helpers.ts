/**
 * Shared test helpers: the devices under test, seeded data, and comparisons that print
 * the first mismatches.
 *
 * Devices: every device `Device.list()` reports, restricted to one backend by
 * `BITNET_BACKEND=cpu|vulkan|metal`. Each test file opens each device once (lazily) and
 * closes it when the file's tests end.
 *
 * @module
 */

import { AssertionError } from "node:assert/strict";
import { Device, type DeviceInfo } from "../mod.ts";

// ---- tolerances (named, used by every backend) ---------------------------------------

/** Ternary scale (absmean): CPU sums in double, GPUs in f32 trees. Relative. */
export const SCALE_RTOL_TERNARY = 1e-5;
/** Activation scale `amax / 127`: one IEEE division of an exact max. Relative (2 ulp). */
export const SCALE_RTOL_ACT = 2.5e-7;
/**
 * A quantized code may differ (by one step) from the reference only where the value
 * before rounding lies within this distance of a rounding tie, relative to max(1, |v|).
 */
export const TIE_EPS = 1e-6;
/** bitlinear f32 output `fround(acc) · fround(ws · xs)`: two IEEE products. Relative. */
export const BITLINEAR_F32 = { atol: 0, rtol: 2.5e-7 } as const;
/** dequantizeTernary: `q · scale` is exact. */
export const DEQUANT = { atol: 0, rtol: 0 } as const;
/**
 * matmul_f32 against a double reference: f32 accumulation in any order. Per element
 * `|got − ref| ≤ atol·Σ|a·b| + rtol·|ref|` (the usual error bound scale of a dot product).
 */
export const MATMUL = { atolOfAbsSum: 2 ** -16, rtol: 1e-6 } as const;

// ---- environment ------------------------------------------------------------------------

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

let all: readonly DeviceInfo[] | undefined;

/** All devices the library reports (loads the library on first use). */
export function allDevices(): readonly DeviceInfo[] {
  all ??= Device.list();
  return all;
}

/** The devices the suite runs on (BITNET_BACKEND restricts to one backend). */
export function devicesUnderTest(): readonly DeviceInfo[] {
  const only = env("BITNET_BACKEND");
  return only ? allDevices().filter((d) => d.backend === only) : allDevices();
}

/** `cpu:0`, `vulkan:0`, … */
export function label(info: DeviceInfo): string {
  return `${info.backend}:${info.backendIndex}`;
}

/** Opens a fresh device for this info (the caller closes it). */
export function openDevice(info: DeviceInfo): Promise<Device> {
  return Device.open({ backend: info.backend, index: info.backendIndex });
}

const cache = new Map<number, Device>();
globalThis.addEventListener("unload", () => {
  for (const d of cache.values()) d.close();
});

/** The shared device of this test file for `info` (opened once). */
export async function sharedDevice(info: DeviceInfo): Promise<Device> {
  let d = cache.get(info.index);
  if (!d || d.closed) {
    d = await openDevice(info);
    cache.set(info.index, d);
  }
  return d;
}

/** The CPU backend's device info (the cross-backend oracle), if present. */
export function cpuInfo(): DeviceInfo | undefined {
  return allDevices().find((d) => d.backend === "cpu");
}

/**
 * Registers `name [backend:i]` once per device under test, with the file's shared device.
 * When no device is under test, registers one ignored test saying so.
 */
export function deviceTest(
  name: string,
  fn: (dev: Device, info: DeviceInfo) => Promise<void> | void,
  options: { ignore?: (info: DeviceInfo) => boolean } = {},
): void {
  const devices = devicesUnderTest();
  if (devices.length === 0) {
    Deno.test({ name: `${name} [no device under test]`, ignore: true, fn() {} });
    return;
  }
  for (const info of devices) {
    Deno.test({
      name: `${name} [${label(info)}]`,
      ignore: options.ignore?.(info) ?? false,
      async fn() {
        const dev = await sharedDevice(info);
        await fn(dev, info);
      },
    });
  }
}

/**
 * Registers a last test that checks every tensor the file's tests made was freed (pool
 * buffers in use = 0 on each shared device). Call it at the end of a test file.
 */
export function leakCheck(): void {
  Deno.test("no tensors leaked by this file's tests", () => {
    for (const [index, dev] of cache) {
      if (dev.closed) continue;
      const stats = dev.poolStats();
      if (stats.buffersInUse !== 0) {
        throw new AssertionError({
          message: `device ${index} (${dev.backend}) still has ${stats.buffersInUse} buffers ` +
            `(${stats.bytesInUse} bytes) in use`,
        });
      }
    }
  });
}

// ---- data ----------------------------------------------------------------------------------

/** A seeded PRNG (mulberry32): uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n f32 values uniform in [lo, hi). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** n f32 values from a heavier-tailed mix (a few large outliers, some exact zeros). */
export function mixedF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    out[i] = u < 0.05 ? 0 : u < 0.08 ? (r() - 0.5) * 40 : (r() - 0.5) * 2;
  }
  return out;
}

/** n ternary values in {-1, 0, 1}. */
export function randomTernary(n: number, seed: number): Int8Array {
  const r = rng(seed);
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 3) - 1;
  return out;
}

/** m rows of kp int8 values in [-127, 127] (zero past k). */
export function randomInt8Rows(m: number, k: number, kp: number, seed: number): Int8Array {
  const r = rng(seed);
  const out = new Int8Array(m * kp);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) out[i * kp + c] = Math.floor(r() * 255) - 127;
  }
  return out;
}

// ---- comparisons --------------------------------------------------------------------------

type Num = ArrayLike<number>;

function fmt(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

function fail(what: string, lines: string[], bad: number, total: number, extra = ""): never {
  throw new AssertionError({
    message: `${what}: ${bad} of ${total} elements differ${extra}; first mismatches:\n` +
      lines.join("\n"),
  });
}

/** Exact equality of integer arrays, listing the first mismatches. */
export function assertExact(got: Num, want: Num, what: string): void {
  if (got.length !== want.length) {
    throw new AssertionError({
      message: `${what}: expected length ${want.length} but received ${got.length}`,
    });
  }
  const lines: string[] = [];
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      if (lines.length < 10) {
        lines.push(`  [${i}] got ${fmt(got[i])} expected ${fmt(want[i])}`);
      }
      bad++;
    }
  }
  if (bad) fail(what, lines, bad, want.length);
}

/**
 * `|got − ref| ≤ atol_i + rtol·|ref|` elementwise (atol may be per element), listing the
 * first mismatches. NaN matches only NaN.
 */
export function assertClose(
  got: Num,
  want: Num,
  tol: { atol: number | Num; rtol: number },
  what: string,
): void {
  if (got.length !== want.length) {
    throw new AssertionError({
      message: `${what}: expected length ${want.length} but received ${got.length}`,
    });
  }
  const lines: string[] = [];
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const atol = typeof tol.atol === "number" ? tol.atol : tol.atol[i];
    const ok = Number.isNaN(w)
      ? Number.isNaN(g)
      : g === w || Math.abs(g - w) <= atol + tol.rtol * Math.abs(w);
    if (!ok) {
      if (lines.length < 10) {
        lines.push(
          `  [${i}] got ${fmt(g)} expected ${fmt(w)} (diff ${Math.abs(g - w)}, allowed ${
            atol + tol.rtol * Math.abs(w)
          })`,
        );
      }
      bad++;
    }
  }
  if (bad) {
    fail(
      what,
      lines,
      bad,
      want.length,
      ` (atol ${typeof tol.atol === "number" ? tol.atol : "per element"}, rtol ${tol.rtol})`,
    );
  }
}

/** Distance of v from the nearest rounding tie (x.5), relative to max(1, |v|). */
export function tieDistance(v: number): number {
  const a = Math.abs(v);
  return Math.abs(a - (Math.floor(a) + 0.5)) / Math.max(1, a);
}

/**
 * Quantized codes: exact, except that an element whose pre-rounding value `pre(i)` lies
 * within TIE_EPS of a rounding tie may differ by one step. Returns how many were exempt.
 */
export function assertQuantized(
  got: Num,
  want: Num,
  pre: (i: number) => number,
  what: string,
): number {
  if (got.length !== want.length) {
    throw new AssertionError({
      message: `${what}: expected length ${want.length} but received ${got.length}`,
    });
  }
  const lines: string[] = [];
  let bad = 0, exempt = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    if (Math.abs(got[i] - want[i]) === 1 && tieDistance(pre(i)) <= TIE_EPS) {
      exempt++;
      continue;
    }
    if (lines.length < 10) {
      lines.push(`  [${i}] got ${got[i]} expected ${want[i]} (value before rounding ${pre(i)})`);
    }
    bad++;
  }
  if (bad) fail(what, lines, bad, want.length, ` (ties within ${TIE_EPS} are exempt)`);
  return exempt;
}

/** Scalar relative closeness. */
export function assertRel(got: number, want: number, rtol: number, what: string): void {
  const ok = got === want || Math.abs(got - want) <= rtol * Math.abs(want);
  if (!ok) {
    throw new AssertionError({
      message: `${what}: got ${got} expected ${want} (rel diff ${
        Math.abs(got - want) / Math.abs(want)
      }, allowed ${rtol})`,
    });
  }
}
