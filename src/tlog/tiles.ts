/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles) coordinates: tile paths, which tile holds a
 * Merkle node, the width of a tile at a tree size, and entry bundles.
 *
 * A tile at tile level t and index n holds up to 256 consecutive hashes of Merkle level 8t,
 * namely MTH(D[(n*256 + i) * 256^t : (n*256 + i + 1) * 256^t]) for i = 0..255. Merkle levels
 * 8t+1 .. 8t+7 are not stored: a node there is the MTH of 2^h consecutive hashes of its tile.
 * `tileOfNode` says which hashes, `nodeFromTile` hashes them. An entry bundle is the sequence of
 * the uint16-big-endian length-prefixed entries of one level-0 tile.
 *
 * Risks: paths and bundles come from peers (attacker-controlled): `parseTilePath` accepts only
 * the canonical spelling (no leading zeros, widths 1..255, levels 0..63, indexes that are safe
 * integers), and `decodeEntryBundle` checks every length against the bytes left and the count.
 */
import { AccordError } from "../errors.js";
import { HASH_SIZE, isIndex, merkleTreeHash } from "./hash.js";

/** Hashes per full tile (C2SP tlog-tiles): 256, so a tile spans 8 Merkle levels. */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;
/** Largest entry an entry bundle can hold (uint16 length prefix). */
export const MAX_ENTRY_BYTES = 65535;

export interface TileId {
  /** Tile level t: the tile's hashes are Merkle level 8t. */
  readonly level: number;
  readonly index: number;
  /** 256 for a full tile, 1..255 for a partial one. */
  readonly width: number;
}

/** `tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for an entry bundle (no prefix). */
export function tilePath(
  tile: TileId | { level: "entries"; index: number; width: number },
): string {
  const { level, index, width } = tile;
  if (!isIndex(index)) throw new RangeError("tile index must be a safe non-negative integer");
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError("tile width must be 1..256");
  }
  if (level !== "entries" && (!Number.isInteger(level) || level < 0 || level > 63)) {
    throw new RangeError("tile level must be 0..63");
  }
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, "0"));
    n = Math.floor(n / 1000);
  } while (n > 0);
  const nPath = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
  const partial = width < TILE_WIDTH ? `.p/${String(width)}` : "";
  return `tile/${String(level)}/${nPath}${partial}`;
}

const TILE_PATH =
  /^tile\/(entries|0|[1-5]?[0-9]|6[0-3])\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-5]))?$/;

/** Parses a tile or entry-bundle path (attacker-controlled); undefined if not canonical. */
export function parseTilePath(
  path: string,
): { level: number | "entries"; index: number; width: number } | undefined {
  if (path.length > 128) return undefined;
  const m = TILE_PATH.exec(path);
  if (m === null) return undefined;
  const [, levelText = "", xs = "", last = "", widthText] = m;
  const digits = xs.replaceAll("x", "").replaceAll("/", "") + last;
  // Canonical: no leading zero groups (index 0 is just `000`).
  if (xs.startsWith("x000")) return undefined;
  const index = Number(digits);
  if (!isIndex(index) || digits.replace(/^0+/, "").length > 16) return undefined;
  const level = levelText === "entries" ? "entries" : Number(levelText);
  return { level, index, width: widthText === undefined ? TILE_WIDTH : Number(widthText) };
}

/** Where Merkle node (level, index) lives: its tile and the run of tile hashes it spans. */
export interface NodeInTile {
  readonly tileLevel: number;
  readonly tileIndex: number;
  /** First tile hash covered by the node, 0..255. */
  readonly offset: number;
  /** Number of tile hashes covered: 2^(level mod 8). */
  readonly count: number;
}

export function tileOfNode(level: number, index: number): NodeInTile {
  if (!isIndex(level) || !isIndex(index)) throw new RangeError("node ids are safe integers");
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const h = level - tileLevel * TILE_HEIGHT;
  const first = index * 2 ** h; // first covered hash of Merkle level 8t
  if (!Number.isSafeInteger(first)) throw new RangeError("node index out of range");
  return {
    tileLevel,
    tileIndex: Math.floor(first / TILE_WIDTH),
    offset: first % TILE_WIDTH,
    count: 2 ** h,
  };
}

/** The node's hash from the bytes of its tile (a tile is `width` concatenated 32-byte hashes). */
export function nodeFromTile(tile: Uint8Array, where: NodeInTile): Uint8Array {
  const end = (where.offset + where.count) * HASH_SIZE;
  if (tile.length % HASH_SIZE !== 0 || end > tile.length) {
    throw new RangeError("the tile does not cover the node");
  }
  const hashes: Uint8Array[] = [];
  for (let i = where.offset; i < where.offset + where.count; i++) {
    hashes.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  }
  return merkleTreeHash(hashes);
}

/**
 * Width of tile (level, index) in the tree of `size` leaves: 256 if full, 1..255 if partial,
 * 0 if the tile does not exist yet.
 */
export function tileWidth(level: number, index: number, size: number): number {
  if (!isIndex(level) || !isIndex(index) || !isIndex(size)) {
    throw new RangeError("tile coordinates are safe integers");
  }
  const hashesAtLevel = Math.floor(size / TILE_WIDTH ** level);
  const w = hashesAtLevel - index * TILE_WIDTH;
  return Math.max(0, Math.min(TILE_WIDTH, w));
}

/** Concatenates entries with a uint16 big-endian length prefix each (one level-0 tile's worth). */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > TILE_WIDTH) throw new RangeError("a bundle holds at most 256 entries");
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new RangeError("an entry is at most 65535 bytes");
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out[at] = e.length >>> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** Splits an entry bundle (attacker-controlled) into exactly `width` entries; throws if not. */
export function decodeEntryBundle(bundle: Uint8Array, width: number): Uint8Array[] {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError("bundle width must be 1..256");
  }
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bundle.length) {
    if (entries.length === width || at + 2 > bundle.length) break;
    const len = ((bundle[at] ?? 0) << 8) | (bundle[at + 1] ?? 0);
    if (at + 2 + len > bundle.length) break;
    entries.push(bundle.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (entries.length !== width || at !== bundle.length) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `the entry bundle does not hold exactly ${String(width)} well-formed entries`,
    );
  }
  return entries;
}

/**
 * A `NodeReader` over a tile source: `readTile(tileLevel, tileIndex)` returns the tile's bytes
 * (full, or the partial tile of the tree size the proof is for). Each node is recomputed from
 * its tile (`nodeFromTile`); the source may cache tiles, this reader does not.
 */
export function tileNodeReader(
  readTile: (tileLevel: number, tileIndex: number) => Uint8Array,
): (level: number, index: number) => Uint8Array {
  return (level, index) => {
    const where = tileOfNode(level, index);
    return nodeFromTile(readTile(where.tileLevel, where.tileIndex), where);
  };
}
