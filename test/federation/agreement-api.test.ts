/**
 * The API exposes what `accord agreement lint|hash|show|diff` do offline (spec/agreement.md
 * "Over the API"), over real HTTP to a real node: the same parser, the same hash as the library,
 * errors that carry `source:line:column`, and nothing stored by any of them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { parseAgreement } from "../../src/core/agreement/parse.js";
import {
  api,
  createNodeDir,
  EXAMPLES,
  makeTempDir,
  removeDir,
  start,
  type TestNodeDir,
} from "../support/nodes.js";

const ID = "regional-cyber-accord";
const source = readFileSync(join(EXAMPLES, "agreements", `${ID}.yaml`), "utf8");
const YAML = { "content-type": "application/yaml" };

describe("agreement lint, hash, show and diff over the API", () => {
  let root: string;
  let dir: TestNodeDir;
  let xa: RunningNode;

  beforeAll(async () => {
    root = makeTempDir("accord-agreement-api-");
    dir = createNodeDir(root, { id: "XA" });
    xa = await start(dir);
  });

  afterAll(async () => {
    await xa.stop();
    removeDir(root);
  });

  const held = async () => (await api(xa, "GET", "/api/v1/agreements")).body.agreements.length;

  it("lints and hashes a well-formed agreement as the library does, storing nothing", async () => {
    const before = await held();
    const want = parseAgreement(source);
    const lint = await api(xa, "POST", "/api/v1/agreements/lint", source, YAML);
    expect(lint.status).toBe(200);
    expect(lint.body).toEqual({ valid: true, id: ID, version: 1, hash: want.hash });
    const hash = await api(xa, "POST", "/api/v1/agreements/hash", source, YAML);
    expect(hash.status).toBe(200);
    expect(hash.body).toEqual({
      type: "accord-agreement-signature/1",
      agreement: ID,
      version: 1,
      hash: want.hash,
    });
    // A change of layout only (a comment) keeps the canonical hash.
    const relaid = await api(xa, "POST", "/api/v1/agreements/hash", `# note\n${source}`, YAML);
    expect(relaid.body.hash).toBe(want.hash);
    const show = await api(xa, "POST", "/api/v1/agreements/show", source, YAML);
    expect(show.body.doc).toEqual(JSON.parse(JSON.stringify(want.doc)));
    expect(await held(), "nothing was added to the node").toBe(before);
  });

  it("refuses a malformed agreement with errors naming source, line and column", async () => {
    // A duplicate key is a YAML error at the second occurrence's line.
    const dup = source.replace("version: 1\n", "version: 1\nversion: 1\n");
    const second = dup.split("\n").lastIndexOf("version: 1") + 1;
    const r = await api(xa, "POST", "/api/v1/agreements/lint", dup, YAML);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("ERR_MALFORMED_INPUT");
    expect(r.body.errors[0].path).toMatch(new RegExp(`^request body:${String(second)}:\\d+$`));

    const unknown = source.replace("version: 1\n", "version: 1\nwho_pays: nobody\n");
    const u = await api(xa, "POST", "/api/v1/agreements/lint", unknown, YAML);
    expect(u.status).toBe(422);
    expect(u.body.code).toBe("ERR_AGREEMENT_INVALID");
    const line = unknown.split("\n").findIndex((l) => l.startsWith("who_pays")) + 1;
    expect(
      (u.body.errors as { path: string; message: string }[]).some(
        (e) => e.path.startsWith(`request body:${String(line)}:`) && e.message.includes("who_pays"),
      ),
    ).toBe(true);

    const json = await api(xa, "POST", "/api/v1/agreements/lint", { agreement: ID });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe("ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  it("diffs two texts by meaning, and two held versions", async () => {
    const after = source.replace("version: 1\n", "version: 2\nsupersedes: 1\n");
    const d = await api(xa, "POST", "/api/v1/agreements/diff", { before: source, after });
    expect(d.status).toBe(200);
    expect(d.body.changes).toEqual([
      { path: "supersedes", kind: "added", after: 1 },
      { path: "version", kind: "changed", before: 1, after: 2 },
    ]);
    const same = await api(xa, "POST", "/api/v1/agreements/diff", {
      before: source,
      after: `# a comment\n${source}`,
    });
    expect(same.body.changes).toEqual([]);
    const bad = await api(xa, "POST", "/api/v1/agreements/diff", {
      before: source,
      after: after.replace("sunset: ", "sunset: 2027-13-45 #"),
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toMatch(/^after:\d+:\d+$/);

    const add = await api(xa, "POST", "/api/v1/agreements", after, YAML);
    expect(add.status).toBe(201);
    const held2 = await api(xa, "GET", `/api/v1/agreements/${ID}/diff?from=1&to=2`);
    expect(held2.status).toBe(200);
    expect(held2.body.changes).toEqual(d.body.changes);
    const v2 = await api(xa, "GET", `/api/v1/agreements/${ID}/versions/2`);
    expect(v2.body).toMatchObject({ id: ID, version: 2, source: after });
    const missing = await api(xa, "GET", `/api/v1/agreements/${ID}/versions/9`);
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toContain("version 9");
  });
});
