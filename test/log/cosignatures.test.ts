/**
 * Cosignatures sent back (spec/log.md, "Witnesses"): a witness posts its cosignature of a node's
 * checkpoint to `/federation/v1/log/cosignatures`; the node checks that the witness signed it
 * under one of its keys and that the node itself issued that checkpoint, stores it and serves the
 * checkpoint with it. Across a key rotation, a cosignature or checkpoint made under a partner's
 * earlier key is still accepted; under a key the partner revoked, never.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logOrigin, logVerifier } from "../../src/app/log.js";
import { partnerSigningKeys, witnessName } from "../../src/app/witness.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { jwkThumbprint, type NodeKeys } from "../../src/crypto/keys.js";
import {
  addNoteSignatures,
  ed25519CosignatureVerifier,
  ed25519Cosigner,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signNote,
  ed25519NoteSigner,
} from "../../src/tlog/index.js";
import { ed25519RawPublic } from "../../src/tlog/note.js";
import { api, startNodes, type TestNodeDir, type TestNodes } from "../support/nodes.js";
import { signedPost, signerOf } from "../support/peer-requests.js";

const keysOf = (d: TestNodeDir): NodeKeys => loadNodeKeys(join(d.dir, "keys", "node-keys.json"));
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const cosign = (note: string, keys: NodeKeys, name = witnessName("XA"), at = nowSeconds()) =>
  addNoteSignatures(note, [ed25519Cosigner(name, keys.signing.privateKey, () => at)]);

describe("cosignatures sent back to the log", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;
  const post = (note: string, signer = signerOf(nodes.dirs.XA.dir)) =>
    signedPost(xb, signer, "/federation/v1/log/cosignatures", note, "text/plain; charset=utf-8");
  const stored = async (size: number) =>
    (await xb.store.ledger.cosignatures(size)).map((c) => c.witness);

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }], { sign: false });
    ({ XA: xa, XB: xb } = nodes.nodes);
  }, 60_000);

  afterAll(() => nodes.stop());

  it("stores a partner's cosignature of a checkpoint the node issued, and serves it", async () => {
    const { size, note } = await xb.node.checkpoint();
    const r = await post(cosign(note, keysOf(nodes.dirs.XA)));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ size, witness: witnessName("XA"), stored: 1 });
    const served = (await api(xb, "GET", "/api/v1/log/checkpoint")).body as string;
    const opened = openCheckpoint(served, {
      origin: logOrigin("XB"),
      log: logVerifier("XB", ed25519RawPublic(keysOf(nodes.dirs.XB).signing.privateKey)),
      cosigners: [
        ed25519CosignatureVerifier(
          witnessName("XA"),
          ed25519RawPublic(keysOf(nodes.dirs.XA).signing.privateKey),
        ),
      ],
    });
    expect(opened.checkpoint.size).toBe(size);
    expect(opened.note.verified.map((s) => s.name)).toEqual([logOrigin("XB"), witnessName("XA")]);
  });

  it("refuses what it cannot check, storing nothing", async () => {
    const xaKeys = keysOf(nodes.dirs.XA);
    const { size, note } = await xb.node.checkpoint();
    const before = await xb.store.ledger.cosignatures(size);
    // A tree head XB never issued: same size, another root, "signed" by someone else.
    const forged = signNote(
      formatCheckpoint({
        ...parseCheckpoint(note.slice(0, note.indexOf("\n\n") + 1)),
        rootHash: new Uint8Array(32),
      }),
      [ed25519NoteSigner(logOrigin("XB"), xaKeys.signing.privateKey)],
    );
    expect((await post(cosign(forged, xaKeys))).body.code).toBe("ERR_NOT_FOUND");
    // Another witness's name: XA may only add its own cosignatures.
    const other = await post(cosign(note, xaKeys, witnessName("XC")));
    expect(other.status).toBe(401);
    // A cosignature whose signature was altered.
    const good = cosign(note, xaKeys);
    const lines = good.split("\n");
    const last = lines.at(-2)!;
    const b64 = last.slice(last.lastIndexOf(" ") + 1);
    const bytes = Buffer.from(b64, "base64");
    bytes[bytes.length - 1]! ^= 1;
    lines[lines.length - 2] = last.slice(0, last.lastIndexOf(" ") + 1) + bytes.toString("base64");
    expect((await post(lines.join("\n"))).body.code).toBe("ERR_SIGNATURE_INVALID");
    // A time a day ahead of XB's clock.
    const ahead = await post(cosign(note, xaKeys, witnessName("XA"), nowSeconds() + 86_400));
    expect(ahead.body).toMatchObject({ code: "ERR_SIGNATURE_INVALID" });
    expect(ahead.body.detail ?? ahead.body.title ?? "").toMatch(/ahead/);
    // XA's own checkpoint is not XB's to serve.
    const own = await xa.node.checkpoint();
    expect((await post(cosign(own.note, xaKeys))).body.code).toBe("ERR_MALFORMED_INPUT");
    // Not a note at all; and not signed as a partner.
    expect((await post("hello\n")).body.code).toBe("ERR_MALFORMED_INPUT");
    const unsigned = await fetch(new URL("/federation/v1/log/cosignatures", xb.url), {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: cosign(note, xaKeys),
    });
    expect(unsigned.status).toBe(401);
    expect(await xb.store.ledger.cosignatures(size)).toStrictEqual(before);
  });

  it("accepts a partner's cosignature under its previous key after a rotation, never under a revoked one", async () => {
    const k1 = keysOf(nodes.dirs.XA);
    const { size, note } = await xb.node.checkpoint();
    const late = cosign(note, k1); // made with XA's first key, delivered after the rotation
    const rotated = await api(xa, "POST", "/api/v1/keys/rotate", { overlap: "7d" });
    expect(rotated.status).toBe(200);
    await xa.deliverNow();
    const k2 = keysOf(nodes.dirs.XA);
    const xaAtXb = await xb.store.peers.get("XA");
    expect(jwkThumbprint(xaAtXb!.signingKey as never)).toBe(jwkThumbprint(k2.signing.publicJwk));
    // XB knows both of XA's keys: the new one pinned, the first one from the rotation.
    expect((await partnerSigningKeys(xb.store, xaAtXb!)).length).toBe(2);
    const r = await post(late);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await stored(size)).toEqual([witnessName("XA")]);
    // XA witnesses XB under its new key: cosigned and taken back.
    const w = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(w.body).toMatchObject({ consistent: true, sentBack: true });
    // XA revokes its first key: XB refuses anything signed with it from then on.
    const revoked = await api(xa, "POST", "/api/v1/keys/revoke", {
      fingerprint: jwkThumbprint(k1.signing.publicJwk),
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    await xa.deliverNow();
    expect((await partnerSigningKeys(xb.store, (await xb.store.peers.get("XA"))!)).length).toBe(1);
    const next = await xb.node.checkpoint();
    const afterRevoke = await post(cosign(next.note, k1));
    expect(afterRevoke.status).toBe(401);
    expect(await stored(next.size)).not.toContain(witnessName("XA"));
  });

  it("witnesses a partner across its rotation: the checkpoint under its earlier key still opens", async () => {
    const first = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(first.body).toMatchObject({ consistent: true });
    const before = await xb.node.checkpoint(); // signed with XB's first key
    const b1 = keysOf(nodes.dirs.XB);
    expect((await api(xb, "POST", "/api/v1/keys/rotate", { overlap: "7d" })).status).toBe(200);
    await xb.deliverNow();
    // XA opens the old checkpoint with XB's key history as it knows it, and the new one too.
    const peer = (await xa.store.peers.get("XB"))!;
    const keys = await partnerSigningKeys(xa.store, peer);
    const verifiers = keys.map((k) => logVerifier("XB", k));
    expect(
      openCheckpoint(before.note, { origin: logOrigin("XB"), log: verifiers }).checkpoint.size,
    ).toBe(before.size);
    expect(() =>
      openCheckpoint(before.note, { origin: logOrigin("XB"), log: verifiers.slice(0, 1) }),
    ).toThrow(/not signed by a known key/);
    expect(jwkThumbprint(peer.signingKey as never)).not.toBe(jwkThumbprint(b1.signing.publicJwk));
    const after = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(after.body).toMatchObject({ consistent: true, sentBack: true });
    expect(after.body.size).toBeGreaterThan(before.size);
  });
});
