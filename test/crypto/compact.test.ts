/**
 * src/crypto/compact.ts: canonical base64url is checked without decoding; it must accept exactly
 * the strings whose decoding encodes back to themselves (the definition it replaced), and refuse
 * padding, stray characters and non-zero spare bits.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeB64url,
  forEachB64urlPiece,
  isCanonicalB64url,
  splitCompact,
} from "../../src/crypto/compact.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const byReencoding = (text: string): boolean =>
  /^[A-Za-z0-9_-]*$/.test(text) &&
  text.length % 4 !== 1 &&
  Buffer.from(text, "base64url").toString("base64url") === text;

describe("canonical base64url", () => {
  it("agrees with decode-then-re-encode on every string of up to 3 characters, and on random longer ones", () => {
    const strings: string[] = [""];
    for (const a of ALPHABET) {
      strings.push(a);
      for (const b of ALPHABET) {
        strings.push(a + b);
        strings.push(`${a}${b}${ALPHABET[(a.charCodeAt(0) * 7 + b.charCodeAt(0)) % 64] ?? "A"}`);
      }
    }
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(i % 40);
      const text = bytes.toString("base64url");
      strings.push(text, `${text}A`, `${text}B`, text.slice(0, -1) + "Q");
    }
    let canonical = 0;
    for (const s of strings) {
      expect(isCanonicalB64url(s), s).toBe(byReencoding(s));
      if (byReencoding(s)) canonical++;
    }
    expect(canonical).toBeGreaterThan(1000);
    expect(canonical).toBeLessThan(strings.length);
  });

  it("refuses padding, other alphabets and spare bits, and decodes what it accepts", () => {
    for (const bad of ["QQ==", "QQ=", "a+b/", "ab c", "QR", "QUJ", "Q"])
      expect(isCanonicalB64url(bad), bad).toBe(false);
    expect(decodeB64url("QR")).toBeUndefined();
    expect(Buffer.from(decodeB64url("QUI") ?? []).toString()).toBe("AB");
    expect(splitCompact("QQ.QUI.", 3, 100)).toStrictEqual(["QQ", "QUI", ""]);
    expect(splitCompact("QQ.QR.", 3, 100)).toBeUndefined();
  });
});

describe("base64url read a piece at a time", () => {
  const pieces = (text: Buffer, start = 0, end = text.length): Buffer | undefined => {
    const out: Buffer[] = [];
    return forEachB64urlPiece(text, start, end, (p) => out.push(Buffer.from(p)))
      ? Buffer.concat(out)
      : undefined;
  };

  it("decodes texts of many pieces to the bytes Buffer decodes, and refuses what the whole check refuses", () => {
    for (const size of [0, 1, 2, 12_287, 12_288, 12_289, 40_000, 100_001]) {
      const bytes = randomBytes(size);
      const text = Buffer.from(bytes.toString("base64url"), "latin1");
      expect(pieces(text), `${size} bytes`).toEqual(bytes);
      // One character outside the alphabet, anywhere (here in each piece of 16 Ki characters and
      // at both ends), or one of the last character's spare bits set, and nothing is accepted.
      for (let at = 0; at < text.length; at += 16_384 - 1) {
        for (const bad of [0x2b, 0x3d, 0x2e, 0xc3]) {
          const t = Buffer.from(text);
          t[at] = bad;
          expect(pieces(t), `${size} bytes, 0x${bad.toString(16)} at ${at}`).toBeUndefined();
        }
      }
      if (size % 3 !== 0) {
        const t = Buffer.from(text);
        const last = ALPHABET.indexOf(String.fromCharCode(t[t.length - 1] ?? 0));
        t[t.length - 1] = ALPHABET.charCodeAt(last ^ 1);
        expect(pieces(t), `${size} bytes, a spare bit set`).toBeUndefined();
      }
    }
    expect(pieces(Buffer.from("QUJDR", "latin1")), "a length of 1 modulo 4").toBeUndefined();
  });

  it("accepts a text a piece at a time exactly when the whole-string check accepts it", () => {
    // Texts of the alphabet with, sometimes, one byte of another kind (padding, the other
    // alphabet's `+` and `/`, a dot, a space, a Latin-1 letter) somewhere, across piece bounds.
    const text = fc
      .tuple(
        fc.integer({ min: 0, max: 40_000 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.option(fc.constantFrom(0x3d, 0x2b, 0x2f, 0x2e, 0x20, 0xe9), { nil: undefined }),
      )
      .map(([length, seed, odd]) => {
        const t = Buffer.alloc(length);
        for (let i = 0; i < length; i++) t[i] = ALPHABET.charCodeAt((seed + i * 7919) % 64);
        if (odd !== undefined && length > 0) t[seed % length] = odd;
        return t;
      });
    fc.assert(
      fc.property(text, (t) => {
        expect(pieces(t) !== undefined, "piecewise = whole").toBe(
          isCanonicalB64url(t.toString("latin1")),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("reads a range of a larger buffer, and may write its bytes over the text it came from", () => {
    const bytes = randomBytes(50_000);
    const text = Buffer.from(`head.${bytes.toString("base64url")}.tail`, "latin1");
    const end = text.length - ".tail".length;
    expect(pieces(text, 5, end)).toEqual(bytes);
    let at = 5;
    expect(forEachB64urlPiece(text, 5, end, (p) => (at += p.copy(text, at)))).toBe(true);
    expect(text.subarray(5, at)).toEqual(bytes);
  });
});
