/**
 * Storage contract for the peer-protocol hardening of migration 4 (src/app/ports.ts): RFC 9421
 * nonces, partners' previous keys during a rotation's overlap, and the outbox's agreement and
 * cancellation. Every adapter runs exactly these tests: see test/storage/{sqlite,postgres}.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { PeerKeyRecord, Store } from "../../src/app/ports.js";
import { freshStores } from "./fresh-stores.js";

type Open = () => Promise<Store>;

const at = (s: number): string => new Date(Date.UTC(2026, 2, 1, 10, 0, s)).toISOString();

function key(nodeId: string, fingerprint: string, retiresAt: string): PeerKeyRecord {
  return {
    nodeId,
    fingerprint,
    signingKey: { kty: "OKP", crv: "Ed25519", x: `sig-${fingerprint}` },
    encryptionKey: { kty: "OKP", crv: "X25519", x: `enc-${fingerprint}` },
    retiresAt,
  };
}

export function describePeerProtocolConformance(
  name: string,
  open: Open,
  cleanup?: () => Promise<void>,
): void {
  describe(`${name}: peer-protocol storage (migration 4)`, () => {
    const fresh = freshStores(open, cleanup);

    it("remembers a nonce once per key, and forgets it once expired", async () => {
      const store = await fresh();
      expect(await store.nonces.remember("kid-a", "n1", at(10))).toBe(true);
      expect(await store.nonces.remember("kid-a", "n1", at(20)), "replay").toBe(false);
      expect(await store.nonces.remember("kid-b", "n1", at(10)), "another key").toBe(true);
      expect(await store.nonces.remember("kid-a", "n2", at(30))).toBe(true);
      // Instants, not strings: +02:00 at 12:00:15 is 10:00:15Z, after n1 (10:00:10Z).
      expect(await store.nonces.prune("2026-03-01T12:00:15+02:00")).toBe(2);
      expect(await store.nonces.remember("kid-a", "n1", at(40)), "forgotten").toBe(true);
      expect(await store.nonces.remember("kid-a", "n2", at(40)), "still kept").toBe(false);
      await expect(store.nonces.remember("kid-a", "n3", "yesterday")).rejects.toThrow();
    });

    it("a nonce remembered inside a rolled-back transaction is not remembered", async () => {
      const store = await fresh();
      await expect(
        store.transaction(async (tx) => {
          await tx.nonces.remember("kid", "n", at(10));
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      expect(await store.nonces.remember("kid", "n", at(10))).toBe(true);
    });

    it("keeps a partner's previous keys until they retire", async () => {
      const store = await fresh();
      await store.peerKeys.add(key("XB", "fp-1", at(30)));
      await store.peerKeys.add(key("XA", "fp-2", at(10)));
      expect((await store.peerKeys.active(at(0))).map((k) => k.fingerprint)).toEqual([
        "fp-2",
        "fp-1",
      ]);
      expect(await store.peerKeys.active(at(10)), "retired at its instant").toEqual([
        key("XB", "fp-1", at(30)),
      ]);
      // Adding the same key again moves its retirement.
      await store.peerKeys.add(key("XB", "fp-1", at(5)));
      expect(await store.peerKeys.active(at(10))).toEqual([]);
    });

    it("brings a returning partner's pending items forward, and no one else's", async () => {
      const store = await fresh();
      const enqueue = (id: string, recipient: string) =>
        store.outbox.enqueue({ id, recipient, envelope: id, createdAt: at(0) });
      await enqueue("b1", "XB");
      await enqueue("b2", "XB");
      await enqueue("b3", "XB");
      await enqueue("c1", "XC");
      for (const id of ["b1", "b2", "c1"]) await store.outbox.markFailed(id, "ERR_X", at(50));
      expect(await store.outbox.markDelivered("b3", "r", at(1))).toBe(true);
      expect(await store.outbox.expedite("XB", at(10))).toBe(2);
      expect((await store.outbox.due(at(10), 10)).map((i) => i.id)).toEqual(["b1", "b2"]);
      expect(await store.outbox.get("b1")).toMatchObject({ nextAttemptAt: at(10), attempts: 1 });
      expect((await store.outbox.get("c1"))?.nextAttemptAt).toBe(at(50));
      expect(await store.outbox.expedite("XB", at(20)), "already due").toBe(0);
    });

    it("leaves out of the due items those to the recipients a delivery pass holds", async () => {
      const store = await fresh();
      for (const [id, recipient] of [
        ["b1", "XB"],
        ["c1", "XC"],
        ["b2", "XB"],
        ["d1", "XD"],
        ["c2", "XC"],
      ] as const)
        await store.outbox.enqueue({ id, recipient, envelope: id, createdAt: at(0) });
      const due = async (except?: string[], limit = 10) =>
        (await store.outbox.due(at(1), limit, except)).map((i) => i.id);
      expect(await due()).toEqual(["b1", "c1", "b2", "d1", "c2"]);
      expect(await due([])).toEqual(["b1", "c1", "b2", "d1", "c2"]);
      expect(await due(["XB"])).toEqual(["c1", "d1", "c2"]);
      expect(await due(["XB", "XC"])).toEqual(["d1"]);
      // The limit counts the items returned: held ones do not crowd out the others.
      expect(await due(["XB"], 2)).toEqual(["c1", "d1"]);
      expect(await due(["XB", "XC", "XD"])).toEqual([]);
      expect(await due(["XZ", "x'); DROP TABLE outbox; --"])).toHaveLength(5);
    });

    it("records each outbox item's agreement and cancels pending items only", async () => {
      const store = await fresh();
      const item = (id: string, agreement?: { id: string; version: number }) => ({
        id,
        recipient: "XB",
        envelope: `envelope-${id}`,
        createdAt: at(1),
        ...(agreement === undefined ? {} : { agreement }),
      });
      await store.outbox.enqueue(item("a", { id: "pilot", version: 1 }));
      await store.outbox.enqueue(item("b", { id: "pilot", version: 2 }));
      await store.outbox.enqueue(item("c", { id: "other", version: 1 }));
      await store.outbox.enqueue(item("d"));
      await store.outbox.enqueue(item("e", { id: "pilot", version: 1 }));
      expect(await store.outbox.markDelivered("e", "receipt", at(2))).toBe(true);

      const a = await store.outbox.get("a");
      expect(a).toMatchObject({
        agreementId: "pilot",
        agreementVersion: 1,
        cancelledAt: null,
        cancelReason: null,
      });
      expect(await store.outbox.get("d")).toMatchObject({
        agreementId: null,
        agreementVersion: null,
      });

      expect(await store.outbox.cancelByAgreement("pilot", "sunset", at(3))).toEqual(["a", "b"]);
      expect(await store.outbox.cancelByAgreement("pilot", "sunset", at(4)), "again").toEqual([]);
      expect(await store.outbox.get("b")).toMatchObject({
        status: "cancelled",
        cancelledAt: at(3),
        cancelReason: "sunset",
      });
      expect((await store.outbox.get("e"))?.status, "delivered stays delivered").toBe("delivered");
      expect((await store.outbox.get("c"))?.status).toBe("pending");

      expect(await store.outbox.cancel("c", "operator", at(5))).toBe(true);
      expect(await store.outbox.cancel("c", "operator", at(6)), "not pending").toBe(false);
      expect(await store.outbox.cancel("e", "operator", at(6)), "delivered").toBe(false);
      expect(await store.outbox.cancel("nope", "operator", at(6))).toBe(false);
      expect(await store.outbox.markDelivered("c", "receipt", at(7)), "cancelled stays").toBe(
        false,
      );
      expect((await store.outbox.due(at(9), 10)).map((i) => i.id)).toEqual(["d"]);
      const cancelled = await store.outbox.list({ status: "cancelled", limit: 10 });
      expect(cancelled.map((i) => i.id)).toEqual(["a", "b", "c"]);
      // A cancelled item is never sent: its envelope's bytes are dropped with the cancel.
      expect(
        cancelled.map((i) => i.envelope),
        "cancelled envelopes dropped",
      ).toEqual([null, null, null]);
      expect((await store.outbox.get("d"))?.envelope, "pending keeps its envelope").toBe(
        "envelope-d",
      );
    });
  });
}
