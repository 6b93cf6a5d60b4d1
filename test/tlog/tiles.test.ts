/**
 * C2SP tlog-tiles coordinates (https://c2sp.org/tlog-tiles): the spec's path and width examples,
 * canonical-path parsing of attacker-controlled paths, every Merkle node recomputed from its tile
 * equal to the stored node, and entry bundles.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  MemoryTree,
  consistencyProof,
  decodeEntryBundle,
  encodeEntryBundle,
  inclusionProof,
  nodeFromTile,
  parseTilePath,
  tileOfNode,
  tileNodeReader,
  tilePath,
  tileWidth,
} from "../../src/tlog/index.js";
import { outcomeOf, syntheticLeaves } from "./helpers.js";

describe("tile paths", () => {
  it("encodes the spec's example index 1234067 as x001/x234/067", () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe("tile/0/x001/x234/067");
    expect(tilePath({ level: 2, index: 0, width: 17 })).toBe("tile/2/000.p/17");
    expect(tilePath({ level: "entries", index: 1000, width: 256 })).toBe("tile/entries/x001/000");
  });

  it("parses exactly the paths it writes", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 63 }), fc.constant("entries" as const)),
        fc.oneof(fc.nat(2000), fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        fc.integer({ min: 1, max: 256 }),
        (level, index, width) => {
          const p = tilePath({ level, index, width });
          expect(parseTilePath(p), p).toEqual({ level, index, width });
        },
      ),
    );
  });

  it.each([
    "tile/0/0",
    "tile/0/00",
    "tile/0/0000",
    "tile/00/000",
    "tile/64/000",
    "tile/0/x000/001",
    "tile/0/001/002",
    "tile/0/000.p/0",
    "tile/0/000.p/256",
    "tile/0/000.p/012",
    "tile/0/000.p/",
    "tile/entry/000",
    "/tile/0/000",
    "tile/0/000/",
    "tile/0/x999/x999/x999/x999/x999/999",
  ])("refuses the non-canonical path %s", (p) => {
    expect(parseTilePath(p)).toBeUndefined();
  });
});

describe("tile widths", () => {
  it("matches the spec's tree of 70,000 leaves", () => {
    expect(tileWidth(0, 272, 70_000), "last full level-0 tile").toBe(256);
    expect(tileWidth(0, 273, 70_000), "partial level-0 tile").toBe(112);
    expect(tileWidth(0, 274, 70_000), "no tile").toBe(0);
    expect(tileWidth(1, 0, 70_000), "full level-1 tile").toBe(256);
    expect(tileWidth(1, 1, 70_000), "partial level-1 tile").toBe(17);
    expect(tileWidth(2, 0, 70_000), "partial level-2 tile").toBe(1);
    expect(tileWidth(3, 0, 70_000), "no level-3 tile").toBe(0);
  });

  it("matches the spec's tree of 256 leaves", () => {
    expect(tileWidth(0, 0, 256)).toBe(256);
    expect(tileWidth(1, 0, 256)).toBe(1);
    expect(tileWidth(0, 1, 256)).toBe(0);
  });
});

describe("nodes from tiles", () => {
  const N = 70_000;
  let tree: MemoryTree;
  beforeAll(() => {
    tree = new MemoryTree();
    for (const l of syntheticLeaves(N)) tree.append(l);
  });

  /** Tile (t, n) as the tile store would hold it: the level-8t hashes, concatenated. */
  function tile(t: number, n: number): Uint8Array {
    const w = tileWidth(t, n, N);
    const out = new Uint8Array(w * 32);
    for (let i = 0; i < w; i++) out.set(tree.node(8 * t, n * 256 + i), i * 32);
    return out;
  }

  it("recomputes every stored node from its tile", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 16 }), fc.nat(), (level, pick) => {
        const count = Math.floor(N / 2 ** level);
        const index = pick % count;
        const where = tileOfNode(level, index);
        expect(where.count, "hashes covered").toBe(2 ** (level % 8));
        const fromTile = nodeFromTile(tile(where.tileLevel, where.tileIndex), where);
        expect(fromTile, `node ${String(level)}/${String(index)}`).toEqual(tree.node(level, index));
      }),
      { numRuns: 300 },
    );
  });

  it("serves the same proofs through a tile reader as the stored nodes give", () => {
    const reader = tileNodeReader(tile);
    fc.assert(
      fc.property(fc.nat(N - 1), fc.integer({ min: 1, max: N }), (i, m) => {
        expect(inclusionProof(reader, i, N), "inclusion").toEqual(inclusionProof(tree.node, i, N));
        expect(consistencyProof(reader, m, N), "consistency").toEqual(
          consistencyProof(tree.node, m, N),
        );
      }),
      { numRuns: 50 },
    );
  });

  it("refuses a tile too short for the node", () => {
    const where = tileOfNode(3, 40);
    expect(() => nodeFromTile(new Uint8Array(32 * where.offset), where)).toThrow(RangeError);
  });
});

describe("entry bundles", () => {
  it("round-trip up to 256 entries of up to 65535 bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 256 }),
        (es) => {
          const bundle = encodeEntryBundle(es);
          expect(decodeEntryBundle(bundle, es.length), "decodes").toEqual(es);
        },
      ),
      { numRuns: 50 },
    );
    const max = new Uint8Array(65535);
    expect(decodeEntryBundle(encodeEntryBundle([max]), 1)[0]?.length).toBe(65535);
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(RangeError);
  });

  it("refuses a bundle with the wrong count, a truncated entry or trailing bytes", () => {
    const bundle = encodeEntryBundle([new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(outcomeOf(() => decodeEntryBundle(bundle, 2))).toBe("ok");
    expect(
      outcomeOf(() => decodeEntryBundle(bundle, 1)),
      "too many",
    ).toBe("ERR_MALFORMED_INPUT");
    expect(
      outcomeOf(() => decodeEntryBundle(bundle, 3)),
      "too few",
    ).toBe("ERR_MALFORMED_INPUT");
    expect(
      outcomeOf(() => decodeEntryBundle(bundle.subarray(0, -1), 2)),
      "truncated",
    ).toBe("ERR_MALFORMED_INPUT");
    const trailing = new Uint8Array([...bundle, 0]);
    expect(
      outcomeOf(() => decodeEntryBundle(trailing, 2)),
      "trailing",
    ).toBe("ERR_MALFORMED_INPUT");
  });
});
