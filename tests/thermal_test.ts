/**
 * Thermal API: the sysfs parser against the fake tree in tests/fixtures/sysfs, the state
 * rules, NVML absence, and ThermalMonitor's events. Needs the native library
 * (`deno task build`); runs with `deno test -A tests/thermal_test.ts`.
 *
 * The fixture (tests/fixtures/sysfs/class/thermal):
 *   thermal_zone0   acpitz        27.8 °C  critical 105, hot "abc" (malformed: left out)
 *   thermal_zone1   x86_pkg_temp  81 °C    passive 0 (disabled), passive 90  → fair
 *   thermal_zone2   iwlwifi_1     temp "N/A"                               → skipped
 *   thermal_zone3   pch_skylake   no temp file                             → skipped
 *   thermal_zone4   gpu-thermal   60 °C    active 50/55, passive 75, hot 85, critical 95,
 *                                          vendor_specific 120 ("other")   → nominal
 *   thermal_zone5   a 41-byte type (cut to 31), -1.5 °C, no trips          → unknown
 *   thermal_zone10  nvme          38.85 °C no trips (sorts after 5, not after 1)
 *   thermal_zoneX, cooling_device0: not zones.
 * @module
 */

import assert from "node:assert/strict";
import { BitnetError } from "../src/errors.ts";
import { lib } from "../src/native.ts";
import { Device } from "../src/device.ts";
import {
  isThrottling,
  readGpuThermal,
  readThermal,
  type ThermalChangeDetail,
  thermalGpuCount,
  ThermalMonitor,
  type ThermalReading,
  type ThermalZone,
  type ThrottleEventDetail,
} from "../src/thermal.ts";

const FIXTURE = new URL("./fixtures/sysfs", import.meta.url).pathname;
const linux = Deno.build.os === "linux";

const EXPECTED_ZONES: ThermalZone[] = [
  {
    index: 0,
    type: "acpitz",
    tempC: 27.8,
    state: "nominal",
    trips: [{ type: "critical", tempC: 105 }],
  },
  {
    index: 1,
    type: "x86_pkg_temp",
    tempC: 81,
    state: "fair",
    trips: [{ type: "passive", tempC: 0 }, { type: "passive", tempC: 90 }],
  },
  {
    index: 4,
    type: "gpu-thermal",
    tempC: 60,
    state: "nominal",
    trips: [
      { type: "active", tempC: 50 },
      { type: "active", tempC: 55 },
      { type: "passive", tempC: 75 },
      { type: "hot", tempC: 85 },
      { type: "critical", tempC: 95 },
      { type: "other", tempC: 120 },
    ],
  },
  {
    index: 5,
    type: "ambient_sensor_on_the_rear_main",
    tempC: -1.5,
    state: "unknown",
    trips: [],
  },
  { index: 10, type: "nvme", tempC: 38.85, state: "unknown", trips: [] },
];

/** Copies the fixture into a fresh temp dir (removed by the returned disposer). */
async function copyFixture(): Promise<{ root: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "bn_thermal_" });
  async function copy(from: string, to: string) {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
      else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
  await copy(FIXTURE, root);
  return {
    root,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** Writes a zone's temperature (milli-°C) the way sysfs shows it. */
async function setTemp(root: string, zone: number, milli: number): Promise<void> {
  const path = `${root}/class/thermal/thermal_zone${zone}/temp`;
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, `${milli}\n`);
  await Deno.rename(tmp, path); // atomic: a poll never sees a half-written file
}

/** The next event of a type, or a rejection after timeoutMs (the guard timer is cleared). */
function nextEvent<T>(target: EventTarget, type: string, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const guard = setTimeout(() => {
      target.removeEventListener(type, on);
      reject(new Error(`no "${type}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    function on(e: Event) {
      clearTimeout(guard);
      target.removeEventListener(type, on);
      resolve((e as CustomEvent<T>).detail);
    }
    target.addEventListener(type, on);
  });
}

Deno.test("thermal: struct sizes agree with the header", () => {
  const s = lib();
  assert.equal(s.bn_thermal_size?.(), 2336);
  assert.equal(s.bn_thermal_zone_size?.(), 144);
  assert.equal(s.bn_thermal_trip_size?.(), 8);
  assert.equal(s.bn_gpu_thermal_size?.(), 144);
});

Deno.test({
  name: "thermal: parses the fixture tree exactly",
  ignore: !linux,
  async fn() {
    const t = await readThermal({ sysfsRoot: FIXTURE, gpus: false });
    assert.deepEqual(
      t,
      {
        state: "fair",
        lowPowerMode: null,
        source: "sysfs",
        zones: EXPECTED_ZONES,
        zonesSkipped: 2,
        zonesDropped: 0,
        gpus: [],
      } satisfies ThermalReading,
    );
  },
});

Deno.test({
  name: "thermal: zone and platform states follow the trip points",
  ignore: !linux,
  async fn() {
    await using tree = await copyFixture();
    await setTemp(tree.root, 1, 50000); // x86_pkg_temp: nominal (below 90 − 10)
    // gpu-thermal: passive 75, hot 85, critical 95.
    const gpuZone: [number, string][] = [
      [60000, "nominal"],
      [64999, "nominal"],
      [65000, "fair"], // within 10 °C of passive
      [74999, "fair"],
      [75000, "serious"], // at passive
      [90000, "serious"], // past hot, below critical
      [95000, "critical"],
      [130000, "critical"],
    ];
    for (const [milli, state] of gpuZone) {
      await setTemp(tree.root, 4, milli);
      const t = await readThermal({ sysfsRoot: tree.root, gpus: false });
      const zone = t.zones.find((z) => z.index === 4)!;
      assert.equal(zone.tempC, milli / 1000);
      assert.equal(zone.state, state, `gpu-thermal at ${milli}`);
      assert.equal(t.state, state, `platform with gpu-thermal at ${milli}`);
    }
    // acpitz has only a critical trip (105): serious from 95, fair from 85.
    await setTemp(tree.root, 4, 20000);
    const acpitz: [number, string][] = [
      [84999, "nominal"],
      [85000, "fair"],
      [95000, "serious"],
      [105000, "critical"],
    ];
    for (const [milli, state] of acpitz) {
      await setTemp(tree.root, 0, milli);
      const t = await readThermal({ sysfsRoot: tree.root, gpus: false });
      assert.equal(t.zones[0].state, state, `acpitz at ${milli}`);
      assert.equal(t.state, state);
    }
    // A malformed temperature skips the zone; its state no longer counts.
    await Deno.writeTextFile(`${tree.root}/class/thermal/thermal_zone0/temp`, "105000 C\n");
    const t = await readThermal({ sysfsRoot: tree.root, gpus: false });
    assert.equal(t.zonesSkipped, 3);
    assert.deepEqual(t.zones.map((z) => z.index), [1, 4, 5, 10]);
    assert.equal(t.state, "nominal");
  },
});

Deno.test({
  name: "thermal: more than 16 zones are judged but not all reported",
  ignore: !linux,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "bn_thermal_many_" });
    try {
      for (let i = 0; i < 20; i++) {
        const dir = `${root}/class/thermal/thermal_zone${i}`;
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(`${dir}/type`, `z${i}\n`);
        await Deno.writeTextFile(`${dir}/temp`, i === 19 ? "99000\n" : "30000\n");
        await Deno.writeTextFile(`${dir}/trip_point_0_type`, "critical\n");
        await Deno.writeTextFile(`${dir}/trip_point_0_temp`, "99000\n");
      }
      const t = await readThermal({ sysfsRoot: root, gpus: false });
      assert.equal(t.zones.length, 16);
      assert.deepEqual(t.zones.map((z) => z.index), [...Array(16).keys()]);
      assert.equal(t.zonesDropped, 4);
      assert.equal(t.state, "critical"); // zone 19, not reported, still counts
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("thermal: a missing tree gives zero zones and unknown state", async () => {
  const t = await readThermal({ sysfsRoot: "/nonexistent/sysfs", gpus: false });
  assert.deepEqual(t.zones, []);
  assert.equal(t.zonesSkipped, 0);
  if (linux) {
    assert.equal(t.state, "unknown");
    assert.equal(t.source, "none");
    assert.equal(t.lowPowerMode, null);
  }
});

Deno.test({
  name: "thermal: concurrent readings agree (nonblocking calls on several threads)",
  ignore: !linux,
  async fn() {
    const all = await Promise.all(
      Array.from({ length: 32 }, () => readThermal({ sysfsRoot: FIXTURE, gpus: false })),
    );
    for (const t of all) assert.deepEqual(t.zones, EXPECTED_ZONES);
    const counts = await Promise.all(Array.from({ length: 8 }, () => thermalGpuCount()));
    assert.ok(counts.every((n) => n === counts[0]));
  },
});

Deno.test("thermal: the real machine reads without error", async () => {
  const t = await readThermal();
  assert.ok(["nominal", "fair", "serious", "critical", "unknown"].includes(t.state));
  for (const z of t.zones) assert.ok(Number.isFinite(z.tempC));
  for (const g of t.gpus) assert.equal(typeof g.name, "string");
});

Deno.test("thermal: bad options are refused before any native call", async () => {
  await assert.rejects(() => readThermal({ sysfsRoot: "" }), TypeError);
  await assert.rejects(() => readThermal({ sysfsRoot: "a\0b" }), TypeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(() => readThermal({ sysfsRoot: 42 as any }), TypeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(() => readThermal({ gpus: "yes" as any }), TypeError);
  await assert.rejects(() => readGpuThermal(-1), RangeError);
  await assert.rejects(() => readGpuThermal(1.5), RangeError);
  assert.throws(() => new ThermalMonitor().start({ intervalMs: 0 }), RangeError);
  assert.throws(() => new ThermalMonitor().start({ intervalMs: NaN }), RangeError);
});

Deno.test("thermal: NVML absence gives no GPUs and a typed error", async () => {
  const before = Deno.env.get("BITNET_NVML_LIB");
  Deno.env.set("BITNET_NVML_LIB", "/nonexistent/libnvidia-ml.so.1");
  try {
    assert.equal(await thermalGpuCount(), 0);
    const err = await readGpuThermal(0).then(
      () => assert.fail("readGpuThermal(0) resolved without NVML"),
      (e) => e,
    );
    assert.ok(err instanceof BitnetError, String(err));
    assert.equal(err.code, "NOT_FOUND");
    assert.match(err.nativeMessage, /NVML not available: .*\/nonexistent\/libnvidia-ml\.so\.1/);
    const t = await readThermal({ sysfsRoot: FIXTURE });
    assert.deepEqual(t.gpus, []);
  } finally {
    if (before === undefined) Deno.env.delete("BITNET_NVML_LIB");
    else Deno.env.set("BITNET_NVML_LIB", before);
  }
});

Deno.test("thermal: NVIDIA GPUs, where NVML is present", async () => {
  const n = await thermalGpuCount();
  if (n === 0) return; // no NVML here: covered by the absence test
  for (let i = 0; i < n; i++) {
    const g = await readGpuThermal(i);
    assert.equal(g.index, i);
    assert.ok(g.name.length > 0, "a name");
    assert.ok(g.tempC !== null && g.tempC > 0 && g.tempC < 130, `temperature ${g.tempC}`);
    assert.ok(g.powerW === null || (g.powerW >= 0 && g.powerW < 5000), `power ${g.powerW}`);
    assert.ok(g.powerLimitW === null || g.powerLimitW > 0);
    assert.ok(g.smClockMHz === null || g.smClockMHz >= 0);
    assert.ok(g.utilizationGpu === null || (g.utilizationGpu >= 0 && g.utilizationGpu <= 100));
    assert.ok(Array.isArray(g.throttleReasons));
  }
  const err = await readGpuThermal(n).catch((e) => e);
  assert.ok(err instanceof BitnetError);
  assert.equal(err.code, "NOT_FOUND");
  assert.match(err.nativeMessage, /no NVIDIA GPU at index/);
  const t = await readThermal();
  assert.equal(t.gpus.length, n);
});

Deno.test("thermal: isThrottling ignores idle and application clocks", () => {
  const base: ThermalReading = {
    state: "fair",
    lowPowerMode: null,
    source: "sysfs",
    zones: [],
    zonesSkipped: 0,
    zonesDropped: 0,
    gpus: [],
  };
  const gpu = (throttleReasons: ThermalReading["gpus"][number]["throttleReasons"]) => ({
    index: 0,
    name: "g",
    tempC: 40,
    powerW: 100,
    powerLimitW: 700,
    smClockMHz: 1980,
    memClockMHz: 3201,
    utilizationGpu: 0,
    utilizationMemory: 0,
    throttleReasons,
  });
  assert.equal(isThrottling(base), false);
  assert.equal(isThrottling({ ...base, state: "serious" }), true);
  assert.equal(isThrottling({ ...base, state: "critical" }), true);
  assert.equal(
    isThrottling({ ...base, gpus: [gpu(["gpu_idle", "applications_clocks_setting"])] }),
    false,
  );
  assert.equal(isThrottling({ ...base, gpus: [gpu(["sw_thermal_slowdown"])] }), true);
  assert.equal(isThrottling({ ...base, gpus: [gpu(["sw_power_cap"])] }), true);
});

Deno.test({
  name: "thermal: the monitor reports throttling starting and stopping",
  ignore: !linux,
  async fn() {
    await using tree = await copyFixture();
    const monitor = new ThermalMonitor({ sysfsRoot: tree.root, gpus: false });
    const changes: ThermalChangeDetail[] = [];
    const throttles: boolean[] = [];
    const errors: unknown[] = [];
    monitor.addEventListener("change", (e) => {
      changes.push((e as CustomEvent<ThermalChangeDetail>).detail);
    });
    monitor.addEventListener("throttle", (e) => {
      throttles.push((e as CustomEvent<ThrottleEventDetail>).detail.throttling);
    });
    monitor.addEventListener("error", (e) => errors.push((e as CustomEvent).detail));
    try {
      const first = nextEvent<ThermalChangeDetail>(monitor, "change");
      assert.equal(monitor.start({ intervalMs: 10 }), monitor);
      assert.equal(monitor.running, true);
      const c0 = await first;
      assert.equal(c0.previous, null);
      assert.equal(c0.state, "fair");
      assert.equal(monitor.throttling, false);
      assert.deepEqual(throttles, []);

      // x86_pkg_temp reaches its passive trip: serious, throttling starts.
      const started = nextEvent<ThrottleEventDetail>(monitor, "throttle");
      await setTemp(tree.root, 1, 91000);
      const s = await started;
      assert.equal(s.throttling, true);
      assert.equal(s.reading.state, "serious");
      assert.equal(monitor.throttling, true);

      // Back below: fair again, throttling stops.
      const stopped = nextEvent<ThrottleEventDetail>(monitor, "throttle");
      await setTemp(tree.root, 1, 81000);
      const t = await stopped;
      assert.equal(t.throttling, false);
      assert.equal(t.reading.state, "fair");

      assert.deepEqual(throttles, [true, false]);
      assert.deepEqual(
        changes.map((c) => [c.previous, c.state]),
        [[null, "fair"], ["fair", "serious"], ["serious", "fair"]],
      );
      assert.deepEqual(errors, []);
    } finally {
      await monitor.stop();
    }
    assert.equal(monitor.running, false);
    // No events after stop, even with a change on disk.
    const count = changes.length;
    await setTemp(tree.root, 0, 200000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(changes.length, count);
  },
});

Deno.test({
  name: "thermal: the monitor restarts, disposes and polls on demand",
  ignore: !linux,
  async fn() {
    await using tree = await copyFixture();
    {
      await using monitor = new ThermalMonitor({ sysfsRoot: tree.root, gpus: false });
      monitor.start({ intervalMs: 5 }).start({ intervalMs: 5 }); // second start: no-op
      await nextEvent(monitor, "reading");
      await monitor.stop();
      await monitor.stop(); // idempotent
      const again = nextEvent<ThermalChangeDetail>(monitor, "change");
      await setTemp(tree.root, 4, 96000);
      monitor.start({ intervalMs: 5 });
      const c = await again;
      assert.deepEqual([c.previous, c.state], ["fair", "critical"]);
      assert.equal(monitor.reading?.state, "critical");
    } // asyncDispose stops it and waits for a reading in flight

    // `using` (sync dispose) stops the timer; wait for the reading in flight ourselves.
    let kept: ThermalMonitor;
    {
      using monitor = new ThermalMonitor({ sysfsRoot: tree.root, gpus: false });
      kept = monitor.start({ intervalMs: 5 });
      await nextEvent(monitor, "reading");
    }
    assert.equal(kept.running, false);
    await kept.stop();

    // poll() works without start() and dispatches the same events.
    const m = new ThermalMonitor({ sysfsRoot: tree.root, gpus: false });
    const change = nextEvent<ThermalChangeDetail>(m, "change");
    const r = await m.poll();
    assert.equal(r.state, "critical");
    assert.equal((await change).state, "critical");
    assert.equal(m.throttling, true);
    await m.stop();
  },
});

Deno.test("thermal: device.thermal() reads the machine's state and refuses a closed device", async () => {
  const dev = await Device.open({ backend: "cpu" });
  const t = await dev.thermal();
  assert.ok(["nominal", "fair", "serious", "critical", "unknown"].includes(t.state));
  assert.ok(Array.isArray(t.zones) && Array.isArray(t.gpus));
  const direct = await readThermal();
  assert.equal(t.zones.length, direct.zones.length);
  dev.close();
  assert.throws(() => dev.thermal(), TypeError);
});
