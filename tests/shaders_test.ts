/**
 * Checks of the generated shaders (shaders/gen) against their sources and the C ABI:
 * (a) regenerating with the installed tools gives byte-identical files (skipped, visibly,
 *     without glslangValidator / spirv-cross or with another glslang version);
 * (b) every shader's push-constant block is its op's params struct, found by name
 *     (BitlinearParams ↔ bn_bitlinear_params) and parsed from bitnet_metal.h: same member
 *     names, offsets and sizes; for the quantize/bitlinear/dequantize/matmul_f32/read_probe
 *     ops, 16 bytes as four 4-byte members at offsets 0, 4, 8, 12;
 * (c) every .metal: kernel name = manifest entry, each buffer argument at [[buffer(binding)]],
 *     the params at [[buffer(8)]] and no binding 8, gl_WorkGroupSize = manifest local_size;
 * and that every shader objc/core/gpu_plan.c names exists.
 */
import assert from "node:assert/strict";
import {
  diffAgainstGen,
  generate,
  glslangVersion,
  haveTool,
  type Manifest,
  MSL_PUSH_CONSTANT_INDEX,
} from "../tools/shaders.ts";

const root = new URL("../", import.meta.url);
const gen = new URL("shaders/gen/", root);

const manifest: Manifest = JSON.parse(
  await Deno.readTextFile(new URL("manifest.json", gen)),
);

/** The C params struct a push-constant block mirrors: MatmulF32Params → bn_matmul_f32_params. */
function cStructName(block: string): string {
  return "bn_" + block.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([a-z])([0-9])/g, "$1_$2")
    .toLowerCase();
}

const headerText = await Deno.readTextFile(new URL("objc/include/bitnet_metal.h", root));

/** Members of `typedef struct NAME { … } …` in the public header, with their byte layout
 * (32-bit scalars and arrays of them, as every params struct is). */
function headerStruct(name: string): { name: string; offset: number; size: number }[] {
  const m = new RegExp(`typedef struct ${name}\\s*\\{([^}]*)\\}`).exec(headerText);
  if (!m) throw new Error(`struct ${name} not found in bitnet_metal.h`);
  const body = m[1].replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const defines = new Map(
    [...headerText.matchAll(/#define\s+(\w+)\s+(\d+)u?\b/g)].map((d) => [d[1], Number(d[2])]),
  );
  const out: { name: string; offset: number; size: number }[] = [];
  let offset = 0;
  for (const decl of body.split(";")) {
    const d = decl.trim();
    if (!d) continue;
    const dm = /^(uint32_t|int32_t|float)\s+(.+)$/.exec(d);
    if (!dm) throw new Error(`${name}: unexpected member declaration '${d}'`);
    for (const item of dm[2].split(",").map((x) => x.trim())) {
      const am = /^(\w+)(?:\[(\w+)\])?$/.exec(item);
      if (!am) throw new Error(`${name}: unexpected declarator '${item}'`);
      const count = am[2] === undefined ? 1 : Number(defines.get(am[2]) ?? am[2]);
      if (!Number.isInteger(count)) throw new Error(`${name}: array size ${am[2]}`);
      out.push({ name: am[1], offset, size: 4 * count });
      offset += 4 * count;
    }
  }
  return out;
}

const tools = (await haveTool("spirv-cross")) ? await glslangVersion() : null;
const sameTools = tools !== null && tools === manifest.generator.glslang;

Deno.test({
  name: sameTools
    ? "shaders: shaders/gen is what tools/shaders.ts generates (byte-identical)"
    : `shaders: regeneration check skipped (${
      tools === null
        ? "glslangValidator or spirv-cross not installed"
        : `glslang ${tools} here, ${manifest.generator.glslang} made shaders/gen`
    })`,
  ignore: !sameTools,
  async fn() {
    const diffs = await diffAgainstGen(await generate());
    assert.deepEqual(diffs, [], "run: deno task shaders");
  },
});

Deno.test("shaders: every shaders/*.comp is in the manifest, with its files", async () => {
  const comps: string[] = [];
  for await (const e of Deno.readDir(new URL("shaders/", root))) {
    if (e.isFile && e.name.endsWith(".comp")) comps.push(e.name.slice(0, -5));
  }
  assert.deepEqual(manifest.shaders.map((s) => s.name), comps.sort());
  for (const s of manifest.shaders) {
    assert.equal(s.spirv, `${s.name}.spv`);
    assert.equal(s.msl, `${s.name}.metal`);
    const spv = await Deno.readFile(new URL(s.spirv, gen));
    assert.equal(spv.length % 4, 0);
    assert.equal(new DataView(spv.buffer).getUint32(0, true), 0x07230203, `${s.spirv} magic`);
  }
});

Deno.test("shaders: push constants are the op's params struct (16 bytes for the quantize, bitlinear, dequantize, matmul_f32, read_probe ops)", () => {
  const sixteen = /^(quantize_|bitlinear_|dequantize_ternary|matmul_f32|read_probe_)/;
  for (const s of manifest.shaders) {
    const struct = cStructName(s.push_constant_block);
    const members = headerStruct(struct);
    assert.deepEqual(
      s.push_constant_members,
      members,
      `${s.name}: ${s.push_constant_block} vs ${struct}`,
    );
    const bytes = members.reduce((a, m) => a + m.size, 0);
    assert.equal(s.push_constant_bytes, bytes, `${s.name}: push-constant bytes`);
    if (sixteen.test(s.name)) {
      assert.equal(bytes, 16, `${s.name}: ${struct} is 16 bytes`);
      assert.deepEqual(s.push_constant_members.map((m) => [m.offset, m.size]), [[0, 4], [4, 4], [
        8,
        4,
      ], [12, 4]]);
    }
  }
});

Deno.test("shaders: bindings are below 8 and the dot4 variants say what they need", () => {
  for (const s of manifest.shaders) {
    assert.deepEqual(s.bindings, s.buffers.map((b) => b.binding));
    for (const b of s.bindings) {
      assert.ok(b >= 0 && b < MSL_PUSH_CONSTANT_INDEX, `${s.name}: binding ${b}`);
    }
    assert.equal(s.requires.includes("int_dot"), s.name.endsWith("_dot4"), s.name);
    if (s.name.endsWith("_dot4")) assert.equal(s.msl_from, s.name.slice(0, -5));
    else assert.equal(s.msl_from, s.name);
  }
});

Deno.test("shaders: each .metal matches the manifest (entry, buffer indices, local size)", async () => {
  for (const s of manifest.shaders) {
    const msl = await Deno.readTextFile(new URL(s.msl, gen));
    const km = /kernel void (\w+)\(([\s\S]*?)\)\s*\n\{/.exec(msl);
    assert.ok(km, `${s.msl}: no kernel function`);
    assert.equal(km[1], s.entry, `${s.msl}: kernel name`);
    const byBlock = new Map(s.buffers.map((b) => [b.block, b.binding]));
    const seen = new Set<number>();
    let pushConstants = 0;
    const args = /(const device|device|constant) (\w+)& \w+ \[\[buffer\((\d+)\)\]\]/g;
    for (const [, space, type, idx] of km[2].matchAll(args)) {
      if (space === "constant") {
        pushConstants++;
        assert.equal(Number(idx), MSL_PUSH_CONSTANT_INDEX, `${s.msl}: params index`);
        continue;
      }
      assert.ok(byBlock.has(type), `${s.msl}: buffer of type ${type} not in the manifest`);
      assert.equal(Number(idx), byBlock.get(type), `${s.msl}: ${type} buffer index`);
      seen.add(Number(idx));
    }
    assert.equal(pushConstants, 1, `${s.msl}: one params argument`);
    assert.deepEqual([...seen].sort((a, b) => a - b), s.bindings, `${s.msl}: buffer arguments`);
    assert.ok(!s.bindings.includes(MSL_PUSH_CONSTANT_INDEX));
    const wm =
      /constant uint3 gl_WorkGroupSize \[\[maybe_unused\]\] = uint3\((\d+)u, (\d+)u, (\d+)u\);/
        .exec(msl);
    assert.ok(wm, `${s.msl}: no gl_WorkGroupSize`);
    assert.deepEqual(wm.slice(1).map(Number), s.local_size, `${s.msl}: local size`);
  }
});

Deno.test("shaders: every shader gpu_plan.c dispatches exists", async () => {
  const plan = await Deno.readTextFile(new URL("objc/core/gpu_plan.c", root));
  const names = new Set(manifest.shaders.map((s) => s.name));
  const used = [...plan.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1]).filter((n) =>
    /^(quantize|bitlinear|dequantize|matmul|read_probe)/.test(n)
  );
  assert.ok(used.length >= 10, "gpu_plan.c names its shaders as string literals");
  for (const n of used) assert.ok(names.has(n), `gpu_plan.c uses '${n}', not in shaders/gen`);
});
