/**
 * The C ABI as TypeScript sees it: version, struct sizes, op metadata, status strings,
 * error text, and forged handles (raw FFI calls, no Device wrapper).
 */

import assert from "node:assert/strict";
import {
  ABI_VERSION,
  DEVICE_INFO_SIZE,
  OP_COUNT,
  OP_PARAMS_BYTES,
  OP_PARAMS_SIZE,
  OpId,
  paddedK,
  POOL_STATS_SIZE,
  Status,
} from "../src/abi.ts";
import { cString, lib, statusString } from "../src/native.ts";
import { BitnetError, statusCode } from "../src/errors.ts";
import { Device } from "../mod.ts";
import { allDevices, label } from "./_helpers.ts";

Deno.test("abi: version and struct sizes", () => {
  const l = lib();
  assert.equal(l.bn_abi_version(), ABI_VERSION);
  assert.equal(l.bn_device_info_size(), DEVICE_INFO_SIZE);
  assert.equal(l.bn_device_info_size(), 256);
  assert.equal(l.bn_pool_stats_size(), POOL_STATS_SIZE);
  assert.equal(l.bn_pool_stats_size(), 48);
});

const EXPECTED_OPS: [number, string, number][] = [
  [OpId.QUANTIZE_TERNARY, "quantize_ternary", 3],
  [OpId.QUANTIZE_ACT_INT8, "quantize_act_int8", 3],
  [OpId.BITLINEAR, "bitlinear", 5],
  [OpId.DEQUANTIZE_TERNARY, "dequantize_ternary", 3],
  [OpId.MATMUL_F32, "matmul_f32", 3],
  [OpId.MPS_MATMUL, "mps_matmul", 3],
  [OpId.READ_PROBE, "read_probe", 2],
  [OpId.MATMUL, "matmul", 3],
  [OpId.BINARY, "binary", 3],
  [OpId.UNARY, "unary", 2],
  [OpId.REDUCE, "reduce", 2],
  [OpId.SOFTMAX, "softmax", 2],
  [OpId.RMSNORM, "rmsnorm", 3],
  [OpId.ROPE, "rope", 3],
  [OpId.RMSNORM_QUANT, "rmsnorm_quant", 4],
];

Deno.test("abi: op metadata (names, params sizes, buffer counts)", () => {
  const l = lib();
  assert.equal(EXPECTED_OPS.length, OP_COUNT - 1);
  for (const [op, name, buffers] of EXPECTED_OPS) {
    assert.equal(cString(l.bn_op_name(op)), name, `bn_op_name(${op})`);
    assert.equal(l.bn_op_params_size(op), OP_PARAMS_BYTES[op], `bn_op_params_size(${name})`);
    if (op <= OpId.READ_PROBE) assert.equal(l.bn_op_params_size(op), OP_PARAMS_SIZE);
    assert.equal(l.bn_op_buffer_count(op), buffers, `bn_op_buffer_count(${name})`);
  }
  for (const bad of [0, OP_COUNT, 99, 0xffffffff]) {
    assert.equal(l.bn_op_name(bad), null, `bn_op_name(${bad})`);
    assert.equal(l.bn_op_params_size(bad), 0);
    assert.equal(l.bn_op_buffer_count(bad), 0);
  }
});

function opBytes(op: number, params: number[], index: number): number | BitnetError {
  const p = new Uint32Array(new ArrayBuffer(16));
  p.set(params);
  const out = new BigUint64Array(1);
  const st = lib().bn_op_buffer_bytes(op, p, 16, index, out);
  if (st !== 0) return new BitnetError(st, "bn_op_buffer_bytes");
  return Number(out[0]);
}

Deno.test("abi: bn_op_buffer_bytes agrees with the header's buffer sizes", () => {
  const m = 3, n = 5, k = 129, kp = paddedK(k);
  const cases: [number, number[], number[]][] = [
    [OpId.QUANTIZE_TERNARY, [n, k, 0, 0], [n * k * 4, (n * kp) / 4, 4]],
    [OpId.QUANTIZE_ACT_INT8, [m, k, 0, 0], [m * k * 4, m * kp, m * 4]],
    [OpId.BITLINEAR, [m, n, k, 0], [(n * kp) / 4, 4, m * kp, m * 4, m * n * 4]],
    [OpId.DEQUANTIZE_TERNARY, [n, k, 0, 0], [(n * kp) / 4, 4, n * k * 4]],
    [OpId.MATMUL_F32, [m, n, k, 1], [m * k * 4, n * k * 4, m * n * 4]],
    [OpId.MPS_MATMUL, [m, n, k, 1 | (1 << 8)], [m * k * 2, n * k * 2, m * n * 2]],
    [OpId.READ_PROBE, [1000, 0, 0, 0], [4000, 4]],
  ];
  for (const [op, params, want] of cases) {
    want.forEach((bytes, i) => assert.equal(opBytes(op, params, i), bytes, `op ${op} buffer ${i}`));
  }
  // sizes beyond 64 bits are refused, never wrapped to a small number of bytes
  const huge: [number, number[]][] = [
    [OpId.MATMUL_F32, [2 ** 31, 2 ** 31, 2 ** 31, 1]],
    [OpId.MATMUL_F32, [1, 0xffffffff, 0xffffffff, 0]],
    [OpId.QUANTIZE_TERNARY, [2 ** 31, 2 ** 31, 0, 0]],
    [OpId.QUANTIZE_ACT_INT8, [2 ** 31, 2 ** 31, 0, 0]],
    [OpId.DEQUANTIZE_TERNARY, [2 ** 31, 2 ** 31, 0, 0]],
    [OpId.BITLINEAR, [2 ** 31, 2 ** 31, 2 ** 24, 0]],
    [OpId.MPS_MATMUL, [2 ** 31, 2 ** 31, 2 ** 31, 0]],
  ];
  for (const [op, params] of huge) {
    for (let i = 0; i < lib().bn_op_buffer_count(op); i++) {
      const r = opBytes(op, params, i);
      assert.ok(
        (r instanceof BitnetError && r.code === "SIZE") || (typeof r === "number" && r >= 2 ** 40),
        `op ${op} params ${params} buffer ${i}: got ${
          r instanceof BitnetError ? r.code : r
        } bytes ` +
          `(a wrapped 64-bit product lets a tiny buffer pass the validator)`,
      );
    }
  }
  // bad params: zero dims, reserved fields, bad mode, k > 2^24, unknown op, bad index
  const bad: [number, number[], number, string[]][] = [
    [OpId.BITLINEAR, [0, 1, 1, 0], 0, ["INVALID_ARGUMENT"]],
    [OpId.BITLINEAR, [1, 1, 1, 2], 0, ["INVALID_ARGUMENT"]],
    [OpId.BITLINEAR, [1, 1, 2 ** 24 + 1, 0], 0, ["SIZE", "INVALID_ARGUMENT"]],
    [OpId.QUANTIZE_TERNARY, [1, 1, 1, 0], 0, ["INVALID_ARGUMENT"]],
    [OpId.MATMUL_F32, [1, 1, 1, 2], 0, ["INVALID_ARGUMENT"]],
    [99, [1, 1, 1, 0], 0, ["INVALID_ARGUMENT"]],
    [OpId.MATMUL_F32, [1, 1, 1, 0], 3, ["INVALID_ARGUMENT"]],
  ];
  for (const [op, params, index, codes] of bad) {
    const r = opBytes(op, params, index);
    assert.ok(r instanceof BitnetError, `op ${op} ${params} → error`);
    assert.ok(codes.includes(r.code), `op ${op} ${params}: ${r.code}`);
  }
  // wrong params_size
  const p = new Uint32Array([1, 1, 1, 0]);
  const st = lib().bn_op_buffer_bytes(OpId.MATMUL_F32, p, 12, 0, new BigUint64Array(1));
  assert.equal(st, Status.INVALID_ARGUMENT);
});

Deno.test("abi: status strings and codes", () => {
  for (const [name, value] of Object.entries(Status)) {
    const s = statusString(value);
    assert.ok(s.length > 0, `bn_status_string(${value})`);
    if (value !== 0) assert.equal(statusCode(value), name);
  }
  assert.ok(statusString(-12345).length > 0, "unknown status has text too");
  assert.equal(statusCode(-12345), "UNKNOWN");
});

Deno.test("abi: last error text is copied safely and truncated to the buffer", () => {
  const l = lib();
  const st = l.bn_buffer_free(123456789n);
  assert.equal(st, Status.INVALID_HANDLE);
  const big = new Uint8Array(1024);
  const len = l.bn_last_error_copy(big, big.length);
  assert.ok(len > 0, "a message was recorded");
  const text = new TextDecoder().decode(big.subarray(0, big.indexOf(0)));
  assert.equal(text.length, len);
  const small = new Uint8Array(8).fill(0xee);
  const len2 = l.bn_last_error_copy(small, small.length);
  assert.equal(len2, len, "returns the full length");
  assert.equal(small[7], 0, "NUL-terminated within cap");
  assert.equal(new TextDecoder().decode(small.subarray(0, 7)), text.slice(0, 7));
  assert.equal(l.bn_last_error_copy(null, 0), len, "cap 0 writes nothing");
});

Deno.test("abi: forged, zero and stale handles are refused, not dereferenced", () => {
  const l = lib();
  const out = new BigUint64Array(1);
  const info = new Uint8Array(256);
  for (const h of [0n, 1n, 0xdeadbeefn, 2n ** 52n]) {
    assert.equal(l.bn_device_close(h), Status.INVALID_HANDLE, `close ${h}`);
    assert.equal(l.bn_device_get_info(h, info), Status.INVALID_HANDLE);
    assert.equal(l.bn_buffer_free(h), Status.INVALID_HANDLE);
    assert.equal(l.bn_buffer_size(h, out), Status.INVALID_HANDLE);
    assert.equal(l.bn_batch_commit(h), Status.INVALID_HANDLE);
    assert.equal(l.bn_batch_free(h), Status.INVALID_HANDLE);
    assert.equal(l.bn_buffer_create(h, 16n, 0, out), Status.INVALID_HANDLE);
  }
  const count = new Uint32Array(1);
  assert.equal(l.bn_device_count(count), 0);
  const st = l.bn_device_info(count[0], info);
  assert.ok(st === Status.NOT_FOUND || st === Status.INVALID_ARGUMENT, `info past the end: ${st}`);
  assert.ok(l.bn_device_open(count[0] + 5, out) < 0);
  // null out-parameters
  assert.equal(l.bn_device_count(null), Status.INVALID_ARGUMENT);
});

Deno.test("abi: a freed buffer handle and a closed device handle become invalid", async () => {
  for (const d of allDevices()) {
    const l = lib();
    const out = new BigUint64Array(1);
    assert.equal(l.bn_device_open(d.index, out), 0, label(d));
    const dev = out[0];
    assert.ok(dev > 0n && dev < 2n ** 53n, "handle below 2^53");
    assert.equal(l.bn_buffer_create(dev, 64n, 0, out), 0);
    const buf = out[0];
    assert.ok(buf > 0n && buf < 2n ** 53n);
    assert.equal(l.bn_buffer_size(buf, out), 0);
    assert.equal(out[0], 64n);
    assert.equal(l.bn_buffer_free(buf), 0);
    assert.equal(l.bn_buffer_free(buf), Status.INVALID_HANDLE, "double free");
    assert.equal(
      await l.bn_buffer_read(buf, 0n, new Uint8Array(new ArrayBuffer(4)), 4n),
      Status.INVALID_HANDLE,
    );
    assert.equal(l.bn_buffer_create(dev, 64n, 0, out), 0);
    const buf2 = out[0];
    assert.equal(l.bn_device_close(dev), 0);
    assert.equal(l.bn_device_close(dev), Status.INVALID_HANDLE, "double close");
    assert.equal(l.bn_buffer_free(buf2), Status.INVALID_HANDLE, "buffers die with the device");
  }
});

Deno.test("abi: device info decodes to sane values", () => {
  const list = Device.list();
  assert.ok(list.length >= 1, "at least the CPU backend");
  assert.equal(list[list.length - 1].backend, "cpu", "CPU is last");
  list.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.ok(["cpu", "vulkan", "metal"].includes(d.backend), d.backend);
    assert.ok(["other", "integrated", "discrete", "virtual", "cpu"].includes(d.deviceType));
    assert.ok(d.name.length > 0 && d.name.length < 128);
    assert.ok(d.driver.length < 64);
    assert.ok(d.maxBufferBytes > 0 && Number.isSafeInteger(d.maxBufferBytes));
    assert.ok(d.memoryBytes > 0 && Number.isSafeInteger(d.memoryBytes));
    assert.ok(d.subgroupSize >= 1);
    assert.ok(d.computeUnits >= 1);
    if (d.backend === "cpu") {
      assert.equal(d.subgroupSize, 1);
      assert.equal(d.deviceType, "cpu");
    }
  });
});

// ---- loading the library (in a child process: the library is opened once per process) --

async function loadInChild(libPath: string): Promise<{ ok: boolean; out: string }> {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const code = `import { Device } from ${JSON.stringify(mod)};
try { Device.list(); console.log("LOADED"); }
catch (e) { console.log(e.name + ": " + e.message + " status=" + e.status); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env: { BITNET_METAL_LIB: libPath, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, out: text };
}

Deno.test("loading: a missing library says to run `deno task build`", async () => {
  const r = await loadInChild("/nonexistent/libbitnet_metal.so");
  assert.ok(r.ok, r.out);
  assert.match(r.out, /BitnetError: \[dlopen\] native library not found at \/nonexistent/);
  assert.match(r.out, /deno task build/);
});

Deno.test({
  name: "loading: a library of another ABI version is refused after dlopen",
  ignore: Deno.build.os === "windows",
  async fn() {
    // A stub exporting every symbol of the table, with bn_abi_version() = 2.
    const { symbols } = await import("../src/ffi.ts");
    const names = new Set<string>();
    for (const [key, def] of Object.entries(symbols)) {
      if ((def as { optional?: boolean }).optional) continue;
      names.add((def as { name?: string }).name ?? key);
    }
    const c = [...names].map((n) =>
      n === "bn_abi_version"
        ? "unsigned bn_abi_version(void) { return 2; }"
        : `int ${n}(void) { return 0; }`
    ).join("\n");
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/stub.c`, c);
      const ext = Deno.build.os === "darwin" ? "dylib" : "so";
      let built;
      try {
        built = await new Deno.Command("clang", {
          args: ["-shared", "-fPIC", "-o", `${dir}/libstub.${ext}`, `${dir}/stub.c`],
          stderr: "piped",
        }).output();
      } catch {
        console.log("clang not found: skipped");
        return;
      }
      assert.ok(built.success, new TextDecoder().decode(built.stderr));
      const r = await loadInChild(`${dir}/libstub.${ext}`);
      assert.ok(r.ok, r.out);
      assert.match(r.out, /BitnetError: \[dlopen\] expected native ABI version 1 but received 2/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
