/**
 * tools/shaders.ts — compiles every GPU kernel from its one GLSL source.
 *
 * For each shaders/*.comp (includes: shaders/*.glsl, shaders/bn_plan.h):
 *   glslangValidator -V --target-env vulkan1.2      → shaders/gen/<name>.spv
 *   spirv-val --target-env vulkan1.2                  (when installed)
 *   spirv-cross --msl --msl-version 20300 --msl-decoration-binding
 *               --rename-entry-point main <name> comp → shaders/gen/<name>.metal
 *   spirv-cross --reflect                             → shaders/gen/manifest.json
 *
 * Metal bindings: --msl-decoration-binding keeps storage buffer binding N at [[buffer(N)]].
 * SPIRV-Cross's command line has no option to place the push-constant block, which it then
 * puts at [[buffer(0)]]; this script moves that one argument to [[buffer(8)]]
 * (BN_MSL_PUSH_CONSTANT_INDEX in objc/core/backend.h) and fails if anything else is there.
 * Shaders using SPV_KHR_integer_dot_product (the <base>_dot4 variants) cannot be translated
 * by SPIRV-Cross (and Apple GPUs have no packed dot product); their .metal is the MSL of
 * <base>, the plain-integer variant of the same source (same bindings, push constants and
 * local size, checked here), under the <base>_dot4 entry name; the manifest's "msl_from"
 * says so. Metal never reports BN_CAP_INT_DOT, so these are a safety net, not a fast path.
 *
 * Push constants: the block's type name is the CamelCase of the C params struct it mirrors
 * (bn_bitlinear_params ↔ BitlinearParams, bn_matmul_f32_params ↔ MatmulF32Params); the
 * manifest records its name and members, and tests/shaders_test.ts compares them with
 * objc/include/bitnet_metal.h.
 *
 * Output is deterministic: glslang runs without -g (no file names, no source text), the
 * manifest is written with a fixed key order, and nothing depends on time or paths.
 *
 * Usage:
 *   deno run -A tools/shaders.ts          regenerate shaders/gen
 *   deno run -A tools/shaders.ts --check  compare with shaders/gen; exit 1 on any difference
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const SHADER_DIR = new URL("shaders/", ROOT);
const GEN_DIR = new URL("shaders/gen/", ROOT);

/** Buffer index of the push constants (params) in the generated MSL. */
export const MSL_PUSH_CONSTANT_INDEX = 8;
/** Flags given to glslangValidator (besides -o and the input). */
export const GLSLANG_FLAGS = ["-V", "--target-env", "vulkan1.2"];
/** Flags given to spirv-cross for MSL (besides the input and the entry-point rename). */
export const MSL_FLAGS = ["--msl", "--msl-version", "20300", "--msl-decoration-binding"];

/** One storage buffer a shader declares. */
export interface ManifestBuffer {
  binding: number;
  block: string;
  readonly: boolean;
  writeonly: boolean;
}

/** One member of a shader's push-constant block. */
export interface ManifestMember {
  name: string;
  offset: number;
  size: number;
}

/** One shader's entry in shaders/gen/manifest.json. */
export interface ManifestShader {
  name: string;
  spirv: string;
  msl: string;
  entry: string;
  spirv_entry: string;
  msl_from: string;
  local_size: [number, number, number];
  bindings: number[];
  buffers: ManifestBuffer[];
  push_constant_bytes: number;
  push_constant_block: string;
  push_constant_members: ManifestMember[];
  requires: string[];
}

/** The whole manifest. */
export interface Manifest {
  generator: {
    glslang: string;
    glslang_flags: string[];
    spirv_cross_flags: string[];
    msl_push_constant_index: number;
  };
  shaders: ManifestShader[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

async function exec(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; out: string; err: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return { ok: r.success, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ok: false, out: "", err: `${cmd}: not found` };
    throw e;
  }
}

/** Whether a program is on PATH (runs it with --version). */
export async function haveTool(cmd: string): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** glslangValidator's version line ("11:12.0.0"), or null when it is not installed. */
export async function glslangVersion(): Promise<string | null> {
  const r = await exec("glslangValidator", ["--version"]);
  const m = /Glslang Version:\s*(\S+)/.exec(r.out);
  return m ? m[1] : null;
}

/** The SPIR-V capabilities (numeric) a module declares. */
function spirvCapabilities(bytes: Uint8Array): Set<number> {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  if (words[0] !== 0x07230203) throw new Error("not a little-endian SPIR-V module");
  const caps = new Set<number>();
  for (let i = 5; i < words.length;) {
    const op = words[i] & 0xffff;
    const len = words[i] >>> 16;
    if (len === 0) break;
    if (op === 17) caps.add(words[i + 1]); // OpCapability
    i += len;
  }
  return caps;
}

const CAP_GROUP_NON_UNIFORM_ARITHMETIC = 63;
const CAP_DOT_PRODUCT = 6019;

const SCALAR_SIZES: Record<string, number> = { uint: 4, int: 4, float: 4 };

interface Reflection {
  entryPoints: { name: string; mode: string; workgroup_size: number[] }[];
  types: Record<
    string,
    {
      name: string;
      members: {
        name: string;
        type: string;
        offset: number;
        array?: number[];
        array_stride?: number;
      }[];
    }
  >;
  ssbos?: {
    type: string;
    name: string;
    readonly?: boolean;
    writeonly?: boolean;
    set: number;
    binding: number;
  }[];
  push_constants?: { type: string; name: string }[];
}

/** Moves the push-constant argument of the kernel to [[buffer(index)]]. */
function placePushConstants(msl: string, blockType: string, index: number): string {
  const re = new RegExp(`(constant ${blockType}& \\w+ )\\[\\[buffer\\(\\d+\\)\\]\\]`, "g");
  let count = 0;
  const out = msl.replace(re, (_all, head: string) => {
    count++;
    return `${head}[[buffer(${index})]]`;
  });
  if (count !== 1) {
    throw new Error(`expected one push-constant argument of type ${blockType}, found ${count}`);
  }
  return out;
}

/** Compiles one shader; returns its files (by file name) and manifest entry. */
async function compileOne(
  name: string,
  tmp: string,
  validate: boolean,
): Promise<{ files: Map<string, Uint8Array>; entry: ManifestShader }> {
  const src = new URL(`${name}.comp`, SHADER_DIR).pathname;
  const spvPath = `${tmp}/${name}.spv`;
  const c = await exec("glslangValidator", [...GLSLANG_FLAGS, "-o", spvPath, src]);
  if (!c.ok) throw new Error(`glslangValidator failed for ${name}.comp:\n${c.out}${c.err}`);
  if (validate) {
    const v = await exec("spirv-val", ["--target-env", "vulkan1.2", spvPath]);
    if (!v.ok) throw new Error(`spirv-val failed for ${name}.spv:\n${v.out}${v.err}`);
  }
  const spv = await Deno.readFile(spvPath);
  const caps = spirvCapabilities(spv);

  const r = await exec("spirv-cross", [spvPath, "--reflect"]);
  if (!r.ok) throw new Error(`spirv-cross --reflect failed for ${name}:\n${r.err}`);
  const refl = JSON.parse(r.out) as Reflection;
  const ep = refl.entryPoints.find((e) => e.mode === "comp");
  if (!ep) throw new Error(`${name}: no compute entry point`);
  const buffers: ManifestBuffer[] = (refl.ssbos ?? []).map((b) => {
    if (b.set !== 0) {
      throw new Error(`${name}: buffer ${b.name} is in set ${b.set}; only set 0 is used`);
    }
    return { binding: b.binding, block: b.name, readonly: !!b.readonly, writeonly: !!b.writeonly };
  }).sort((a, b) => a.binding - b.binding);
  for (const b of buffers) {
    if (b.binding === MSL_PUSH_CONSTANT_INDEX) {
      throw new Error(`${name}: binding ${b.binding} is reserved for push constants`);
    }
  }
  let pcMembers: ManifestMember[] = [];
  let pcType = "";
  if ((refl.push_constants ?? []).length > 0) {
    const t = refl.types[refl.push_constants![0].type];
    pcType = t.name;
    pcMembers = t.members.map((m) => {
      const scalar = SCALAR_SIZES[m.type];
      if (scalar === undefined) {
        throw new Error(`${name}: push-constant member ${m.name} has type ${m.type}`);
      }
      // Arrays (e.g. uint shape[6]): count × stride (std430: 4 for 32-bit scalars).
      const count = (m.array ?? [1]).reduce((a, b) => a * b, 1);
      const size = m.array ? count * (m.array_stride ?? scalar) : scalar;
      return { name: m.name, offset: m.offset, size };
    });
  }
  const pcBytes = pcMembers.reduce((acc, m) => Math.max(acc, m.offset + m.size), 0);

  const files = new Map<string, Uint8Array>();
  files.set(`${name}.spv`, spv);
  let mslFrom = name;
  let mslSpv = spvPath;
  if (caps.has(CAP_DOT_PRODUCT)) {
    if (!name.endsWith("_dot4")) {
      throw new Error(`${name}: uses integer dot products but is not a *_dot4 variant`);
    }
    mslFrom = name.slice(0, -"_dot4".length);
    mslSpv = `${tmp}/${mslFrom}.msl-source.spv`;
    const src2 = new URL(`${mslFrom}.comp`, SHADER_DIR).pathname;
    const c2 = await exec("glslangValidator", [...GLSLANG_FLAGS, "-o", mslSpv, src2]);
    if (!c2.ok) {
      throw new Error(
        `glslangValidator failed for ${mslFrom}.comp (MSL of ${name}):\n${c2.out}${c2.err}`,
      );
    }
  }
  const m = await exec("spirv-cross", [
    mslSpv,
    ...MSL_FLAGS,
    "--rename-entry-point",
    ep.name,
    name,
    "comp",
  ]);
  if (!m.ok) throw new Error(`spirv-cross --msl failed for ${mslFrom} (${name}):\n${m.err}`);
  let text = m.out;
  if (pcType) text = placePushConstants(text, pcType, MSL_PUSH_CONSTANT_INDEX);
  const em = /kernel void (\w+)\(/.exec(text);
  if (!em) throw new Error(`${name}: no kernel function in the MSL`);
  const entry = em[1];
  const msl = `${name}.metal`;
  files.set(msl, encoder.encode(text));

  const requires: string[] = [];
  if (caps.has(CAP_GROUP_NON_UNIFORM_ARITHMETIC)) requires.push("subgroup_arith");
  if (caps.has(CAP_DOT_PRODUCT)) requires.push("int_dot");

  const ls = ep.workgroup_size;
  return {
    files,
    entry: {
      name,
      spirv: `${name}.spv`,
      msl,
      entry,
      spirv_entry: ep.name,
      msl_from: mslFrom,
      local_size: [ls[0], ls[1], ls[2]],
      bindings: buffers.map((b) => b.binding),
      buffers,
      push_constant_bytes: pcBytes,
      push_constant_block: pcType,
      push_constant_members: pcMembers,
      requires,
    },
  };
}

/** Names (file stems) of shaders/*.comp, sorted. */
export async function shaderNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(SHADER_DIR)) {
    if (e.isFile && e.name.endsWith(".comp")) names.push(e.name.slice(0, -5));
  }
  return names.sort();
}

/** Generates every output file in memory: file name in shaders/gen → bytes. */
export async function generate(): Promise<Map<string, Uint8Array>> {
  const version = await glslangVersion();
  if (version === null) throw new Error("glslangValidator is not installed");
  if (!(await haveTool("spirv-cross"))) throw new Error("spirv-cross is not installed");
  const validate = await haveTool("spirv-val");
  const tmp = await Deno.makeTempDir({ prefix: "bn-shaders-" });
  try {
    const names = await shaderNames();
    const results = await Promise.all(names.map((n) => compileOne(n, tmp, validate)));
    const byName = new Map(results.map((r) => [r.entry.name, r.entry]));
    for (const r of results) {
      const e = r.entry;
      if (e.msl_from === e.name) continue;
      const base = byName.get(e.msl_from);
      const iface = (x: ManifestShader) =>
        JSON.stringify([x.local_size, x.buffers, x.push_constant_members]);
      if (!base || iface(base) !== iface(e)) {
        throw new Error(`${e.name}: its MSL comes from ${e.msl_from}, whose interface differs`);
      }
    }
    const files = new Map<string, Uint8Array>();
    for (const r of results) for (const [k, v] of r.files) files.set(k, v);
    const manifest: Manifest = {
      generator: {
        glslang: version,
        glslang_flags: GLSLANG_FLAGS,
        spirv_cross_flags: MSL_FLAGS,
        msl_push_constant_index: MSL_PUSH_CONSTANT_INDEX,
      },
      shaders: results.map((r) => r.entry),
    };
    files.set("manifest.json", encoder.encode(JSON.stringify(manifest, null, 2) + "\n"));
    return files;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Generated files present in shaders/gen (by our extensions). */
async function existingGenFiles(): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  try {
    for await (const e of Deno.readDir(GEN_DIR)) {
      if (e.isFile && (/\.(spv|metal)$/.test(e.name) || e.name === "manifest.json")) {
        out.set(e.name, await Deno.readFile(new URL(e.name, GEN_DIR)));
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Differences between freshly generated files and shaders/gen; empty when identical. */
export async function diffAgainstGen(generated: Map<string, Uint8Array>): Promise<string[]> {
  const existing = await existingGenFiles();
  const diffs: string[] = [];
  for (const [name, bytes] of [...generated].sort()) {
    const old = existing.get(name);
    if (!old) diffs.push(`missing in shaders/gen: ${name}`);
    else if (!sameBytes(old, bytes)) diffs.push(`differs: shaders/gen/${name}`);
  }
  for (const name of [...existing.keys()].sort()) {
    if (!generated.has(name)) diffs.push(`stale (no source): shaders/gen/${name}`);
  }
  return diffs;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const generated = await generate();
  if (check) {
    const diffs = await diffAgainstGen(generated);
    if (diffs.length > 0) {
      console.error(
        `shaders/gen is out of date (run: deno run -A tools/shaders.ts):\n  ${diffs.join("\n  ")}`,
      );
      return 1;
    }
    console.log(`shaders/gen is up to date (${generated.size} files)`);
    return 0;
  }
  await Deno.mkdir(GEN_DIR, { recursive: true });
  const existing = await existingGenFiles();
  for (const name of existing.keys()) {
    if (!generated.has(name)) await Deno.remove(new URL(name, GEN_DIR));
  }
  let written = 0;
  for (const [name, bytes] of generated) {
    const old = existing.get(name);
    if (old && sameBytes(old, bytes)) continue;
    await Deno.writeFile(new URL(name, GEN_DIR), bytes);
    written++;
  }
  console.log(`shaders/gen: ${generated.size} files, ${written} written`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
