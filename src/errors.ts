/**
 * Errors of bitnet-metal.
 *
 * - {@linkcode BitnetError}: the native library refused or failed a call; carries the
 *   native status code and message.
 * - `TypeError` / `RangeError`: misuse detected in TypeScript before anything native runs
 *   (wrong dtype, shape mismatch, closed objects, non-integer dims, NaN/Inf inputs).
 *   Their messages read `[op] expected … but received …`.
 *
 * @module
 */

import { Status } from "./abi.ts";

/** Symbolic names of the native status codes (`BN_ERR_*` without the prefix). */
export type BitnetErrorCode =
  | "INVALID_ARGUMENT"
  | "OUT_OF_MEMORY"
  | "UNSUPPORTED"
  | "DEVICE_LOST"
  | "COMPILE"
  | "NOT_FOUND"
  | "INVALID_HANDLE"
  | "SIZE"
  | "STATE"
  | "WRONG_DEVICE"
  | "INTERNAL"
  | "UNKNOWN";

const CODE_BY_STATUS = new Map<number, BitnetErrorCode>(
  Object.entries(Status)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => [v, k as BitnetErrorCode]),
);

/** The symbolic code of a native status (`-1` → `"INVALID_ARGUMENT"`, …). */
export function statusCode(status: number): BitnetErrorCode {
  return CODE_BY_STATUS.get(status) ?? "UNKNOWN";
}

/** Options of {@linkcode BitnetError}. */
export interface BitnetErrorOptions {
  /** The operation that failed, shown as `[op]` at the start of the message. */
  op?: string;
  /** The message the native library recorded for the failure ("" when none). */
  nativeMessage?: string;
  /** The underlying cause, if any. */
  cause?: unknown;
}

/**
 * A failure reported by the native library (or, for a few checks such as a missing
 * library or an unsupported op, detected on its behalf).
 *
 * @example
 * ```ts
 * import { BitnetError, Device } from "../mod.ts";
 * using dev = await Device.open({ backend: "cpu" });
 * try {
 *   dev.empty([2 ** 50], "u8");
 * } catch (e) {
 *   if (e instanceof BitnetError) console.log(e.code, e.status, e.nativeMessage);
 * }
 * ```
 */
export class BitnetError extends Error {
  /** The native status code (a negative `BN_ERR_*` value). */
  readonly status: number;
  /** The symbolic name of {@linkcode BitnetError.status}. */
  readonly code: BitnetErrorCode;
  /** The native library's message ("" when it recorded none). */
  readonly nativeMessage: string;
  /** The operation that failed. */
  readonly op: string;

  constructor(status: number, message: string, options: BitnetErrorOptions = {}) {
    const code = statusCode(status);
    const op = options.op ?? "";
    const prefix = op ? `[${op}] ` : "";
    super(`${prefix}${message} (${code}, status ${status})`, {
      cause: options.cause,
    });
    this.name = "BitnetError";
    this.status = status;
    this.code = code;
    this.nativeMessage = options.nativeMessage ?? "";
    this.op = op;
  }
}

/** Describes a value for an error message: `Float32Array(3)`, `"abc"`, `NaN`, `[1,2]`. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint") {
    return String(value);
  }
  if (Array.isArray(value)) {
    if (value.length > 8) return `an array of length ${value.length}`;
    return `[${value.map((v) => describe(v)).join(", ")}]`;
  }
  if (ArrayBuffer.isView(value)) {
    const len = (value as unknown as { length?: number }).length ??
      value.byteLength;
    return `${value.constructor.name}(${len})`;
  }
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name ? `a ${name}` : "an object";
  }
  return typeof value;
}

/** `[op] expected … but received …` as a TypeError. */
export function typeError(
  op: string,
  expected: string,
  received: string,
): TypeError {
  return new TypeError(`[${op}] expected ${expected} but received ${received}`);
}

/** `[op] expected … but received …` as a RangeError. */
export function rangeError(
  op: string,
  expected: string,
  received: string,
): RangeError {
  return new RangeError(`[${op}] expected ${expected} but received ${received}`);
}
