/**
 * The node's match secret (spec/match.md §keys): 32 random bytes in `match-secret` beside the
 * node keys, 0600 like them, created on first start. Every agreement's POPRF key is derived from
 * it; it is never logged or sent. Replacing the file rotates every match key at once.
 */
import { dirname, join } from "node:path";
import { loadOrCreateSecret32 } from "./secrets.js";

export const MATCH_SECRET_FILE = "match-secret";

export function matchSecretPath(keysFile: string): string {
  return join(dirname(keysFile), MATCH_SECRET_FILE);
}

/** Read the match secret next to `keysFile`, creating it when it does not exist yet. */
export function loadOrCreateMatchSecret(keysFile: string): Uint8Array {
  return loadOrCreateSecret32(matchSecretPath(keysFile), "match secret");
}
