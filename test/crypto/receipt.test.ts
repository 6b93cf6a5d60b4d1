/** Signed receipts: round trip, tampering, wrong key, cross-protocol confusion, claim shapes. */
import fc from "fast-check";
import { CompactSign, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { CONTENT_TYP } from "../../src/crypto/envelope.js";
import { canonicalBytes } from "../../src/crypto/jcs.js";
import { generateNodeKeys, jwkThumbprint } from "../../src/crypto/keys.js";
import {
  RECEIPT_TYP,
  signReceipt,
  verifyReceipt,
  type ReceiptClaims,
} from "../../src/crypto/receipt.js";
import { signJson } from "../../src/crypto/sign.js";
import { b64url } from "./helpers.js";
import { expectAccordError, outcomeOf } from "./expect-error.js";

const bob = generateNodeKeys(); // the recipient, who signs receipts
const mallory = generateNodeKeys();

const claims: ReceiptClaims = {
  envelopeId: "6f1c2b9e-3d4a-4f5b-8c7d-0e1f2a3b4c5d",
  envelopeHash: "a".repeat(64),
  recipient: "node-b",
  sender: "node-a",
  receivedAt: "2026-11-26T12:00:05.123Z",
  accepted: 2,
  rejected: 1,
  objects: [
    {
      id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
      version: "2026-11-26T11:00:00.000Z",
      outcome: "stored",
    },
    {
      id: "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
      version: "2026-11-26T11:00:00.000Z",
      outcome: "rejected",
      reason: "not permitted by the agreement",
    },
    // A cyber-observable has neither `modified` nor `created`: its version is empty.
    { id: "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", version: "", outcome: "unchanged" },
  ],
};

async function sign(
  payload: unknown,
  header: Record<string, unknown>,
  key = bob.signing.privateKey,
): Promise<string> {
  return new CompactSign(canonicalBytes(payload))
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}
const goodHeader = { alg: "EdDSA", typ: RECEIPT_TYP, kid: jwkThumbprint(bob.signing.publicJwk) };

describe("signReceipt and verifyReceipt", () => {
  it("round-trip the claims", async () => {
    const receipt = await signReceipt(claims, bob.signing.privateKey);
    expect(await verifyReceipt(receipt, bob.signing.publicJwk)).toEqual(claims);
  });

  it("write typ accord-receipt+jws, kid and the canonical JSON of the claims", async () => {
    const receipt = await signReceipt(claims, bob.signing.privateKey);
    expect(decodeProtectedHeader(receipt)).toEqual(goodHeader);
    expect(receipt.split(".")[1]).toBe(b64url(canonicalBytes(claims)));
  });

  it("are the JWS jose writes, byte for byte, and jose's receipts verify", async () => {
    // Signed with node:crypto directly (jose's base64 was the cost); the bytes must not change.
    const ours = await signReceipt(claims, bob.signing.privateKey);
    const theirs = await sign(claims, goodHeader);
    expect(ours).toBe(theirs);
    expect(await verifyReceipt(theirs, bob.signing.publicJwk)).toEqual(claims);
  });

  it("are deterministic (Ed25519, canonical payload)", async () => {
    const reordered = Object.fromEntries(
      Object.entries(claims).reverse(),
    ) as unknown as ReceiptClaims;
    expect(await signReceipt(reordered, bob.signing.privateKey)).toBe(
      await signReceipt(claims, bob.signing.privateKey),
    );
  });

  it("carry the RFC 8785 form of any claims: the written payload is canonicalize's (property)", async () => {
    // signReceipt writes the canonical JSON of the claims itself, not through ./jcs.ts.
    const text = fc.string({ unit: "binary", maxLength: 40 });
    const object = fc.record(
      {
        id: fc.string({ unit: "binary", minLength: 1, maxLength: 60 }),
        version: text,
        outcome: fc.constantFrom("stored" as const, "unchanged" as const, "rejected" as const),
        reason: text,
      },
      { requiredKeys: ["id", "version", "outcome"] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.maxSafeNat(),
        fc.nat(),
        fc.array(object, { maxLength: 8 }),
        async (accepted, rejected, objects) => {
          const c = { ...claims, accepted, rejected, objects };
          const receipt = await signReceipt(c, bob.signing.privateKey);
          expect(receipt.split(".")[1]).toBe(b64url(canonicalBytes(c)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuse to sign a string with a lone surrogate (it has no canonical form)", async () => {
    const bad = {
      ...claims,
      objects: [{ id: "x--\ud800", version: "", outcome: "stored" as const }],
    };
    await expect(signReceipt(bad, bob.signing.privateKey)).rejects.toThrow(RangeError);
  });

  it("round-trip random counts and objects (property)", async () => {
    const object = fc.record(
      {
        id: fc.string({ minLength: 1, maxLength: 80 }),
        version: fc.string({ maxLength: 30 }),
        outcome: fc.constantFrom("stored" as const, "unchanged" as const, "rejected" as const),
        reason: fc.string({ maxLength: 80 }),
      },
      { requiredKeys: ["id", "version", "outcome"] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.nat(),
        fc.array(object, { maxLength: 8 }),
        async (accepted, rejected, objects) => {
          const c = { ...claims, accepted, rejected, objects };
          const back = await verifyReceipt(
            await signReceipt(c, bob.signing.privateKey),
            bob.signing.publicJwk,
          );
          expect(back, "claims round-trip").toEqual(c);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("verifyReceipt refuses with ERR_SIGNATURE_INVALID", () => {
  it("a receipt signed by another key", async () => {
    const receipt = await signReceipt(claims, mallory.signing.privateKey);
    await expectAccordError(
      () => verifyReceipt(receipt, bob.signing.publicJwk),
      "ERR_SIGNATURE_INVALID",
    );
  });

  it("a receipt signed by another key that names the expected kid", async () => {
    const receipt = await sign(claims, goodHeader, mallory.signing.privateKey);
    await expectAccordError(
      () => verifyReceipt(receipt, bob.signing.publicJwk),
      "ERR_SIGNATURE_INVALID",
    );
  });

  it("any single changed character (property)", async () => {
    const receipt = await signReceipt(claims, bob.signing.privateKey);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: receipt.length - 1 }),
        fc.integer({ min: 0x21, max: 0x7e }),
        async (i, code) => {
          fc.pre(receipt.charCodeAt(i) !== code);
          const tampered = receipt.slice(0, i) + String.fromCharCode(code) + receipt.slice(i + 1);
          expect(
            await outcomeOf(() => verifyReceipt(tampered, bob.signing.publicJwk)),
            `position ${i}`,
          ).toBe("ERR_SIGNATURE_INVALID");
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    [
      "alg none",
      () =>
        `${b64url(JSON.stringify({ ...goodHeader, alg: "none" }))}.${b64url(canonicalBytes(claims))}.`,
    ],
    [
      "HS256 keyed with the public key",
      () =>
        sign(
          claims,
          { ...goodHeader, alg: "HS256" },
          Buffer.from(bob.signing.publicJwk.x, "base64url") as never,
        ),
    ],
    ["typ of envelope content", () => sign(claims, { ...goodHeader, typ: CONTENT_TYP })],
    ["no typ", () => sign(claims, { alg: "EdDSA", kid: goodHeader.kid })],
    [
      "an extra header member",
      () => sign(claims, { ...goodHeader, jku: "https://attacker.example" }),
    ],
    ["an extra claim", () => sign({ ...claims, admin: true }, goodHeader)],
    ["a missing claim", () => sign({ ...claims, objects: undefined }, goodHeader)],
    ["a negative count", () => sign({ ...claims, accepted: -1 }, goodHeader)],
    ["a fractional count", () => sign({ ...claims, accepted: 1.5 }, goodHeader)],
    [
      "an unknown outcome",
      () => sign({ ...claims, objects: [{ id: "x", version: "1", outcome: "eaten" }] }, goodHeader),
    ],
    ["an upper-case hash", () => sign({ ...claims, envelopeHash: "A".repeat(64) }, goodHeader)],
    [
      "a payload that is not JSON",
      () =>
        new CompactSign(new TextEncoder().encode("{"))
          .setProtectedHeader(goodHeader)
          .sign(bob.signing.privateKey),
    ],
    ["a detached JSON signature over the claims", () => signJson(claims, bob.signing.privateKey)],
  ])("%s", async (_name, make) => {
    const receipt = await make();
    await expectAccordError(
      () => verifyReceipt(receipt, bob.signing.publicJwk),
      "ERR_SIGNATURE_INVALID",
    );
  });

  it("garbage, with one vague message", async () => {
    for (const input of ["", "a.b.c", "x".repeat(100), 7 as unknown as string]) {
      const e = await expectAccordError(
        () => verifyReceipt(input, bob.signing.publicJwk),
        "ERR_SIGNATURE_INVALID",
      );
      expect(e.message).toBe("the receipt is invalid");
    }
  });
});

describe("receipt misuse", () => {
  it("signReceipt refuses malformed claims with RangeError", async () => {
    for (const bad of [
      { ...claims, envelopeHash: "xyz" },
      { ...claims, receivedAt: "now" },
      { ...claims, accepted: -1 },
      { ...claims, extra: 1 },
    ]) {
      await expect(signReceipt(bad, bob.signing.privateKey)).rejects.toThrow(RangeError);
    }
  });

  it("signReceipt refuses an X25519 key with TypeError", async () => {
    await expect(signReceipt(claims, bob.encryption.privateKey)).rejects.toThrow(TypeError);
  });

  it("verifyReceipt refuses a malformed pinned key with ERR_KEYS_INVALID", async () => {
    const receipt = await signReceipt(claims, bob.signing.privateKey);
    await expectAccordError(
      () => verifyReceipt(receipt, bob.encryption.publicJwk),
      "ERR_KEYS_INVALID",
    );
  });
});
