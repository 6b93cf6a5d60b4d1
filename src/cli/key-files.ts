/**
 * The node's private key files as the `KeyVault` of key rotation (src/app/key-rotation.ts), all
 * 0600 beside each other:
 *
 *   node-keys.json        the current pair (the format `accord init` writes, unchanged)
 *   node-keys.json.next   a new pair staged during a rotation, renamed over the current file once
 *                         the rotation has committed in the database
 *   previous-keys.json    earlier pairs still needed: inside their overlap, or signing the
 *                         delivery of announcements partners have not acknowledged; a JSON array
 *                         of documents in the node-keys.json format
 *
 * Every write goes to a temporary file that is renamed into place, so a crash leaves the old file
 * or the new one, never half of either.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AccordError } from "../errors.js";
import { exportNodeKeys, importNodeKeys, type NodeKeys } from "../crypto/keys.js";
import type { KeyVault } from "../app/key-rotation.js";
import { readSecret } from "./secrets.js";

export const PREVIOUS_KEYS_FILE = "previous-keys.json";

export function fileKeyVault(keysFile: string): KeyVault {
  const heldFile = join(dirname(keysFile), PREVIOUS_KEYS_FILE);
  const nextFile = `${keysFile}.next`;
  return {
    loadHeld() {
      if (!existsSync(heldFile)) return [];
      let docs: unknown;
      try {
        docs = JSON.parse(readSecret(heldFile, "previous node keys"));
      } catch (e) {
        if (e instanceof AccordError) throw e;
        throw new AccordError("ERR_KEYS_INVALID", `\`${heldFile}\` is not a JSON array of keys`);
      }
      if (!Array.isArray(docs))
        throw new AccordError("ERR_KEYS_INVALID", `\`${heldFile}\` is not a JSON array of keys`);
      return docs.map((d) => importNodeKeys(JSON.stringify(d)));
    },
    saveHeld(keys) {
      const docs = keys.map((k) => JSON.parse(exportNodeKeys(k)) as unknown);
      writeAtomic(heldFile, `${JSON.stringify(docs, null, 2)}\n`);
    },
    stageNext(next) {
      writeAtomic(nextFile, exportNodeKeys(next));
    },
    commitNext() {
      renameSync(nextFile, keysFile);
    },
    discardNext() {
      rmSync(nextFile, { force: true });
    },
    staged(): NodeKeys | undefined {
      return existsSync(nextFile)
        ? importNodeKeys(readSecret(nextFile, "staged node keys"))
        : undefined;
    },
  };
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
  renameSync(tmp, path);
}
