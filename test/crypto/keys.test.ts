/** Node keys: generation, the key file format, and validation of partners' public keys. */
import { inspect } from "node:util";
import { sign, verify, diffieHellman, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  exportNodeKeys,
  generateNodeKeys,
  importNodeKeys,
  jwkThumbprint,
  parsePublicJwk,
} from "../../src/crypto/keys.js";
import { b64url } from "./helpers.js";
import { expectAccordError } from "./expect-error.js";

describe("generateNodeKeys", () => {
  it("makes an Ed25519 and an X25519 key pair with OKP public JWKs whose kid is the thumbprint", () => {
    const keys = generateNodeKeys();
    expect(keys.signing.privateKey.asymmetricKeyType).toBe("ed25519");
    expect(keys.encryption.privateKey.asymmetricKeyType).toBe("x25519");
    expect(keys.signing.publicJwk).toEqual({
      kty: "OKP",
      crv: "Ed25519",
      x: expect.any(String),
      kid: jwkThumbprint(keys.signing.publicJwk),
    });
    expect(keys.encryption.publicJwk.crv).toBe("X25519");
    expect(Object.isFrozen(keys) && Object.isFrozen(keys.signing.publicJwk), "frozen").toBe(true);
  });

  it("makes different keys each time", () => {
    expect(generateNodeKeys().signing.publicJwk.x).not.toBe(generateNodeKeys().signing.publicJwk.x);
  });
});

describe("exportNodeKeys and importNodeKeys", () => {
  it("round-trip: the imported keys sign and agree like the originals", () => {
    const keys = generateNodeKeys();
    const text = exportNodeKeys(keys);
    const back = importNodeKeys(text);
    expect(back.signing.publicJwk).toEqual(keys.signing.publicJwk);
    expect(back.encryption.publicJwk).toEqual(keys.encryption.publicJwk);
    const msg = new TextEncoder().encode("hello");
    expect(
      verify(
        null,
        msg,
        createPublicKey({ key: { ...keys.signing.publicJwk }, format: "jwk" }),
        sign(null, msg, back.signing.privateKey),
      ),
    ).toBe(true);
    const peer = generateNodeKeys().encryption;
    const peerPub = createPublicKey({ key: { ...peer.publicJwk }, format: "jwk" });
    expect(diffieHellman({ privateKey: back.encryption.privateKey, publicKey: peerPub })).toEqual(
      diffieHellman({ privateKey: keys.encryption.privateKey, publicKey: peerPub }),
    );
    expect(exportNodeKeys(back), "stable text").toBe(text);
  });

  it("writes the documented format", () => {
    const doc = JSON.parse(exportNodeKeys(generateNodeKeys())) as Record<
      string,
      Record<string, string>
    >;
    expect(Object.keys(doc)).toEqual(["format", "version", "signing", "encryption"]);
    expect(doc.format).toBe("accord-node-keys");
    expect(doc.version).toBe(1);
    expect(Object.keys(doc.signing!).sort()).toEqual(["crv", "d", "kty", "x"]);
    expect(doc.encryption!.crv).toBe("X25519");
  });

  it("does not show key material when the keys are inspected", () => {
    const keys = generateNodeKeys();
    const d = JSON.parse(exportNodeKeys(keys)) as { signing: { d: string } };
    expect(inspect(keys, { depth: 5 })).not.toContain(d.signing.d);
    expect(JSON.stringify(keys)).not.toContain(d.signing.d);
  });

  const good = JSON.parse(exportNodeKeys(generateNodeKeys())) as {
    signing: Record<string, string>;
    encryption: Record<string, string>;
  };
  const other = JSON.parse(exportNodeKeys(generateNodeKeys())) as typeof good;
  const SECRET = "SECRET-d-VALUE-0123456789";
  const cases: [string, string][] = [
    ["not JSON, quoting a secret", `{"signing": ${SECRET}`],
    ["empty", ""],
    ["a JSON array", "[]"],
    ["another format", JSON.stringify({ ...good, format: "pem" })],
    ["a later version", JSON.stringify({ ...good, version: 2 })],
    ["an extra member", JSON.stringify({ ...good, note: SECRET })],
    ["a missing key", JSON.stringify({ ...good, encryption: undefined })],
    [
      "swapped keys",
      JSON.stringify({ ...good, signing: good.encryption, encryption: good.signing }),
    ],
    [
      "a d that is not base64url",
      JSON.stringify({ ...good, signing: { ...good.signing, d: SECRET } }),
    ],
    [
      "a short d",
      JSON.stringify({ ...good, signing: { ...good.signing, d: good.signing.d!.slice(0, 40) } }),
    ],
    [
      "a d from another key",
      JSON.stringify({ ...good, signing: { ...good.signing, d: other.signing.d } }),
    ],
    [
      "an x from another key",
      JSON.stringify({ ...good, encryption: { ...good.encryption, x: other.encryption.x } }),
    ],
    ["an extra JWK member", JSON.stringify({ ...good, signing: { ...good.signing, kid: SECRET } })],
    ["a huge file", " ".repeat(70_000) + JSON.stringify(good)],
  ];

  it.each(cases)("refuse %s with ERR_KEYS_INVALID, echoing nothing", async (_name, text) => {
    const e = await expectAccordError(() => importNodeKeys(text), "ERR_KEYS_INVALID");
    const shown = `${e.message} ${JSON.stringify(e)} ${inspect(e)}`;
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(good.signing.d);
    expect(shown).not.toContain(other.signing.d);
    expect(e.cause, "no cause").toBeUndefined();
  });
});

describe("parsePublicJwk", () => {
  const { signing, encryption } = generateNodeKeys();

  it("accepts a partner's key, keeps kid, drops other members", () => {
    const parsed = parsePublicJwk(
      { ...signing.publicJwk, kid: "k1", use: "sig", alg: "EdDSA", key_ops: ["verify"] },
      "Ed25519",
    );
    expect(parsed).toEqual({ kty: "OKP", crv: "Ed25519", x: signing.publicJwk.x, kid: "k1" });
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it.each([
    ["null", null],
    ["an array", []],
    ["a string", "OKP"],
    ["another kty", { ...signing.publicJwk, kty: "EC" }],
    ["the other curve", encryption.publicJwk],
    ["private material", { ...signing.publicJwk, d: b64url(new Uint8Array(32)) }],
    ["a 31-byte x", { ...signing.publicJwk, x: b64url(new Uint8Array(31)) }],
    ["a 33-byte x", { ...signing.publicJwk, x: b64url(new Uint8Array(33)) }],
    ["a padded x", { ...signing.publicJwk, x: `${signing.publicJwk.x}=` }],
    [
      "a base64 (not url) x",
      {
        ...signing.publicJwk,
        x:
          signing.publicJwk.x.replace(/-/g, "+").replace(/_/g, "/") +
          (/[-_]/.test(signing.publicJwk.x) ? "" : "+"),
      },
    ],
    ["a numeric x", { ...signing.publicJwk, x: 5 }],
    ["use enc", { ...signing.publicJwk, use: "enc" }],
    ["alg RS256", { ...signing.publicJwk, alg: "RS256" }],
    ["an empty kid", { ...signing.publicJwk, kid: "" }],
    ["a numeric kid", { ...signing.publicJwk, kid: 1 }],
  ])("refuses %s with ERR_KEYS_INVALID", async (_name, value) => {
    await expectAccordError(() => parsePublicJwk(value, "Ed25519"), "ERR_KEYS_INVALID");
  });

  it("refuses an X25519 key with use sig or alg EdDSA", async () => {
    await expectAccordError(
      () => parsePublicJwk({ ...encryption.publicJwk, use: "sig" }, "X25519"),
      "ERR_KEYS_INVALID",
    );
    await expectAccordError(
      () => parsePublicJwk({ ...encryption.publicJwk, alg: "EdDSA" }, "X25519"),
      "ERR_KEYS_INVALID",
    );
  });

  it("treats a bad curve argument as misuse", () => {
    expect(() => parsePublicJwk(signing.publicJwk, "P-256" as never)).toThrow(TypeError);
  });
});
