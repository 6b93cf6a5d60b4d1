/**
 * spec/vectors/log-entries.json: log entry texts, leaf hashes and tree roots computed outside this
 * code (Python hashlib, see the file's `source`). The TypeScript encoding must reproduce them byte
 * for byte, and must refuse texts that are not the canonical form of an entry.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeLogEntry, encodeLogEntry, logEntryText } from "../../src/core/log-entry.js";
import { canonicalize } from "../../src/crypto/jcs.js";
import { leafHash, merkleTreeHash } from "../../src/tlog/index.js";

interface Vector {
  name: string;
  entry: { kind: string; at: string; data: Record<string, unknown> };
  text: string;
  leafHash: string;
}
const doc = JSON.parse(
  readFileSync(new URL("../../spec/vectors/log-entries.json", import.meta.url), "utf8"),
) as { entries: Vector[]; rootOfFirst3: string; rootOfAll4: string };
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("log entry vectors (spec/vectors/log-entries.json)", () => {
  it.each(doc.entries)("$name: canonical text and leaf hash", (v) => {
    expect(logEntryText(v.entry)).toBe(v.text);
    expect(hex(leafHash(encodeLogEntry(v.entry)))).toBe(v.leafHash);
    expect(decodeLogEntry(v.text)).toStrictEqual(v.entry);
  });

  it("roots of the first 3 and all 4 entries", () => {
    const leaves = doc.entries.map((v) => leafHash(encodeLogEntry(v.entry)));
    expect(hex(merkleTreeHash(leaves.slice(0, 3)))).toBe(doc.rootOfFirst3);
    expect(hex(merkleTreeHash(leaves))).toBe(doc.rootOfAll4);
  });

  it("refuses non-canonical or ill-typed texts", () => {
    const v = doc.entries[0]!;
    for (const bad of [
      v.text.replace("{", "{ "),
      v.text.replace('"v":1', '"v":2'),
      v.text.replace('"v":1', '"v":1,"w":0'),
      JSON.stringify({ ...JSON.parse(v.text), kind: "Decision" }),
      "not json",
      "[]",
    ]) {
      expect(decodeLogEntry(bad), bad).toBeUndefined();
    }
  });

  it("writes the same text as the general RFC 8785 canonicalizer, for awkward values too", () => {
    const awkward = [
      { a: 1e21, b: 1e-7, c: -0, d: 0.1 + 0.2, e: 2 ** 53 },
      { "\u00e9": "\u2028\u2029", "\ud83d\ude00": "emoji", "": "", "\u0000": "\t\n" },
      { nested: { z: [{ y: null, x: true }], a: [] }, undef: undefined },
      // Plain text that looks like an escaped surrogate (a backslash, then `ud800`): not refused.
      { path: "C:\\ud800\\file", key: "\\uDFFF" },
      // Quotes, backslashes, DEL and control characters in keys and values; keys out of order.
      { 'q"': 'say "hi"', "b\\": "a\\b", del: "\u007f", ctl: "\u001f\u0001", A: "B", a: "b" },
      // More keys than the small-object sort handles, in reverse order.
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${String(39 - i)}`, i])),
    ];
    for (const data of awkward) {
      expect(logEntryText({ kind: "decision", at: "t", data })).toBe(
        canonicalize({ at: "t", data, kind: "decision", v: 1 }),
      );
    }
    expect(() => logEntryText({ kind: "decision", at: "t", data: { s: "\ud800" } })).toThrow();
    expect(() => logEntryText({ kind: "decision", at: "\udc00", data: {} })).toThrow();
    expect(() => logEntryText({ kind: "decision", at: "t", data: { n: NaN } })).toThrow();
  });
});
