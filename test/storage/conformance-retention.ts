/**
 * Storage contract for recall and retention (migration 5; src/app/ports.ts, spec/recall.md): the
 * object repository's `purge` and `expired`, and the recall repository (shared copies, recalls,
 * targets and the recall outbox). Every adapter runs exactly these tests: see
 * test/storage/{sqlite,postgres}.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { Provenance, RecallRecord, Store, StoredObject } from "../../src/app/ports.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { freshStores } from "./fresh-stores.js";

type Open = () => Promise<Store>;

const T0 = "2026-03-01T10:00:00.000Z";

function indicator(id: string, modified: string): StixObject {
  return {
    type: "indicator",
    spec_version: "2.1",
    id,
    created: "2026-03-01T00:00:00.000Z",
    modified,
    pattern: "[ipv4-addr:value = '198.51.100.7']",
    pattern_type: "stix",
    valid_from: "2026-03-01T00:00:00Z",
  };
}

function received(retentionUntil: string | null): Provenance {
  return {
    originator: "XA",
    receivedFrom: "XA",
    agreementId: "regional-cyber-accord",
    agreementVersion: 1,
    purpose: "cyber-defence",
    retentionUntil,
    envelopeId: "6f0c2d4e-1a3b-4c5d-8e9f-0a1b2c3d4e5f",
  };
}

function stored(object: StixObject, p: Provenance): StoredObject {
  return { object, provenance: p, storedAt: T0 };
}

const ID = (n: number): string =>
  `indicator--00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const UUID = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function recall(n: number, over: Partial<RecallRecord> = {}): RecallRecord {
  return {
    id: UUID(n),
    objectId: ID(1),
    kind: "recall",
    originator: "XA",
    role: "issued",
    issuedAt: T0,
    notice: `{"n":${n}}`,
    receivedFrom: null,
    ack: null,
    recordedAt: `2026-03-01T10:00:${String(n).padStart(2, "0")}.000Z`,
    ...over,
  };
}

export function describeRetentionConformance(
  name: string,
  open: Open,
  cleanup?: () => Promise<void>,
): void {
  describe(`${name}: recall and retention storage (migrations 5 and 12)`, () => {
    const fresh = freshStores(open, cleanup);

    it("purges every version of an object, or one version, and says how many went", async () => {
      const s = await fresh();
      for (const m of ["2026-03-01T01:00:00.000Z", "2026-03-01T02:00:00.000Z"])
        await s.objects.put(stored(indicator(ID(1), m), received(null)));
      await s.objects.put(stored(indicator(ID(2), T0), received(null)));
      expect(await s.objects.purge(ID(1), "2026-03-01T01:00:00.000Z")).toBe(1);
      expect((await s.objects.versions(ID(1))).map((v) => v.object.modified)).toEqual([
        "2026-03-01T02:00:00.000Z",
      ]);
      expect(await s.objects.purge(ID(1))).toBe(1);
      expect(await s.objects.get(ID(1))).toBeUndefined();
      expect(await s.objects.purge(ID(1))).toBe(0);
      expect(await s.objects.count()).toBe(1);
    });

    it("a purge inside a transaction that fails is undone", async () => {
      const s = await fresh();
      await s.objects.put(stored(indicator(ID(1), T0), received(null)));
      await expect(
        s.transaction(async (tx) => {
          await tx.objects.purge(ID(1));
          throw new Error("stop");
        }),
      ).rejects.toThrow("stop");
      expect(await s.objects.get(ID(1))).toBeDefined();
    });

    it("lists expired versions by instant, earliest first, whatever the offset spelling", async () => {
      const s = await fresh();
      await s.objects.put(stored(indicator(ID(1), T0), received("2026-06-01T00:00:00Z")));
      // 2026-05-31T23:30:00Z, written with an offset: earlier than ID(1)'s deadline.
      await s.objects.put(stored(indicator(ID(2), T0), received("2026-06-01T01:30:00+02:00")));
      await s.objects.put(stored(indicator(ID(3), T0), received("2026-09-01T00:00:00.000Z")));
      await s.objects.put(stored(indicator(ID(4), T0), received(null)));
      expect(await s.objects.expired("2026-05-31T23:00:00Z", 10)).toEqual([]);
      expect((await s.objects.expired("2026-05-31T23:30:00.000Z", 10)).map((e) => e.id)).toEqual([
        ID(2),
      ]);
      const due = await s.objects.expired("2026-06-02T00:00:00Z", 10);
      expect(due.map((e) => e.id)).toEqual([ID(2), ID(1)]);
      expect(due[1]).toEqual({
        id: ID(1),
        version: T0,
        type: "indicator",
        originator: "XA",
        receivedFrom: "XA",
        agreementId: "regional-cyber-accord",
        retentionUntil: "2026-06-01T00:00:00Z",
      });
      expect((await s.objects.expired("2030-01-01T00:00:00Z", 2)).map((e) => e.id)).toEqual([
        ID(2),
        ID(1),
      ]);
    });

    it("treats a deadline it cannot read as passed", async () => {
      const s = await fresh();
      await s.objects.put(stored(indicator(ID(1), T0), received("not a time")));
      await s.objects.put(stored(indicator(ID(2), T0), received("2099-01-01T00:00:00Z")));
      expect((await s.objects.expired("2026-03-01T00:00:00Z", 10)).map((e) => e.id)).toEqual([
        ID(1),
      ]);
    });

    it("refuses a `now` that is not RFC 3339", async () => {
      const s = await fresh();
      await expect(s.objects.expired("yesterday", 10)).rejects.toThrow(RangeError);
    });

    it("records shared copies once each, and lists them per object", async () => {
      const s = await fresh();
      const copy = {
        objectId: ID(1),
        sentAs: ID(9),
        version: T0,
        recipient: "XB",
        envelopeId: UUID(1),
        agreement: "regional-cyber-accord v1",
        purpose: "cyber-defence",
        sharedAt: T0,
      };
      await s.recalls.recordCopy(copy);
      await s.recalls.recordCopy(copy);
      await s.recalls.recordCopy({ ...copy, recipient: "XC", envelopeId: UUID(2) });
      await s.recalls.recordCopy({ ...copy, objectId: ID(2), sentAs: ID(2) });
      expect(await s.recalls.copiesOf(ID(1))).toEqual([
        { ...copy, credential: null },
        { ...copy, recipient: "XC", envelopeId: UUID(2), credential: null },
      ]);
      expect(await s.recalls.copiesOf(ID(3))).toEqual([]);
    });

    it("records a page of copies read by TAXII in one write, naming the credential (migration 12)", async () => {
      const s = await fresh();
      const page = [1, 2, 3].map((n) => ({
        objectId: ID(n),
        sentAs: ID(100 + n),
        version: T0,
        recipient: "XE",
        envelopeId: "taxii:xe-reader",
        agreement: "regional-cyber-accord v1",
        purpose: "cyber-defence",
        sharedAt: T0,
        credential: "xe-reader",
      }));
      expect(await s.recalls.recordCopies(page)).toBe(3);
      // The same page read again, plus one new version: only the new one is written.
      const newer = { ...page[0]!, version: "2026-03-02T00:00:00.000Z" };
      expect(await s.recalls.recordCopies([...page, newer])).toBe(1);
      expect(await s.recalls.recordCopies([])).toBe(0);
      expect(await s.recalls.copiesOf(ID(1))).toEqual([page[0], newer]);
      expect(await s.recalls.copiesOf(ID(3))).toEqual([page[2]]);
      // Inside a transaction that fails, nothing of the page stays.
      await expect(
        s.transaction(async (tx) => {
          await tx.recalls.recordCopies([{ ...page[1]!, objectId: ID(7) }]);
          throw new Error("after the write");
        }),
      ).rejects.toThrow("after the write");
      expect(await s.recalls.copiesOf(ID(7))).toEqual([]);
    });

    it("keeps the first record of a recall, lists newest first and filters", async () => {
      const s = await fresh();
      expect(await s.recalls.putRecall(recall(1))).toBe("inserted");
      expect(await s.recalls.putRecall(recall(1, { notice: "{}" }))).toBe("unchanged");
      await s.recalls.putRecall(
        recall(2, { role: "received", receivedFrom: "XA", ack: '{"a":1}', objectId: ID(2) }),
      );
      await s.recalls.putRecall(recall(3, { kind: "correction" }));
      expect(await s.recalls.getRecall(UUID(1))).toEqual(recall(1));
      expect(await s.recalls.getRecall(UUID(9))).toBeUndefined();
      expect((await s.recalls.listRecalls({ limit: 10 })).map((r) => r.id)).toEqual([
        UUID(3),
        UUID(2),
        UUID(1),
      ]);
      expect(
        (await s.recalls.listRecalls({ objectId: ID(1), limit: 10 })).map((r) => r.id),
      ).toEqual([UUID(3), UUID(1)]);
      expect((await s.recalls.listRecalls({ role: "received", limit: 10 }))[0]).toEqual(
        recall(2, { role: "received", receivedFrom: "XA", ack: '{"a":1}', objectId: ID(2) }),
      );
      expect(await s.recalls.listRecalls({ limit: 1 })).toHaveLength(1);
    });

    it("stores targets and replaces one by (recall, recipient)", async () => {
      const s = await fresh();
      const t = {
        recallId: UUID(1),
        recipient: "XC",
        via: null,
        status: "pending" as const,
        ack: null,
        detail: null,
        updatedAt: T0,
      };
      await s.recalls.putTarget(t);
      await s.recalls.putTarget({ ...t, recipient: "XB" });
      await s.recalls.putTarget({
        ...t,
        status: "acknowledged",
        ack: '{"claims":{}}',
        detail: { outcome: "purged", purged: 2, forwardedTo: ["XD"] },
      });
      expect(await s.recalls.targets(UUID(1))).toEqual([
        { ...t, recipient: "XB" },
        {
          ...t,
          status: "acknowledged",
          ack: '{"claims":{}}',
          detail: { outcome: "purged", purged: 2, forwardedTo: ["XD"] },
        },
      ]);
      expect(await s.recalls.targets(UUID(2))).toEqual([]);
    });

    it("queues messages: due by time, failed with backoff, settled once", async () => {
      const s = await fresh();
      const m = (n: number, createdAt: string) => ({
        id: UUID(n),
        recallId: UUID(100),
        recipient: "XB",
        kind: "notice" as const,
        envelope: `env-${n}`,
        createdAt,
      });
      await s.recalls.enqueue(m(1, "2026-03-01T10:00:00Z"));
      await s.recalls.enqueue(m(2, "2026-03-01T10:00:00.5Z"));
      await expect(s.recalls.enqueue(m(1, "2026-03-01T10:00:00Z"))).rejects.toThrow();
      expect((await s.recalls.due("2026-03-01T09:59:59Z", 10)).length).toBe(0);
      expect((await s.recalls.due("2026-03-01T10:00:00Z", 10)).map((x) => x.id)).toEqual([UUID(1)]);
      await s.recalls.markFailed(UUID(1), "ERR_PEER_UNAVAILABLE", "2026-03-01T10:05:00Z");
      const due = await s.recalls.due("2026-03-01T10:01:00Z", 10);
      expect(due.map((x) => x.id)).toEqual([UUID(2)]);
      expect(due[0]).toEqual({
        ...m(2, "2026-03-01T10:00:00.5Z"),
        status: "pending",
        attempts: 0,
        nextAttemptAt: "2026-03-01T10:00:00.5Z",
        lastError: null,
      });
      expect(await s.recalls.settle(UUID(2), "delivered", null)).toBe(true);
      expect(await s.recalls.settle(UUID(2), "refused", "ERR_X")).toBe(false);
      await s.recalls.markFailed(UUID(2), "ERR_PEER_UNAVAILABLE", "2026-03-01T10:06:00Z");
      const all = await s.recalls.messages(UUID(100));
      expect(all.map((x) => [x.id, x.status, x.attempts, x.lastError])).toEqual([
        [UUID(1), "pending", 1, "ERR_PEER_UNAVAILABLE"],
        [UUID(2), "delivered", 0, null],
      ]);
      expect((await s.recalls.due("2026-03-01T10:05:00Z", 10)).map((x) => x.id)).toEqual([UUID(1)]);
    });
  });
}
