/** RFC 9421 HTTP Message Signatures (Ed25519) and RFC 9530 Content-Digest, src/crypto/http-signature.ts. */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  claimedSha256,
  contentDigest,
  parseSignatures,
  signMessage,
  signatureBase,
  serializeSignatureParams,
  verifyMessage,
  type HttpMessageParts,
} from "../../src/crypto/http-signature.js";
import { readVector } from "./helpers.js";

interface B26 {
  key: { kty: string; crv: string; x: string; d: string };
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  label: string;
  components: string[];
  params: { created: number; keyid: string };
  signatureBase: string[];
  signatureInput: string;
  signature: string;
}
const vectors = readVector("rfc9421-http-signatures.json") as {
  rfc9421_b26: B26;
  rfc9530_b1: { body: string; contentDigest: string };
};
const v = vectors.rfc9421_b26;
const rfcPrivate = createPrivateKey({ key: v.key, format: "jwk" });
const rfcPublic = createPublicKey(rfcPrivate);
const rfcMessage: HttpMessageParts = {
  method: v.request.method,
  url: v.request.url,
  headers: v.request.headers,
};

describe("RFC 9421 Appendix B.2.6 (ed25519)", () => {
  it("builds the signature base of the RFC byte for byte", () => {
    const paramsText = serializeSignatureParams(v.components, v.params);
    expect(signatureBase(rfcMessage, v.components, paramsText)).toBe(v.signatureBase.join("\n"));
  });

  it("produces the RFC's Signature-Input and Signature (Ed25519 is deterministic)", () => {
    const out = signMessage(rfcMessage, {
      label: v.label,
      components: v.components,
      params: v.params,
      key: rfcPrivate,
    });
    expect(out.signatureInput).toBe(v.signatureInput);
    expect(out.signature).toBe(v.signature);
  });

  it("verifies the RFC's fields with the RFC's public key, and nothing altered", () => {
    const parsed = parseSignatures(v.signatureInput, v.signature);
    expect(parsed).toHaveLength(1);
    const sig = parsed![0]!;
    expect(sig.label).toBe("sig-b26");
    expect(sig.components).toEqual(v.components);
    expect(sig.params).toEqual(v.params);
    expect(verifyMessage(rfcMessage, sig, rfcPublic)).toBe(true);

    const other = generateKeyPairSync("ed25519").publicKey;
    expect(verifyMessage(rfcMessage, sig, other), "another key").toBe(false);
    expect(verifyMessage({ ...rfcMessage, method: "PUT" }, sig, rfcPublic), "another method").toBe(
      false,
    );
    expect(
      verifyMessage({ ...rfcMessage, url: "https://example.com/bar" }, sig, rfcPublic),
      "another path",
    ).toBe(false);
    expect(
      verifyMessage(
        { ...rfcMessage, headers: { ...v.request.headers, "Content-Length": "19" } },
        sig,
        rfcPublic,
      ),
      "another covered header",
    ).toBe(false);
    const { Date: _d, ...noDate } = v.request.headers;
    expect(verifyMessage({ ...rfcMessage, headers: noDate }, sig, rfcPublic), "missing").toBe(
      false,
    );
    // A header that is not covered may change freely.
    expect(
      verifyMessage(
        { ...rfcMessage, headers: { ...v.request.headers, "Content-Digest": "x" } },
        sig,
        rfcPublic,
      ),
    ).toBe(true);
    // Moving a parameter changes @signature-params, so the signature no longer holds.
    const reordered = v.signatureInput.replace(
      ';created=1618884473;keyid="test-key-ed25519"',
      ';keyid="test-key-ed25519";created=1618884473',
    );
    const moved = parseSignatures(reordered, v.signature)![0]!;
    expect(verifyMessage(rfcMessage, moved, rfcPublic)).toBe(false);
  });
});

describe("RFC 9530 Content-Digest", () => {
  it("computes the sha-256 value of Appendix B.1", () => {
    const b1 = vectors.rfc9530_b1;
    expect(contentDigest(b1.body)).toBe(b1.contentDigest);
    expect(Buffer.from(claimedSha256(b1.contentDigest)!).toString("base64")).toBe(
      "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    );
  });

  it("reads sha-256 among other algorithms and refuses malformed fields", () => {
    const d = contentDigest("abc");
    expect(claimedSha256(`sha-512=:${Buffer.alloc(64).toString("base64")}:, ${d}`)).toBeDefined();
    expect(claimedSha256(`sha-512=:${Buffer.alloc(64).toString("base64")}:`)).toBeUndefined();
    for (const bad of [
      "",
      "sha-256",
      "sha-256=abc",
      "sha-256=:not base64:",
      `sha-256=:${Buffer.alloc(31).toString("base64")}:`,
      `${d}, ${d}`,
      `${d},`,
      "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
    ])
      expect(claimedSha256(bad), bad).toBeUndefined();
  });
});

describe("Accord's own use", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const msg: HttpMessageParts = {
    method: "POST",
    url: "http://127.0.0.1:7402/federation/v1/inbox",
    headers: { "content-type": "application/jose", "content-digest": contentDigest("body") },
  };
  const components = ["@method", "@authority", "@path", "@query", "content-type", "content-digest"];
  const params = {
    created: 1_800_000_000,
    expires: 1_800_000_300,
    nonce: "n0nce_-",
    keyid: "kid",
    alg: "ed25519",
    tag: "accord-federation/1",
  };

  it("round-trips a signature with every parameter and an empty query", () => {
    const out = signMessage(msg, { label: "accord", components, params, key: privateKey });
    expect(out.signatureInput).toBe(
      'accord=("@method" "@authority" "@path" "@query" "content-type" "content-digest");created=1800000000;expires=1800000300;nonce="n0nce_-";keyid="kid";alg="ed25519";tag="accord-federation/1"',
    );
    const parsed = parseSignatures(out.signatureInput, out.signature)!;
    expect(parsed[0]!.params).toEqual(params);
    expect(verifyMessage(msg, parsed[0]!, publicKey)).toBe(true);
    expect(
      verifyMessage({ ...msg, url: `${msg.url}?x=1` }, parsed[0]!, publicKey),
      "@query covered",
    ).toBe(false);
    expect(
      verifyMessage(
        { ...msg, url: "http://127.0.0.1:7403/federation/v1/inbox" },
        parsed[0]!,
        publicKey,
      ),
      "@authority covered",
    ).toBe(false);
  });

  it("refuses to sign a message missing a covered component", () => {
    expect(() =>
      signMessage(
        { ...msg, headers: {} },
        { label: "accord", components, params, key: privateKey },
      ),
    ).toThrow(RangeError);
    expect(() => signMessage(msg, { label: "accord", components, params, key: publicKey })).toThrow(
      TypeError,
    );
  });

  it("parses strictly: any field outside the subset is refused as a whole", () => {
    const good = signMessage(msg, { label: "accord", components, params, key: privateKey });
    const sig = good.signature;
    const bad: [string, string][] = [
      ["", sig],
      [good.signatureInput, ""],
      [good.signatureInput.replace("accord=", "Accord="), sig],
      [good.signatureInput.replace('"@method"', '"@method";sf'), sig],
      [good.signatureInput.replace('"@method" ', '"@method"'), sig],
      [good.signatureInput.replace(";alg=", ";foo="), sig],
      [good.signatureInput.replace("created=1800000000", 'created="1800000000"'), sig],
      [good.signatureInput.replace('keyid="kid"', "keyid=5"), sig],
      [`${good.signatureInput};created=1`, sig],
      [good.signatureInput, sig.replace("accord=", "other=")],
      [good.signatureInput, "accord=:AAAA:"],
      [`${good.signatureInput}, ${good.signatureInput}`, sig],
      [good.signatureInput.replace('nonce="n0nce_-"', 'nonce="a\u00e9"'), sig],
      [good.signatureInput + "x".repeat(5000), sig],
    ];
    for (const [input, signature] of bad)
      expect(parseSignatures(input, signature), input.slice(0, 80)).toBeUndefined();
  });
});
