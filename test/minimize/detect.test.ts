/**
 * Detectors (src/core/minimize/detect.ts) against the vectors in vectors/detectors.json: each
 * positive vector fires exactly its detector with exactly the expected text, each negative vector
 * (a broken checksum, a long number, a date, a hash) fires nothing.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  base58checkValid,
  bech32Valid,
  detect,
  ethereumValid,
  ibanValid,
  luhnValid,
  mrzCheckDigit,
  normalizeText,
} from "../../src/core/minimize/index.js";

interface Group {
  readonly kind: string;
  readonly source: string;
  readonly fires: { text: string; value: string; identityContext?: boolean }[];
  readonly silent: string[];
}
const vectors = JSON.parse(
  readFileSync(new URL("./vectors/detectors.json", import.meta.url), "utf8"),
) as {
  groups: Group[];
};

describe("detector vectors", () => {
  for (const g of vectors.groups) {
    describe(`${g.kind} (${g.source})`, () => {
      it.each(g.fires.map((f) => [f.text, f] as const))("fires on %j", (_t, f) => {
        const found = detect(normalizeText(f.text), {
          identityContext: f.identityContext ?? false,
        });
        expect(found.map((m) => [m.kind, m.value])).toEqual([[g.kind, f.value]]);
      });
      it.each(g.silent)("stays silent on %j", (text) => {
        expect(detect(normalizeText(text), { identityContext: false })).toEqual([]);
      });
    });
  }
});

describe("checksums", () => {
  it("computes the ICAO 9303 check digits of the specimen passport", () => {
    expect(mrzCheckDigit("L898902C3")).toBe(6);
    expect(mrzCheckDigit("740812")).toBe(2);
    expect(mrzCheckDigit("120415")).toBe(9);
  });

  it("accepts valid and rejects altered checksums", () => {
    expect(ibanValid("GB82WEST12345698765432")).toBe(true);
    expect(ibanValid("GB82WEST12345698765423")).toBe(false);
    expect(luhnValid("79927398713")).toBe(true); // the worked example of ISO/IEC 7812-1 Annex B
    expect(luhnValid("79927398710")).toBe(false);
    expect(base58checkValid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")).toBe(true);
    expect(base58checkValid("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3")).toBe(false);
    expect(bech32Valid("A12UEL5L")).toBe(true); // BIP 173 valid checksum vector
    expect(bech32Valid("a12uel5m")).toBe(false);
    expect(ethereumValid("0x52908400098527886E0F7030069857D2E4169EE7")).toBe(true); // EIP-55, all caps
    expect(ethereumValid("0x8617E340B3D01FA5F11F306F4090FD50E238070D")).toBe(true);
    expect(ethereumValid("0x27b1fdb04752bbc536007a920d24acb045561c26")).toBe(true);
    expect(ethereumValid("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")).toBe(false);
  });

  it("finds one altered digit of a Luhn-valid card in every position", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 9 }), (pos, delta) => {
        const card = "4111111111111111";
        const d = (Number(card[pos]) + delta) % 10;
        const altered = card.slice(0, pos) + String(d) + card.slice(pos + 1);
        expect(luhnValid(altered), "an altered digit breaks the Luhn check").toBe(false);
      }),
    );
  });
});

describe("normalisation", () => {
  it("folds look-alikes and strips invisible characters, idempotently", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
        const once = normalizeText(s);
        expect(normalizeText(once), "normalisation is idempotent").toBe(once);
        expect(
          /[\u200b-\u200d\u2060\ufeff\u00ad]/.test(once),
          "no invisible character survives",
        ).toBe(false);
      }),
    );
  });

  it("finds an e-mail address split by any invisible character", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"),
        fc.integer({ min: 1, max: 15 }),
        (inv, at) => {
          const email = "suspect@mail.example";
          const hidden = email.slice(0, at) + inv + email.slice(at);
          const found = detect(normalizeText(`write to ${hidden} now`), { identityContext: false });
          expect(
            found.map((m) => m.value),
            "the address is found whole",
          ).toEqual([email]);
        },
      ),
    );
  });
});

describe("gates", () => {
  const pieces = fc.constantFrom(
    ...[
      " ",
      "-",
      ".",
      ":",
      "/",
      "(",
      ")",
      "+",
      "<",
      "<<",
      "@",
      "0",
      "1",
      "4",
      "9",
      "00",
      "a",
      "Z",
      "x",
      "bc1",
      "0x",
    ],
    "GB82 WEST 1234 5698 7654 32",
    "4111 1111 1111 1111",
    "+44 20 7946 0958",
    "(202) 555-0143",
    "020 7946 0958",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "passport no. X1234567",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "home 203.0.113.9",
    "2001:db8::8a2e:370:7334",
    "a@b.example",
  );
  it("never change what the detectors find", () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.boolean(), (parts, identityContext) => {
        const text = parts.join("");
        expect(detect(text, { identityContext }), "gated equals ungated").toEqual(
          detect(text, { identityContext, ungated: true }),
        );
      }),
      { numRuns: 3000 },
    );
  });
});
