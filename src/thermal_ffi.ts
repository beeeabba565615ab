/**
 * PLACEHOLDER created by the TypeScript API helper so that `src/ffi.ts` type-checks.
 * The thermal helper owns this file and replaces it with the thermal symbols (each
 * `optional: true`), spread into the one symbol table of `src/ffi.ts`.
 *
 * @module
 */

/** FFI symbols of the thermal/system-state API (none yet). */
export const thermalSymbols = {} as const;
