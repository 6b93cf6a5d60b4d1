/**
 * Incremental Merkle trees over RFC 9162 §2.1.1 hashing.
 *
 * `CompactTree` is the compact range [0, size) of transparency-dev/merkle (docs/compact_ranges.md),
 * also called the frontier: the roots of the perfect subtrees that the binary representation of
 * `size` decomposes the tree into, largest first, at most 53 of them. Appending a leaf hash merges
 * equal-height roots (one node hash per trailing one bit of the old size, one on average), and the
 * root at the current size folds the frontier right to left: O(log n), no history rehashed.
 *
 * Every perfect subtree root the tree completes is reported to an optional `onNode(level, index,
 * hash)` callback, leaves included (level 0). That stream is exactly what a tile store persists
 * (spec/tlog.md §Tiles): storage can write it and serve proofs without recomputing from leaves.
 *
 * `MemoryTree` keeps that stream in memory, in 256-hash chunks per level (tile-shaped), and is a
 * `NodeReader` for proof generation (proof.ts). It is for tests, benchmarks and tools, not storage.
 *
 * Risks: a frontier restored from storage must hold exactly popCount(size) 32-byte hashes;
 * `CompactTree.restore` checks that and nothing else (it cannot know the hashes are right).
 */
import {
  EMPTY_ROOT,
  at,
  HASH_SIZE,
  bitLength,
  isIndex,
  nodeHash,
  popCount,
  shiftRight,
  trailingZeros,
} from "./hash.js";

/** Reports a completed perfect subtree: the node at `level` and `index` (leaves are level 0). */
export type NodeSink = (level: number, index: number, hash: Uint8Array) => void;

export class CompactTree {
  #size: number;
  /** Roots of the perfect subtrees of [0, size), largest (leftmost) first. */
  readonly #hashes: Uint8Array[];

  constructor() {
    this.#size = 0;
    this.#hashes = [];
  }

  /** A tree at `size` from its frontier (as `frontier()` returned it), e.g. read from storage. */
  static restore(size: number, frontier: readonly Uint8Array[]): CompactTree {
    if (!isIndex(size)) throw new RangeError("size must be a safe non-negative integer");
    if (frontier.length !== popCount(size)) {
      throw new RangeError("a frontier holds one hash per one bit of the size");
    }
    for (const h of frontier) {
      if (h.length !== HASH_SIZE) throw new RangeError("frontier hashes are 32 bytes");
    }
    const t = new CompactTree();
    t.#size = size;
    for (const h of frontier) t.#hashes.push(new Uint8Array(h));
    return t;
  }

  get size(): number {
    return this.#size;
  }

  /** A copy of the frontier: the perfect subtree roots, largest first. */
  frontier(): Uint8Array[] {
    return this.#hashes.map((h) => new Uint8Array(h));
  }

  /** Appends one leaf hash; reports the leaf and every subtree it completes to `onNode`. */
  append(leaf: Uint8Array, onNode?: NodeSink): void {
    if (leaf.length !== HASH_SIZE) throw new RangeError("a leaf hash is 32 bytes");
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError("the tree is full");
    const index = this.#size;
    let h = leaf;
    onNode?.(0, index, h);
    // One merge per trailing one bit of the old size: those are the equal-height left siblings.
    const merges = index === 0 ? 0 : trailingOnes(index);
    for (let level = 0; level < merges; level++) {
      const left = this.#hashes.pop();
      if (left === undefined) throw new Error("frontier underflow");
      h = nodeHash(left, h);
      onNode?.(level + 1, shiftRight(index, level + 1), h);
    }
    this.#hashes.push(h);
    this.#size = index + 1;
  }

  /** MTH of the first `size` leaves: the frontier folded right to left. */
  root(): Uint8Array {
    const n = this.#hashes.length;
    const last = this.#hashes[n - 1];
    if (last === undefined) return new Uint8Array(EMPTY_ROOT);
    let h = last;
    for (let i = n - 2; i >= 0; i--) h = nodeHash(at(this.#hashes, i), h);
    return h;
  }
}

function trailingOnes(x: number): number {
  // trailing ones of x = trailing zeros of x + 1
  return trailingZeros(x + 1);
}

/**
 * Reads the hash of the perfect subtree at `level` and `index`: the Merkle Tree Hash of leaves
 * [index * 2^level, (index + 1) * 2^level). Proof generation asks only for nodes that exist in the
 * tree at the size it proves against. Throws if the node is not stored.
 */
export type NodeReader = (level: number, index: number) => Uint8Array;

const CHUNK = 256;

/** Every perfect subtree hash of an append-only tree, in memory; a `NodeReader` for proofs. */
export class MemoryTree {
  readonly #tree = new CompactTree();
  /** levels[l] = chunks of 256 hashes (8 KiB) of the level-l nodes, left to right. */
  readonly #levels: Uint8Array[][] = [];
  readonly #sink: NodeSink = (level, index, hash) => {
    let chunks = this.#levels[level];
    if (chunks === undefined) {
      chunks = [];
      this.#levels[level] = chunks;
    }
    const c = Math.floor(index / CHUNK);
    let chunk = chunks[c];
    if (chunk === undefined) {
      chunk = new Uint8Array(CHUNK * HASH_SIZE);
      chunks[c] = chunk;
    }
    chunk.set(hash, (index % CHUNK) * HASH_SIZE);
  };

  get size(): number {
    return this.#tree.size;
  }

  append(leaf: Uint8Array): void {
    this.#tree.append(leaf, this.#sink);
  }

  root(): Uint8Array {
    return this.#tree.root();
  }

  /** The `NodeReader` of this tree (a view into its chunks; do not modify the bytes). */
  readonly node: NodeReader = (level, index) => {
    if (!isIndex(level) || !isIndex(index)) throw new RangeError("node ids are safe integers");
    if (level >= bitLength(this.#tree.size) || (index + 1) * 2 ** level > this.#tree.size) {
      throw new RangeError(`node ${String(level)}/${String(index)} is not in the tree`);
    }
    const chunk = this.#levels[level]?.[Math.floor(index / CHUNK)];
    if (chunk === undefined) throw new Error("missing chunk");
    const off = (index % CHUNK) * HASH_SIZE;
    return chunk.subarray(off, off + HASH_SIZE);
  };
}
