/**
 * Key rotation between two real nodes over real HTTP (spec/federation.md, "Key rotation"): XA and
 * XB rotate, retire and revoke; partners learn each change from a signed announcement, keep
 * accepting the old key for the overlap and never after, refuse forged announcements (and log
 * them), and a partner that was down gets the announcement when it is back. `accord log verify`
 * follows the key history.
 */
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { main } from "../../src/cli/main.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { generateNodeKeys, jwkThumbprint, type NodeKeys } from "../../src/crypto/keys.js";
import { signJson } from "../../src/crypto/sign.js";
import { signedFetch } from "../../src/federation/http-peer-client.js";
import { logHead, logOrigin } from "../../src/app/log.js";
import { ed25519NoteSigner, signCheckpoint } from "../../src/tlog/index.js";
import {
  PG_URL,
  api,
  freePort,
  type TestNodeDir,
  demoBundle,
  startNodes,
  type TestNodes,
} from "../support/nodes.js";
import { signedPost, signerFor } from "../support/peer-requests.js";
import { testEntry } from "../support/log-entries.js";

const bundle = demoBundle();

const variants = [
  { name: "SQLite", xbOnPostgres: false },
  ...(PG_URL === undefined ? [] : [{ name: "XB on PostgreSQL", xbOnPostgres: true }]),
];

describe.each(variants)("key rotation ($name)", ({ xbOnPostgres }) => {
  let nodes: TestNodes<"XA" | "XB">;
  let dirs: TestNodes<"XA" | "XB">["dirs"];
  let xa: RunningNode;
  let xb: RunningNode;
  /** XA's keys as first created (its key file before any rotation). */
  let xaFirst: NodeKeys;

  const keysOf = (dir: TestNodeDir): NodeKeys =>
    loadNodeKeys(join(dir.dir, "keys", "node-keys.json"));
  const pinnedAt = async (n: RunningNode, peer: string): Promise<string> => {
    const p = await n.store.peers.get(peer);
    return jwkThumbprint(p?.signingKey as never);
  };
  const entries = async (n: RunningNode, kind: string) =>
    (await n.store.ledger.list(0, 100_000)).filter((e) => e.kind === kind);
  /** GET XB's checkpoint signed (RFC 9421) with `keys`: 200 when XB accepts the key. */
  const getWith = async (keys: NodeKeys): Promise<number> => {
    const res = await signedFetch(
      signerFor(keys),
      new URL("/federation/v1/log/checkpoint", xb.url),
      {
        method: "GET",
      },
    );
    await res.arrayBuffer();
    return res.status;
  };
  const shareAll = async (): Promise<string[]> => {
    const r = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
    });
    expect(r.status).toBe(200);
    await xa.deliverNow();
    const ids = r.body.outcomes[0].envelopes as string[];
    for (const id of ids) expect((await xa.store.outbox.get(id))?.lastError ?? null).toBe(null);
    return ids;
  };
  const statusOf = async (id: string) => (await xa.store.outbox.get(id))?.status;

  beforeAll(async () => {
    nodes = await startNodes([
      { id: "XA" },
      { id: "XB", port: await freePort(), postgres: xbOnPostgres },
    ]);
    ({
      dirs,
      nodes: { XA: xa, XB: xb },
    } = nodes);
    xaFirst = keysOf(dirs.XA);
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
  });
  afterAll(() => nodes.stop());

  it("rotates XA's keys: XB learns the new key from the signed announcement, logs it, and keeps receiving XA's shares", async () => {
    await xa.node.checkpoint(); // a checkpoint signed with the first key, for `log verify` below
    const old = xa.node.fingerprint();
    const r = await api(xa, "POST", "/api/v1/keys/rotate", { overlap: "7d" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ event: "rotate", keys: [old] });
    expect(r.body.announced).toContain("XB");
    const next = r.body.current as string;
    expect(next).not.toBe(old);
    expect(xa.node.fingerprint()).toBe(next);
    expect(jwkThumbprint(keysOf(dirs.XA).signing.publicJwk), "the key file").toBe(next);
    await xa.deliverNow();

    expect(await pinnedAt(xb, "XA")).toBe(next);
    const [logged] = await entries(xb, "peer-key-rotated");
    expect(logged?.data).toMatchObject({ node: "XA", previous: old, signing: next });
    // Fingerprints only: no key material in either log.
    const newX = keysOf(dirs.XA).signing.publicJwk.x;
    const all = JSON.stringify([
      ...(await xb.store.ledger.list(0, 100_000)),
      ...(await xa.store.ledger.list(0, 100_000)),
    ]);
    expect(all).not.toContain(newX);
    expect(all).not.toContain(xaFirst.signing.publicJwk.x);
    const [own] = await entries(xa, "key-rotated");
    expect(own?.data).toMatchObject({ signing: next, previous: old });
    expect(await entries(xa, "key-announcement-acknowledged")).toHaveLength(1);

    // The descriptor lists the current key and the previous one with the end of its overlap.
    const desc = (await (await fetch(new URL("/.well-known/accord-node", xa.url))).json()) as any;
    expect(jwkThumbprint(desc.keys.signing)).toBe(next);
    expect(desc.previous.map((p: any) => jwkThumbprint(p.signing))).toEqual([old]);
    expect(desc.previous[0].valid_until).toBe(r.body.retiresAt);

    // Shares after the rotation: sealed and request-signed with the new key, received by XB.
    const envelopes = await shareAll();
    expect(envelopes.length).toBeGreaterThan(0);
    for (const id of envelopes) expect(await statusOf(id)).toBe("delivered");
    expect(await xb.store.objects.count()).toBeGreaterThan(0);
    // During the overlap the old key is still accepted.
    expect(await getWith(xaFirst)).toBe(200);
  });

  it("opens an envelope sealed to XB's previous X25519 key during the overlap", async () => {
    const [sealed] = await xa.node.share({ recipients: ["XB"], purpose: "cyber-defence" });
    const id = sealed?.envelopes[0];
    expect(id).toBeDefined();
    const before = keysOf(dirs.XB).encryption.publicJwk.x;
    expect((await api(xb, "POST", "/api/v1/keys/rotate", {})).status).toBe(200);
    await xb.deliverNow();
    const xbPeer = await xa.store.peers.get("XB");
    expect(xbPeer?.encryptionKey.x, "XA learnt XB's new encryption key").not.toBe(before);
    // The envelope in XA's outbox is still sealed to XB's old key; XB opens it.
    await xa.deliverNow();
    expect((await xa.store.outbox.get(id!))?.lastError ?? null).toBe(null);
    expect(await statusOf(id!)).toBe("delivered");
  });

  it("after retirement, XB refuses XA's old key", async () => {
    const r = await api(xa, "POST", "/api/v1/keys/retire", {});
    expect(r.status).toBe(200);
    expect(r.body.keys).toEqual([jwkThumbprint(xaFirst.signing.publicJwk)]);
    await xa.deliverNow();
    expect(await getWith(xaFirst)).toBe(403);
    expect(await getWith(keysOf(dirs.XA))).toBe(200);
    expect(await entries(xb, "peer-key-retired")).toHaveLength(1);
    expect(await entries(xa, "key-retired")).toHaveLength(1);
    const again = await api(xa, "POST", "/api/v1/keys/retire", {});
    expect(again).toMatchObject({ status: 400 });
  });

  it("refuses and logs a forged announcement (not signed by the key XB knows for XA)", async () => {
    const current = keysOf(dirs.XA);
    const forger = generateNodeKeys();
    const pub = (k: NodeKeys) => ({
      signing: { ...k.signing.publicJwk, kid: undefined },
      encryption: { ...k.encryption.publicJwk, kid: undefined },
    });
    const bare = (k: NodeKeys) => JSON.parse(JSON.stringify(pub(k))) as unknown;
    const body = {
      accord: "key-announcement/1",
      id: "f0f0f0f0-0000-4000-8000-000000000000",
      node: "XA",
      event: "rotate",
      at: new Date().toISOString(),
      key: bare(current),
      successor: bare(forger),
      valid_until: new Date(Date.now() + 86_400_000).toISOString(),
      signed_by: jwkThumbprint(current.signing.publicJwk),
    };
    const forged = {
      body,
      signatures: {
        // Claims XA's known key, signed by the forger's.
        [body.signed_by]: await signJson(body, forger.signing.privateKey),
        [jwkThumbprint(forger.signing.publicJwk)]: await signJson(body, forger.signing.privateKey),
      },
    };
    const res = await signedPost(
      xb,
      signerFor(current),
      "/federation/v1/keys/announce",
      JSON.stringify(forged),
      "application/json",
    );
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("ERR_SIGNATURE_INVALID");
    expect(await pinnedAt(xb, "XA")).toBe(jwkThumbprint(current.signing.publicJwk));
    const [refused] = await entries(xb, "key-announcement-refused");
    expect(refused?.data).toMatchObject({ node: "XA", announcement: body.id });
    expect(String(refused?.data.reason)).toContain("signature by the known key does not verify");
  });

  it("a partner that was down during the rotation gets the announcement when it is back", async () => {
    await xb.stop();
    const r = await api(xa, "POST", "/api/v1/keys/rotate", { overlap: "1d" });
    expect(r.status).toBe(200);
    await xa.deliverNow();
    const pending = (await api(xa, "GET", "/api/v1/keys")).body.pending.find(
      (p: any) => p.recipient === "XB",
    );
    expect(pending).toMatchObject({ recipient: "XB", kind: "rotate", attempts: 1 });
    xb = await nodes.start("XB");
    // The retry is due after its backoff: run delivery passes until it has gone out.
    for (let i = 0; i < 40 && (await pinnedAt(xb, "XA")) !== r.body.current; i++) {
      await new Promise((ok) => setTimeout(ok, 250));
      await xa.deliverNow();
    }
    expect(await pinnedAt(xb, "XA")).toBe(r.body.current);
    // XB, restarted, still holds the agreement in force (XA's signature was made with its first
    // key, still valid history) and accepts what XA shares under the new key.
    for (const id of await shareAll()) expect(await statusOf(id)).toBe("delivered");
  });

  it("revokes XA's current key: XB refuses it at once and pins the replacement", async () => {
    const compromised = keysOf(dirs.XA);
    expect(await getWith(compromised)).toBe(200);
    const r = await api(xa, "POST", "/api/v1/keys/revoke", {});
    expect(r.status).toBe(200);
    await xa.deliverNow();
    expect(await getWith(compromised)).toBe(403);
    expect(await pinnedAt(xb, "XA")).toBe(r.body.current);
    const [logged] = await entries(xb, "peer-key-revoked");
    expect(logged?.data).toMatchObject({
      node: "XA",
      revoked: jwkThumbprint(compromised.signing.publicJwk),
      replacement: r.body.current,
    });
    expect(await entries(xa, "key-revoked")).toHaveLength(1);
    // Re-pinning the revoked key from a descriptor is refused.
    const list = (await api(xa, "GET", "/api/v1/keys")).body.keys;
    expect(list.find((k: any) => k.fingerprint === r.body.keys[0]).status).toBe("revoked");
    for (const id of await shareAll()) expect(await statusOf(id)).toBe("delivered");
  });

  it("`accord log verify` passes across the rotations and fails on a checkpoint signed by an unknown key", async () => {
    await xa.node.checkpoint();
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const checkpoints = await xa.store.ledger.checkpoints(0, 1000);
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(await main(["log", "verify", "--dir", dirs.XA.dir], {}, io)).toBe(0);
    expect(out.join("")).toContain("log intact");

    // A checkpoint for a new size signed by a key the history does not know.
    await xa.store.ledger.append(testEntry(0, { tag: "marker" }));
    const head = await logHead(xa.store.ledger);
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const note = signCheckpoint(
      { origin: logOrigin("XA"), size: head.size, rootHash: head.rootHash, extensions: [] },
      [ed25519NoteSigner(logOrigin("XA"), stranger)],
    );
    await xa.store.ledger.putCheckpoint({
      size: head.size,
      note,
      createdAt: new Date().toISOString(),
    });
    out.length = 0;
    expect(await main(["log", "verify", "--dir", dirs.XA.dir], {}, io)).toBe(4);
    expect(out.join("")).toContain("is not signed by");
  });
});
