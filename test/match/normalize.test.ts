/**
 * Identifier normalisation (spec/match.md §identifiers): real-format examples per kind (ECBS
 * IBANs, ITU-style phone numbers, the Bitcoin genesis and BIP 13/173/350 addresses (BIP 173
 * examples as in github.com/sipa/bech32 ref/python/tests.py), the EIP-55
 * examples, the ICAO 9303 specimen passport, digests of the empty string), refusals that never
 * echo the value, idempotence, and domain separation between kinds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import {
  IDENTIFIER_KINDS,
  matchInfo,
  matchInput,
  normalizeIdentifier,
  type IdentifierKind,
  type NormalizeOptions,
} from "../../src/core/match/index.js";
import { toHex } from "./helpers.js";

const norm = (kind: IdentifierKind, raw: string, options?: NormalizeOptions) =>
  normalizeIdentifier(kind, raw, options).value;

function refusal(kind: unknown, raw: unknown, options?: NormalizeOptions): AccordError {
  try {
    normalizeIdentifier(kind, raw, options);
  } catch (e) {
    if (e instanceof AccordError) return e;
    throw e;
  }
  throw new Error("no refusal");
}

const ACCEPTED: [IdentifierKind, string, string, NormalizeOptions?][] = [
  ["iban", "GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"],
  ["iban", "de89 3704 0044 0532 0130 00", "DE89370400440532013000"],
  ["iban", "FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"],
  ["iban", "NL91ABNA0417164300", "NL91ABNA0417164300"],
  ["email", "  Alice.Smith+FIU@Example.ORG ", "alice.smith+fiu@example.org"],
  ["email", "Alice.Smith+FIU@Example.ORG", "alice.smith@example.org", { stripEmailPlusTag: true }],
  ["email", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.org", "alice@example.org"],
  ["phone", "+44 20 7946 0958", "+442079460958"],
  ["phone", "0044 (20) 7946-0958", "+442079460958"],
  ["phone", "020 7946 0958", "+442079460958", { defaultCallingCode: "44" }],
  ["phone", "+1 (202) 555-0143", "+12025550143"],
  ["wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],
  ["wallet", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"],
  [
    "wallet",
    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
  ],
  [
    "wallet",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
  ],
  [
    "wallet",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
  ],
  [
    "wallet",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
  ],
  [
    "wallet",
    "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb",
    "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb",
  ],
  [
    "wallet",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
  ],
  ["passport", "l898902c3", "L898902C3"],
  ["passport", "L89 890-2C3", "UTO:L898902C3", { passportIssuer: "UTO" }],
  ["file-hash", "D41D8CD98F00B204E9800998ECF8427E", "md5:d41d8cd98f00b204e9800998ecf8427e"],
  [
    "file-hash",
    "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
  ],
  [
    "file-hash",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  ],
];

const REFUSED: [string, IdentifierKind, string, NormalizeOptions?][] = [
  ["wrong IBAN check digits", "iban", "GB83 WEST 1234 5698 7654 32"],
  ["IBAN one digit short for DE", "iban", "DE89 3704 0044 0532 0130 0"],
  ["IBAN with a transposition", "iban", "GB82 WEST 1234 5698 7654 23"],
  ["not an IBAN", "iban", "hello world"],
  ["e-mail without @", "email", "alice.example.org"],
  ["e-mail with two @", "email", "a@b@example.org"],
  ["e-mail without a dotted domain", "email", "alice@localhost"],
  ["national phone without a default", "phone", "020 7946 0958"],
  ["phone too long", "phone", "+44 20 7946 0958 1234 5"],
  ["phone with letters", "phone", "+44 20 CALL NOW"],
  ["base58 with a bad checksum", "wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"],
  ["bech32 in mixed case", "wallet", "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"],
  ["bech32 with a bad checksum", "wallet", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"],
  ["Ethereum address failing EIP-55", "wallet", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"],
  ["passport with punctuation", "passport", "L898902C3!"],
  ["passport too short", "passport", "1234"],
  ["hash of no known length", "file-hash", "d41d8cd98f00b204e9800998ecf8427"],
  [
    "hash named with the wrong algorithm",
    "file-hash",
    "sha256:da39a3ee5e6b4b0d3255bfef95601890afd80709",
  ],
  ["hash that is not hex", "file-hash", "z41d8cd98f00b204e9800998ecf8427e"],
];

describe("normalizeIdentifier", () => {
  for (const [kind, raw, want, options] of ACCEPTED) {
    it(`normalises ${kind} \`${raw}\` to \`${want}\``, () => {
      expect(norm(kind, raw, options)).toBe(want);
      if (options === undefined) expect(norm(kind, want), "idempotent").toBe(want);
    });
  }

  for (const [note, kind, raw, options] of REFUSED) {
    it(`refuses ${note} without echoing the value`, () => {
      const e = refusal(kind, raw, options);
      expect(e.code).toBe("ERR_BAD_REQUEST");
      expect(e.message).not.toContain(raw);
      expect(e.message).not.toContain(raw.replace(/\s/g, ""));
    });
  }

  it("refuses unknown kinds, non-strings, empty and oversized input", () => {
    expect(refusal("ssn", "123").code).toBe("ERR_BAD_REQUEST");
    expect(refusal("iban", 42).code).toBe("ERR_BAD_REQUEST");
    expect(refusal("email", "").code).toBe("ERR_BAD_REQUEST");
    expect(refusal("passport", "A".repeat(257)).code).toBe("ERR_BAD_REQUEST");
  });

  it("maps every spacing and case of a valid IBAN to one form", () => {
    const ibans = ["GB82WEST12345698765432", "DE89370400440532013000", "NL91ABNA0417164300"];
    fc.assert(
      fc.property(
        fc.constantFrom(...ibans),
        fc.array(fc.boolean(), { minLength: 34, maxLength: 34 }),
        fc.array(fc.constantFrom("", " ", "  "), { minLength: 34, maxLength: 34 }),
        (iban, lower, spaces) => {
          const raw = Array.from({ length: iban.length }, (_, i) => iban.charAt(i))
            .map((c, i) => (lower[i] === true ? c.toLowerCase() : c) + (spaces[i] ?? ""))
            .join("");
          expect(norm("iban", raw), "one canonical form").toBe(iban);
        },
      ),
    );
  });

  it("refuses every single-character substitution of a valid IBAN", () => {
    const iban = "GB82WEST12345698765432";
    for (let i = 2; i < iban.length; i++) {
      for (const c of "0123456789") {
        if (iban[i] === c || (i >= 4 && /[A-Z]/.test(iban[i] ?? ""))) continue;
        const raw = iban.slice(0, i) + c + iban.slice(i + 1);
        expect(() => norm("iban", raw), raw).toThrow(AccordError);
      }
    }
  });
});

describe("matchInput", () => {
  it("separates kinds: the same value under two kinds gives different bytes", () => {
    const value = "GB82WEST12345698765432";
    const inputs = IDENTIFIER_KINDS.map((kind) => toHex(matchInput({ kind, value })));
    expect(new Set(inputs).size).toBe(IDENTIFIER_KINDS.length);
  });

  it("is injective over kind and value", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...IDENTIFIER_KINDS),
        fc.string({ maxLength: 40 }),
        fc.constantFrom(...IDENTIFIER_KINDS),
        fc.string({ maxLength: 40 }),
        (k1, v1, k2, v2) => {
          const same =
            toHex(matchInput({ kind: k1, value: v1 })) ===
            toHex(matchInput({ kind: k2, value: v2 }));
          expect(same, "equal bytes iff equal identifiers").toBe(k1 === k2 && v1 === v2);
        },
      ),
    );
  });
});

describe("matchInfo", () => {
  it("encodes the tag, the framed agreement id and the epoch", () => {
    expect(toHex(matchInfo("a", 258))).toBe(
      toHex(new TextEncoder().encode("accord-match-v1")) + "0001" + "61" + "00000102",
    );
  });

  it("differs for every agreement and epoch", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.nat({ max: 2 ** 32 - 1 }),
        (a1, e1, a2, e2) => {
          const same = toHex(matchInfo(a1, e1)) === toHex(matchInfo(a2, e2));
          expect(same, "equal info iff equal agreement and epoch").toBe(a1 === a2 && e1 === e2);
        },
      ),
    );
  });

  it("refuses an empty agreement id and an epoch out of range", () => {
    expect(() => matchInfo("", 1)).toThrow(RangeError);
    expect(() => matchInfo("a", -1)).toThrow(RangeError);
    expect(() => matchInfo("a", 2 ** 32)).toThrow(RangeError);
  });
});
