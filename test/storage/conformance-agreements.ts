/**
 * Storage contract for agreement signatures, lifecycle events, onward-hop consents, recorded
 * lifecycle states and query budgets (migration 3; AgreementStateRepo and BudgetRepo in
 * src/app/ports.ts). Every adapter runs exactly these tests: see test/storage/{sqlite,postgres}.test.ts.
 */
import { describe, expect, it } from "vitest";
import type {
  AgreementEventRecord,
  AgreementSignatureRecord,
  ConsentRecord,
  Store,
} from "../../src/app/ports.js";
import { freshStores } from "./fresh-stores.js";

type Open = () => Promise<Store>;

const T = "2026-03-01T10:00:00.000Z";

function signature(
  node: string,
  version = 1,
  over: Partial<AgreementSignatureRecord> = {},
): AgreementSignatureRecord {
  return {
    agreement: "regional-cyber-accord",
    version,
    hash: `${String(version).repeat(2)}ab`.padEnd(64, "0"),
    node,
    jws: `jws-of-${node}-v${version}`,
    receivedAt: T,
    ...over,
  };
}

function event(
  id: string,
  at: string,
  over: Partial<AgreementEventRecord> = {},
): AgreementEventRecord {
  return {
    id,
    agreement: "regional-cyber-accord",
    kind: "suspend",
    at,
    by: "XA",
    party: null,
    reason: "a test",
    recordedBy: "XA",
    jws: `jws-${id}`,
    recordedAt: T,
    ...over,
  };
}

function consent(id: string, over: Partial<ConsentRecord> = {}): ConsentRecord {
  return {
    id,
    originator: "XA",
    object: "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4",
    holder: "XB",
    recipient: "XC",
    agreement: "regional-cyber-accord",
    purpose: "cyber-defence",
    expires: "2026-04-01T00:00:00Z",
    jws: `jws-${id}`,
    storedAt: T,
    ...over,
  };
}

const agreementRecord = (id: string, version: number) => ({
  id,
  version,
  source: `agreement: ${id}\nversion: ${version}\n`,
  hash: String(version).repeat(64).slice(0, 64),
  loadedAt: T,
});

export function describeAgreementStateConformance(
  name: string,
  open: Open,
  cleanup?: () => Promise<void>,
): void {
  describe(`agreement state and budgets conformance: ${name}`, () => {
    const fresh = freshStores(open, cleanup);

    it("lists every held version of every agreement, by id then version", async () => {
      const store = await fresh();
      for (const [id, v] of [
        ["b-accord", 2],
        ["a-accord", 3],
        ["b-accord", 1],
        ["a-accord", 1],
      ] as const)
        await store.agreements.put(agreementRecord(id, v));
      const all = await store.agreementState.versions();
      expect(all.map((r) => `${r.id}@${r.version}`)).toEqual([
        "a-accord@1",
        "a-accord@3",
        "b-accord@1",
        "b-accord@2",
      ]);
      expect((await store.agreementState.versions("b-accord")).map((r) => r.version)).toEqual([
        1, 2,
      ]);
      expect(all[0]).toEqual(agreementRecord("a-accord", 1));
      expect(await store.agreementState.versions("none")).toEqual([]);
    });

    it("keeps the first signature per (agreement, version, node) and lists them in order", async () => {
      const store = await fresh();
      const s = store.agreementState;
      expect(await s.putSignature(signature("XB"))).toBe("inserted");
      expect(await s.putSignature(signature("XA"))).toBe("inserted");
      expect(await s.putSignature(signature("XA", 2))).toBe("inserted");
      expect(await s.putSignature(signature("XA", 1, { jws: "another" }))).toBe("unchanged");
      expect(await s.signatures("regional-cyber-accord", 1)).toEqual([
        signature("XA"),
        signature("XB"),
      ]);
      expect(
        (await s.signatures("regional-cyber-accord")).map((r) => `${r.node}@${r.version}`),
      ).toEqual(["XA@1", "XB@1", "XA@2"]);
      expect(await s.signatures("other-accord")).toEqual([]);
    });

    it("stores events idempotently and orders them by instant, not by spelling", async () => {
      const store = await fresh();
      const s = store.agreementState;
      // 09:30Z, 10:00Z (spelled +01:00), 10:00:00.5Z
      expect(await s.putEvent(event("e2", "2026-03-01T11:00:00+01:00"))).toBe("inserted");
      expect(await s.putEvent(event("e3", "2026-03-01T10:00:00.5Z", { kind: "resume" }))).toBe(
        "inserted",
      );
      expect(
        await s.putEvent(
          event("e1", "2026-03-01T09:30:00Z", {
            kind: "suspend-party",
            party: "XC",
            by: "ombudsman",
          }),
        ),
      ).toBe("inserted");
      expect(await s.putEvent(event("e1", "2026-03-01T09:30:00Z"))).toBe("unchanged");
      await s.putEvent(event("o1", "2026-01-01T00:00:00Z", { agreement: "other-accord" }));
      const list = await s.events("regional-cyber-accord");
      expect(list.map((e) => e.id)).toEqual(["e1", "e2", "e3"]);
      expect(list[0]).toEqual(
        event("e1", "2026-03-01T09:30:00Z", {
          kind: "suspend-party",
          party: "XC",
          by: "ombudsman",
        }),
      );
      expect(list[1]?.at).toBe("2026-03-01T11:00:00+01:00");
      expect((await s.events()).map((e) => e.id)).toEqual(["o1", "e1", "e2", "e3"]);
    });

    it("keeps events at the same instant in the order they were stored (migration 11)", async () => {
      const store = await fresh();
      const s = store.agreementState;
      // Ids whose spelling sorts against the order of storage: the order must not come from ids.
      const at = "2026-03-01T12:00:00.000Z";
      await s.putEvent(event("zz-suspend", at));
      await s.putEvent(event("mm-resume", "2026-03-01T13:00:00+01:00", { kind: "resume" }));
      await s.putEvent(event("aa-suspend-again", at));
      await s.putEvent(event("zz-suspend", at)); // idempotent: keeps its place
      expect((await s.events("regional-cyber-accord")).map((e) => e.id)).toEqual([
        "zz-suspend",
        "mm-resume",
        "aa-suspend-again",
      ]);
      expect((await s.events()).map((e) => e.id)).toEqual([
        "zz-suspend",
        "mm-resume",
        "aa-suspend-again",
      ]);
    });

    it("keeps the exchanges owed to partners until done, retrying failed ones when due", async () => {
      const store = await fresh();
      const s = store.agreementState;
      const owe = (partner: string, at: string) =>
        s.oweExchange({ agreement: "regional-cyber-accord", version: 1, partner, at });
      await owe("XB", "2026-03-01T10:00:00.000Z");
      await owe("XC", "2026-03-01T10:00:01.000Z");
      expect(await s.dueExchanges("2026-03-01T09:59:59.000Z", 10)).toEqual([]);
      const due = await s.dueExchanges("2026-03-01T10:00:05.000Z", 10);
      expect(due.map((d) => d.partner)).toEqual(["XB", "XC"]);
      expect(due[0]).toEqual({
        agreement: "regional-cyber-accord",
        version: 1,
        partner: "XB",
        status: "pending",
        attempts: 0,
        nextAttemptAt: "2026-03-01T10:00:00.000Z",
        lastError: null,
        createdAt: "2026-03-01T10:00:00.000Z",
        doneAt: null,
      });
      expect(await s.dueExchanges("2026-03-01T10:00:05.000Z", 1)).toHaveLength(1);

      // XB unreachable: retried at the next attempt, not before (ordered by instant, not spelling).
      await s.exchangeFailed(
        "regional-cyber-accord",
        1,
        "XB",
        "connection refused",
        "2026-03-01T11:00:30+01:00",
      );
      expect((await s.dueExchanges("2026-03-01T10:00:10.000Z", 10)).map((d) => d.partner)).toEqual([
        "XC",
      ]);
      const later = await s.dueExchanges("2026-03-01T10:00:30.000Z", 10);
      expect(later.map((d) => [d.partner, d.attempts, d.lastError])).toEqual([
        ["XC", 0, null],
        ["XB", 1, "connection refused"],
      ]);

      expect(
        await s.exchangeDone("regional-cyber-accord", 1, "XB", "2026-03-01T10:00:31.000Z"),
      ).toBe(true);
      expect(
        await s.exchangeDone("regional-cyber-accord", 1, "XB", "2026-03-01T10:00:32.000Z"),
      ).toBe(false);
      const all = await s.exchanges("regional-cyber-accord");
      expect(all.map((d) => [d.partner, d.status, d.attempts, d.doneAt])).toEqual([
        ["XB", "done", 2, "2026-03-01T10:00:31.000Z"],
        ["XC", "pending", 0, null],
      ]);
      expect((await s.dueExchanges("2026-03-02T00:00:00.000Z", 10)).map((d) => d.partner)).toEqual([
        "XC",
      ]);
      // Owed again (news for XB): pending once more, attempts kept.
      await owe("XB", "2026-03-01T12:00:00.000Z");
      const again = (await s.exchanges("regional-cyber-accord"))[0];
      expect([again?.status, again?.attempts, again?.doneAt]).toEqual(["pending", 2, null]);
      await expect(owe("XD", "yesterday")).rejects.toThrow();
      expect(await s.exchanges("other-accord")).toEqual([]);
    });

    it("keeps consent pushes owed to holders until acknowledged or expired (migration 19)", async () => {
      const store = await fresh();
      const s = store.agreementState;
      // A push row and its consent are written in one transaction; a failure writes neither.
      await store.transaction(async (tx) => {
        await tx.agreementState.putConsent(consent("c1"));
        await tx.agreementState.oweConsentPush("c1", "2026-03-01T10:00:00.000Z");
      });
      await expect(
        store.transaction(async (tx) => {
          await tx.agreementState.putConsent(consent("c2", { holder: "XC", recipient: "XB" }));
          await tx.agreementState.oweConsentPush("c2", "2026-03-01T10:00:01.000Z");
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      expect((await s.consentPushes()).map((p) => p.consent.id)).toEqual(["c1"]);
      await s.putConsent(consent("c3", { holder: "XC", recipient: "XB" }));
      await s.oweConsentPush("c3", "2026-03-01T10:00:01.000Z");
      // A push for a consent not held is refused (foreign key).
      await expect(s.oweConsentPush("nope", "2026-03-01T10:00:01.000Z")).rejects.toThrow();

      expect(await s.dueConsentPushes("2026-03-01T09:59:59.000Z", 10)).toEqual([]);
      const due = await s.dueConsentPushes("2026-03-01T10:00:05.000Z", 10);
      expect(due.map((d) => d.consent.id)).toEqual(["c1", "c3"]);
      expect(due[0]).toEqual({
        consent: consent("c1"),
        status: "pending",
        attempts: 0,
        nextAttemptAt: "2026-03-01T10:00:00.000Z",
        lastError: null,
        createdAt: "2026-03-01T10:00:00.000Z",
        endedAt: null,
      });
      expect(await s.dueConsentPushes("2026-03-01T10:00:05.000Z", 1)).toHaveLength(1);

      // The holder unreachable: due again at the next attempt (an instant, not a spelling).
      await s.consentPushFailed("c1", "connection refused", "2026-03-01T11:00:30+01:00");
      expect(
        (await s.dueConsentPushes("2026-03-01T10:00:10.000Z", 10)).map((d) => d.consent.id),
      ).toEqual(["c3"]);
      const later = await s.dueConsentPushes("2026-03-01T10:00:30.000Z", 10);
      expect(later.map((d) => [d.consent.id, d.attempts, d.lastError])).toEqual([
        ["c3", 0, null],
        ["c1", 1, "connection refused"],
      ]);

      // Owing again keeps the held push as it is.
      await s.oweConsentPush("c1", "2026-03-01T09:00:00.000Z");
      expect((await s.consentPushes())[0]).toMatchObject({
        attempts: 1,
        lastError: "connection refused",
      });

      expect(await s.endConsentPush("c1", "done", "2026-03-01T10:00:31.000Z")).toBe(true);
      expect(await s.endConsentPush("c1", "done", "2026-03-01T10:00:32.000Z")).toBe(false);
      expect(await s.endConsentPush("c3", "expired", "2026-03-01T10:00:33.000Z")).toBe(true);
      await s.consentPushFailed("c1", "late failure", "2026-03-01T12:00:00.000Z");
      expect(
        (await s.consentPushes()).map((p) => [
          p.consent.id,
          p.status,
          p.attempts,
          p.lastError,
          p.endedAt,
        ]),
      ).toEqual([
        ["c1", "done", 2, "connection refused", "2026-03-01T10:00:31.000Z"],
        ["c3", "expired", 0, null, "2026-03-01T10:00:33.000Z"],
      ]);
      expect(await s.dueConsentPushes("2026-03-02T00:00:00.000Z", 10)).toEqual([]);
      await expect(s.oweConsentPush("c1", "yesterday")).rejects.toThrow();
    });

    it("refuses an event whose time is not RFC 3339 and writes nothing", async () => {
      const store = await fresh();
      await expect(
        store.agreementState.putEvent(event("bad", "1 March 2026")),
      ).rejects.toBeInstanceOf(RangeError);
      expect(await store.agreementState.events()).toEqual([]);
    });

    it("finds a holder's consents for one object and its wildcard consents only", async () => {
      const store = await fresh();
      const s = store.agreementState;
      expect(await s.putConsent(consent("c1"))).toBe("inserted");
      expect(await s.putConsent(consent("c1"))).toBe("unchanged");
      await s.putConsent(consent("c2", { object: "*" }));
      await s.putConsent(
        consent("c3", { object: "malware--35b2639d-9668-4b40-b8ba-5ba663257527" }),
      );
      await s.putConsent(consent("c4", { holder: "XC" }));
      const found = await s.consentsFor("XB", "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4");
      expect(found.map((c) => c.id)).toEqual(["c1", "c2"]);
      expect(found[0]).toEqual(consent("c1"));
      expect((await s.consentsFor("XB", "identity--x")).map((c) => c.id)).toEqual(["c2"]);
      await expect(s.putConsent(consent("c5", { expires: "soon" }))).rejects.toBeInstanceOf(
        RangeError,
      );
    });

    it("records one lifecycle state per version, replacing it on change", async () => {
      const store = await fresh();
      const s = store.agreementState;
      await s.setStatus({ agreement: "a", version: 1, status: "proposed", since: T });
      await s.setStatus({ agreement: "a", version: 2, status: "draft", since: T });
      await s.setStatus({
        agreement: "a",
        version: 1,
        status: "in-force",
        since: "2026-03-02T00:00:00Z",
      });
      expect(await s.statuses()).toEqual([
        { agreement: "a", version: 1, status: "in-force", since: "2026-03-02T00:00:00Z" },
        { agreement: "a", version: 2, status: "draft", since: T },
      ]);
    });

    it("writes nothing of a transaction that fails", async () => {
      const store = await fresh();
      const boom = new Error("boom");
      await expect(
        store.transaction(async (tx) => {
          await tx.agreementState.putSignature(signature("XA"));
          await tx.agreementState.putEvent(event("e1", T));
          await tx.agreementState.putConsent(consent("c1"));
          await tx.budgets.consume({
            agreementId: "a",
            partner: "XB",
            window: "day",
            limit: 5,
            at: T,
          });
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await store.agreementState.signatures("regional-cyber-accord")).toEqual([]);
      expect(await store.agreementState.events()).toEqual([]);
      expect(await store.agreementState.consentsFor("XB", "*")).toEqual([]);
      expect(
        await store.budgets.used({ agreementId: "a", partner: "XB", window: "day", at: T }),
      ).toBe(0);
    });

    describe("query budgets", () => {
      const req = (over: Partial<Parameters<Store["budgets"]["consume"]>[0]> = {}) => ({
        agreementId: "regional-cyber-accord",
        partner: "XB",
        window: "day" as const,
        limit: 3,
        at: T,
        ...over,
      });

      it("allows up to the limit per UTC day, then refuses without spending, and resets at midnight", async () => {
        const store = await fresh();
        const b = store.budgets;
        const reset = "2026-03-02T00:00:00.000Z";
        expect(await b.consume(req())).toEqual({ allowed: true, remaining: 2, resetAt: reset });
        expect(await b.consume(req({ at: "2026-03-01T23:59:59.999Z" }))).toEqual({
          allowed: true,
          remaining: 1,
          resetAt: reset,
        });
        expect(await b.consume(req({ at: "2026-03-01T00:00:00Z" }))).toEqual({
          allowed: true,
          remaining: 0,
          resetAt: reset,
        });
        expect(await b.consume(req())).toEqual({ allowed: false, remaining: 0, resetAt: reset });
        expect(await b.used(req())).toBe(3);
        // The next day is a new window; another partner and another agreement count apart.
        expect(await b.consume(req({ at: "2026-03-02T00:00:00Z" }))).toMatchObject({
          allowed: true,
          remaining: 2,
          resetAt: "2026-03-03T00:00:00.000Z",
        });
        expect(await b.consume(req({ partner: "XC" }))).toMatchObject({
          allowed: true,
          remaining: 2,
        });
        expect(await b.consume(req({ agreementId: "fiu-mou" }))).toMatchObject({ allowed: true });
        // A time with an offset counts in the UTC day it falls in.
        expect(await b.used(req({ at: "2026-03-02T00:30:00+01:00" }))).toBe(3);
      });

      it("counts a burst window per UTC minute and spends a cost as several units", async () => {
        const store = await fresh();
        const b = store.budgets;
        const burst = (at: string, cost?: number) =>
          b.consume(
            req({ window: "burst", limit: 5, at, ...(cost === undefined ? {} : { cost }) }),
          );
        expect(await burst("2026-03-01T10:00:10Z", 4)).toEqual({
          allowed: true,
          remaining: 1,
          resetAt: "2026-03-01T10:01:00.000Z",
        });
        expect(await burst("2026-03-01T10:00:50Z", 2)).toEqual({
          allowed: false,
          remaining: 1,
          resetAt: "2026-03-01T10:01:00.000Z",
        });
        expect(await burst("2026-03-01T10:00:59Z")).toMatchObject({ allowed: true, remaining: 0 });
        expect(await burst("2026-03-01T10:01:00Z", 5)).toMatchObject({
          allowed: true,
          remaining: 0,
        });
        // The day window is a separate count.
        expect(await b.used(req())).toBe(0);
      });

      it("refuses everything under a zero limit and a cost above the limit", async () => {
        const store = await fresh();
        expect(await store.budgets.consume(req({ limit: 0 }))).toMatchObject({
          allowed: false,
          remaining: 0,
        });
        expect(await store.budgets.consume(req({ limit: 2, cost: 3 }))).toMatchObject({
          allowed: false,
          remaining: 2,
        });
        expect(await store.budgets.used(req())).toBe(0);
      });

      it("never spends more than the limit under concurrent consumers", async () => {
        const store = await fresh();
        const results = await Promise.all(
          Array.from({ length: 40 }, () => store.budgets.consume(req({ limit: 7 }))),
        );
        expect(results.filter((r) => r.allowed)).toHaveLength(7);
        expect(
          results
            .filter((r) => r.allowed)
            .map((r) => r.remaining)
            .sort(),
        ).toEqual([0, 1, 2, 3, 4, 5, 6]);
        expect(await store.budgets.used(req())).toBe(7);
      });

      it("refuses bad requests with a RangeError naming the member", async () => {
        const store = await fresh();
        await expect(store.budgets.consume(req({ limit: -1 }))).rejects.toThrow(/limit/);
        await expect(store.budgets.consume(req({ limit: 1.5 }))).rejects.toThrow(/limit/);
        await expect(store.budgets.consume(req({ cost: 0 }))).rejects.toThrow(/cost/);
        await expect(store.budgets.consume(req({ at: "yesterday" }))).rejects.toThrow(/time/);
        await expect(
          store.budgets.consume(req({ window: "week" as never })),
        ).rejects.toBeInstanceOf(RangeError);
        expect(await store.budgets.used(req())).toBe(0);
      });
    });
  });
}
