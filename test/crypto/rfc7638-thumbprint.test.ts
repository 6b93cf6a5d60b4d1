/**
 * RFC 7638 JWK thumbprints and the RFC 8037 Appendix A examples (spec/vectors/jose-okp.json).
 *
 * `jwkThumbprint` takes OKP keys only, so the RFC 7638 §3.1 RSA example checks the construction it
 * is built on (RFC 8785 canonical JSON of the required members, SHA-256, base64url); the RFC 8037
 * A.3 example checks the function itself, and a thumbprint written out by hand from the
 * definition checks it once more.
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { CompactSign, compactVerify } from "jose";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/crypto/hash.js";
import { canonicalize } from "../../src/crypto/jcs.js";
import { generateNodeKeys, jwkThumbprint, parsePublicJwk } from "../../src/crypto/keys.js";
import { b64url, readVector } from "./helpers.js";
import { expectAccordError } from "./expect-error.js";

interface Vectors {
  rfc8037: {
    source: string;
    privateJwk: Record<string, string>;
    publicJwk: Record<string, string>;
    thumbprint: string;
    jwsPayload: string;
    jws: string;
  };
  rfc7638: { source: string; requiredMembers: Record<string, string>; thumbprint: string };
}
const v = readVector("jose-okp.json") as Vectors;

describe("RFC 7638 §3.1 (RSA example)", () => {
  it("is base64url(SHA-256(canonical JSON of the required members))", () => {
    const json = canonicalize(v.rfc7638.requiredMembers);
    expect(
      json.startsWith('{"e":"AQAB","kty":"RSA","n":"0vx7'),
      "members sorted, no whitespace",
    ).toBe(true);
    expect(b64url(sha256(json)), "thumbprint").toBe(v.rfc7638.thumbprint);
  });
});

describe("RFC 8037 Appendix A (Ed25519)", () => {
  it("A.3: the public key's thumbprint", () => {
    const jwk = parsePublicJwk(v.rfc8037.publicJwk, "Ed25519");
    expect(jwkThumbprint(jwk)).toBe(v.rfc8037.thumbprint);
  });

  it("A.3: ignores optional members such as kid", () => {
    expect(jwkThumbprint({ ...parsePublicJwk(v.rfc8037.publicJwk, "Ed25519"), kid: "other" })).toBe(
      v.rfc8037.thumbprint,
    );
  });

  it("A.2: the private key yields the published public key", () => {
    const key = createPrivateKey({ key: v.rfc8037.privateJwk, format: "jwk" });
    expect(key.export({ format: "jwk" }).x).toBe(v.rfc8037.publicJwk.x);
  });

  it("A.4: jose signs to the published JWS and verifies it", async () => {
    const key = createPrivateKey({ key: v.rfc8037.privateJwk, format: "jwk" });
    const jws = await new CompactSign(new TextEncoder().encode(v.rfc8037.jwsPayload))
      .setProtectedHeader({ alg: "EdDSA" })
      .sign(key);
    expect(jws, "deterministic Ed25519 JWS").toBe(v.rfc8037.jws);
    const pub = createPublicKey({
      key: { ...parsePublicJwk(v.rfc8037.publicJwk, "Ed25519") },
      format: "jwk",
    });
    const { payload } = await compactVerify(v.rfc8037.jws, pub, { algorithms: ["EdDSA"] });
    expect(new TextDecoder().decode(payload)).toBe(v.rfc8037.jwsPayload);
  });
});

describe("jwkThumbprint", () => {
  it("matches a thumbprint computed by hand from the definition", () => {
    for (const jwk of [
      generateNodeKeys().signing.publicJwk,
      generateNodeKeys().encryption.publicJwk,
    ]) {
      const byHand = `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
      const expected = createHash("sha256").update(byHand, "utf8").digest("base64url");
      expect(jwkThumbprint(jwk), `${jwk.crv} thumbprint`).toBe(expected);
      expect(jwk.kid, `${jwk.crv} kid is the thumbprint`).toBe(expected);
    }
  });

  it("refuses a malformed key with ERR_KEYS_INVALID", async () => {
    await expectAccordError(
      () => jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: "AAAA" }),
      "ERR_KEYS_INVALID",
    );
    await expectAccordError(
      () => jwkThumbprint({ kty: "EC", crv: "X25519", x: "AAAA" } as never),
      "ERR_KEYS_INVALID",
    );
  });
});
