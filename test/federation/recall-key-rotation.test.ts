/**
 * Recall across a key rotation (spec/recall.md, spec/federation.md "Key rotation"), over real
 * HTTP between real nodes: XA shares with XB, XB goes down, XA recalls (the notice is signed and
 * sealed with XA's first key and waits in the recall outbox), then XA rotates. When XB returns it
 * learns the new key first and pins it, and the notice made with the old key still opens and is
 * applied: the old key is inside its overlap and was never revoked. Once XA revokes the old key,
 * a notice made with it is refused and changes nothing.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { sealEnvelope } from "../../src/crypto/envelope.js";
import { jwkThumbprint, parsePublicJwk, type NodeKeys } from "../../src/crypto/keys.js";
import { signJson } from "../../src/crypto/sign.js";
import { signedFetch } from "../../src/federation/http-peer-client.js";
import { RECALL_PATH } from "../../src/federation/recall-client.js";
import { NOTICE_TYPE, RECALL_CONTENT_TYPE } from "../../src/app/recall.js";
import {
  api,
  freePort,
  type TestNodeDir,
  demoBundle,
  startNodes,
  type TestNodes,
} from "../support/nodes.js";
import { C2, SECOND } from "../support/recall.js";
import { signerFor } from "../support/peer-requests.js";

const bundle = demoBundle();

describe("a recall made before a rotation, delivered after it", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let dirs: TestNodes<"XA" | "XB">["dirs"];
  let xa: RunningNode;
  let xb: RunningNode | undefined;
  let first: NodeKeys;
  let offsetMs = 0;
  // XA's clock moves only when the test moves it (its retries fall due); XB keeps real time.
  const base = Date.now();
  const clock = { now: () => new Date(base + offsetMs) };

  const keysOf = (d: TestNodeDir) => loadNodeKeys(join(d.dir, "keys", "node-keys.json"));
  /** The id XB holds XA's object under (minimization re-issues ids per agreement). */
  const heldAt = async (id: string) => {
    const copy = (await xa.store.recalls.copiesOf(id)).find((c) => c.recipient === "XB");
    if (copy === undefined) throw new Error(`XA never sent ${id} to XB`);
    return copy.sentAs;
  };
  const pinnedAtXb = async () =>
    jwkThumbprint((await xb!.store.peers.get("XA"))?.signingKey as never);

  beforeAll(async () => {
    nodes = await startNodes(
      [
        { id: "XA", options: { clock } },
        { id: "XB", port: await freePort() },
      ],
      { prefix: "accord-recall-rotation-" },
    );
    ({
      dirs,
      nodes: { XA: xa, XB: xb },
    } = nodes);
    first = keysOf(dirs.XA);
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
    const shared = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
    });
    expect(shared.status).toBe(200);
    await xa.deliverNow();
    for (const id of [C2, SECOND])
      expect(await xb.store.objects.get(await heldAt(id))).toBeDefined();
  });

  afterAll(() => nodes.stop());

  it("opens and applies the notice under XA's previous key, inside its overlap", async () => {
    await xb!.stop();
    xb = undefined;
    const issued = await api(xa, "POST", "/api/v1/recalls", { object: C2, reason: "test" });
    expect(issued.status).toBe(201);
    await xa.deliverNow();
    const [pending] = await xa.store.recalls.messages(issued.body.id);
    expect(pending).toMatchObject({ status: "pending", lastError: "ERR_PEER_UNAVAILABLE" });

    const rotated = await api(xa, "POST", "/api/v1/keys/rotate", { overlap: "7d" });
    expect(rotated.status).toBe(200);
    const next = rotated.body.current as string;
    expect(next).not.toBe(jwkThumbprint(first.signing.publicJwk));

    xb = await nodes.start("XB");
    offsetMs += 60_000; // past the recall's backoff
    await xa.deliverNow();
    // XB learnt the new key (announcements go first) ...
    expect(await pinnedAtXb()).toBe(next);
    // ... and still applied the notice sealed and signed with the old one.
    const status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(status.body).toMatchObject({ complete: true, acknowledged: 1, outstanding: [] });
    expect(await xb.store.objects.versions(await heldAt(C2))).toEqual([]);
    const applied = (await xb.store.ledger.list(0, 10_000)).filter(
      (e) => e.kind === "recall-applied",
    );
    expect(applied.map((e) => e.data.recall)).toEqual([issued.body.id]);
  });

  it("refuses a notice made with the old key once XA revoked it, and keeps the object", async () => {
    const old = jwkThumbprint(first.signing.publicJwk);
    const revoked = await api(xa, "POST", "/api/v1/keys/revoke", { fingerprint: old });
    expect(revoked.status).toBe(200);
    await xa.deliverNow();
    expect((await xb!.store.keys.revokedPeerKeys()).map((r) => r.fingerprint)).toContain(old);

    // A notice for SECOND, signed and sealed with the revoked key; the request itself is signed
    // with XA's current key, which XB accepts.
    const heldAs = await heldAt(SECOND);
    const claims = {
      type: NOTICE_TYPE,
      recall: crypto.randomUUID(),
      kind: "recall",
      originator: "XA",
      object: SECOND,
      replacement: null,
      reason: "made with a revoked key",
      issued_at: new Date().toISOString(),
    };
    const notice = { claims, signature: await signJson(claims, first.signing.privateKey) };
    const xbPeer = await xa.store.peers.get("XB");
    const envelope = await sealEnvelope(
      {
        id: crypto.randomUUID(),
        sender: "XA",
        recipient: "XB",
        createdAt: new Date().toISOString(),
        contentType: RECALL_CONTENT_TYPE,
      },
      new TextEncoder().encode(JSON.stringify({ notice, held_as: [heldAs] })),
      first.signing.privateKey,
      parsePublicJwk(xbPeer!.encryptionKey, "X25519"),
    );
    const res = await signedFetch(signerFor(keysOf(dirs.XA)), new URL(RECALL_PATH, xb!.url), {
      method: "POST",
      body: envelope,
      contentType: "application/jose",
    });
    const body = (await res.json()) as { code?: string };
    expect(res.status).toBe(401);
    expect(body.code).toBe("ERR_SIGNATURE_INVALID");
    expect(await xb!.store.objects.versions(heldAs)).not.toEqual([]);
  });
});
