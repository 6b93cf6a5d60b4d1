/**
 * RFC 9421 request signatures on the peer protocol, against a real node over real HTTP: every
 * `/federation/v1/*` request is refused unless signed by a partner's key, fresh, with a nonce
 * never seen (durably: a restart does not forget it) and a body matching its signed digest.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { jwkThumbprint } from "../../src/crypto/keys.js";
import { signRequestHeaders } from "../../src/federation/request-signing.js";
import { freePort, startNodes, type TestNodes } from "../support/nodes.js";
import { signerOf } from "../support/peer-requests.js";

const INBOX = "/federation/v1/inbox";
const TYPE = "application/jose";

describe("request signatures on /federation/v1/*", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let dirs: TestNodes<"XA" | "XB">["dirs"];
  let xa: RunningNode;
  let xb: RunningNode;

  beforeAll(async () => {
    // XB keeps its port across restarts, so a replay after a restart has the same @authority.
    nodes = await startNodes([{ id: "XA" }, { id: "XB", port: await freePort() }]);
    ({
      dirs,
      nodes: { XA: xa, XB: xb },
    } = nodes);
  });
  afterAll(() => nodes.stop());

  const send = async (
    headers: Record<string, string>,
    body: string | undefined,
    path = INBOX,
    method = "POST",
  ) => {
    const go = () =>
      fetch(new URL(path, xb.url), { method, headers, ...(body === undefined ? {} : { body }) });
    // After XB restarts, a kept-alive connection to the old process may be reused once.
    const res = await go().catch(() => go());
    const parsed = (await res.json()) as { code?: string; detail?: string };
    return { status: res.status, code: parsed.code, detail: parsed.detail };
  };
  const signed = (body: string, over: { now?: number; path?: string; nonce?: string } = {}) =>
    signRequestHeaders(signerOf(dirs.XA.dir), {
      method: "POST",
      url: new URL(over.path ?? INBOX, xb.url).href,
      body,
      contentType: TYPE,
      ...(over.now === undefined ? {} : { now: over.now }),
      ...(over.nonce === undefined ? {} : { nonce: over.nonce }),
    });
  const nowS = () => Math.floor(Date.now() / 1000);

  it("refuses an unsigned request with 401, before looking at the body", async () => {
    const r = await send({ "content-type": TYPE }, "not.an.envelope");
    expect(r).toMatchObject({ status: 401, code: "ERR_UNAUTHENTICATED" });
  });

  it("refuses a request signed by a key that is no partner's with 403", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const jwk = publicKey.export({ format: "jwk" }) as { kty: "OKP"; crv: "Ed25519"; x: string };
    const headers = signRequestHeaders(
      { key: privateKey, keyId: jwkThumbprint(jwk) },
      { method: "POST", url: new URL(INBOX, xb.url).href, body: "x", contentType: TYPE },
    );
    expect(await send(headers, "x")).toMatchObject({ status: 403, code: "ERR_UNKNOWN_PARTNER" });
  });

  it("refuses a signature that does not verify, or covers another request, with 401", async () => {
    const h = signed("x");
    const flipped = h.signature!.replace(/:(.)/, (_m, c: string) => `:${c === "A" ? "B" : "A"}`);
    expect(await send({ ...h, signature: flipped }, "x")).toMatchObject({
      status: 401,
      code: "ERR_SIGNATURE_INVALID",
    });
    // Signed for another path: the covered @path differs.
    const other = signed("x", { path: "/federation/v1/elsewhere" });
    expect(await send(other, "x")).toMatchObject({ status: 401, code: "ERR_SIGNATURE_INVALID" });
    // Off profile: the body's digest is not covered.
    const input = h["signature-input"]!.replace(' "content-digest"', "");
    expect(await send({ ...h, "signature-input": input }, "x")).toMatchObject({
      status: 401,
      code: "ERR_SIGNATURE_INVALID",
    });
    const { "signature-input": _i, ...noInput } = signed("x");
    expect(await send(noInput, "x")).toMatchObject({ status: 401, code: "ERR_UNAUTHENTICATED" });
  });

  it("refuses a signature created outside the ±300 s window with 401", async () => {
    for (const now of [nowS() - 400, nowS() + 400])
      expect(await send(signed("x", { now }), "x")).toMatchObject({
        status: 401,
        code: "ERR_SIGNATURE_INVALID",
        detail: expect.stringContaining("window"),
      });
  });

  it("refuses a body that is not the one whose digest was signed", async () => {
    const h = signed("this.is.not");
    const r = await send(h, "this.is.bad");
    expect(r).toMatchObject({ status: 401, code: "ERR_SIGNATURE_INVALID" });
    expect(r.detail).toContain("Content-Digest");
  });

  it("refuses a replayed nonce with 409, also after the node restarts", async () => {
    const h = signed("garbage");
    // The first use passes authentication and fails later, on the body (not an envelope).
    expect((await send(h, "garbage")).status).toBe(400);
    expect(await send(h, "garbage")).toMatchObject({ status: 409, code: "ERR_REPLAY" });
    await xb.stop();
    xb = await nodes.start("XB");
    expect(await send(h, "garbage")).toMatchObject({ status: 409, code: "ERR_REPLAY" });
    // A fresh nonce from the same partner is fine.
    expect((await send(signed("garbage"), "garbage")).status).toBe(400);
  });

  it("covers every route under the prefix, known or not", async () => {
    expect(await send({}, undefined, "/federation/v1/anything", "GET")).toMatchObject({
      status: 401,
      code: "ERR_UNAUTHENTICATED",
    });
    const h = signRequestHeaders(signerOf(dirs.XA.dir), {
      method: "GET",
      url: new URL("/federation/v1/anything", xb.url).href,
    });
    expect(await send(h, undefined, "/federation/v1/anything", "GET")).toMatchObject({
      status: 404,
    });
  });

  it("delivers a real share end to end with signed requests", async () => {
    const bundle = {
      type: "bundle",
      id: "bundle--0e1f0f9e-6b7a-4d3c-9a55-8a7fbd2b9b11",
      objects: [
        {
          type: "indicator",
          spec_version: "2.1",
          id: "indicator--7c5b2b3e-3f43-4c3e-9a0f-2d9f2b1f8c01",
          created: "2026-11-20T08:20:00.000Z",
          modified: "2026-11-20T08:20:00.000Z",
          pattern: "[ipv4-addr:value = '203.0.113.9']",
          pattern_type: "stix",
          valid_from: "2026-11-20T08:20:00Z",
        },
      ],
    };
    await xa.node.ingest(bundle);
    const [o] = await xa.node.share({ recipients: ["XB"], purpose: "cyber-defence" });
    expect(o!.sent).toBe(1);
    const report = await xa.node.deliverDue();
    expect(report).toMatchObject({ delivered: 1, failed: 0 });
  });
});
