/**
 * sealEnvelope builds its JWS and JWE with node:crypto (for speed on multi-MB envelopes): jose, an
 * independent JOSE implementation, must open what it seals, and see the same header members.
 * (The other direction, jose-made envelopes opened by openEnvelope, is spec/vectors/envelope-example.json.)
 */
import { createPublicKey } from "node:crypto";
import { compactDecrypt, compactVerify } from "jose";
import { describe, expect, it } from "vitest";
import { CONTENT_TYP, ENVELOPE_TYP, sealEnvelope } from "../../src/crypto/envelope.js";
import { generateNodeKeys, jwkThumbprint } from "../../src/crypto/keys.js";

describe("sealed envelopes open with jose", () => {
  it("decrypts (ECDH-ES X25519, A256GCM) and verifies (EdDSA) with jose", async () => {
    const a = generateNodeKeys();
    const b = generateNodeKeys();
    const header = {
      id: "0b8f6a5e-3c1d-4f7a-9e2b-5d6c7a8b9c01",
      sender: "XA",
      recipient: "XB",
      createdAt: "2026-12-02T10:00:00.000Z",
      contentType: "application/stix+json;version=2.1",
    };
    const payload = new Uint8Array(300_000).map((_, i) => i % 251);
    const env = await sealEnvelope(header, payload, a.signing.privateKey, b.encryption.publicJwk);
    const { plaintext, protectedHeader } = await compactDecrypt(env, b.encryption.privateKey, {
      keyManagementAlgorithms: ["ECDH-ES"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    expect(protectedHeader).toMatchObject({
      alg: "ECDH-ES",
      enc: "A256GCM",
      typ: ENVELOPE_TYP,
      cty: CONTENT_TYP,
      kid: jwkThumbprint(b.encryption.publicJwk),
      epk: { kty: "OKP", crv: "X25519", x: expect.any(String) },
      ...header,
    });
    const verified = await compactVerify(
      new TextDecoder().decode(plaintext),
      createPublicKey(a.signing.privateKey),
      { algorithms: ["EdDSA"] },
    );
    expect(verified.protectedHeader).toMatchObject({ alg: "EdDSA", typ: CONTENT_TYP, ...header });
    expect(Buffer.from(verified.payload).equals(Buffer.from(payload))).toBe(true);
    // Each seal draws a fresh ephemeral key and IV.
    const again = await sealEnvelope(header, payload, a.signing.privateKey, b.encryption.publicJwk);
    expect(again).not.toBe(env);
  });
});
