/**
 * The test command (`deno task test`): builds the library, then runs the accuracy suite
 * - once over every backend present (CPU, and Vulkan — lavapipe at
 *   LP_NATIVE_VECTOR_WIDTH=256, an 8-wide subgroup — or a real GPU, Metal on a Mac), and
 * - on Linux, once more on the Vulkan backend alone with LP_NATIVE_VECTOR_WIDTH=1024, so
 *   every shader also runs at lavapipe's 32-wide subgroups.
 * Extra arguments go to `deno test` (e.g. `deno task test --filter bitlinear`).
 * It ends with one line `N passed, N failed, N skipped` over all runs and exits non-zero
 * if any run failed.
 * @module
 */
import { build } from "../build.ts";

await build({ quiet: true });

interface Pass {
  label: string;
  env: Record<string, string>;
}
const passes: Pass[] = [{ label: "all backends", env: { LP_NATIVE_VECTOR_WIDTH: "256" } }];
if (Deno.build.os === "linux" && !Deno.env.get("BITNET_BACKEND")) {
  passes.push({
    label: "vulkan, lavapipe 32-wide subgroups",
    env: { LP_NATIVE_VECTOR_WIDTH: "1024", BITNET_BACKEND: "vulkan" },
  });
}

let passed = 0, failed = 0, skipped = 0, anyFailed = false;
for (const pass of passes) {
  console.log(`\n=== deno test: ${pass.label} (${JSON.stringify(pass.env)}) ===`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...Deno.args, "tests/"],
    env: { ...pass.env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
    cwd: new URL("..", import.meta.url).pathname,
  }).spawn();
  let tail = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    tail = (tail + dec.decode(chunk, { stream: true })).slice(-4096);
  }
  const status = await child.status;
  if (!status.success) anyFailed = true;
  const summary = tail.match(
    /(ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed(?: \| (\d+) ignored)?/,
  );
  if (summary) {
    passed += Number(summary[2]);
    failed += Number(summary[3]);
    skipped += Number(summary[4] ?? 0);
  } else if (!status.success) {
    failed += 1; // the run died before its summary
  }
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
Deno.exit(anyFailed || failed > 0 ? 1 : 0);
