/**
 * The Golomb-compressed set (spec/match.md §filter): no false negatives for any set and
 * parameter, a measured false-positive rate near 2^-p, the size the format promises, and
 * refusal of every malformed filter a peer could send.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import { GCS_MAX_ITEMS, buildGcs, parseGcs } from "../../src/core/match/index.js";

const item = (label: string, i: number): Uint8Array =>
  new Uint8Array(
    createHash("sha512")
      .update(`${label}:${String(i)}`)
      .digest(),
  );
const items = (label: string, n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => item(label, i));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return e instanceof AccordError ? e.code : e instanceof Error ? e.name : "non-error";
  }
  return "no error";
}

describe("buildGcs and parseGcs", () => {
  it("has no false negatives, for any set and parameter", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 64 }), {
          maxLength: 300,
          selector: (b) => Buffer.from(b).toString("hex"),
        }),
        fc.integer({ min: 1, max: 24 }),
        (set, p) => {
          const filter = parseGcs(buildGcs(set, { p }));
          expect(filter.count, "count").toBe(set.length);
          expect(filter.p, "p").toBe(p);
          for (const x of set) expect(filter.has(x), "member").toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("answers yes for non-members at a rate near 2^-p", () => {
    for (const [p, queries] of [
      [6, 100_000],
      [10, 200_000],
    ] as const) {
      const filter = parseGcs(buildGcs(items("member", 4000), { p }));
      const probe = new Uint8Array(9);
      probe[0] = 0xee; // members are SHA-512 outputs, probes are 9-byte counters: disjoint
      let hits = 0;
      for (let i = 0; i < queries; i++) {
        new DataView(probe.buffer).setFloat64(1, i);
        if (filter.has(probe)) hits++;
      }
      const rate = hits / queries;
      expect(Math.abs(filter.falsePositiveRate / 2 ** -p - 1), "expected rate ≈ 2^-p").toBeLessThan(
        0.01,
      );
      expect(rate, `measured rate, p=${String(p)}`).toBeGreaterThan(
        filter.falsePositiveRate * 0.75,
      );
      expect(rate, `measured rate, p=${String(p)}`).toBeLessThan(filter.falsePositiveRate * 1.25);
    }
  });

  it("takes between p + 1 and p + 2 bits per item", () => {
    const n = 10_000;
    const bytes = buildGcs(items("size", n));
    const bitsPerItem = ((bytes.length - 10) * 8) / n;
    expect(bitsPerItem).toBeGreaterThan(21);
    expect(bitsPerItem).toBeLessThan(22);
  });

  it("pads the count to a multiple and still holds every member", () => {
    const set = items("padded", 1500);
    const filter = parseGcs(buildGcs(set, { padToMultipleOf: 1024 }));
    expect(filter.count).toBe(2048);
    for (const x of set) expect(filter.has(x)).toBe(true);
    expect(parseGcs(buildGcs(items("exact", 1024), { padToMultipleOf: 1024 })).count).toBe(1024);
    expect(() => buildGcs([], { padToMultipleOf: 0 })).toThrow(RangeError);
  });

  it("handles the empty set", () => {
    const filter = parseGcs(buildGcs([]));
    expect(filter.count).toBe(0);
    expect(filter.has(item("x", 0))).toBe(false);
  });

  it("refuses a parameter or size the format cannot carry", () => {
    expect(codeOf(() => buildGcs([], { p: 0 }))).toBe("RangeError");
    expect(codeOf(() => buildGcs([], { p: 25 }))).toBe("RangeError");
    expect(codeOf(() => buildGcs({ length: GCS_MAX_ITEMS + 1 } as unknown as Uint8Array[]))).toBe(
      "RangeError",
    );
  });
});

describe("parseGcs refuses malformed filters from a peer", () => {
  const good = buildGcs(items("good", 50), { p: 8 });
  const patched = (at: number, value: number): Uint8Array => {
    const copy = good.slice();
    copy[at] = value;
    return copy;
  };
  const withCount = (n: number): Uint8Array => {
    const copy = good.slice();
    new DataView(copy.buffer).setUint32(6, n);
    return copy;
  };
  const cases: [string, unknown][] = [
    ["not bytes", "AGCS"],
    ["shorter than the header", good.subarray(0, 9)],
    ["another magic", patched(0, 0x42)],
    ["another version", patched(4, 2)],
    ["p = 0", patched(5, 0)],
    ["p = 25", patched(5, 25)],
    ["a count beyond the maximum", withCount(GCS_MAX_ITEMS + 1)],
    ["a count the stream cannot hold", withCount(1000)],
    ["a count far below the stream", withCount(10)],
    ["a truncated stream", good.subarray(0, good.length - 8)],
    ["trailing bytes", Uint8Array.of(...good, 0)],
    ["non-zero padding", patched(good.length - 1, (good[good.length - 1] ?? 0) | 1)],
    [
      "a stream of ones",
      Uint8Array.of(...good.subarray(0, 10), ...new Uint8Array(good.length - 10).fill(0xff)),
    ],
  ];
  for (const [note, bytes] of cases) {
    it(`refuses ${note}`, () => {
      expect(codeOf(() => parseGcs(bytes))).toBe("ERR_MALFORMED_INPUT");
    });
  }

  it("either parses or refuses with ERR_MALFORMED_INPUT, for any bytes after a valid header", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 0, max: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        (p, n, body) => {
          const bytes = new Uint8Array(10 + body.length);
          bytes.set([0x41, 0x47, 0x43, 0x53, 1, p]);
          new DataView(bytes.buffer).setUint32(6, n);
          bytes.set(body, 10);
          const outcome = codeOf(() => parseGcs(bytes).has(Uint8Array.of(1)));
          expect(["no error", "ERR_MALFORMED_INPUT"], "outcome").toContain(outcome);
        },
      ),
      { numRuns: 500 },
    );
  });
});
