/**
 * RFC 8032 §7.1 Ed25519 vectors (spec/vectors/rfc8032-ed25519.json), run through node:crypto with
 * keys imported from their raw 32-byte form (PKCS#8 / SPKI) and as JWKs (RFC 8037 §2): the key
 * handling Accord relies on must agree with the RFC byte for byte (Ed25519 signing is
 * deterministic, so the signatures themselves are compared).
 */
import { createPublicKey, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parsePublicJwk } from "../../src/crypto/keys.js";
import {
  b64url,
  hex,
  rawPrivateKey,
  rawPublicKey,
  rawPublicOf,
  readVector,
  toHex,
} from "./helpers.js";

interface Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

const file = readVector("rfc8032-ed25519.json") as { source: string; vectors: Vector[] };

describe("RFC 8032 §7.1 Ed25519", () => {
  it("cites its source", () => {
    expect(file.source).toContain("RFC 8032");
    expect(file.vectors.map((v) => v.name)).toEqual([
      "TEST 1",
      "TEST 2",
      "TEST 3",
      "TEST SHA(abc)",
    ]);
  });

  describe.each(file.vectors)("$name", (v) => {
    const secret = rawPrivateKey("ed25519", hex(v.secretKey));
    const message = hex(v.message);

    it("derives the public key from the secret key", () => {
      expect(toHex(rawPublicOf(secret)), "public key from seed").toBe(v.publicKey);
      expect(secret.export({ format: "jwk" }).d, "JWK d is the seed").toBe(
        b64url(hex(v.secretKey)),
      );
    });

    it("signs to the published signature", () => {
      expect(toHex(sign(null, message, secret)), "signature").toBe(v.signature);
    });

    it("verifies the published signature with the raw public key", () => {
      const pub = rawPublicKey("ed25519", hex(v.publicKey));
      expect(verify(null, message, pub, hex(v.signature)), "valid signature").toBe(true);
    });

    it("refuses the signature with any one bit flipped, and for another message", () => {
      const pub = rawPublicKey("ed25519", hex(v.publicKey));
      for (let bit = 0; bit < 512; bit += 37) {
        const bad = hex(v.signature);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(verify(null, message, pub, bad), `bit ${bit} flipped`).toBe(false);
      }
      const other = new Uint8Array([...message, 0]);
      expect(verify(null, other, pub, hex(v.signature)), "other message").toBe(false);
    });

    it("verifies the published signature with the key imported as a validated JWK", () => {
      const jwk = parsePublicJwk(
        { kty: "OKP", crv: "Ed25519", x: b64url(hex(v.publicKey)) },
        "Ed25519",
      );
      const pub = createPublicKey({ key: { ...jwk }, format: "jwk" });
      expect(toHex(rawPublicOf(pub)), "JWK x is the raw public key").toBe(v.publicKey);
      expect(verify(null, message, pub, hex(v.signature)), "valid signature").toBe(true);
    });
  });
});
