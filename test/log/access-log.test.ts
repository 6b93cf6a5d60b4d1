/**
 * The operator's reads of stored objects through the node's API are logged (C7: every access),
 * as `access` entries holding counts and a digest of the ids and versions read, never contents
 * (src/app/object-reads.ts, spec/log.md). One real node over HTTP, SQLite.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { api, demoBundle, startNodes, type TestNodes } from "../support/nodes.js";

const digestOf = (objects: { object: { id: string; modified?: string; created?: string } }[]) => {
  const h = createHash("sha256");
  for (const { object: o } of objects) h.update(`${o.id}\n${o.modified ?? o.created ?? ""}\n`);
  return h.digest("hex");
};

describe("the operator's reads through /api/v1/objects", () => {
  let nodes: TestNodes<"XA">;
  let xa: RunningNode;
  const bundle = demoBundle();

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }]);
    xa = nodes.nodes.XA;
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
  });

  afterAll(() => nodes.stop());

  /** The entries appended since `from`. */
  const since = (from: number) => xa.store.ledger.list(from, 1000);

  it("logs a page read as one entry: filter, count, whether more remain, digest of what was read", async () => {
    const before = await xa.store.ledger.size();
    const r = await api(xa, "GET", "/api/v1/objects?limit=2&type=indicator");
    expect(r.status).toBe(200);
    expect(r.body.objects).toHaveLength(2);
    const added = await since(before);
    expect(added.map((e) => e.kind)).toEqual(["access"]);
    expect(added[0]?.data).toEqual({
      via: "api",
      op: "list-objects",
      principal: "operator",
      type: "indicator",
      objects: 2,
      more: true,
      digest: digestOf(r.body.objects),
    });
  });

  it("logs a read of one object, and a read of one not held, without their contents", async () => {
    const indicator = bundle.objects.find((o) => o.type === "indicator") as {
      id: string;
      pattern: string;
    };
    const before = await xa.store.ledger.size();
    const got = await api(xa, "GET", `/api/v1/objects/${indicator.id}`);
    expect(got.status).toBe(200);
    const missing = await api(
      xa,
      "GET",
      "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000000",
    );
    expect(missing.status).toBe(404);

    const added = await since(before);
    expect(added.map((e) => [e.data.op, e.data.objects])).toEqual([
      ["get-object", 1],
      ["get-object", 0],
    ]);
    expect(added[0]?.data.digest).toBe(digestOf([got.body]));
    expect(added[1]?.data.digest).toBe(createHash("sha256").digest("hex"));
    const text = JSON.stringify(added);
    expect(text).not.toContain(indicator.id);
    expect(text).not.toContain(indicator.pattern);
  });

  it("answers nothing without the bearer token, and logs nothing for it", async () => {
    const before = await xa.store.ledger.size();
    const r = await api(xa, "GET", "/api/v1/objects", undefined, { authorization: "Bearer wrong" });
    expect(r.status).toBe(401);
    expect(await xa.store.ledger.size()).toBe(before);
  });
});
