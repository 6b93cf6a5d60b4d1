/**
 * Sealed envelopes (spec/envelope.md): round trip, every check `openEnvelope` makes, algorithm
 * substitution, tampering (exhaustive over one envelope, and as a property), and misuse.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { compactDecrypt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import {
  CONTENT_TYP,
  ENVELOPE_TYP,
  MAX_ENVELOPE_BYTES,
  openEnvelope,
  peekEnvelope,
  sealEnvelope,
  type EnvelopeHeader,
  type OpenEnvelopeOptions,
} from "../../src/crypto/envelope.js";
import { generateNodeKeys, jwkThumbprint, type PublicJwk } from "../../src/crypto/keys.js";
import { RECEIPT_TYP } from "../../src/crypto/receipt.js";
import { craft, type CraftOptions } from "./craft.js";
import { b64url, rawPublicOf } from "./helpers.js";
import { expectAccordError, outcomeOf } from "./expect-error.js";

const alice = generateNodeKeys(); // node-a, the sender
const bob = generateNodeKeys(); // node-b, the recipient
const mallory = generateNodeKeys(); // node-m, a known partner turned hostile

const header: EnvelopeHeader = {
  id: "6f1c2b9e-3d4a-4f5b-8c7d-0e1f2a3b4c5d",
  sender: "node-a",
  recipient: "node-b",
  createdAt: "2026-11-26T12:00:00Z",
  contentType: "application/stix+json;version=2.1",
};
const payload = new TextEncoder().encode('{"type":"bundle","id":"bundle--0","objects":[]}');
const NOW = new Date("2026-11-26T12:01:00Z");
const directory = new Map<string, PublicJwk>([
  ["node-a", alice.signing.publicJwk],
  ["node-m", mallory.signing.publicJwk],
]);
const opts: OpenEnvelopeOptions = {
  recipientKeys: bob,
  expectedRecipient: "node-b",
  senderKey: (id) => Promise.resolve(directory.get(id)),
  now: NOW,
  maxSkewSeconds: 300,
};
const base: CraftOptions = { header, payload, sender: alice, recipient: bob };
const REJECTIONS = ["ERR_ENVELOPE_INVALID", "ERR_DECRYPTION_FAILED", "ERR_SIGNATURE_INVALID"];

/** The test header and payload sealed by alice for bob. */
function sealForBob(): Promise<string> {
  return sealEnvelope(header, payload, alice.signing.privateKey, bob.encryption.publicJwk);
}

function open(envelope: string | Uint8Array, patch: Partial<OpenEnvelopeOptions> = {}) {
  return openEnvelope(envelope, { ...opts, ...patch });
}

describe("sealEnvelope and openEnvelope", () => {
  it("round-trips the header and the payload", async () => {
    const envelope = await sealForBob();
    const opened = await open(envelope);
    expect(opened.header, "header").toEqual(header);
    expect(opened.payload, "payload").toEqual(payload);
    expect(peekEnvelope(envelope), "peek").toEqual(header);
  });

  it("writes the protected headers of spec/envelope.md", async () => {
    const envelope = await sealForBob();
    const outer = decodeProtectedHeader(envelope);
    expect(Object.keys(outer).sort(), "outer members").toEqual([
      "alg",
      "contentType",
      "createdAt",
      "cty",
      "enc",
      "epk",
      "id",
      "kid",
      "recipient",
      "sender",
      "typ",
    ]);
    expect(outer, "outer values").toMatchObject({
      alg: "ECDH-ES",
      enc: "A256GCM",
      typ: ENVELOPE_TYP,
      cty: CONTENT_TYP,
      kid: jwkThumbprint(bob.encryption.publicJwk),
      ...header,
    });
    expect(envelope.split(".")[1], "no encrypted key with ECDH-ES").toBe("");
    const { plaintext } = await compactDecrypt(envelope, bob.encryption.privateKey);
    const jws = new TextDecoder().decode(plaintext);
    const inner = decodeProtectedHeader(jws);
    expect(inner, "inner values").toEqual({
      alg: "EdDSA",
      typ: CONTENT_TYP,
      kid: jwkThumbprint(alice.signing.publicJwk),
      ...header,
    });
  });

  it("seals to a fresh ephemeral key every time", async () => {
    const a = await sealForBob();
    const b = await sealForBob();
    expect(a).not.toBe(b);
    expect((await open(b)).payload).toEqual(payload);
  });

  it("opens the envelope's bytes as its text, leaving the bytes as they were unless given up", async () => {
    // A payload of many pieces of base64url (spread over the ciphertext and the inner payload).
    const big = new Uint8Array(randomBytes(300_000));
    const envelope = await sealEnvelope(
      header,
      big,
      alice.signing.privateKey,
      bob.encryption.publicJwk,
    );
    const bytes = Buffer.from(envelope, "latin1");
    expect((await open(bytes)).payload, "bytes").toEqual(big);
    expect(bytes.toString("latin1"), "not overwritten").toBe(envelope);
    expect(peekEnvelope(bytes), "peek").toEqual(header);
    expect((await open(bytes, { overwrite: true })).payload, "overwritten").toEqual(big);
    expect(bytes.toString("latin1"), "given up").not.toBe(envelope);
    expect((await open(envelope)).payload, "text").toEqual(big);
  });

  it("round-trips random payloads and headers (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.uuid().map((u) => u.toLowerCase()),
        fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
        fc.stringMatching(/^[\x20-\x7e]{1,60}$/),
        async (bytes, id, sender, contentType) => {
          const h = { ...header, id, sender, contentType };
          const envelope = await sealEnvelope(
            h,
            bytes,
            alice.signing.privateKey,
            bob.encryption.publicJwk,
          );
          const opened = await open(envelope, {
            senderKey: () => Promise.resolve(alice.signing.publicJwk),
          });
          expect(opened.payload, "payload round-trips").toEqual(bytes);
          expect(opened.header, "header round-trips").toEqual(h);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("openEnvelope refuses", () => {
  it("an envelope for another node", async () => {
    const envelope = await sealForBob();
    await expectAccordError(
      () => open(envelope, { expectedRecipient: "node-c" }),
      "ERR_ENVELOPE_INVALID",
    );
  });

  it("an envelope opened with the wrong recipient key: ERR_DECRYPTION_FAILED", async () => {
    const envelope = await sealForBob();
    await expectAccordError(
      () => open(envelope, { recipientKeys: mallory }),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("an envelope whose kid names our key but which was encrypted to another: ERR_DECRYPTION_FAILED", async () => {
    const envelope = await craft({
      ...base,
      outer: { kid: jwkThumbprint(mallory.encryption.publicJwk) },
    });
    await expectAccordError(
      () => open(envelope, { recipientKeys: mallory }),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("a forged signature: content signed by another key, re-encrypted: ERR_SIGNATURE_INVALID", async () => {
    // Mallory claims to be node-a, names node-a's key id, signs with her own key.
    const forged = await craft({ ...base, signWith: mallory.signing.privateKey });
    await expectAccordError(() => open(forged), "ERR_SIGNATURE_INVALID", "kid of node-a");
    const ownKid = await craft({
      ...base,
      signWith: mallory.signing.privateKey,
      inner: { kid: jwkThumbprint(mallory.signing.publicJwk) },
    });
    await expectAccordError(() => open(ownKid), "ERR_SIGNATURE_INVALID", "kid of node-m");
  });

  it.each([
    ["expired", 301],
    ["from the future", -301],
  ])("an envelope %s: ERR_ENVELOPE_INVALID", async (_name, offsetSeconds) => {
    const envelope = await sealForBob();
    const now = new Date(Date.parse(header.createdAt) + offsetSeconds * 1000);
    await expectAccordError(() => open(envelope, { now }), "ERR_ENVELOPE_INVALID");
  });

  it("nothing at exactly the window's edges", async () => {
    const envelope = await sealForBob();
    for (const s of [-300, 300]) {
      const now = new Date(Date.parse(header.createdAt) + s * 1000);
      expect(await outcomeOf(() => open(envelope, { now })), `${s} s`).toBe("ok");
    }
  });

  it("an envelope from an unknown sender", async () => {
    const envelope = await sealForBob();
    const e = await expectAccordError(
      () => open(envelope, { senderKey: () => Promise.resolve(undefined) }),
      "ERR_ENVELOPE_INVALID",
    );
    expect(e.message).toBe("the envelope names an unknown sender");
  });

  it.each(["id", "createdAt", "contentType"] as const)(
    "an outer header whose %s differs from the signed one: ERR_ENVELOPE_INVALID",
    async (field) => {
      const other = {
        id: "00000000-0000-4000-8000-000000000000",
        createdAt: "2026-11-26T12:00:01Z",
        contentType: "text/plain",
      };
      const envelope = await craft({ ...base, outer: { [field]: other[field] } });
      await expectAccordError(() => open(envelope), "ERR_ENVELOPE_INVALID");
    },
  );

  it("content signed for another recipient and forwarded to us: ERR_ENVELOPE_INVALID", async () => {
    // node-c received content signed by node-a for node-c, and re-encrypts it to node-b.
    const envelope = await craft({ ...base, inner: { recipient: "node-c" } });
    await expectAccordError(() => open(envelope), "ERR_ENVELOPE_INVALID");
  });

  it("an outer sender that is not the signer", async () => {
    const envelope = await craft({ ...base, outer: { sender: "node-m" } });
    expect(REJECTIONS).toContain(await outcomeOf(() => open(envelope)));
  });

  describe("algorithm substitution", () => {
    const key16 = new Uint8Array(randomBytes(16));
    const key32 = new Uint8Array(randomBytes(32));
    it.each([
      ["outer dir + A128GCM", { outer: { alg: "dir", enc: "A128GCM" }, encryptWith: key16 }],
      ["outer dir + A256GCM", { outer: { alg: "dir" }, encryptWith: key32 }],
      ["outer ECDH-ES + A128GCM", { outer: { enc: "A128GCM" } }],
      ["outer ECDH-ES + A256CBC-HS512", { outer: { enc: "A256CBC-HS512" } }],
      ["outer ECDH-ES+A256KW", { outer: { alg: "ECDH-ES+A256KW" } }],
    ] as const)("%s: ERR_ENVELOPE_INVALID", async (_name, patch) => {
      const envelope = await craft({ ...base, ...patch });
      await expectAccordError(() => open(envelope), "ERR_ENVELOPE_INVALID");
    });

    it.each([
      ["inner alg none", { inner: { alg: "none" } }],
      [
        "inner HS256 keyed with the sender's public key",
        { inner: { alg: "HS256" }, signWith: rawPublicOf(alice.signing.privateKey) },
      ],
      ["inner alg Ed25519 (not on the allow-list)", { inner: { alg: "Ed25519" } }],
      ["inner typ of a receipt", { inner: { typ: RECEIPT_TYP } }],
      ["inner typ missing", { inner: { typ: undefined } }],
      ["inner unknown member jku", { inner: { jku: "https://attacker.example/keys" } }],
    ] as const)("%s: ERR_SIGNATURE_INVALID", async (_name, patch) => {
      const envelope = await craft({ ...base, ...patch });
      await expectAccordError(() => open(envelope), "ERR_SIGNATURE_INVALID");
    });

    it("a JWE whose plaintext is not a JWS: ERR_SIGNATURE_INVALID", async () => {
      const envelope = await craft({ ...base, plaintext: "not a JWS" });
      await expectAccordError(() => open(envelope), "ERR_SIGNATURE_INVALID");
    });

    it("an inner JWS with the JSON serialisation's shape is not accepted", async () => {
      const general = JSON.stringify({ payload: b64url(payload), signatures: [] });
      const envelope = await craft({ ...base, plaintext: general });
      await expectAccordError(() => open(envelope), "ERR_SIGNATURE_INVALID");
    });
  });

  it.each([
    ["typ missing", { typ: undefined }],
    ["typ of a receipt", { typ: RECEIPT_TYP }],
    ["cty missing", { cty: undefined }],
    ["kid missing", { kid: undefined }],
    ["an unknown member", { jku: "https://attacker.example/keys" }],
    ["a zip member", { zip: "DEF" }],
    ["apu/apv members", { apu: b64url("x"), apv: b64url("y") }],
    ["a numeric id", { id: 7 }],
    ["an upper-case UUID", { id: header.id.toUpperCase() }],
    ["a bad createdAt", { createdAt: "2026-02-30T00:00:00Z" }],
    ["a sender with a space", { sender: "node a" }],
  ] as const)("an outer header with %s: ERR_ENVELOPE_INVALID", async (_name, outer) => {
    const envelope = await craft({ ...base, outer });
    await expectAccordError(() => open(envelope), "ERR_ENVELOPE_INVALID");
    await expectAccordError(() => peekEnvelope(envelope), "ERR_ENVELOPE_INVALID");
  });

  it("an envelope over 64 MiB before parsing it", async () => {
    const huge = "A".repeat(MAX_ENVELOPE_BYTES + 1);
    const e = await expectAccordError(() => open(huge), "ERR_ENVELOPE_INVALID");
    expect(e.message).toBe("the envelope is larger than 64 MiB");
  });

  it.each([
    ["empty", ""],
    ["a JWS", "eyJhbGciOiJFZERTQSJ9.e30.AAAA"],
    ["six segments", "a.b.c.d.e.f"],
    ["padding", "eyJhIjoxfQ==.x.x.x.x"],
    ["a non-base64url character", "eyJhIjoxfQ.+.x.x.x"],
    ["a secret-looking string", "SECRET-KEY-MATERIAL-42.x"],
    ["not a string", 42],
  ])("malformed input (%s) without echoing it", async (_name, input) => {
    const e = await expectAccordError(() => peekEnvelope(input as string), "ERR_ENVELOPE_INVALID");
    expect(e.message).toBe("the envelope is malformed");
    await expectAccordError(() => open(input as string), "ERR_ENVELOPE_INVALID");
  });

  it("a non-canonical base64url spelling of the same bytes", async () => {
    const envelope = await sealForBob();
    const parts = envelope.split(".");
    const tag = parts[4]!; // 16 bytes: the last character carries 2 bits and 4 unused ones
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(tag.at(-1)!);
    parts[4] = tag.slice(0, -1) + alphabet[last ^ 1]!; // same top 2 bits, so the same bytes
    expect(Buffer.from(parts[4], "base64url")).toEqual(Buffer.from(tag, "base64url"));
    await expectAccordError(() => open(parts.join(".")), "ERR_ENVELOPE_INVALID");
  });
});

describe("tampering", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

  it("a character outside base64url deep in a large ciphertext: ERR_ENVELOPE_INVALID, as text or bytes", async () => {
    const envelope = await sealEnvelope(
      header,
      randomBytes(200_000),
      alice.signing.privateKey,
      bob.encryption.publicJwk,
    );
    const middle = Math.floor(envelope.length / 2);
    for (const c of ["+", "=", " ", "é"]) {
      const tampered = envelope.slice(0, middle) + c + envelope.slice(middle + 1);
      await expectAccordError(() => open(tampered), "ERR_ENVELOPE_INVALID");
      const bytes = Buffer.from(tampered, "utf8");
      await expectAccordError(() => open(bytes, { overwrite: true }), "ERR_ENVELOPE_INVALID");
    }
    const flipped = envelope.slice(0, middle) + (envelope[middle] === "A" ? "B" : "A");
    await expectAccordError(
      () => open(flipped + envelope.slice(middle + 1)),
      "ERR_DECRYPTION_FAILED",
    );
  });

  it("any single changed character of an envelope is refused (exhaustive)", async () => {
    const small = new TextEncoder().encode("tiny");
    const envelope = await sealEnvelope(
      header,
      small,
      alice.signing.privateKey,
      bob.encryption.publicJwk,
    );
    const outcomes = new Map<string, number>();
    for (let i = 0; i < envelope.length; i++) {
      const c = envelope[i]!;
      const replacement = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length]!;
      const tampered = envelope.slice(0, i) + replacement + envelope.slice(i + 1);
      const outcome = await outcomeOf(() => open(tampered));
      expect(REJECTIONS, `position ${i}`).toContain(outcome);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(
      outcomes.get("ERR_DECRYPTION_FAILED"),
      "most tampering breaks the GCM tag",
    ).toBeGreaterThan(0);
  });

  it("a random change at a random position is refused (property)", async () => {
    const envelope = await sealForBob();
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: envelope.length - 1 }),
        fc.integer({ min: 0x20, max: 0x7e }),
        async (i, code) => {
          fc.pre(envelope.charCodeAt(i) !== code);
          const tampered = envelope.slice(0, i) + String.fromCharCode(code) + envelope.slice(i + 1);
          expect(REJECTIONS, `position ${i} ← ${String.fromCharCode(code)}`).toContain(
            await outcomeOf(() => open(tampered)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("truncation and extension are refused (property)", async () => {
    const envelope = await sealForBob();
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: envelope.length - 1 }),
        fc.string({ maxLength: 4 }),
        async (cut, extra) => {
          const tampered = envelope.slice(0, cut) + extra;
          fc.pre(tampered !== envelope);
          expect(REJECTIONS, `cut at ${cut} + ${JSON.stringify(extra)}`).toContain(
            await outcomeOf(() => open(tampered)),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("failures say little", () => {
  it("carry no cause and none of the payload or key material", async () => {
    const secretPayload = new TextEncoder().encode("TOP-SECRET-PAYLOAD");
    const envelope = await sealEnvelope(
      header,
      secretPayload,
      alice.signing.privateKey,
      bob.encryption.publicJwk,
    );
    const attempts = [
      () => open(envelope, { recipientKeys: mallory }),
      () => open(envelope, { senderKey: () => Promise.resolve(mallory.signing.publicJwk) }),
      // One tag character changed for certain (replacing the last two with a fixed "AA" left the
      // envelope intact whenever it already ended so: about 1 run in 256).
      () =>
        open(
          envelope.slice(0, -2) + (envelope.at(-2) === "A" ? "B" : "A") + (envelope.at(-1) ?? ""),
        ),
    ];
    for (const attempt of attempts) {
      const e = await attempt().then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(e, "rejected").toBeInstanceOf(Error);
      const text = `${e!.message} ${JSON.stringify(e)} ${String(e!.stack)}`;
      expect(e!.cause, "no cause").toBeUndefined();
      expect(text).not.toContain("TOP-SECRET");
      expect(text).not.toContain(bob.encryption.publicJwk.x);
      expect(text).not.toContain(alice.signing.publicJwk.x);
    }
  });
});

describe("misuse", () => {
  it("sealEnvelope refuses a malformed header with RangeError", async () => {
    for (const bad of [
      { ...header, id: "not-a-uuid" },
      { ...header, recipient: "" },
      { ...header, createdAt: "yesterday" },
      { ...header, contentType: "a\nb" },
    ]) {
      await expect(
        sealEnvelope(bad, payload, alice.signing.privateKey, bob.encryption.publicJwk),
      ).rejects.toThrow(RangeError);
    }
  });

  it("sealEnvelope refuses a wrong key type with TypeError", async () => {
    await expect(
      sealEnvelope(header, payload, bob.encryption.privateKey, bob.encryption.publicJwk),
    ).rejects.toThrow(TypeError);
    await expect(
      sealEnvelope(
        header,
        "text" as unknown as Uint8Array,
        alice.signing.privateKey,
        bob.encryption.publicJwk,
      ),
    ).rejects.toThrow(TypeError);
  });

  it("sealEnvelope refuses a signing JWK as the recipient key with ERR_KEYS_INVALID", async () => {
    await expectAccordError(
      () => sealEnvelope(header, payload, alice.signing.privateKey, bob.signing.publicJwk),
      "ERR_KEYS_INVALID",
    );
  });

  it("openEnvelope refuses a bad clock or window", async () => {
    const envelope = await sealForBob();
    await expect(open(envelope, { now: new Date(Number.NaN) })).rejects.toThrow(TypeError);
    await expect(open(envelope, { maxSkewSeconds: -1 })).rejects.toThrow(RangeError);
  });

  it("a sender key that is not an Ed25519 JWK is a key problem, not the envelope's", async () => {
    const envelope = await sealForBob();
    await expectAccordError(
      () => open(envelope, { senderKey: () => Promise.resolve(alice.encryption.publicJwk) }),
      "ERR_KEYS_INVALID",
    );
  });
});
