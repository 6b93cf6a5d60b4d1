/**
 * Keyed pseudonyms and id re-issue (src/core/minimize/pseudonym.ts; spec/minimization.md §pseudonyms):
 * HKDF-derived keys per agreement and epoch, stable tokens, the documented token format, and ids
 * re-issued once.
 */
import { createHmac } from "node:crypto";
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

describe("hmacSha256", () => {
  it("equals node:crypto HMAC-SHA-256 for every key length and message", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        fc.string(),
        fc.uint8Array(),
        (key, a, b) => {
          const want = createHmac("sha256", key).update(a).update(b).digest("hex");
          expect(hmacSha256(key, a, b).toString("hex"), "same bytes as createHmac").toBe(want);
          expect(
            hmacSha256(key, a, b).toString("hex"),
            "the cached key state is not consumed",
          ).toBe(want);
        },
      ),
    );
  });
});
