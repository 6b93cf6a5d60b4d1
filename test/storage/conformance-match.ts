/**
 * Storage contract for hit/no-hit queries and follow-up requests (migration 6; MatchRepo in
 * src/app/ports.ts). Every adapter runs exactly these tests: see test/storage/{sqlite,postgres}.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { MatchQueryRecord, MatchRequestRecord, Store } from "../../src/app/ports.js";
import { freshStores } from "./fresh-stores.js";

type Open = () => Promise<Store>;

const Q: MatchQueryRecord = {
  id: "0b6e8f5e-1d2c-4a3b-9c8d-7e6f5a4b3c2d",
  side: "requester",
  partner: "XB",
  agreementId: "fiu-mou",
  epoch: 4_000_000_000,
  kind: "iban",
  purpose: "aml-cft",
  elements: 2,
  hits: 1,
  at: "2026-03-01T10:00:00.000Z",
};

/** A pending incoming follow-up request (the tests' usual one) with id `id`. */
export function matchRequest(
  id: string,
  over: Partial<MatchRequestRecord> = {},
): MatchRequestRecord {
  return {
    id,
    direction: "incoming",
    partner: "XA",
    agreementId: "fiu-mou",
    queryId: Q.id,
    kind: "iban",
    identifier: "DE89370400440532013000",
    legalBasis: "Directive (EU) 2019/1153 art. 8",
    purpose: "aml-cft",
    urgency: "standard",
    justification: "",
    filedAt: "2026-03-01T10:05:00.000Z",
    hitAt: "2026-03-01T10:00:00.000Z",
    dueAt: "2026-03-03T10:00:00.000Z",
    status: "pending",
    decidedAt: null,
    decidedBy: null,
    decidedRole: null,
    reasons: [],
    released: [],
    ...over,
  };
}

const decision = {
  status: "refused" as const,
  decidedAt: "2026-03-01T12:00:00.000Z",
  decidedBy: "R. Officer",
  decidedRole: "head-of-fiu",
  reasons: ["no legal basis for a release to this unit", "second reason"],
  released: [],
};

export function describeMatchConformance(
  name: string,
  open: Open,
  cleanup?: () => Promise<void>,
): void {
  describe(`match queries and requests conformance: ${name}`, () => {
    const fresh = freshStores(open, cleanup);

    it("keeps a query per side, round-trips it, and ignores a repeated id", async () => {
      const store = await fresh();
      expect(await store.match.putQuery(Q)).toBe("inserted");
      expect(await store.match.putQuery({ ...Q, hits: 0 })).toBe("unchanged");
      const responder = { ...Q, side: "responder" as const, partner: "XA", hits: null };
      expect(await store.match.putQuery(responder)).toBe("inserted");
      expect(await store.match.getQuery(Q.id, "requester")).toEqual(Q);
      expect(await store.match.getQuery(Q.id, "responder")).toEqual(responder);
      expect(await store.match.getQuery("no-such-id", "requester")).toBeUndefined();
    });

    it("round-trips requests, lists them newest first by instant, filtered by direction and status", async () => {
      const store = await fresh();
      const a = matchRequest("a0000000-0000-4000-8000-000000000001");
      // Filed later, but written with an offset: order by instant, not by spelling.
      const b = matchRequest("a0000000-0000-4000-8000-000000000002", {
        filedAt: "2026-03-01T11:30:00+01:00",
        urgency: "urgent",
        justification: "imminent",
      });
      const c = matchRequest("a0000000-0000-4000-8000-000000000003", {
        direction: "outgoing",
        partner: "XB",
        filedAt: "2026-03-01T10:06:00.000Z",
      });
      for (const r of [a, b, c]) expect(await store.match.putRequest(r)).toBe("inserted");
      expect(await store.match.putRequest({ ...a, legalBasis: "other" })).toBe("unchanged");
      expect(await store.match.getRequest(a.id, "incoming")).toEqual(a);
      expect(await store.match.getRequest(a.id, "outgoing")).toBeUndefined();
      const all = await store.match.listRequests({ limit: 10 });
      expect(all.map((r) => r.id)).toEqual([b.id, c.id, a.id]);
      expect(
        (await store.match.listRequests({ direction: "incoming", limit: 10 })).map((r) => r.id),
      ).toEqual([b.id, a.id]);
      expect(await store.match.listRequests({ limit: 1 })).toHaveLength(1);
    });

    it("decides a pending request once, and never a decided one", async () => {
      const store = await fresh();
      const a = matchRequest("b0000000-0000-4000-8000-000000000001");
      await store.match.putRequest(a);
      expect(await store.match.decideRequest(a.id, "outgoing", decision)).toBe(false);
      expect(await store.match.decideRequest(a.id, "incoming", decision)).toBe(true);
      expect(
        await store.match.decideRequest(a.id, "incoming", {
          ...decision,
          status: "approved",
          released: ["identity--x"],
        }),
      ).toBe(false);
      expect(await store.match.getRequest(a.id, "incoming")).toEqual({
        ...a,
        ...decision,
      });
      expect(
        (await store.match.listRequests({ status: "pending", limit: 10 })).map((r) => r.id),
      ).toEqual([]);
      expect(
        (await store.match.listRequests({ status: "refused", limit: 10 })).map((r) => r.id),
      ).toEqual([a.id]);
    });

    it("decides at most once under concurrent decisions", async () => {
      const store = await fresh();
      const a = matchRequest("c0000000-0000-4000-8000-000000000001");
      await store.match.putRequest(a);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.match.decideRequest(a.id, "incoming", { ...decision, decidedBy: `officer ${i}` }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it("claims a pending request once, gives a claim back, and decides only with the claim", async () => {
      const store = await fresh();
      const a = matchRequest("e0000000-0000-4000-8000-000000000001");
      await store.match.putRequest(a);
      const at = "2026-03-01T11:00:00.000Z";
      const staleBefore = "2026-03-01T10:50:00.000Z";
      const claim = (c: string, when = at, stale = staleBefore) =>
        store.match.claimRequest(a.id, "incoming", { claim: c, at: when, staleBefore: stale });
      expect(await claim("claim:one")).toBe(true);
      expect(await claim("claim:two"), "held by another claim").toBe(false);
      const held = await store.match.getRequest(a.id, "incoming");
      expect(held?.status).toBe("pending");
      expect(held?.decidedBy).toBe("claim:one");
      expect(await store.match.decideRequest(a.id, "incoming", decision), "no claim").toBe(false);
      expect(
        await store.match.decideRequest(a.id, "incoming", { ...decision, claim: "claim:two" }),
      ).toBe(false);
      await store.match.releaseClaim(a.id, "incoming", "claim:two");
      expect((await store.match.getRequest(a.id, "incoming"))?.decidedBy, "not its claim").toBe(
        "claim:one",
      );
      await store.match.releaseClaim(a.id, "incoming", "claim:one");
      expect(await store.match.getRequest(a.id, "incoming")).toEqual(a);
      expect(await claim("claim:two")).toBe(true);
      // A claim older than staleBefore (its decider crashed) may be taken over.
      expect(
        await claim("claim:three", "2026-03-01T11:20:00.000Z", "2026-03-01T11:10:00.000Z"),
      ).toBe(true);
      expect(
        await store.match.decideRequest(a.id, "incoming", { ...decision, claim: "claim:three" }),
      ).toBe(true);
      expect(await store.match.getRequest(a.id, "incoming")).toEqual({ ...a, ...decision });
      expect(await claim("claim:four", at, "2099-01-01T00:00:00.000Z"), "decided").toBe(false);
    });

    it("writes nothing when its transaction fails", async () => {
      const store = await fresh();
      const a = matchRequest("d0000000-0000-4000-8000-000000000001");
      await expect(
        store.transaction(async (tx) => {
          await tx.match.putRequest(a);
          await tx.match.putQuery(Q);
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      expect(await store.match.getRequest(a.id, "incoming")).toBeUndefined();
      expect(await store.match.getQuery(Q.id, "requester")).toBeUndefined();
    });

    it("refuses a request whose times are not RFC 3339", async () => {
      const store = await fresh();
      await expect(
        store.match.putRequest(
          matchRequest("e0000000-0000-4000-8000-000000000001", { filedAt: "yesterday" }),
        ),
      ).rejects.toThrow(RangeError);
      expect(await store.match.listRequests({ limit: 10 })).toEqual([]);
    });
  });
}
