/**
 * src/crypto/compact.ts: canonical base64url is checked without decoding; it must accept exactly
 * the strings whose decoding encodes back to themselves (the definition it replaced), and refuse
 * padding, stray characters and non-zero spare bits.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeB64url, isCanonicalB64url, splitCompact } from "../../src/crypto/compact.js";

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
