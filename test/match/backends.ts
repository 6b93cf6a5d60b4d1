/**
 * The ristretto255 backends the tests run on: libsodium.js (wasm, always) and the native addon
 * (native/ristretto255) when it is built. The native runs are left out only when the addon is
 * absent, which happens when libsodium's headers are missing at `npm ci`
 * (test/match/backend.test.ts says so in its own test and proves the wasm fallback).
 */
import { loadGroupOn, loadNativeAddon, type Ristretto255 } from "../../src/crypto/oprf/index.js";

export type BackendName = "wasm" | "native";

export const nativeAddon = loadNativeAddon().addon;

export const BACKEND_NAMES: readonly BackendName[] =
  nativeAddon === undefined ? ["wasm"] : ["wasm", "native"];

export function backendGroup(name: BackendName): Promise<Ristretto255> {
  return loadGroupOn(name);
}
