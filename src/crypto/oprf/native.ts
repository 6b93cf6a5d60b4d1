/**
 * The optional native ristretto255 backend: a small N-API addon of Accord's own
 * (native/ristretto255/, built by scripts/build-native.mjs against the system's libsodium) that
 * runs the batch operations of `Ristretto255` in libsodium's C code instead of its WebAssembly
 * build. Same functions, same constant-time multiplication, byte-identical outputs
 * (test/match/backend.test.ts); about 2.5 times faster per multiplication (spec/match.md
 * §performance).
 *
 * Choice (`BackendChoice`): `native` (required: loading fails loudly without the addon), `wasm`
 * (never load it) or `auto` (native when built, else wasm; the default). The composition root
 * reads it from ACCORD_RISTRETTO_BACKEND and passes it to `useRistrettoBackend` (group.ts). The
 * addon is optional by construction: `npm ci` tolerates a failed build and everything runs on
 * wasm.
 */
import { createRequire } from "node:module";

/** The addon's functions (native/ristretto255/ristretto255.c documents each). */
export interface NativeRistretto {
  readonly sodiumVersion: string;
  multMany(k: Uint8Array, points: Uint8Array): Uint8Array | number;
  multBase(k: Uint8Array): Uint8Array | null;
  fromHashMany(uniform: Uint8Array, k?: Uint8Array): Uint8Array | number;
  firstInvalid(points: Uint8Array): number;
  scalarReduceMany(wide: Uint8Array): Uint8Array;
  linearCombination(scalars: Uint8Array, points: Uint8Array): Uint8Array | number;
}

export type BackendChoice = "auto" | "native" | "wasm";

/** The addon as built in the source tree; `dist/crypto/oprf` and `src/crypto/oprf` both sit three levels down. */
const ADDON = new URL(
  "../../../native/ristretto255/build/Release/accord_ristretto255.node",
  import.meta.url,
);

/** Parses a backend choice (the value of ACCORD_RISTRETTO_BACKEND); unset means `auto`. */
export function backendChoice(value: string | undefined): BackendChoice {
  if (value === undefined || value === "" || value === "auto") return "auto";
  if (value === "native" || value === "wasm") return value;
  throw new RangeError(
    `ACCORD_RISTRETTO_BACKEND must be native, wasm or auto, got ${JSON.stringify(value)}`,
  );
}

let cached: { addon: NativeRistretto | undefined; reason: string } | undefined;

/** Loads the addon once; `reason` says why it is absent (not built, or a load error). */
export function loadNativeAddon(): { addon: NativeRistretto | undefined; reason: string } {
  if (cached !== undefined) return cached;
  try {
    const addon = createRequire(import.meta.url)(ADDON.pathname) as NativeRistretto;
    cached = { addon, reason: "" };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    cached = {
      addon: undefined,
      reason:
        code === "MODULE_NOT_FOUND"
          ? "the native addon is not built (npm run build:native needs libsodium-dev)"
          : `the native addon did not load: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  return cached;
}

/** The addon when `choice` allows it; throws when `native` is required and absent. */
export function nativeFor(choice: BackendChoice): NativeRistretto | undefined {
  if (choice === "wasm") return undefined;
  const { addon, reason } = loadNativeAddon();
  if (addon === undefined && choice === "native") {
    throw new Error(`ACCORD_RISTRETTO_BACKEND=native but ${reason}`);
  }
  return addon;
}
