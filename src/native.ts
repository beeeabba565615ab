/**
 * Loads the native library once, lazily, and turns native statuses into errors.
 *
 * Library path: `BITNET_METAL_LIB` when set, else `../build/libbitnet_metal.so`
 * (`.dylib` on macOS) next to this file. Right after `dlopen` the ABI version is checked.
 *
 * @module
 */

import { ABI_VERSION, Status } from "./abi.ts";
import { BitnetError } from "./errors.ts";
import { type Symbols, symbols } from "./ffi.ts";

let opened: { lib: Deno.DynamicLibrary<typeof symbols>; path: string } | null = null;

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

function defaultLibraryUrl(): URL {
  const ext = Deno.build.os === "darwin" ? "dylib" : Deno.build.os === "windows" ? "dll" : "so";
  const base = Deno.build.os === "windows" ? "bitnet_metal" : "libbitnet_metal";
  return new URL(`../build/${base}.${ext}`, import.meta.url);
}

function urlToPath(url: URL): string {
  if (url.protocol !== "file:") {
    throw new BitnetError(
      Status.NOT_FOUND,
      `the native library must be a local file, but this module was loaded from ${url.href}; ` +
        `set BITNET_METAL_LIB to the path of a built libbitnet_metal`,
      { op: "dlopen" },
    );
  }
  let path = decodeURIComponent(url.pathname);
  if (Deno.build.os === "windows" && /^\/[A-Za-z]:/.test(path)) {
    path = path.slice(1);
  }
  return path;
}

/** The path the library is (or would be) loaded from. */
export function libraryPath(): string {
  if (opened) return opened.path;
  return readEnv("BITNET_METAL_LIB") || urlToPath(defaultLibraryUrl());
}

/** The native symbols; opens the library on first use. */
export function lib(): Symbols {
  if (opened) return opened.lib.symbols;
  const path = libraryPath();
  try {
    Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new BitnetError(
        Status.NOT_FOUND,
        `native library not found at ${path}: run \`deno task build\` ` +
          `(or \`deno run -A build.ts\`) first, or set BITNET_METAL_LIB to its path`,
        { op: "dlopen", cause: e },
      );
    }
    throw e;
  }
  let dl: Deno.DynamicLibrary<typeof symbols>;
  try {
    dl = Deno.dlopen(path, symbols);
  } catch (e) {
    throw new BitnetError(
      Status.NOT_FOUND,
      `could not load the native library ${path}: ${(e as Error).message}. ` +
        `Rebuild it with \`deno task build\``,
      { op: "dlopen", cause: e },
    );
  }
  const version = dl.symbols.bn_abi_version();
  if (version !== ABI_VERSION) {
    dl.close();
    throw new BitnetError(
      Status.UNSUPPORTED,
      `expected native ABI version ${ABI_VERSION} but received ${version} from ${path}; ` +
        `rebuild the library with \`deno task build\` or update the TypeScript code`,
      { op: "dlopen" },
    );
  }
  opened = { lib: dl, path };
  return dl.symbols;
}

// ---- scratch out-parameters (main thread, synchronous calls only) --------------------

/** One u64 out-parameter. Off-heap (ArrayBuffer-backed) so its address is stable. */
export const outU64 = new BigUint64Array(new ArrayBuffer(8));
/** One u32 out-parameter. */
export const outU32 = new Uint32Array(new ArrayBuffer(4));

/** The u64 out-parameter (a handle or size). */
export function readOutU64(): bigint {
  return outU64[0];
}

// ---- error text ------------------------------------------------------------------------

const ERR_CAP = 1024;
const errBuf = new Uint8Array(new ArrayBuffer(ERR_CAP));
const decoder = new TextDecoder();

function decodeCString(buf: Uint8Array, reported: number): string {
  const limit = Math.min(reported, buf.length - 1);
  let end = buf.indexOf(0);
  if (end < 0 || end > limit) end = limit;
  return decoder.decode(buf.subarray(0, end));
}

/** The last error message of the calling (main) thread, copied out safely. */
export function lastError(): string {
  errBuf.fill(0);
  const n = lib().bn_last_error_copy(errBuf, ERR_CAP);
  return decodeCString(errBuf, n);
}

/** The last error message recorded on a device (from any thread). */
export function deviceLastError(device: bigint): string {
  errBuf.fill(0);
  const n = lib().bn_device_last_error_copy(device, errBuf, ERR_CAP);
  return decodeCString(errBuf, n);
}

/** The static text of a status code (`bn_status_string`). */
export function statusString(status: number): string {
  const p = lib().bn_status_string(status);
  if (p === null) return `status ${status}`;
  return Deno.UnsafePointerView.getCString(p);
}

/** Reads a static, NUL-terminated C string result (or null). */
export function cString(p: Deno.PointerValue): string | null {
  return p === null ? null : Deno.UnsafePointerView.getCString(p);
}

/**
 * Throws a {@linkcode BitnetError} when `status` is not `BN_OK`.
 *
 * Call it right after a synchronous native call on the main thread: the message is that
 * thread's last error. For a nonblocking call (which failed on another thread) pass the
 * device handle so the device's last error is used instead.
 */
export function check(
  status: number,
  op: string,
  options: { device?: bigint; threadLocal?: boolean } = {},
): void {
  if (status === Status.OK) return;
  throw nativeError(status, op, options);
}

/** Builds the {@linkcode BitnetError} for a failed native call. */
export function nativeError(
  status: number,
  op: string,
  options: { device?: bigint; threadLocal?: boolean } = {},
): BitnetError {
  const threadLocal = options.threadLocal ?? true;
  let msg = threadLocal ? lastError() : "";
  if (!msg && options.device !== undefined && options.device !== 0n) {
    msg = deviceLastError(options.device);
  }
  const text = statusString(status);
  return new BitnetError(status, msg ? `${text}: ${msg}` : text, {
    op,
    nativeMessage: msg,
  });
}
