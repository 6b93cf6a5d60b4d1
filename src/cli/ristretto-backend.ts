/**
 * Start-up choice of the ristretto255 backend behind matching and PSI (spec/match.md
 * §performance): ACCORD_RISTRETTO_BACKEND = `native`, `wasm` or `auto` (the default: the native
 * addon when it was built, else libsodium.js). Logs which one runs, once per start.
 */
import type pino from "pino";
import { backendChoice, loadGroup, useRistrettoBackend } from "../crypto/oprf/index.js";

export async function startRistrettoBackend(
  env: Readonly<Record<string, string | undefined>>,
  logger: pino.Logger,
): Promise<string> {
  const choice = backendChoice(env.ACCORD_RISTRETTO_BACKEND);
  useRistrettoBackend(choice);
  const { backend } = await loadGroup();
  logger.info({ ristrettoBackend: backend, choice }, `ristretto255 backend: ${backend}`);
  return backend;
}
