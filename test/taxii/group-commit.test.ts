/**
 * Group commit (src/app/group-commit.ts; spec/taxii.md, "Writes") on real SQLite, and through
 * the TAXII server over real HTTP: concurrent POSTs share commits, each is answered with its own
 * status only once its objects are committed, and a failing member of a group takes no other
 * member down and leaves nothing of itself behind. The unit tests' store runs its plans on the
 * SQLite writer thread (src/storage/sqlite/writer.ts); the node's, on the event loop's thread and,
 * configured with `storage.writer_thread: true`, on the writer thread.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { GroupCommit } from "../../src/app/group-commit.js";
import type { Provenance, Store, StoredObject } from "../../src/app/ports.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { collectionId } from "../../src/app/taxii.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { createNodeDir, makeTempDir, removeDir, start } from "../support/nodes.js";
import { indicator, taxii } from "./helpers.js";

const LOCAL: Provenance = {
  originator: "XA",
  receivedFrom: null,
  agreementId: null,
  agreementVersion: null,
  purpose: null,
  retentionUntil: null,
  envelopeId: null,
};
const AT = "2026-03-01T00:00:00.000Z";
const put = (object: StixObject): StoredObject => ({ object, provenance: LOCAL, storedAt: AT });

let root: string;

beforeAll(() => {
  root = makeTempDir("accord-group-commit-");
});
afterAll(() => {
  removeDir(root);
});

describe("GroupCommit on SQLite", () => {
  let store: Store;
  beforeAll(async () => {
    store = await openSqliteStore({ path: join(root, "unit.db"), writerThread: true });
  });
  afterAll(async () => {
    await store.close();
  });

  it("writes plans queued together in one transaction and settles each once it committed", async () => {
    const group = new GroupCommit(store);
    const objects = Array.from({ length: 12 }, (_, i) => indicator(i) as unknown as StixObject);
    const order: number[] = [];
    await Promise.all(
      objects.map((o, i) =>
        group.run([{ op: "putObjects", objects: [put(o)] }]).then(() => order.push(i)),
      ),
    );
    expect(order).toHaveLength(12);
    expect(group.stats()).toEqual({ commits: 1, units: 12, splits: 0 });
    for (const o of objects) expect((await store.objects.get(o.id))?.object).toEqual(o);
  });

  it("retries a failed group plan by plan: only the failing plan is refused, and nothing of it is stored", async () => {
    const group = new GroupCommit(store);
    const good = [indicator(1), indicator(2), indicator(3)] as unknown as StixObject[];
    const bad = indicator(4) as unknown as StixObject;
    const status = { id: "status-once", owner: "operator", createdAt: AT, body: {} };
    await group.run([{ op: "putStatus", status }]);
    const settled = await Promise.allSettled([
      group.run([{ op: "putObjects", objects: [put(good[0]!)] }]),
      // Writes, then fails (a status id is written once): the write must not survive.
      group.run([
        { op: "putObjects", objects: [put(bad)] },
        { op: "putStatus", status },
      ]),
      group.run([{ op: "putObjects", objects: [put(good[1]!), put(good[2]!)] }]),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(settled[1]).toMatchObject({ reason: { code: "ERR_STORAGE" } });
    expect(await store.objects.get(bad.id)).toBeUndefined();
    for (const o of good) expect(await store.objects.get(o.id)).toBeDefined();
    // One group failed and was split; the two good plans then committed one by one.
    expect(group.stats()).toEqual({ commits: 3, units: 3, splits: 1 });
  });
});

describe.each([
  ["on the event loop's thread (the default)", false],
  ["on the writer thread (storage.writer_thread: true)", true],
])("concurrent TAXII POSTs, group commits %s", (_how, writerThread) => {
  let xa: RunningNode;
  let base: string;
  let op: string;
  beforeAll(async () => {
    xa = await start(
      createNodeDir(join(root, writerThread ? "writer" : "loop"), { id: "XA", writerThread }),
    );
    op = `Bearer ${xa.apiToken}`;
    base = `/taxii2/api/collections/${collectionId("XA", "local")}/objects/`;
  });
  afterAll(async () => {
    await xa.stop();
  });

  it("answers each of many concurrent POSTs with its own status, after its objects are committed", async () => {
    const envelopes = Array.from({ length: 16 }, (_, e) =>
      Array.from({ length: 25 }, (_, i) => indicator(e * 25 + i)),
    );
    // A second connection to the same file sees only what has been committed.
    const reader = await openSqliteStore({ path: join(xa.config.dir, "accord.db") });
    try {
      const replies = await Promise.all(
        envelopes.map(async (objects) => {
          const r = await taxii(xa.url, base, { auth: op, body: { objects } });
          const held = await Promise.all(objects.map((o) => reader.objects.get(o.id as string)));
          return { r, committed: held.every((h) => h !== undefined) };
        }),
      );
      const statusIds = new Set<string>();
      replies.forEach(({ r, committed }, e) => {
        expect(r.status).toBe(202);
        expect(committed).toBe(true);
        expect(r.body.success_count).toBe(25);
        expect(r.body.successes.map((s: { id: string }) => s.id)).toEqual(
          envelopes[e]?.map((o) => o.id),
        );
        statusIds.add(r.body.id as string);
      });
      expect(statusIds.size).toBe(envelopes.length);
      // Each status is stored with its request's objects and readable afterwards.
      for (const { r } of replies) {
        const s = await taxii(xa.url, `/taxii2/api/status/${r.body.id as string}/`, { auth: op });
        expect(s.status).toBe(200);
        expect(s.body.success_count).toBe(25);
      }
    } finally {
      await reader.close();
    }
  });

  it("refuses an invalid envelope among concurrent valid ones alone, storing nothing of it", async () => {
    const valid = Array.from({ length: 6 }, (_, e) =>
      Array.from({ length: 10 }, (_, i) => indicator(500 + e * 10 + i)),
    );
    const broken = [indicator(600), { ...indicator(601), pattern_type: undefined }];
    const bodies = [...valid.slice(0, 3), broken, ...valid.slice(3)];
    const replies = await Promise.all(
      bodies.map((objects) => taxii(xa.url, base, { auth: op, body: { objects } })),
    );
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202, 422, 202, 202, 202]);
    expect(replies[3]?.body.error_code).toBe("ERR_STIX_INVALID");
    for (const o of broken) expect(await xa.store.objects.get(o.id as string)).toBeUndefined();
    for (const objects of valid)
      for (const o of objects) expect(await xa.store.objects.get(o.id as string)).toBeDefined();
  });
});
