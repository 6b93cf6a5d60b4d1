/**
 * Storage contract for key rotation, migration 8 (src/app/ports.ts `KeyRepo`): this node's key
 * history, the key-announcement outbox, partners' revoked keys. Every adapter runs exactly these
 * tests: see test/storage/{sqlite,postgres}.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { NodeKeyRecord, Store } from "../../src/app/ports.js";
import { freshStores } from "./fresh-stores.js";

type Open = () => Promise<Store>;

const at = (s: number): string => new Date(Date.UTC(2026, 2, 1, 10, 0, s)).toISOString();

function key(fp: string, status: NodeKeyRecord["status"], activatedAt: string): NodeKeyRecord {
  return {
    fingerprint: fp,
    encryptionFingerprint: `enc-${fp}`,
    signingKey: { kty: "OKP", crv: "Ed25519", x: `sig-${fp}` },
    encryptionKey: { kty: "OKP", crv: "X25519", x: `enc-${fp}` },
    status,
    activatedAt,
    retiresAt: null,
    endedAt: null,
  };
}

const announcement = (id: string, recipient: string, createdAt: string) => ({
  id,
  recipient,
  kind: "rotate" as const,
  body: `{"id":"${id}"}`,
  signer: "k1",
  createdAt,
});

export function describeKeyConformance(
  name: string,
  open: Open,
  cleanup?: () => Promise<void>,
): void {
  describe(`${name}: key rotation storage (migration 8)`, () => {
    const fresh = freshStores(open, cleanup);

    it("keeps the key history in activation order (by instant), updating a key in place", async () => {
      const store = await fresh();
      await store.keys.putKey(key("k2", "current", "2026-03-01T12:00:05+02:00")); // 10:00:05Z
      await store.keys.putKey(key("k1", "current", at(1)));
      await store.keys.putKey({ ...key("k1", "previous", at(1)), retiresAt: at(50) });
      const list = await store.keys.keys();
      expect(list.map((k) => [k.fingerprint, k.status, k.retiresAt])).toEqual([
        ["k1", "previous", at(50)],
        ["k2", "current", null],
      ]);
      expect(list[0]?.signingKey).toEqual({ kty: "OKP", crv: "Ed25519", x: "sig-k1" });
      await expect(store.keys.putKey(key("k3", "current", "soon"))).rejects.toThrow();
    });

    it("queues announcements in order, settles each once, and records failures", async () => {
      const store = await fresh();
      await store.keys.enqueueAnnouncement(announcement("a1", "XB", at(1)));
      await store.keys.enqueueAnnouncement(announcement("a2", "XC", at(1)));
      await store.keys.enqueueAnnouncement(announcement("a3", "XB", at(2)));
      await expect(
        store.keys.enqueueAnnouncement(announcement("a1", "XB", at(3))),
        "the same id twice",
      ).rejects.toThrow();
      await store.keys.failAnnouncement("a1", "ERR_PEER_UNAVAILABLE", at(9));
      expect(await store.keys.settleAnnouncement("a2", "delivered", null)).toBe(true);
      expect(await store.keys.settleAnnouncement("a2", "refused", "late")).toBe(false);
      const pending = await store.keys.announcements({ status: "pending", limit: 10 });
      expect(pending.map((a) => a.id)).toEqual(["a1", "a3"]);
      expect(pending[0]).toMatchObject({
        attempts: 1,
        lastError: "ERR_PEER_UNAVAILABLE",
        nextAttemptAt: at(9),
        body: '{"id":"a1"}',
        signer: "k1",
        kind: "rotate",
      });
      expect((await store.keys.announcements({ limit: 2 })).map((a) => a.id)).toEqual(["a1", "a2"]);
    });

    it("an announcement queued in a rolled-back transaction is not kept", async () => {
      const store = await fresh();
      await expect(
        store.transaction(async (tx) => {
          await tx.keys.putKey(key("k1", "current", at(1)));
          await tx.keys.enqueueAnnouncement(announcement("a1", "XB", at(1)));
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      expect(await store.keys.keys()).toEqual([]);
      expect(await store.keys.announcements({ limit: 10 })).toEqual([]);
    });

    it("remembers partners' revoked keys once, and the whole history of their previous keys", async () => {
      const store = await fresh();
      await store.keys.revokePeerKey({ nodeId: "XB", fingerprint: "f2", revokedAt: at(5) });
      await store.keys.revokePeerKey({ nodeId: "XB", fingerprint: "f2", revokedAt: at(9) });
      await store.keys.revokePeerKey({ nodeId: "XA", fingerprint: "f1", revokedAt: at(6) });
      expect(await store.keys.revokedPeerKeys()).toEqual([
        { nodeId: "XA", fingerprint: "f1", revokedAt: at(6) },
        { nodeId: "XB", fingerprint: "f2", revokedAt: at(5) },
      ]);
      const prev = {
        nodeId: "XB",
        fingerprint: "f0",
        signingKey: { kty: "OKP", crv: "Ed25519", x: "s" },
        encryptionKey: { kty: "OKP", crv: "X25519", x: "e" },
        retiresAt: at(1),
      };
      await store.peerKeys.add(prev);
      expect(await store.peerKeys.active(at(30)), "overlap over").toEqual([]);
      expect(await store.keys.peerKeyHistory(), "still in the history").toEqual([prev]);
    });
  });
}
