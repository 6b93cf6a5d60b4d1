/**
 * The node's log-digest secret (spec/log.md, "Keyed digests"): 32 random bytes in
 * `log-digest-secret` beside the node keys, 0600 like them, created on the node's first start (a
 * new node, or an older one after an upgrade). The keys of the log's keyed digests and officer
 * pseudonyms are derived from it (src/core/log-digest.ts); it is never logged or sent. Replacing
 * the file would make earlier entries' digests and pseudonyms uncheckable, so keep it with the
 * node keys in backups.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { LogDigests } from "../core/log-digest.js";
import { loadOrCreateSecret32 } from "./secrets.js";

export const LOG_DIGEST_SECRET_FILE = "log-digest-secret";

export function logDigestSecretPath(keysFile: string): string {
  return join(dirname(keysFile), LOG_DIGEST_SECRET_FILE);
}

/** The node's keyed digests, from the secret next to `keysFile` (created when missing). */
export function loadOrCreateLogDigests(keysFile: string): LogDigests {
  return new LogDigests(loadOrCreateSecret32(logDigestSecretPath(keysFile), "log-digest secret"));
}

/** The node's keyed digests when the node has made its secret, for CLI commands that only read. */
export function loadLogDigests(keysFile: string): LogDigests | undefined {
  return existsSync(logDigestSecretPath(keysFile)) ? loadOrCreateLogDigests(keysFile) : undefined;
}
