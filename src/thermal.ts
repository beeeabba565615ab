/**
 * Thermal and power state: the platform's thermal state (macOS `NSProcessInfo.thermalState`,
 * Linux `/sys/class/thermal` zones judged against their trip points), Low Power Mode
 * (macOS), and NVIDIA GPUs through NVML when it is installed.
 *
 * - {@linkcode readThermal} takes one reading.
 * - {@linkcode ThermalMonitor} polls and dispatches `"change"` and `"throttle"` events.
 *
 * How Linux zones are judged (per zone, at temperature t; trips ≤ 0 °C are ignored):
 * `critical` when t ≥ the lowest critical trip; `serious` when t ≥ the lowest hot or passive
 * trip (a zone with neither uses critical − 10 °C); `fair` within 10 °C below that;
 * `nominal` below; `unknown` when the zone has no such trip. The platform state is the
 * worst zone state, or `unknown` when there is nothing to judge.
 *
 * @example
 * ```ts
 * import { readThermal, ThermalMonitor, type ThrottleEventDetail } from "./thermal.ts";
 * const t = await readThermal();
 * console.log(t.state, t.zones.map((z) => `${z.type} ${z.tempC} °C`));
 * using monitor = new ThermalMonitor();
 * monitor.addEventListener("throttle", (e) => {
 *   console.log("throttling:", (e as CustomEvent<ThrottleEventDetail>).detail.throttling);
 * });
 * monitor.start({ intervalMs: 1000 });
 * ```
 *
 * @module
 */

import { Status } from "./abi.ts";
import { BitnetError, describe, rangeError, typeError } from "./errors.ts";
import { lib, statusString } from "./native.ts";
import type { Symbols } from "./ffi.ts";

// ---- public types -----------------------------------------------------------------------

/** Platform thermal state, from best to worst; `"unknown"` when nothing can be judged. */
export type ThermalState = "nominal" | "fair" | "serious" | "critical" | "unknown";

/** A Linux trip point type (`trip_point_<i>_type`); `"other"` for a type not known here. */
export type ThermalTripType = "active" | "passive" | "hot" | "critical" | "other";

/** One trip point of a thermal zone. */
export interface ThermalTrip {
  /** What the kernel does at this temperature (fan, throttle, notify, shut down). */
  type: ThermalTripType;
  /** Trip temperature in °C. */
  tempC: number;
}

/** One Linux thermal zone (`/sys/class/thermal/thermal_zone<index>`). */
export interface ThermalZone {
  /** N of `thermal_zone<N>`. */
  index: number;
  /** The zone's `type` ("x86_pkg_temp", "acpitz", …), at most 31 bytes. */
  type: string;
  /** Temperature in °C. */
  tempC: number;
  /** This zone's state, judged by its own trips. */
  state: ThermalState;
  /** Trip points in file order (at most 12). */
  trips: ThermalTrip[];
}

/**
 * An NVML clock throttle reason. `"gpu_idle"` and `"applications_clocks_setting"` are not
 * throttling in the {@linkcode isThrottling} sense; unknown bits read `"bit_<n>"`.
 */
export type GpuThrottleReason =
  | "gpu_idle"
  | "applications_clocks_setting"
  | "sw_power_cap"
  | "hw_slowdown"
  | "sync_boost"
  | "sw_thermal_slowdown"
  | "hw_thermal_slowdown"
  | "hw_power_brake_slowdown"
  | "display_clock_setting"
  | `bit_${number}`;

/** One NVIDIA GPU as NVML reports it. A field is `null` when NVML could not tell. */
export interface GpuThermal {
  /** NVML device index. */
  index: number;
  /** Device name ("NVIDIA H200", …); "" when unknown. */
  name: string;
  /** GPU die temperature, °C. */
  tempC: number | null;
  /** Power draw, watts. */
  powerW: number | null;
  /** Enforced power limit, watts. */
  powerLimitW: number | null;
  /** Current SM clock, MHz. */
  smClockMHz: number | null;
  /** Current memory clock, MHz. */
  memClockMHz: number | null;
  /** Percent of the last sample period in which a kernel ran. */
  utilizationGpu: number | null;
  /** Percent of the last sample period in which memory was read or written. */
  utilizationMemory: number | null;
  /** Active clock throttle reasons (empty when none, or when NVML could not tell). */
  throttleReasons: GpuThrottleReason[];
}

/** Where {@linkcode ThermalReading.state} came from. */
export type ThermalSource = "sysfs" | "macos" | "none";

/** One reading of {@linkcode readThermal}. */
export interface ThermalReading {
  /** The platform thermal state. */
  state: ThermalState;
  /** macOS Low Power Mode; `null` where unknown (Linux, macOS before 12). */
  lowPowerMode: boolean | null;
  /** Where the state came from. */
  source: ThermalSource;
  /** Linux thermal zones, sorted by index (at most 16; empty on macOS). */
  zones: ThermalZone[];
  /** Zones left out because their `type` or `temp` was unreadable or malformed. */
  zonesSkipped: number;
  /** Readable zones beyond the 16 reported (they still count for `state`). */
  zonesDropped: number;
  /** NVIDIA GPUs (empty without NVML, or with `gpus: false`). */
  gpus: GpuThermal[];
}

/** Options of {@linkcode readThermal} and {@linkcode ThermalMonitor}. */
export interface ReadThermalOptions {
  /** The sysfs mount to read zones from (default `"/sys"`); tests pass a fake tree. */
  sysfsRoot?: string;
  /** Query NVIDIA GPUs through NVML (default `true`). */
  gpus?: boolean;
}

// ---- native layout (bitnet_metal_thermal.h) ------------------------------------------------

const THERMAL_SIZE = 2336;
const ZONE_SIZE = 144;
const TRIP_SIZE = 8;
const GPU_SIZE = 144;
const ZONES_OFFSET = 32;
const TRIPS_OFFSET = 48;

const STATES: readonly ThermalState[] = ["unknown", "nominal", "fair", "serious", "critical"];
const TRIP_TYPES: readonly ThermalTripType[] = ["other", "active", "passive", "hot", "critical"];
const SOURCES: readonly ThermalSource[] = ["none", "sysfs", "macos"];
const THROTTLE_BITS: readonly GpuThrottleReason[] = [
  "gpu_idle",
  "applications_clocks_setting",
  "sw_power_cap",
  "hw_slowdown",
  "sync_boost",
  "sw_thermal_slowdown",
  "hw_thermal_slowdown",
  "hw_power_brake_slowdown",
  "display_clock_setting",
];
/** Reasons that mean "clocks are low on purpose", not throttling. */
const BENIGN_REASONS: ReadonlySet<string> = new Set(["gpu_idle", "applications_clocks_setting"]);

type ThermalSymbols = {
  read: NonNullable<Symbols["bn_thermal_read"]>;
  gpuCount: NonNullable<Symbols["bn_thermal_gpu_count"]>;
  gpu: NonNullable<Symbols["bn_thermal_gpu"]>;
  nvmlMessage: NonNullable<Symbols["bn_thermal_nvml_message"]>;
};

let checked: ThermalSymbols | null = null;

/** The thermal symbols, after checking the library has them and agrees on the layout. */
function thermalLib(op: string): ThermalSymbols {
  if (checked) return checked;
  const s = lib();
  const missing = () =>
    new BitnetError(
      Status.UNSUPPORTED,
      "the native library has no thermal API (bn_thermal_*); rebuild it with `deno task build`",
      { op },
    );
  if (
    !s.bn_thermal_read || !s.bn_thermal_gpu_count || !s.bn_thermal_gpu ||
    !s.bn_thermal_nvml_message || !s.bn_thermal_size || !s.bn_thermal_zone_size ||
    !s.bn_thermal_trip_size || !s.bn_gpu_thermal_size
  ) {
    throw missing();
  }
  const sizes = [
    s.bn_thermal_size(),
    s.bn_thermal_zone_size(),
    s.bn_thermal_trip_size(),
    s.bn_gpu_thermal_size(),
  ];
  const want = [THERMAL_SIZE, ZONE_SIZE, TRIP_SIZE, GPU_SIZE];
  if (sizes.some((v, i) => v !== want[i])) {
    throw new BitnetError(
      Status.UNSUPPORTED,
      `expected thermal struct sizes ${want.join("/")} but the native library reports ` +
        `${sizes.join("/")}; rebuild it with \`deno task build\``,
      { op },
    );
  }
  checked = {
    read: s.bn_thermal_read,
    gpuCount: s.bn_thermal_gpu_count,
    gpu: s.bn_thermal_gpu,
    nvmlMessage: s.bn_thermal_nvml_message,
  };
  return checked;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function cStringAt(bytes: Uint8Array, offset: number, cap: number): string {
  const field = bytes.subarray(offset, offset + cap);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function nvmlMessage(sym: ThermalSymbols): string {
  const buf = new Uint8Array(new ArrayBuffer(1024));
  const n = sym.nvmlMessage(buf, buf.length);
  return cStringAt(buf, 0, Math.min(n, buf.length - 1));
}

function nonNegative(v: number): number | null {
  return v < 0 ? null : v;
}

/** Decodes a `bn_thermal_t` (offsets from bitnet_metal_thermal.h). */
function decodeThermal(bytes: Uint8Array): Omit<ThermalReading, "gpus"> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lowPower = dv.getInt32(4, true);
  const zoneCount = Math.min(dv.getUint32(12, true), 16);
  const zones: ThermalZone[] = [];
  for (let i = 0; i < zoneCount; i++) {
    const z = ZONES_OFFSET + i * ZONE_SIZE;
    const tripCount = Math.min(dv.getUint32(z + 44, true), 12);
    const trips: ThermalTrip[] = [];
    for (let j = 0; j < tripCount; j++) {
      const t = z + TRIPS_OFFSET + j * TRIP_SIZE;
      trips.push({
        type: TRIP_TYPES[dv.getUint32(t, true)] ?? "other",
        tempC: dv.getInt32(t + 4, true) / 1000,
      });
    }
    zones.push({
      index: dv.getUint32(z + 36, true),
      type: cStringAt(bytes, z, 32),
      tempC: dv.getInt32(z + 32, true) / 1000,
      state: STATES[dv.getUint32(z + 40, true)] ?? "unknown",
      trips,
    });
  }
  return {
    state: STATES[dv.getUint32(0, true)] ?? "unknown",
    lowPowerMode: lowPower < 0 ? null : lowPower !== 0,
    source: SOURCES[dv.getUint32(8, true)] ?? "none",
    zones,
    zonesSkipped: dv.getUint32(16, true),
    zonesDropped: dv.getUint32(20, true),
  };
}

/** Names of the bits of an NVML throttle-reason mask. */
function throttleNames(mask: bigint): GpuThrottleReason[] {
  const out: GpuThrottleReason[] = [];
  for (let bit = 0; bit < 63; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(THROTTLE_BITS[bit] ?? `bit_${bit}`);
  }
  return out;
}

function decodeGpu(bytes: Uint8Array): GpuThermal {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mw = (off: number) => {
    const v = dv.getInt32(off, true);
    return v < 0 ? null : v / 1000;
  };
  const mask = dv.getBigInt64(128, true);
  return {
    index: dv.getUint32(96, true),
    name: cStringAt(bytes, 0, 96),
    tempC: nonNegative(dv.getInt32(100, true)),
    powerW: mw(104),
    powerLimitW: mw(108),
    smClockMHz: nonNegative(dv.getInt32(112, true)),
    memClockMHz: nonNegative(dv.getInt32(116, true)),
    utilizationGpu: nonNegative(dv.getInt32(120, true)),
    utilizationMemory: nonNegative(dv.getInt32(124, true)),
    throttleReasons: mask < 0n ? [] : throttleNames(mask),
  };
}

function checkOptions(options: unknown, op: string): ReadThermalOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw typeError(op, "an options object", describe(options));
  }
  const o = options as ReadThermalOptions;
  if (o.sysfsRoot !== undefined) {
    if (typeof o.sysfsRoot !== "string") {
      throw typeError(op, "sysfsRoot to be a string", describe(o.sysfsRoot));
    }
    if (o.sysfsRoot === "" || o.sysfsRoot.includes("\0")) {
      throw typeError(op, "sysfsRoot to be a non-empty path without NUL", describe(o.sysfsRoot));
    }
  }
  if (o.gpus !== undefined && typeof o.gpus !== "boolean") {
    throw typeError(op, "gpus to be a boolean", describe(o.gpus));
  }
  return o;
}

// ---- readings ------------------------------------------------------------------------------

/**
 * Number of NVIDIA GPUs NVML reports; 0 when NVML is absent (never an error). The first
 * call loads NVML (from `BITNET_NVML_LIB` when set, else `libnvidia-ml.so.1`).
 *
 * @example
 * ```ts
 * import { thermalGpuCount } from "./thermal.ts";
 * console.log(`${await thermalGpuCount()} NVIDIA GPU(s)`);
 * ```
 */
export async function thermalGpuCount(): Promise<number> {
  const sym = thermalLib("thermalGpuCount");
  const out = new Uint32Array(new ArrayBuffer(4));
  const status = await sym.gpuCount(out);
  if (status !== Status.OK) {
    throw new BitnetError(status, statusString(status), { op: "thermalGpuCount" });
  }
  return out[0];
}

/**
 * Temperature, power, clocks, utilisation and throttle reasons of one NVIDIA GPU.
 *
 * Throws a `RangeError` for an index that is not a non-negative integer, and a
 * {@linkcode BitnetError} with code `"NOT_FOUND"` when NVML is absent (its message says
 * why) or there is no GPU at that index, `"DEVICE_LOST"` when NVML reports the GPU lost.
 *
 * @example
 * ```ts
 * import { readGpuThermal, thermalGpuCount } from "./thermal.ts";
 * if (await thermalGpuCount() > 0) {
 *   const g = await readGpuThermal(0);
 *   console.log(g.name, g.tempC, "°C", g.powerW, "W", g.throttleReasons);
 * }
 * ```
 */
export async function readGpuThermal(index: number): Promise<GpuThermal> {
  const op = "readGpuThermal";
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw rangeError(op, "a GPU index (an integer from 0)", describe(index));
  }
  const sym = thermalLib(op);
  const out = new Uint8Array(new ArrayBuffer(GPU_SIZE));
  const status = await sym.gpu(index, out);
  if (status !== Status.OK) {
    const msg = nvmlMessage(sym);
    return Promise.reject(
      new BitnetError(status, msg ? `${statusString(status)}: ${msg}` : statusString(status), {
        op,
        nativeMessage: msg,
      }),
    );
  }
  return decodeGpu(out);
}

/**
 * Reads the platform thermal state, the Linux thermal zones and (unless `gpus: false`)
 * every NVIDIA GPU. A missing thermal tree is not an error: zero zones, state
 * `"unknown"`. GPUs that vanish between the count and their query are left out.
 *
 * @example
 * ```ts
 * import { readThermal } from "./thermal.ts";
 * const t = await readThermal();
 * if (t.state === "serious" || t.state === "critical") console.warn("the machine is hot");
 * for (const g of t.gpus) console.log(g.name, g.tempC, g.throttleReasons);
 * ```
 */
export async function readThermal(options?: ReadThermalOptions): Promise<ThermalReading> {
  const op = "readThermal";
  const o = checkOptions(options, op);
  const sym = thermalLib(op);
  const root = o.sysfsRoot === undefined ? null : encoder.encode(o.sysfsRoot + "\0");
  const out = new Uint8Array(new ArrayBuffer(THERMAL_SIZE));
  const [status, gpus] = await Promise.all([
    sym.read(root, out),
    o.gpus === false ? Promise.resolve([]) : readAllGpus(),
  ]);
  if (status !== Status.OK) {
    throw new BitnetError(status, statusString(status), { op });
  }
  return { ...decodeThermal(out), gpus };
}

async function readAllGpus(): Promise<GpuThermal[]> {
  const n = await thermalGpuCount();
  const gpus: GpuThermal[] = [];
  for (let i = 0; i < n; i++) {
    try {
      gpus.push(await readGpuThermal(i));
    } catch (e) {
      if (!(e instanceof BitnetError)) throw e;
      if (e.status !== Status.NOT_FOUND && e.status !== Status.DEVICE_LOST) throw e;
    }
  }
  return gpus;
}

/**
 * True when the reading shows throttling: the platform state is `"serious"` or
 * `"critical"`, or a GPU reports a throttle reason other than `"gpu_idle"` and
 * `"applications_clocks_setting"`.
 *
 * @example
 * ```ts
 * import { isThrottling, readThermal } from "./thermal.ts";
 * if (isThrottling(await readThermal())) console.warn("benchmark numbers will be low");
 * ```
 */
export function isThrottling(reading: ThermalReading): boolean {
  if (reading.state === "serious" || reading.state === "critical") return true;
  return reading.gpus.some((g) => g.throttleReasons.some((r) => !BENIGN_REASONS.has(r)));
}

// ---- monitor ---------------------------------------------------------------------------------

/** `detail` of a {@linkcode ThermalMonitor} `"change"` event. */
export interface ThermalChangeDetail {
  /** The state before; `null` on the monitor's first reading. */
  previous: ThermalState | null;
  /** The state now. */
  state: ThermalState;
  /** The reading that showed it. */
  reading: ThermalReading;
}

/** `detail` of a {@linkcode ThermalMonitor} `"throttle"` event. */
export interface ThrottleEventDetail {
  /** True when throttling started, false when it stopped. */
  throttling: boolean;
  /** The reading that showed it. */
  reading: ThermalReading;
}

/** Options of {@linkcode ThermalMonitor.start}. */
export interface ThermalMonitorStartOptions {
  /** Time between the end of one reading and the start of the next (default 1000, ≥ 1). */
  intervalMs?: number;
  /**
   * Keep the process alive while the monitor runs (default `false`: a forgotten monitor
   * never stops Deno from exiting).
   */
  keepAlive?: boolean;
}

/**
 * Polls {@linkcode readThermal} and dispatches events:
 *
 * - `"reading"`: every reading (`CustomEvent<ThermalReading>`);
 * - `"change"`: the platform state changed (`CustomEvent<ThermalChangeDetail>`); also on
 *   the first reading, with `previous: null`;
 * - `"throttle"`: throttling (see {@linkcode isThrottling}) started or stopped
 *   (`CustomEvent<ThrottleEventDetail>`); the first reading counts as a start only when it
 *   shows throttling;
 * - `"error"`: a reading failed (`CustomEvent<unknown>`, the error); polling goes on.
 *
 * The first reading is taken at once by `start`; the next one `intervalMs` after each
 * reading ends (readings never overlap). Its timer does not keep Deno alive unless
 * `keepAlive` is set, and `stop()` (or `using`) clears it. No events are dispatched after
 * `stop()`.
 *
 * @example
 * ```ts
 * import { ThermalMonitor, type ThrottleEventDetail } from "./thermal.ts";
 * const monitor = new ThermalMonitor();
 * monitor.addEventListener("throttle", (e) => {
 *   const { throttling, reading } = (e as CustomEvent<ThrottleEventDetail>).detail;
 *   console.log(throttling ? "throttling started" : "throttling stopped", reading.state);
 * });
 * monitor.start({ intervalMs: 2000 });
 * // … run the workload …
 * await monitor.stop();
 * ```
 */
export class ThermalMonitor extends EventTarget {
  #options: ReadThermalOptions;
  #intervalMs = 1000;
  #keepAlive = false;
  #running = false;
  #generation = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inflight: Promise<void> | null = null;
  #reading: ThermalReading | null = null;
  #throttling = false;

  /**
   * @param options where to read from (`sysfsRoot`) and whether to query GPUs (`gpus`).
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * using monitor = new ThermalMonitor({ gpus: false });
   * monitor.start({ intervalMs: 500 });
   * ```
   */
  constructor(options?: ReadThermalOptions) {
    super();
    this.#options = { ...checkOptions(options, "ThermalMonitor") };
  }

  /**
   * The latest reading, or `null` before the first one.
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * const monitor = new ThermalMonitor();
   * console.log(monitor.reading); // null until a reading
   * ```
   */
  get reading(): ThermalReading | null {
    return this.#reading;
  }

  /**
   * Whether the latest reading shows throttling (false before the first one).
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * const monitor = new ThermalMonitor();
   * await monitor.poll();
   * console.log(monitor.throttling);
   * ```
   */
  get throttling(): boolean {
    return this.#throttling;
  }

  /**
   * Whether the monitor is polling.
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * using monitor = new ThermalMonitor();
   * monitor.start();
   * console.log(monitor.running); // true
   * ```
   */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Starts polling: a reading now, then one every `intervalMs` after the previous ends.
   * Calling it while running changes the interval (and `keepAlive`) from the next reading.
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * const monitor = new ThermalMonitor();
   * monitor.addEventListener("change", (e) => console.log((e as CustomEvent).detail.state));
   * monitor.start({ intervalMs: 1000 });
   * ```
   */
  start(options?: ThermalMonitorStartOptions): this {
    const op = "ThermalMonitor.start";
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw typeError(op, "an options object", describe(options));
    }
    const intervalMs = options?.intervalMs ?? 1000;
    if (typeof intervalMs !== "number" || !Number.isFinite(intervalMs) || intervalMs < 1) {
      throw rangeError(op, "intervalMs to be a finite number ≥ 1", describe(intervalMs));
    }
    const keepAlive = options?.keepAlive ?? false;
    if (typeof keepAlive !== "boolean") {
      throw typeError(op, "keepAlive to be a boolean", describe(keepAlive));
    }
    this.#intervalMs = intervalMs;
    this.#keepAlive = keepAlive;
    if (this.#running) return this;
    this.#running = true;
    this.#generation++;
    // With a reading of an earlier run still in flight, its end schedules the next one.
    if (!this.#inflight) this.#schedule(0);
    return this;
  }

  /**
   * Stops polling and clears the timer. Returns a Promise that settles once a reading in
   * flight has ended (no events are dispatched for it); awaiting it is optional.
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * const monitor = new ThermalMonitor().start();
   * await monitor.stop();
   * ```
   */
  stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    return this.#inflight ?? Promise.resolve();
  }

  /**
   * Takes one reading now and dispatches its events (whether or not the monitor runs).
   * Rejects when the reading fails (no `"error"` event is dispatched for it).
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * const monitor = new ThermalMonitor();
   * const reading = await monitor.poll();
   * console.log(reading.state, monitor.throttling);
   * ```
   */
  async poll(): Promise<ThermalReading> {
    const reading = await readThermal(this.#options);
    this.#apply(reading);
    return reading;
  }

  /**
   * Stops polling (like {@linkcode ThermalMonitor.stop}, without waiting).
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * {
   *   using monitor = new ThermalMonitor();
   *   monitor.start();
   * } // stopped here
   * ```
   */
  [Symbol.dispose](): void {
    void this.stop();
  }

  /**
   * Stops polling and waits for a reading in flight.
   *
   * @example
   * ```ts
   * import { ThermalMonitor } from "./thermal.ts";
   * {
   *   await using monitor = new ThermalMonitor();
   *   monitor.start();
   * } // stopped, nothing in flight
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #schedule(delay: number): void {
    const id = setTimeout(() => {
      if (this.#timer === id) this.#timer = undefined;
      if (this.#running) this.#runTick();
    }, delay);
    if (!this.#keepAlive) Deno.unrefTimer(id);
    this.#timer = id;
  }

  #runTick(): void {
    const generation = this.#generation;
    const p = this.#tick(generation);
    this.#inflight = p;
    void p.finally(() => {
      if (this.#inflight === p) this.#inflight = null;
      if (this.#running && this.#timer === undefined && this.#inflight === null) {
        // A restart while this reading was in flight reads again at once.
        this.#schedule(generation === this.#generation ? this.#intervalMs : 0);
      }
    });
  }

  /** One reading; never rejects (failures become "error" events). */
  async #tick(generation: number): Promise<void> {
    let reading: ThermalReading;
    try {
      reading = await readThermal(this.#options);
    } catch (e) {
      if (generation === this.#generation) {
        this.dispatchEvent(new CustomEvent("error", { detail: e }));
      }
      return;
    }
    if (generation === this.#generation) this.#apply(reading);
  }

  #apply(reading: ThermalReading): void {
    const previous = this.#reading;
    const wasThrottling = this.#throttling;
    const throttling = isThrottling(reading);
    this.#reading = reading;
    this.#throttling = throttling;
    this.dispatchEvent(new CustomEvent<ThermalReading>("reading", { detail: reading }));
    if (previous === null || previous.state !== reading.state) {
      this.dispatchEvent(
        new CustomEvent<ThermalChangeDetail>("change", {
          detail: { previous: previous?.state ?? null, state: reading.state, reading },
        }),
      );
    }
    if (throttling !== wasThrottling) {
      this.dispatchEvent(
        new CustomEvent<ThrottleEventDetail>("throttle", { detail: { throttling, reading } }),
      );
    }
  }
}
