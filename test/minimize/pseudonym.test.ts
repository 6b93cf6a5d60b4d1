/**
 * Keyed pseudonyms and id re-issue (src/core/minimize/pseudonym.ts; spec/minimization.md §pseudonyms):
 * HKDF-derived keys per agreement and epoch, stable tokens, the documented token format, and ids
 * re-issued once.
 */
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deriveMinimizationKeys,
  isReissued,
  pseudonym,
  reissueId,
} from "../../src/core/minimize/index.js";
import { hmacSha256 } from "../../src/core/minimize/pseudonym.js";
import { identifierType } from "../../src/core/stix/formats.js";

const secret = new Uint8Array(32).fill(1);
const agreement = fc.stringMatching(/^[a-z][a-z0-9-]{2,20}$/);
const value = fc.string({ minLength: 1, maxLength: 40 });

describe("pseudonym", () => {
  it("is stable within an epoch and differs across agreements and epochs", () => {
    fc.assert(
      fc.property(agreement, agreement, fc.nat(1000), value, (a, b, epoch, v) => {
        fc.pre(a !== b);
        const k = deriveMinimizationKeys(secret, a, epoch);
        const again = deriveMinimizationKeys(secret, a, epoch);
        expect(pseudonym(k, "phone", v), "stable within an epoch").toBe(
          pseudonym(again, "phone", v),
        );
        expect(pseudonym(k, "phone", v), "differs across agreements").not.toBe(
          pseudonym(deriveMinimizationKeys(secret, b, epoch), "phone", v),
        );
        expect(pseudonym(k, "phone", v), "differs across epochs").not.toBe(
          pseudonym(deriveMinimizationKeys(secret, a, epoch + 1), "phone", v),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("joins on the normal form: case for e-mail, separators for phones and IBANs", () => {
    const k = deriveMinimizationKeys(secret, "acc", 1);
    expect(pseudonym(k, "email", "Suspect.One@Mail.Example")).toBe(
      pseudonym(k, "email", "suspect.one@mail.example"),
    );
    expect(pseudonym(k, "phone", "+44 20 7946-0958")).toBe(
      pseudonym(k, "phone", "0044 (20) 79460958"),
    );
    expect(pseudonym(k, "iban", "gb82 west 1234 5698 7654 32")).toBe(
      pseudonym(k, "iban", "GB82WEST12345698765432"),
    );
    expect(pseudonym(k, "email", "a@b.example")).not.toBe(pseudonym(k, "email", "b@b.example"));
  });

  it("has the documented format", () => {
    const k = deriveMinimizationKeys(secret, "acc", 1);
    expect(pseudonym(k, "iban", "GB82WEST12345698765432")).toMatch(
      /^pseu:v1:iban:[A-Za-z0-9_-]{22}$/,
    );
    expect(pseudonym(k, "email", "a@b.example")).toMatch(
      /^pseu-v1-[A-Za-z0-9_-]{22}@pseudonym\.invalid$/,
    );
  });

  it("refuses short secrets and bad epochs", () => {
    expect(() => deriveMinimizationKeys(new Uint8Array(16), "acc", 1)).toThrow(RangeError);
    expect(() => deriveMinimizationKeys(secret, "acc", -1)).toThrow(RangeError);
    expect(() => deriveMinimizationKeys(secret, "", 1)).toThrow(RangeError);
  });
});

describe("reissueId", () => {
  it("gives valid, recognisable ids that are re-issued only once", () => {
    fc.assert(
      fc.property(
        agreement,
        fc.uuid({ version: [4, 5] }),
        fc.constantFrom("indicator", "ipv4-addr", "x-custom"),
        (a, u, type) => {
          const k = deriveMinimizationKeys(secret, a, 3);
          const id = `${type}--${u}`;
          const next = reissueId(k, id);
          expect(identifierType(next), "a valid STIX identifier of the same type").toBe(type);
          expect(next, "a new id").not.toBe(id);
          expect(isReissued(k, next), "recognised as re-issued").toBe(true);
          expect(isReissued(k, id), "an original id is not").toBe(false);
          expect(reissueId(k, next), "re-issuing twice equals once").toBe(next);
          expect(
            reissueId(deriveMinimizationKeys(secret, a, 4), id),
            "ids do not change with the epoch",
          ).toBe(next);
          expect(
            reissueId(deriveMinimizationKeys(secret, `${a}x`, 3), id),
            "ids differ across agreements",
          ).not.toBe(next);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("fixed outputs", () => {
  // Computed by the code of 2ab9890 (createHmac, ids built as strings): a change to how the MACs or
  // the ids' text are computed must leave every token and id a partner already holds as it was.
  const k = deriveMinimizationKeys(new Uint8Array(32).fill(1), "regional-cyber-accord", 7);

  it.each([
    [
      "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4",
      "indicator--d690cf79-b570-579c-a045-bef2cbf25167",
    ],
    [
      "x-custom-type--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
      "x-custom-type--b65e4873-cea5-576d-9e8a-ed14fb9d8d24",
    ],
    [
      "relationship--00000000-0000-4000-8000-000000000000",
      "relationship--dca0fc71-f961-5930-8cf9-401c7c806591",
    ],
  ])("re-issues %s as %s", (id, want) => {
    expect(reissueId(k, id)).toBe(want);
    expect(isReissued(k, want)).toBe(true);
  });

  it.each([
    ["email", "Suspect.One@Mail.Example", "pseu-v1-t4YNAXmvHBhQZyujWPnRBA@pseudonym.invalid"],
    ["phone", "+44 20 7946-0958", "pseu:v1:phone:kGwoDyF4x-wxuA1Q3TX9hQ"],
    ["iban", "GB82 WEST 1234 5698 7654 32", "pseu:v1:iban:C2GZIX2llCDIN5yyAiVe7w"],
    ["text", "Ünïcödé ﬁ", "pseu:v1:text:W-NKZ5AHAUrwnoSuCTclhg"],
  ] as const)("pseudonymizes the %s %s as %s", (kind, value, want) => {
    expect(pseudonym(k, kind, value)).toBe(want);
  });
});

describe("hmacSha256", () => {
  // RFC 4231 §4 (HMAC-SHA-256 test cases 1, 2, 3, 6 and 7; cases 4 and 5 add nothing here: 5 is
  // truncated output). Each message is also fed in two parts, as callers do (label, then value).
  const rfc4231: { case: number; key: Uint8Array; data: Uint8Array; mac: string }[] = [
    {
      case: 1,
      key: new Uint8Array(20).fill(0x0b),
      data: Buffer.from("Hi There"),
      mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
      case: 2,
      key: Buffer.from("Jefe"),
      data: Buffer.from("what do ya want for nothing?"),
      mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    },
    {
      case: 3,
      key: new Uint8Array(20).fill(0xaa),
      data: new Uint8Array(50).fill(0xdd),
      mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    },
    {
      case: 6,
      key: new Uint8Array(131).fill(0xaa),
      data: Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First"),
      mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
      case: 7,
      key: new Uint8Array(131).fill(0xaa),
      data: Buffer.from(
        "This is a test using a larger than block-size key and a larger than block-size data. " +
          "The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
  ];

  it.each(rfc4231)("gives RFC 4231 test case $case, whole and in two parts", (v) => {
    expect(hmacSha256(v.key, v.data).toString("hex"), "whole message").toBe(v.mac);
    const cut = Math.floor(v.data.length / 3);
    expect(
      hmacSha256(v.key, v.data.subarray(0, cut), v.data.subarray(cut)).toString("hex"),
      "the message in two parts",
    ).toBe(v.mac);
  });

  it("equals an independent HMAC (@noble/hashes) for any key, string and bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.string(),
        fc.uint8Array(),
        (key, a, b) => {
          const message = new Uint8Array([...new TextEncoder().encode(a), ...b]);
          const want = Buffer.from(nobleHmac(nobleSha256, key, message)).toString("hex");
          expect(hmacSha256(key, a, b).toString("hex")).toBe(want);
        },
      ),
    );
  });

  it("equals an independent HMAC for messages of several blocks and any UTF-16, lone surrogates included", () => {
    const key = new Uint8Array(32).fill(7);
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.string({ unit: "binary-ascii", maxLength: 200 }),
        (a, b) => {
          const message = new TextEncoder().encode(a + b);
          const want = Buffer.from(nobleHmac(nobleSha256, key, message)).toString("hex");
          expect(hmacSha256(key, a, b).toString("hex")).toBe(want);
        },
      ),
    );
    // Every length around the block boundaries, where the padding takes one block or two.
    for (let n = 0; n <= 200; n++) {
      const message = new Uint8Array(n).fill(0x61);
      expect(hmacSha256(key, "a".repeat(n)).toString("hex"), `${String(n)} bytes`).toBe(
        Buffer.from(nobleHmac(nobleSha256, key, message)).toString("hex"),
      );
    }
  });

  it("prepares a key again when its bytes change", () => {
    const key = new Uint8Array(32).fill(1);
    const before = hmacSha256(key, "x").toString("hex");
    key[0] = 2;
    expect(hmacSha256(key, "x").toString("hex")).toBe(
      Buffer.from(nobleHmac(nobleSha256, key, new TextEncoder().encode("x"))).toString("hex"),
    );
    expect(hmacSha256(key, "x").toString("hex")).not.toBe(before);
  });
});
