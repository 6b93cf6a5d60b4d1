/** A test node's keys as the log and witness tests read them from its directory. */
import { join } from "node:path";
import { loadNodeKeys } from "../../src/cli/secrets.js";

/** The raw Ed25519 public key the node in `dir` signs with (its log checkpoints among others). */
export function signingKeyOf(dir: string): Uint8Array {
  const keys = loadNodeKeys(join(dir, "keys", "node-keys.json"));
  return new Uint8Array(Buffer.from(keys.signing.publicJwk.x, "base64url"));
}
