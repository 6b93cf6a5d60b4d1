/**
 * Storage contract for TAXII (migrations 7 and 9; TaxiiRepo in src/app/ports.ts): object versions
 * in date-added order with keyset pages and filters, as entries and as stored JSON text; the
 * re-issued id index of partner collections; credentials (hashes only) and status records.
 * Every adapter runs exactly these tests: see test/storage/{sqlite,postgres}.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Provenance, Store, TaxiiCredential } from "../../src/app/ports.js";
import type { StixObject } from "../../src/core/stix/object.js";

type Open = () => Promise<Store>;

const LOCAL: Provenance = {
  originator: "XA",
  receivedFrom: null,
  agreementId: null,
  agreementVersion: null,
  purpose: null,
  retentionUntil: null,
  envelopeId: null,
};

function obj(id: string, modified: string, type = "indicator", spec = "2.1"): StixObject {
  return {
    type,
    spec_version: spec,
    id,
    created: "2026-01-01T00:00:00.000Z",
    modified,
    name: id,
  };
}

const ID = (n: number) => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const M = (d: number) => `2026-03-${String(d).padStart(2, "0")}T00:00:00.000Z`;

function credential(id: string): TaxiiCredential {
  return {
    id,
    partner: "XB",
    purpose: "cyber-defence",
    agreementId: null,
    canRead: true,
    canWrite: false,
    secretHash: "ab".repeat(32),
    createdAt: "2026-03-01T00:00:00.000Z",
  };
}

export function describeTaxiiConformance(name: string, open: Open, cleanup?: () => Promise<void>) {
  describe(`${name}: TAXII repository`, () => {
    let store: Store | undefined;
    const fresh = async (): Promise<Store> => {
      store = await open();
      return store;
    };
    afterEach(async () => {
      await store?.close();
      store = undefined;
      await cleanup?.();
    });

    const put = (s: Store, o: StixObject, storedAt: string) =>
      s.objects.put({ object: o, provenance: LOCAL, storedAt });

    it("orders versions by when they were added, with strictly increasing dates, in keyset pages", async () => {
      const s = await fresh();
      // The clock steps back for the third write: date added still increases with the sequence.
      await put(s, obj(ID(1), M(1)), "2026-03-10T00:00:00.000Z");
      await put(s, obj(ID(2), M(1)), "2026-03-10T00:00:00.000Z");
      await put(s, obj(ID(3), M(1)), "2026-03-09T00:00:00.000Z");
      await put(s, obj(ID(4), M(1)), "2026-03-11T00:00:00.500+01:00");
      expect(await put(s, obj(ID(1), M(1)), "2026-03-12T00:00:00.000Z")).toBe("unchanged");
      const all = await s.taxii.added({ afterSeq: 0, limit: 10 });
      expect(all.map((e) => e.stored.object.id)).toEqual([ID(1), ID(2), ID(3), ID(4)]);
      for (let i = 1; i < all.length; i++) {
        expect(all[i]!.seq).toBeGreaterThan(all[i - 1]!.seq);
        expect(all[i]!.dateAddedUs).toBeGreaterThan(all[i - 1]!.dateAddedUs);
      }
      expect(all[0]!.dateAddedUs).toBe(Date.parse("2026-03-10T00:00:00.000Z") * 1000);
      expect(all[3]!.dateAddedUs).toBe(Date.parse("2026-03-10T23:00:00.500Z") * 1000);
      expect(all[0]!.stored.provenance).toEqual(LOCAL);

      const p1 = await s.taxii.added({ afterSeq: 0, limit: 2 });
      const p2 = await s.taxii.added({ afterSeq: p1[1]!.seq, limit: 2 });
      expect([...p1, ...p2].map((e) => e.seq)).toEqual(all.map((e) => e.seq));
      expect(await s.taxii.added({ afterSeq: all[3]!.seq, limit: 2 })).toEqual([]);
      const after = await s.taxii.added({
        afterSeq: 0,
        addedAfterUs: all[1]!.dateAddedUs,
        limit: 10,
      });
      expect(after.map((e) => e.stored.object.id)).toEqual([ID(3), ID(4)]);
      await expect(s.taxii.added({ afterSeq: 0, limit: 0 })).rejects.toThrow(RangeError);
    });

    it("filters by id, type, spec_version and version (first, last, all, explicit)", async () => {
      const s = await fresh();
      await put(s, obj(ID(1), M(2)), "2026-03-10T00:00:00.000Z");
      await put(s, obj(ID(2), M(1), "malware"), "2026-03-10T00:00:01.000Z");
      await put(s, obj(ID(1), M(3)), "2026-03-10T00:00:02.000Z");
      await put(s, obj(ID(1), M(1)), "2026-03-10T00:00:03.000Z"); // an older version, added last
      await put(s, obj(ID(3), M(1), "indicator", "2.0"), "2026-03-10T00:00:04.000Z");
      const q = async (f: Record<string, unknown>) =>
        (await s.taxii.added({ afterSeq: 0, limit: 100, ...f })).map(
          (e) => `${e.stored.object.id.slice(-1)}@${e.stored.object.modified!.slice(8, 10)}`,
        );
      expect(await q({})).toEqual(["2@01", "1@03", "3@01"]);
      expect(await q({ versions: ["all"] })).toEqual(["1@02", "2@01", "1@03", "1@01", "3@01"]);
      expect(await q({ versions: ["first"] })).toEqual(["2@01", "1@01", "3@01"]);
      expect(await q({ versions: ["first", "last"], ids: [ID(1)] })).toEqual(["1@03", "1@01"]);
      expect(await q({ versions: ["2026-03-02T00:00:00Z"] })).toEqual(["1@02"]);
      expect(await q({ types: ["malware"] })).toEqual(["2@01"]);
      expect(await q({ types: ["malware", "indicator"], specVersions: ["2.1"] })).toEqual([
        "2@01",
        "1@03",
      ]);
      expect(await q({ specVersions: ["2.0"] })).toEqual(["3@01"]);
      expect(await q({ ids: [ID(9)] })).toEqual([]);
      const versions = await s.taxii.addedVersions(ID(1));
      expect(versions.map((e) => e.stored.object.modified)).toEqual([M(1), M(2), M(3)]);
    });

    it("deletes versions of an object and forgets their positions", async () => {
      const s = await fresh();
      await put(s, obj(ID(1), M(1)), "2026-03-10T00:00:00.000Z");
      await put(s, obj(ID(1), M(2)), "2026-03-10T00:00:01.000Z");
      await put(s, obj(ID(2), M(1)), "2026-03-10T00:00:02.000Z");
      expect(await s.taxii.deleteObject(ID(1), ["2026-03-02T00:00:00Z"])).toBe(1);
      expect(
        (await s.taxii.added({ afterSeq: 0, limit: 10 })).map((e) => e.stored.object.id),
      ).toEqual([ID(1), ID(2)]);
      expect(await s.taxii.deleteObject(ID(1), "all")).toBe(1);
      expect(await s.taxii.deleteObject(ID(1), "all")).toBe(0);
      expect(await s.objects.get(ID(1))).toBeUndefined();
      const left = await s.taxii.added({ afterSeq: 0, limit: 10, versions: ["all"] });
      expect(left.map((e) => e.stored.object.id)).toEqual([ID(2)]);
      // A position is never reused: a new version after deletes sorts last.
      await put(s, obj(ID(1), M(5)), "2026-03-10T00:00:00.000Z");
      const now = await s.taxii.added({ afterSeq: 0, limit: 10 });
      expect(now.map((e) => e.stored.object.id)).toEqual([ID(2), ID(1)]);
      expect(now[1]!.seq).toBeGreaterThan(3);
    });

    it("assigns no position to a write that rolled back", async () => {
      const s = await fresh();
      await expect(
        s.transaction(async (tx) => {
          await tx.objects.put({ object: obj(ID(1), M(1)), provenance: LOCAL, storedAt: M(9) });
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      expect(await s.taxii.added({ afterSeq: 0, limit: 10 })).toEqual([]);
      await put(s, obj(ID(2), M(1)), M(9));
      expect(
        (await s.taxii.added({ afterSeq: 0, limit: 10 })).map((e) => e.stored.object.id),
      ).toEqual([ID(2)]);
    });

    it("serves the stored JSON text of versions with the same order, pages and filters", async () => {
      const s = await fresh();
      await put(s, obj(ID(1), M(2)), "2026-03-10T00:00:00.000Z");
      await put(s, obj(ID(2), M(1), "malware"), "2026-03-10T00:00:01.000Z");
      await put(s, obj(ID(1), M(3)), "2026-03-10T00:00:02.000Z");
      await put(s, { ...obj(ID(4), M(1)), confidence: 0.5, labels: ["é", "\u2028"] }, M(9));
      for (const f of [
        {},
        { versions: ["all"] },
        { ids: [ID(1)], versions: ["first"] },
        { types: ["malware"] },
        { addedAfterUs: Date.parse("2026-03-10T00:00:00.500Z") * 1000 },
      ]) {
        const entries = await s.taxii.added({ afterSeq: 0, limit: 100, ...f });
        const json = await s.taxii.addedJson({ afterSeq: 0, limit: 100, ...f });
        expect(json.map((j) => [j.seq, j.dateAddedUs, j.id, j.version])).toEqual(
          entries.map((e) => [e.seq, e.dateAddedUs, e.stored.object.id, e.stored.object.modified]),
        );
        // The text is the object, whatever spacing or key order the adapter keeps.
        expect(json.map((j) => JSON.parse(j.json) as unknown)).toEqual(
          entries.map((e) => e.stored.object),
        );
      }
      const first = await s.taxii.addedJson({ afterSeq: 0, limit: 1, versions: ["all"] });
      const rest = await s.taxii.addedJson({
        afterSeq: first[0]!.seq,
        limit: 10,
        versions: ["all"],
      });
      expect([...first, ...rest].map((j) => j.id)).toEqual([ID(1), ID(2), ID(1), ID(4)]);
      await expect(s.taxii.addedJson({ afterSeq: 0, limit: 0 })).rejects.toThrow(RangeError);
    });

    it("keeps the re-issued id index per agreement, with a mark of how far it covers (migration 9)", async () => {
      const s = await fresh();
      await put(s, obj(ID(1), M(1)), M(9));
      await put(s, obj(ID(2), M(1)), M(9));
      await put(s, obj(ID(1), M(2)), M(9));
      const ids = await s.taxii.addedIds(0, 10);
      expect(ids.map((r) => r.id)).toEqual([ID(1), ID(2), ID(1)]);
      expect(await s.taxii.addedIds(ids[0]!.seq, 1)).toEqual([ids[1]]);
      expect(await s.taxii.reissuedMark("acc-1")).toBe(0);

      const R = (n: number, a: string) => `indicator--${a}-${String(n)}`;
      await s.taxii.indexReissued(
        "acc-1",
        [
          { reissuedId: R(1, "a"), originalId: ID(1) },
          { reissuedId: R(2, "a"), originalId: ID(2) },
        ],
        ids[1]!.seq,
      );
      // Indexing again (a later version of the same id, or a concurrent catch-up) is harmless,
      // and a mark never moves back.
      await s.taxii.indexReissued(
        "acc-1",
        [{ reissuedId: R(1, "a"), originalId: ID(1) }],
        ids[2]!.seq,
      );
      await s.taxii.indexReissued("acc-1", [], ids[0]!.seq);
      await s.taxii.indexReissued("acc-2", [{ reissuedId: R(1, "b"), originalId: ID(1) }], 1);
      expect(await s.taxii.reissuedMark("acc-1")).toBe(ids[2]!.seq);
      expect(await s.taxii.reissuedMark("acc-2")).toBe(1);

      expect(await s.taxii.originalIds(["acc-1"], [R(1, "a")])).toEqual([ID(1)]);
      expect((await s.taxii.originalIds(["acc-1"], [R(1, "a"), R(2, "a"), "x"])).sort()).toEqual([
        ID(1),
        ID(2),
      ]);
      // Per agreement: an id re-issued under one agreement means nothing under another.
      expect(await s.taxii.originalIds(["acc-2"], [R(1, "a")])).toEqual([]);
      expect(await s.taxii.originalIds(["acc-1", "acc-2"], [R(1, "b")])).toEqual([ID(1)]);
      expect(await s.taxii.originalIds([], [R(1, "a")])).toEqual([]);
    });

    it("keeps credentials (hash only) and status records", async () => {
      const s = await fresh();
      await s.taxii.putCredential(credential("b-reader"));
      await s.taxii.putCredential({ ...credential("a-writer"), canWrite: true, agreementId: "x" });
      await expect(s.taxii.putCredential(credential("b-reader"))).rejects.toMatchObject({
        code: "ERR_BAD_REQUEST",
      });
      expect(await s.taxii.getCredential("b-reader")).toEqual(credential("b-reader"));
      expect(
        (await s.taxii.listCredentials()).map((c) => [c.id, c.canWrite, c.agreementId]),
      ).toEqual([
        ["a-writer", true, "x"],
        ["b-reader", false, null],
      ]);
      expect(await s.taxii.removeCredential("b-reader")).toBe(true);
      expect(await s.taxii.removeCredential("b-reader")).toBe(false);
      expect(await s.taxii.getCredential("b-reader")).toBeUndefined();

      const body = { id: "s1", status: "complete", total_count: 1, successes: [{ id: ID(1) }] };
      await s.taxii.putStatus({ id: "s1", owner: "a-writer", createdAt: M(1), body });
      expect(await s.taxii.getStatus("s1")).toEqual({
        id: "s1",
        owner: "a-writer",
        createdAt: M(1),
        body,
      });
      expect(await s.taxii.getStatus("s2")).toBeUndefined();
    });
  });
}
