/**
 * Inclusion and consistency proofs, RFC 9162 §2.1.3 and §2.1.4.
 *
 * Generation is split so that storage can batch its reads (a tile store fetches whole tiles):
 * `inclusionPlan` / `consistencyPlan` name the perfect-subtree nodes a proof needs (at most about
 * 2 log2 n of them), the caller reads those hashes, and `assembleProof` folds them into the proof.
 * A proof element is MTH(D[a:b]) for some aligned range; when b - a is not a power of two (only at
 * the right edge of the tree, at most once per proof) it is the fold of the perfect subtrees that
 * the binary representation of b - a splits [a, b) into. `inclusionProof` / `consistencyProof`
 * do the three steps with a synchronous `NodeReader` (tree.ts). Nothing is recomputed from leaves.
 *
 * Verification follows the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, with the
 * guards of sigstore-js `merkle.ts` and transparency-dev/merkle `proof/verify.go` in front: the
 * index, the sizes, the hashes and the proof are attacker-controlled, so every one is checked
 * (safe integers, 0 <= index < size, 0 < m <= n, 32-byte hashes, a proof of exactly the length the
 * sizes imply) and any fault is `false`, never an exception.
 *
 * Departures, named in spec/tlog.md: m == n verifies with an empty proof and equal roots (RFC 9162
 * leaves it undefined; transparency-dev/merkle does the same); m == 0 never verifies (a proof from
 * the empty tree proves nothing; callers treat an empty previous checkpoint as trivially
 * consistent); roots of any length other than 32 bytes never verify.
 */
import {
  EMPTY_ROOT,
  HASH_SIZE,
  at,
  bitLength,
  equalBytes,
  isIndex,
  largestPowerOfTwoBelow,
  nodeHash,
  popCount,
  shiftRight,
  xor,
} from "./hash.js";
import type { NodeReader } from "./tree.js";

/** A perfect subtree: leaves [index * 2^level, (index + 1) * 2^level). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/**
 * What a proof needs: `nodes` to read, in order, and `groups[i]`, how many consecutive nodes fold
 * (right to left) into proof element i. Every group is 1 except at most one at the tree's edge.
 */
export interface ProofPlan {
  readonly nodes: readonly NodeId[];
  readonly groups: readonly number[];
}

/** The longest proof Accord accepts: 2 * 53 levels covers any safe-integer size. */
export const MAX_PROOF_LENGTH = 106;

/** Nodes of the inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1). */
export function inclusionPlan(index: number, size: number): ProofPlan {
  if (!isIndex(index) || !isIndex(size) || index >= size) {
    throw new RangeError("inclusion proofs need 0 <= index < size");
  }
  const b = new PlanBuilder();
  path(b, index, 0, size);
  return b.done();
}

/** Nodes of the consistency proof from size m to size n, 0 < m <= n (RFC 9162 §2.1.4.1). */
export function consistencyPlan(m: number, n: number): ProofPlan {
  if (!isIndex(m) || !isIndex(n) || m === 0 || m > n) {
    throw new RangeError("consistency proofs need 0 < m <= n");
  }
  const b = new PlanBuilder();
  if (m < n) subproof(b, m, 0, n, true);
  return b.done();
}

/** Folds the hashes read for `plan.nodes` (same order) into the proof. */
export function assembleProof(plan: ProofPlan, hashes: readonly Uint8Array[]): Uint8Array[] {
  if (hashes.length !== plan.nodes.length) {
    throw new RangeError("one hash is needed per planned node");
  }
  for (const h of hashes)
    if (h.length !== HASH_SIZE) throw new RangeError("node hashes are 32 bytes");
  const proof: Uint8Array[] = [];
  let from = 0;
  for (const count of plan.groups) {
    let h = at(hashes, from + count - 1);
    for (let j = from + count - 2; j >= from; j--) h = nodeHash(at(hashes, j), h);
    // A copy, so that a proof never aliases the store's own buffers.
    proof.push(count === 1 ? new Uint8Array(h) : h);
    from += count;
  }
  return proof;
}

/** The inclusion proof of leaf `index` in the tree of `size` leaves, read through `node`. */
export function inclusionProof(node: NodeReader, index: number, size: number): Uint8Array[] {
  const plan = inclusionPlan(index, size);
  return assembleProof(
    plan,
    plan.nodes.map((id) => node(id.level, id.index)),
  );
}

/** The consistency proof from size `m` to size `n`, read through `node`. */
export function consistencyProof(node: NodeReader, m: number, n: number): Uint8Array[] {
  const plan = consistencyPlan(m, n);
  return assembleProof(
    plan,
    plan.nodes.map((id) => node(id.level, id.index)),
  );
}

class PlanBuilder {
  readonly nodes: NodeId[] = [];
  readonly groups: number[] = [];

  /** Adds MTH(D[lo:hi]) as one proof element (lo aligned as RFC 9162's recursion leaves it). */
  range(lo: number, hi: number): void {
    let count = 0;
    let at = lo;
    let rest = hi - lo;
    while (rest > 0) {
      const level = bitLength(rest) - 1;
      const width = 2 ** level;
      this.nodes.push({ level, index: at / width });
      at += width;
      rest -= width;
      count++;
    }
    this.groups.push(count);
  }

  done(): ProofPlan {
    return { nodes: this.nodes, groups: this.groups };
  }
}

/** PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1: the deepest sibling first. */
function path(b: PlanBuilder, m: number, lo: number, hi: number): void {
  const n = hi - lo;
  if (n <= 1) return;
  const k = largestPowerOfTwoBelow(n);
  if (m - lo < k) {
    path(b, m, lo, lo + k);
    b.range(lo + k, hi);
  } else {
    path(b, m, lo + k, hi);
    b.range(lo, lo + k);
  }
}

/** SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, with m counted from lo. */
function subproof(b: PlanBuilder, m: number, lo: number, hi: number, whole: boolean): void {
  const n = hi - lo;
  if (m === n) {
    if (!whole) b.range(lo, hi);
    return;
  }
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) {
    subproof(b, m, lo, lo + k, whole);
    b.range(lo + k, hi);
  } else {
    subproof(b, m - k, lo + k, hi, false);
    b.range(lo, lo + k);
  }
}

// ---- verification: every argument is attacker-controlled ----

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}

function isHashList(proof: unknown, max: number): proof is readonly Uint8Array[] {
  if (!Array.isArray(proof) || proof.length > max) return false;
  for (const h of proof as unknown[]) if (!isHash(h)) return false;
  return true;
}

function odd(x: number): boolean {
  return x % 2 === 1;
}

/** Inclusion proof length for (index, size): inner levels plus border levels (RFC 9162 §2.1.3). */
function inclusionLength(index: number, size: number): number {
  const inner = bitLength(xor(index, size - 1));
  return inner + popCount(shiftRight(index, inner));
}

/**
 * The root that an inclusion proof implies, by RFC 9162 §2.1.3.2, or undefined if the proof is
 * malformed for this index and size. Use `verifyInclusion` unless you need the root itself.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!isIndex(index) || !isIndex(size) || index >= size) return undefined;
  if (!isHash(leaf) || !isHashList(proof, MAX_PROOF_LENGTH)) return undefined;
  if (proof.length !== inclusionLength(index, size)) return undefined;
  // §2.1.3.2 steps 2-5.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = shiftRight(fn, 1);
          sn = shiftRight(sn, 1);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = shiftRight(fn, 1);
    sn = shiftRight(sn, 1);
  }
  return sn === 0 ? r : undefined;
}

/** True iff `proof` shows that `leaf` (a leaf hash) is leaf `index` of the tree `root` of `size`. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(root)) return false;
  const r = rootFromInclusionProof(index, size, leaf, proof);
  return r !== undefined && equalBytes(r, root);
}

/**
 * True iff `proof` shows that the tree `root2` of size `n` extends the tree `root1` of size `m`
 * (RFC 9162 §2.1.4.2). m == n needs an empty proof and equal roots; m == 0 never verifies.
 */
export function verifyConsistency(
  m: number,
  n: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isIndex(m) || !isIndex(n) || m === 0 || m > n) return false;
  if (!isHash(root1) || !isHash(root2) || !isHashList(proof, MAX_PROOF_LENGTH)) return false;
  if (m === n) return proof.length === 0 && equalBytes(root1, root2);
  // §2.1.4.2 step 1: an empty path fails.
  if (proof.length === 0) return false;
  // Step 2: if m is an exact power of 2, prepend first_hash to the path.
  const path = popCount(m) === 1 ? [root1, ...proof] : proof;
  // Step 3-4.
  let fn = m - 1;
  let sn = n - 1;
  while (odd(fn)) {
    fn = shiftRight(fn, 1);
    sn = shiftRight(sn, 1);
  }
  const first = at(path, 0);
  let fr = first;
  let sr = first;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = at(path, i);
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = shiftRight(fn, 1);
          sn = shiftRight(sn, 1);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = shiftRight(fn, 1);
    sn = shiftRight(sn, 1);
  }
  // Step 7.
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}

/**
 * MTH of the first `size` leaves from stored perfect subtrees (a past tree head, e.g. to answer
 * a witness that is behind): the fold of the popCount(size) nodes the size decomposes into.
 */
export function rootAt(node: NodeReader, size: number): Uint8Array {
  if (!isIndex(size)) throw new RangeError("size must be a safe non-negative integer");
  if (size === 0) return new Uint8Array(EMPTY_ROOT);
  const b = new PlanBuilder();
  b.range(0, size);
  const plan = b.done();
  const [root] = assembleProof(
    plan,
    plan.nodes.map((id) => node(id.level, id.index)),
  );
  if (root === undefined) throw new Error("unreachable: a non-empty range folds to one hash");
  return root;
}
