/**
 * The node's match secret (spec/match.md §keys): 32 random bytes in `match-secret` beside the
 * node keys, 0600 like them, created on first start. Every agreement's POPRF key is derived from
 * it; it is never logged or sent. Replacing the file rotates every match key at once.
 */
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { AccordError } from "../errors.js";
import { readSecret, writeSecret } from "./secrets.js";

export const MATCH_SECRET_FILE = "match-secret";

export function matchSecretPath(keysFile: string): string {
  return join(dirname(keysFile), MATCH_SECRET_FILE);
}

/** Read the match secret next to `keysFile`, creating it when it does not exist yet. */
export function loadOrCreateMatchSecret(keysFile: string): Uint8Array {
  const path = matchSecretPath(keysFile);
  if (!existsSync(path)) writeSecret(path, `${randomBytes(32).toString("base64url")}\n`);
  const text = readSecret(path, "match secret").trim();
  const bytes = /^[A-Za-z0-9_-]{43}$/.test(text) ? Buffer.from(text, "base64url") : undefined;
  if (bytes?.length !== 32)
    throw new AccordError(
      "ERR_KEYS_INVALID",
      `the match secret in \`${path}\` is not 32 bytes of base64url`,
    );
  return new Uint8Array(bytes);
}
