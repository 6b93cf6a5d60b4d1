/** Detached signatures over RFC 8785 canonical JSON: signJson and verifyJson. */
import fc from "fast-check";
import { CompactSign, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalize } from "../../src/crypto/jcs.js";
import { generateNodeKeys, jwkThumbprint } from "../../src/crypto/keys.js";
import { signReceipt } from "../../src/crypto/receipt.js";
import { JSON_SIGNATURE_TYP, signJson, verifyJson } from "../../src/crypto/sign.js";
import { b64url } from "./helpers.js";
import { expectAccordError } from "./expect-error.js";

const node = generateNodeKeys();
const other = generateNodeKeys();
const descriptor = {
  type: "accord-node-descriptor",
  id: "node-a",
  keys: { signing: node.signing.publicJwk, encryption: node.encryption.publicJwk },
  endpoints: { inbox: "https://node-a.example/federation/v1/inbox" },
};

describe("signJson", () => {
  it("writes a detached compact JWS with the accord-json+jws header", async () => {
    const jws = await signJson(descriptor, node.signing.privateKey);
    const [h, p, s] = jws.split(".");
    expect(p, "detached payload").toBe("");
    expect(s, "64-byte signature").toHaveLength(86);
    expect(decodeProtectedHeader(`${h!}..`)).toEqual({
      alg: "EdDSA",
      typ: JSON_SIGNATURE_TYP,
      kid: jwkThumbprint(node.signing.publicJwk),
    });
  });

  it("refuses a value that is not JSON, and an X25519 key", async () => {
    await expect(signJson({ at: new Date() }, node.signing.privateKey)).rejects.toThrow(TypeError);
    await expect(signJson(descriptor, node.encryption.privateKey)).rejects.toThrow(TypeError);
  });
});

describe("verifyJson", () => {
  it("is true for the signed value, whatever its member order", async () => {
    const jws = await signJson(descriptor, node.signing.privateKey);
    const reordered = JSON.parse(
      JSON.stringify(Object.fromEntries(Object.entries(descriptor).reverse())),
    ) as unknown;
    expect(await verifyJson(jws, descriptor, node.signing.publicJwk), "same value").toBe(true);
    expect(await verifyJson(jws, reordered, node.signing.publicJwk), "reordered").toBe(true);
  });

  it("is true for any JSON value signed, false for any other (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.jsonValue(), async (a, b) => {
        const jws = await signJson(a, node.signing.privateKey);
        expect(await verifyJson(jws, a, node.signing.publicJwk), "signed value").toBe(true);
        const same = canonicalize(a) === canonicalize(b);
        expect(await verifyJson(jws, b, node.signing.publicJwk), "other value").toBe(same);
      }),
      { numRuns: 100 },
    );
  });

  it("is false for a changed value, another key, or a tampered signature", async () => {
    const jws = await signJson(descriptor, node.signing.privateKey);
    expect(
      await verifyJson(jws, { ...descriptor, id: "node-m" }, node.signing.publicJwk),
      "changed value",
    ).toBe(false);
    expect(await verifyJson(jws, descriptor, other.signing.publicJwk), "other key").toBe(false);
    const flipped = jws.slice(0, -3) + (jws.at(-3) === "A" ? "B" : "A") + jws.slice(-2);
    expect(await verifyJson(flipped, descriptor, node.signing.publicJwk), "tampered").toBe(false);
  });

  it("is false for the attached form, other typs, other algs, and garbage", async () => {
    const kid = jwkThumbprint(node.signing.publicJwk);
    const bytes = canonicalBytes(descriptor);
    const attached = await new CompactSign(bytes)
      .setProtectedHeader({ alg: "EdDSA", typ: JSON_SIGNATURE_TYP, kid })
      .sign(node.signing.privateKey);
    const detach = (jws: string): string => jws.replace(/\.[^.]*\./, "..");
    const receiptTyp = detach(
      await new CompactSign(bytes)
        .setProtectedHeader({ alg: "EdDSA", typ: "accord-receipt+jws", kid })
        .sign(node.signing.privateKey),
    );
    const hs = detach(
      await new CompactSign(bytes)
        .setProtectedHeader({ alg: "HS256", typ: JSON_SIGNATURE_TYP, kid })
        .sign(Buffer.from(node.signing.publicJwk.x, "base64url")),
    );
    const none = `${b64url(JSON.stringify({ alg: "none", typ: JSON_SIGNATURE_TYP, kid }))}..`;
    const receipt = await signReceipt(
      {
        envelopeId: "6f1c2b9e-3d4a-4f5b-8c7d-0e1f2a3b4c5d",
        envelopeHash: "0".repeat(64),
        recipient: "b",
        sender: "a",
        receivedAt: "2026-01-01T00:00:00Z",
        accepted: 0,
        rejected: 0,
        objects: [],
      },
      node.signing.privateKey,
    );
    for (const [name, jws] of [
      ["attached", attached],
      ["receipt typ", receiptTyp],
      ["HS256", hs],
      ["none", none],
      ["a receipt", receipt],
      ["garbage", "x.y.z"],
      ["empty", ""],
    ] as const) {
      expect(await verifyJson(jws, descriptor, node.signing.publicJwk), name).toBe(false);
    }
    expect(
      await verifyJson(7 as unknown as string, descriptor, node.signing.publicJwk),
      "not a string",
    ).toBe(false);
  });

  it("is false for a value that is not JSON", async () => {
    const jws = await signJson({}, node.signing.privateKey);
    expect(await verifyJson(jws, { a: undefined, d: new Date(0) }, node.signing.publicJwk)).toBe(
      false,
    );
  });

  it("throws ERR_KEYS_INVALID for a malformed key", async () => {
    const jws = await signJson(descriptor, node.signing.privateKey);
    await expectAccordError(
      () => verifyJson(jws, descriptor, node.encryption.publicJwk),
      "ERR_KEYS_INVALID",
    );
  });
});
