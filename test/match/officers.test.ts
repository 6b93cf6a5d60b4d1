/**
 * Officers (spec/match.md "Decision rights"): the directory authenticates an officer's own token
 * against the SHA-256 hashes in accord.yaml; `accord officer add` writes a new entry (keeping the
 * rest of the file) and hands the token out once; a malformed officers section stops the node.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LogDigests } from "../../src/core/log-digest.js";
import { OfficerDirectory, newOfficerToken, officerTokenHash } from "../../src/app/officers.js";
import { loadConfig } from "../../src/cli/config.js";
import { main } from "../../src/cli/main.js";
import { AccordError } from "../../src/errors.js";
import { createNodeDir, makeTempDir, removeDir } from "../support/nodes.js";

const root = makeTempDir();
afterAll(() => {
  removeDir(root);
});

async function accord(dir: string, args: string[]) {
  let out = "";
  let err = "";
  const code = await main(
    [...args, "--dir", dir],
    {},
    {
      out: (t) => (out += t),
      err: (t) => (err += t),
    },
  );
  return { code, out, err };
}

/** A fixed log-digest secret: pseudonyms are keyed by it (src/core/log-digest.ts). */
const DIGESTS = new LogDigests(new Uint8Array(32).fill(1));

describe("the officer directory", () => {
  it("finds the officer of a token and no one for any other", () => {
    const a = newOfficerToken();
    const b = newOfficerToken();
    const dir = new OfficerDirectory(
      [
        { name: "A", roles: ["head-of-fiu"], tokenSha256: officerTokenHash(a) },
        {
          name: "B",
          roles: ["analyst-supervisor", "head-of-fiu"],
          tokenSha256: officerTokenHash(b),
        },
      ],
      DIGESTS,
    );
    expect(dir.authenticate(a)).toEqual({
      name: "A",
      roles: ["head-of-fiu"],
      pseudonym: DIGESTS.officer("A"),
    });
    expect(dir.authenticate(b)?.name).toBe("B");
    expect(dir.authenticate(officerTokenHash(a)), "the hash is not the token").toBeUndefined();
    expect(dir.authenticate(`${a} `)).toBeUndefined();
    expect(dir.authenticate("")).toBeUndefined();
    expect(new OfficerDirectory([], DIGESTS).authenticate(a)).toBeUndefined();
  });

  it("names each officer by a keyed pseudonym it resolves back, and nothing else", () => {
    const dir = new OfficerDirectory(
      [
        { name: "A. Analyst", roles: ["r1"], tokenSha256: officerTokenHash("a") },
        { name: "H. Head", roles: ["r2"], tokenSha256: officerTokenHash("h") },
      ],
      DIGESTS,
    );
    const [a, h] = dir.list();
    expect(a?.pseudonym).toMatch(/^officer:v1:[A-Za-z0-9_-]{22}$/);
    expect(a?.pseudonym).not.toBe(h?.pseudonym);
    expect(dir.resolve(a!.pseudonym)).toBe("A. Analyst");
    expect(dir.resolve(h!.pseudonym)).toBe("H. Head");
    // Under another node's secret the same name has another pseudonym, which this node cannot resolve.
    const other = new LogDigests(new Uint8Array(32).fill(2)).officer("H. Head");
    expect(other).not.toBe(h?.pseudonym);
    expect(dir.resolve(other)).toBeUndefined();
  });

  it("refuses a malformed hash, a name twice and a shared token", () => {
    const h = officerTokenHash("x");
    expect(
      () => new OfficerDirectory([{ name: "A", roles: ["r1"], tokenSha256: "AB" }], DIGESTS),
    ).toThrow(/64 lower-case hex/);
    expect(
      () =>
        new OfficerDirectory(
          [
            { name: "A", roles: ["r1"], tokenSha256: h },
            { name: "A", roles: ["r1"], tokenSha256: officerTokenHash("y") },
          ],
          DIGESTS,
        ),
    ).toThrow(/named twice/);
    expect(
      () =>
        new OfficerDirectory(
          [
            { name: "A", roles: ["r1"], tokenSha256: h },
            { name: "B", roles: ["r1"], tokenSha256: h },
          ],
          DIGESTS,
        ),
    ).toThrow(/shares its token/);
  });
});

describe("accord.yaml officers and `accord officer add`", () => {
  it("adds an officer, keeps the file's comments, and the token it hands out authenticates", async () => {
    const node = createNodeDir(root, { id: "XB" });
    const file = join(node.dir, "accord.yaml");
    writeFileSync(file, `# XB's node\n${readFileSync(file, "utf8")}`);
    const tokenFile = join(node.dir, "keys", "head.token");
    const r = await accord(node.dir, [
      "officer",
      "add",
      "H. Head",
      "--role",
      "head-of-fiu",
      "--role",
      "analyst-supervisor",
      "--token-file",
      tokenFile,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Restart the node");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(r.out).not.toContain(token);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# XB's node");
    expect(text).not.toContain(token);
    const printed = await accord(node.dir, [
      "officer",
      "add",
      "A. Analyst",
      "--role",
      "analyst-supervisor",
      "--json",
    ]);
    expect(printed.code, printed.err).toBe(0);
    const second = (JSON.parse(printed.out) as { token: string }).token;

    const config = loadConfig(node.dir, {});
    const dir = new OfficerDirectory(config.officers, DIGESTS);
    expect(dir.authenticate(token)).toEqual({
      name: "H. Head",
      roles: ["head-of-fiu", "analyst-supervisor"],
      pseudonym: DIGESTS.officer("H. Head"),
    });
    expect(dir.authenticate(second)?.name).toBe("A. Analyst");
    const list = await accord(node.dir, ["officer", "list"]);
    expect(list.out).toContain("H. Head  head-of-fiu, analyst-supervisor");

    const again = await accord(node.dir, ["officer", "add", "H. Head", "--role", "head-of-fiu"]);
    expect(again.code).toBe(3);
    expect(again.err).toContain("already in accord.yaml");
    const kept = readFileSync(file, "utf8");
    const badRole = await accord(node.dir, ["officer", "add", "X", "--role", "Head Of FIU"]);
    expect(badRole.code).toBe(3);
    expect(badRole.err).toContain("officers.2.roles.0");
    expect(readFileSync(file, "utf8"), "a refused officer changes nothing").toBe(kept);
    expect(loadConfig(node.dir, {}).officers).toHaveLength(2);
  });

  it("stops the node on a malformed officers section, naming the entry", () => {
    const node = createNodeDir(root, {
      id: "XC",
      officers: [
        { name: "A", roles: ["head-of-fiu"], token_sha256: officerTokenHash("a") },
        { name: "A", roles: ["head-of-fiu"], token_sha256: "not-a-hash" },
      ],
    });
    const err = (() => {
      try {
        loadConfig(node.dir, {});
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AccordError);
    expect((err as AccordError).code).toBe("ERR_CONFIG_INVALID");
    expect((err as AccordError).message).toContain("officers.1.token_sha256");
    expect((err as AccordError).message).toContain("officers.1.name: named twice");
  });
});
