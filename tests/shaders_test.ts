/**
 * Checks of the generated shaders (shaders/gen) against their sources and the C ABI:
 * (a) regenerating with the installed tools gives byte-identical files (skipped, visibly,
 *     without glslangValidator / spirv-cross or with another glslang version);
 * (b) every shader's push-constant block is its op's params struct: 16 bytes, four 4-byte
 *     members at offsets 0, 4, 8, 12 with the C field names (parsed from bitnet_metal.h);
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

/** Which params struct of bitnet_metal.h each shader's push constants mirror. */
function paramsStructFor(shader: string): string {
  const table: [string, string][] = [
    ["quantize_ternary_", "bn_quantize_ternary_params"],
    ["quantize_act_int8", "bn_quantize_act_params"],
    ["bitlinear_", "bn_bitlinear_params"],
    ["dequantize_ternary", "bn_dequantize_ternary_params"],
    ["matmul_f32", "bn_matmul_f32_params"],
    ["read_probe_", "bn_read_probe_params"],
  ];
  const hit = table.find(([prefix]) => shader.startsWith(prefix));
  if (!hit) throw new Error(`no params struct known for shader ${shader}`);
  return hit[1];
}

/** Field names of `typedef struct NAME { uint32_t a, b, …; } …` in the public header. */
async function headerStructFields(name: string): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("objc/include/bitnet_metal.h", root));
  const m = new RegExp(`typedef struct ${name}\\s*\\{([^}]*)\\}`).exec(text);
  if (!m) throw new Error(`struct ${name} not found in bitnet_metal.h`);
  const body = m[1].replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const fields: string[] = [];
  for (const decl of body.split(";")) {
    const d = decl.trim();
    if (!d) continue;
    const dm = /^uint32_t\s+(.+)$/.exec(d);
    if (!dm) throw new Error(`${name}: unexpected member declaration '${d}'`);
    fields.push(...dm[1].split(",").map((s) => s.trim()));
  }
  return fields;
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

Deno.test("shaders: push constants are the op's 16-byte params struct", async () => {
  for (const s of manifest.shaders) {
    const fields = await headerStructFields(paramsStructFor(s.name));
    assert.equal(fields.length * 4, 16, `${s.name}: C params struct size`);
    assert.equal(s.push_constant_bytes, 16, `${s.name}: push-constant bytes`);
    assert.deepEqual(
      s.push_constant_members,
      fields.map((name, i) => ({ name, offset: 4 * i, size: 4 })),
      `${s.name}: push-constant members vs ${paramsStructFor(s.name)}`,
    );
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
