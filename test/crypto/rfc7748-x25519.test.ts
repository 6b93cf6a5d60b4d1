/**
 * RFC 7748 §6.1 X25519 Diffie-Hellman (spec/vectors/rfc7748-x25519.json) through node:crypto with
 * raw keys, and the low-order points that `parsePublicJwk` must refuse (their shared secret is all
 * zeros whatever the private key, RFC 7748 §6.1 and §7).
 */
import { createPublicKey, diffieHellman } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateNodeKeys, parsePublicJwk } from "../../src/crypto/keys.js";
import {
  b64url,
  hex,
  rawPrivateKey,
  rawPublicKey,
  rawPublicOf,
  readVector,
  toHex,
} from "./helpers.js";
import { expectAccordError } from "./expect-error.js";

interface Party {
  privateKey: string;
  publicKey: string;
}
const v = readVector("rfc7748-x25519.json") as {
  source: string;
  alice: Party;
  bob: Party;
  sharedSecret: string;
};

describe("RFC 7748 §6.1 X25519", () => {
  const alice = rawPrivateKey("x25519", hex(v.alice.privateKey));
  const bob = rawPrivateKey("x25519", hex(v.bob.privateKey));

  it("cites its source", () => {
    expect(v.source).toContain("RFC 7748");
  });

  it("derives each public key from its private key", () => {
    expect(toHex(rawPublicOf(alice)), "Alice's public key").toBe(v.alice.publicKey);
    expect(toHex(rawPublicOf(bob)), "Bob's public key").toBe(v.bob.publicKey);
  });

  it("gives both parties the published shared secret", () => {
    const k1 = diffieHellman({
      privateKey: alice,
      publicKey: rawPublicKey("x25519", hex(v.bob.publicKey)),
    });
    const k2 = diffieHellman({
      privateKey: bob,
      publicKey: rawPublicKey("x25519", hex(v.alice.publicKey)),
    });
    expect(toHex(k1), "K = X25519(a, X25519(b, 9))").toBe(v.sharedSecret);
    expect(toHex(k2), "K = X25519(b, X25519(a, 9))").toBe(v.sharedSecret);
  });

  it("gives the same secret with the public key imported as a validated JWK", () => {
    const jwk = parsePublicJwk(
      { kty: "OKP", crv: "X25519", x: b64url(hex(v.bob.publicKey)) },
      "X25519",
    );
    const pub = createPublicKey({ key: { ...jwk }, format: "jwk" });
    expect(toHex(diffieHellman({ privateKey: alice, publicKey: pub })), "K via JWK").toBe(
      v.sharedSecret,
    );
  });
});

describe("low-order X25519 public keys", () => {
  const p = 2n ** 255n - 19n;
  const le = (n: bigint): Uint8Array => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  const lowOrder: Record<string, Uint8Array> = {
    "u = 0 (order 2)": le(0n),
    "u = 1 (order 4)": le(1n),
    "u = p - 1 (order 4)": le(p - 1n),
    "u = p, a non-canonical 0": le(p),
    "u = p + 1, a non-canonical 1": le(p + 1n),
    "a point of order 8": hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
  };

  it.each(Object.entries(lowOrder))("refuses %s", async (_name, u) => {
    for (const attempt of ["first", "second"]) {
      await expectAccordError(
        () => parsePublicJwk({ kty: "OKP", crv: "X25519", x: b64url(u) }, "X25519"),
        "ERR_KEYS_INVALID",
        `${attempt} attempt`,
      );
    }
  });

  it("accepts freshly generated keys", () => {
    const { publicJwk } = generateNodeKeys().encryption;
    expect(parsePublicJwk(publicJwk, "X25519").x).toBe(publicJwk.x);
  });
});
