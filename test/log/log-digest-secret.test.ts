/**
 * The log-digest secret (spec/log.md, "Keyed digests"): made on the node's first start beside its
 * keys (a new node, or an older one after an upgrade), 0600, never replaced, and refused like
 * every secret file when another user could read it or it is not 32 bytes.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  loadLogDigests,
  loadOrCreateLogDigests,
  logDigestSecretPath,
} from "../../src/cli/log-digest-secret.js";
import { createNodeSecrets } from "../../src/cli/secrets.js";
import { makeTempDir, removeDir } from "../support/nodes.js";

describe("the log-digest secret", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) removeDir(root);
    root = undefined;
  });

  /** A keys directory as an older node has it: keys, token, minimization secret, nothing else. */
  const olderNode = (): string => {
    root = makeTempDir();
    const keysFile = join(root, "keys", "node-keys.json");
    createNodeSecrets(keysFile, join(root, "keys", "api-token"));
    return keysFile;
  };

  it("is made once, 0600, beside the keys of a node that has none, and kept afterwards", () => {
    const keysFile = olderNode();
    const path = logDigestSecretPath(keysFile);
    expect(existsSync(path)).toBe(false);
    expect(loadLogDigests(keysFile), "a reading command makes nothing").toBeUndefined();
    expect(existsSync(path)).toBe(false);

    const first = loadOrCreateLogDigests(keysFile);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(/^[A-Za-z0-9_-]{43}\n$/);

    // The next start reads the same secret: the same pseudonyms and digests as before.
    const again = loadOrCreateLogDigests(keysFile);
    expect(readFileSync(path, "utf8")).toBe(text);
    expect(again.officer("H. Head")).toBe(first.officer("H. Head"));
    expect(again.text("legal-basis", "art. 8")).toBe(first.text("legal-basis", "art. 8"));
    expect(loadLogDigests(keysFile)?.officer("H. Head")).toBe(first.officer("H. Head"));
  });

  it("refuses a secret other users can read, or one that is not 32 bytes, naming the file", () => {
    const keysFile = olderNode();
    const path = logDigestSecretPath(keysFile);
    loadOrCreateLogDigests(keysFile);
    chmodSync(path, 0o644);
    expect(() => loadOrCreateLogDigests(keysFile)).toThrow(/readable by others/);
    chmodSync(path, 0o600);
    writeFileSync(path, "c2hvcnQ\n");
    expect(() => loadOrCreateLogDigests(keysFile)).toThrow(
      expect.objectContaining({
        code: "ERR_KEYS_INVALID",
        message: expect.stringContaining(`log-digest secret in \`${path}\``),
      }),
    );
    expect(readFileSync(path, "utf8"), "a bad secret is not replaced").toBe("c2hvcnQ\n");
  });
});
