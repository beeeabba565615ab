/**
 * bitnet-metal: BitNet b1.58 (ternary) kernels on Metal, Vulkan and the CPU, from Deno.
 *
 * The native library (`deno task build`) is loaded lazily with `Deno.dlopen`; run with
 * `--allow-ffi` (and `--allow-read --allow-env` for the library path and
 * `BITNET_BACKEND`).
 *
 * @example
 * ```ts
 * import { Device } from "./mod.ts";
 *
 * using dev = await Device.open();            // Metal > Vulkan GPU > CPU (or BITNET_BACKEND)
 * const n = 256, k = 1024;
 * using w = dev.tensor(new Float32Array(n * k).map(() => Math.random() - 0.5), [n, k]);
 * using x = dev.tensor(new Float32Array(k).map(() => Math.random() - 0.5));
 *
 * using tw = await dev.quantizeTernary(w);    // 2-bit TL2 + absmean scale
 * using y = await dev.bitlinear(x, tw);       // int8 activations, exact int sums → f32 [n]
 * console.log(await y.read(), dev.lastTimes);
 *
 * // Many ops, one await:
 * using b = dev.batch();
 * const y1 = b.bitlinear(x, tw);
 * const acc = b.bitlinear(x, tw, { output: "int32" });
 * await b.run();
 * console.log(b.times, await acc.read());
 * y1.close();
 * acc.close();
 * ```
 *
 * @module
 */

export {
  type Backend,
  Device,
  type DeviceCaps,
  type DeviceInfo,
  type DeviceOpenOptions,
  type DeviceType,
  type PoolStats,
} from "./src/device.ts";
export { Tensor, type TensorOptions } from "./src/tensor.ts";
export { QuantizedActivations, TernaryWeights } from "./src/weights.ts";
export { Batch, type BatchStatus } from "./src/batch.ts";
export type { BatchTimes, Storage } from "./src/internal.ts";
export type { BitlinearOptions, MatmulOptions, OpName } from "./src/ops.ts";
export type { ArrayOf, DType, DTypeOf, TensorData } from "./src/dtype.ts";
export { BitnetError, type BitnetErrorCode } from "./src/errors.ts";
export { MAX_K, paddedK, ternaryRowBytes } from "./src/abi.ts";
export * as reference from "./src/reference.ts";
export {
  type GpuThermal,
  type GpuThrottleReason,
  isThrottling,
  readGpuThermal,
  readThermal,
  type ReadThermalOptions,
  type ThermalChangeDetail,
  thermalGpuCount,
  ThermalMonitor,
  type ThermalMonitorStartOptions,
  type ThermalReading,
  type ThermalSource,
  type ThermalState,
  type ThermalTrip,
  type ThermalTripType,
  type ThermalZone,
  type ThrottleEventDetail,
} from "./src/thermal.ts";
export type {
  ReduceOptions,
  RmsnormOptions,
  RopeOptions,
  SoftmaxOptions,
  VarianceOptions,
} from "./src/ops_rows.ts";
export * as referenceRows from "./src/reference_rows.ts";
export type { BinaryOpName, FloatDType, UnaryOpName } from "./src/ops_elementwise.ts";
export * as referenceElementwise from "./src/reference_elementwise.ts";
export { fromF16, toF16 } from "./src/dtype.ts";
export { type MatmulPlan, planMatmul } from "./src/ops_matmul.ts";
