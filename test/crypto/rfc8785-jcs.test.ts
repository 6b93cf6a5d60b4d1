/**
 * RFC 8785 JSON Canonicalization Scheme (spec/vectors/rfc8785-jcs.json): the Appendix B number
 * samples, the §3.2.2/§3.2.4 sample document and the §3.2.3 sorting example, then the values JCS
 * must refuse and properties over random JSON.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalize } from "../../src/crypto/jcs.js";
import { canonicalSha256Hex, sha256Hex } from "../../src/crypto/hash.js";
import { readVector, toHex } from "./helpers.js";

interface Vectors {
  source: string;
  numbers: { ieee754: string; canonical: string | null }[];
  documents: { name: string; json: string; canonicalUtf8Hex?: string; memberOrder?: string[] }[];
}
const v = readVector("rfc8785-jcs.json") as Vectors;

function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe("RFC 8785 Appendix B: numbers", () => {
  it.each(v.numbers)("0x$ieee754 → $canonical", ({ ieee754, canonical }) => {
    const n = double(ieee754);
    if (canonical === null) {
      expect(() => canonicalize(n), "non-finite is refused").toThrow(RangeError);
    } else {
      expect(canonicalize(n)).toBe(canonical);
    }
  });
});

describe("RFC 8785 §3.2: documents", () => {
  it.each(v.documents)("$name", (doc) => {
    const value: unknown = JSON.parse(doc.json);
    if (doc.canonicalUtf8Hex !== undefined) {
      expect(toHex(canonicalBytes(value)), "canonical UTF-8").toBe(doc.canonicalUtf8Hex);
    }
    if (doc.memberOrder !== undefined) {
      // Each name's position in the canonical text; they must rise in the published order.
      const text = canonicalize(value);
      const positions = doc.memberOrder.map((k) => text.indexOf(`${JSON.stringify(k)}:`));
      expect(
        positions.every((p) => p > 0),
        "every name is present",
      ).toBe(true);
      expect(
        [...positions].sort((a, b) => a - b),
        "names in the published order",
      ).toEqual(positions);
    }
  });
});

describe("canonicalize refuses what has no canonical form", () => {
  it.each([
    ["NaN", Number.NaN, RangeError],
    ["-Infinity", Number.NEGATIVE_INFINITY, RangeError],
    ["a lone high surrogate", "a\ud800b", RangeError],
    ["a lone low surrogate in a name", { "\udc00": 1 }, RangeError],
    ["undefined in an array", [1, undefined], TypeError],
    ["a hole in an array", [1, , 3], TypeError], // eslint-disable-line no-sparse-arrays
    ["a Date", new Date(0), TypeError],
    ["a Map", new Map(), TypeError],
    ["a bigint", 1n, TypeError],
    ["a function", () => 1, TypeError],
    ["undefined", undefined, TypeError],
  ] as const)("%s", (_name, value, error) => {
    expect(() => canonicalize(value)).toThrow(error);
  });

  it("a cycle", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalize(a)).toThrow(TypeError);
  });

  it("but accepts a shared, acyclic value, a null-prototype object and omits undefined members", () => {
    const shared = { z: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 2, a: 1 });
    expect(canonicalize({ x: shared, y: shared, u: undefined, bare })).toBe(
      '{"bare":{"a":1,"b":2},"x":{"z":1},"y":{"z":1}}',
    );
  });
});

describe("canonicalize properties", () => {
  it("is a fixed point: canonicalizing parsed canonical text changes nothing", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalize(value);
        expect(canonicalize(JSON.parse(once)), "idempotent").toBe(once);
      }),
    );
  });

  it("agrees with JSON.stringify on the meaning of the value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalize(value)), "same value").toEqual(
          JSON.parse(JSON.stringify(value)),
        );
      }),
    );
  });

  it("round-trips any well-formed Unicode text through UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
        const bytes = canonicalBytes({ s });
        expect(
          JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
          "same string",
        ).toEqual({ s });
      }),
    );
  });

  it("does not depend on member insertion order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalize(reversed), "order-free").toBe(canonicalize(obj));
      }),
    );
  });
});

/**
 * RFC 8785 §3.2 read literally, for well-formed input: members sorted by UTF-16 code units,
 * strings and numbers as ECMAScript's JSON.stringify writes them. canonicalize serialises most
 * objects through JSON.stringify of a sorted copy; this checks it against the plain definition.
 */
function byTheDefinition(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(byTheDefinition).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const members = Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${byTheDefinition(obj[k])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

describe("canonicalize against the definition", () => {
  it("names JavaScript would reorder or treat specially keep the canonical order", () => {
    const tricky = {
      b: 1,
      "10": "ten",
      "2": "two",
      "-1": "minus",
      " ": "space",
      "€": "euro",
      "\u{1f600}": "emoji",
      "\ufb33": "hebrew",
      "": "empty",
      nested: { "1": [{ z: 1, "0": 0 }], a: -0, big: 1e21, tiny: 5e-324, u: "\u2028é\u0000" },
    };
    const value = { outer: tricky, list: [tricky, { x: [tricky] }] };
    expect(canonicalize(value)).toBe(byTheDefinition(value));
    expect(canonicalize(tricky)).toBe(byTheDefinition(tricky));
    const proto = JSON.parse('{"__proto__": {"b": 1, "a": 2}, "z": 0}') as unknown;
    expect(canonicalize({ x: proto })).toBe('{"x":{"__proto__":{"a":2,"b":1},"z":0}}');
    expect(canonicalSha256Hex({ objects: [tricky, proto] })).toBe(
      sha256Hex(byTheDefinition({ objects: [tricky, proto] })),
    );
  });

  it("agrees on random JSON, names and text of any kind included", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 12 });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        text,
        fc.array(tie("value")),
        fc.dictionary(fc.oneof(text, fc.nat().map(String)), tie("value")),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalize(value)).toBe(byTheDefinition(value));
        expect(canonicalSha256Hex({ objects: [value] })).toBe(
          sha256Hex(byTheDefinition({ objects: [value] })),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe("canonicalSha256Hex (hashed as written, in pieces)", () => {
  it("equals the SHA-256 of the canonical text, also past the 64 KiB piece size", () => {
    const big = {
      objects: Array.from({ length: 3000 }, (_, i) => ({
        z: i,
        name: `naïve 名前 😀 ${String(i)}`,
        a: [true, null, 1.5e-7, { y: "\u2028", x: "\u0001" }],
      })),
    };
    expect(JSON.stringify(big).length).toBeGreaterThan(200_000);
    expect(canonicalSha256Hex(big)).toBe(sha256Hex(canonicalize(big)));
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalSha256Hex(value)).toBe(sha256Hex(canonicalize(value)));
      }),
    );
  });

  it("refuses what canonicalize refuses", () => {
    expect(() => canonicalSha256Hex({ a: "\ud800" })).toThrow(RangeError);
    expect(() => canonicalSha256Hex({ a: Number.NaN })).toThrow(RangeError);
  });
});
