/**
 * Properties of RFC 9162 proofs over trees of up to 4096 synthetic leaves: every inclusion and
 * consistency proof generated from stored subtree hashes verifies (exhaustively up to 160 leaves,
 * sampled beyond), and any single-bit change in a proof element, a root, a leaf hash, an index or
 * the old size makes verification fail. The new size is the exception RFC 9162 implies: a proof
 * does not bind it (the signed checkpoint does), so a changed size verifies exactly when the
 * verifier's hashing path is the same at both sizes; the property says so precisely.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CompactTree,
  MemoryTree,
  assembleProof,
  consistencyPlan,
  consistencyProof,
  inclusionPlan,
  inclusionProof,
  merkleTreeHash,
  rootAt,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "../../src/tlog/index.js";
import { flipBit, syntheticLeaves } from "./helpers.js";

const N = 4096;
const EXHAUSTIVE = 160;
let leaves: Uint8Array[] = [];
let tree: MemoryTree;
let roots: Uint8Array[] = [];

beforeAll(() => {
  leaves = syntheticLeaves(N);
  tree = new MemoryTree();
  roots = [tree.root()];
  for (const l of leaves) {
    tree.append(l);
    roots.push(tree.root());
  }
});

const leafAt = (i: number): Uint8Array => leaves[i]!;
const rootOf = (n: number): Uint8Array => roots[n]!;

/** The sequence of hash operations RFC 9162 §2.1.3.2 performs: its "shape" for (index, size). */
function inclusionShape(index: number, size: number, length: number): string | undefined {
  let fn = index;
  let sn = size - 1;
  let shape = "";
  for (let k = 0; k < length; k++) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      shape += "L";
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      shape += "R";
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? shape : undefined;
}

/** The same for §2.1.4.2 (consistency), with m fixed and the path length given. */
function consistencyShape(m: number, n: number, pathLength: number): string | undefined {
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let shape = "";
  for (let k = 1; k < pathLength; k++) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      shape += "B";
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      shape += "S";
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? shape : undefined;
}

const sizeAndIndex = fc
  .integer({ min: 1, max: N })
  .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));
const twoSizes = fc
  .integer({ min: 1, max: N })
  .chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));

describe("inclusion proofs (RFC 9162 §2.1.3)", () => {
  it(`verify for every leaf of every tree up to ${String(EXHAUSTIVE)} leaves`, () => {
    for (let n = 1; n <= EXHAUSTIVE; n++) {
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree.node, i, n);
        if (!verifyInclusion(i, n, leafAt(i), proof, rootOf(n))) {
          expect.fail(`leaf ${String(i)} at size ${String(n)} does not verify`);
        }
      }
    }
  });

  it("verify up to 4096 leaves, and the plan/assemble path gives the same proof", () => {
    fc.assert(
      fc.property(sizeAndIndex, ([n, i]) => {
        const proof = inclusionProof(tree.node, i, n);
        expect(verifyInclusion(i, n, leafAt(i), proof, rootOf(n)), "proof verifies").toBe(true);
        const plan = inclusionPlan(i, n);
        const again = assembleProof(
          plan,
          plan.nodes.map((id) => tree.node(id.level, id.index)),
        );
        expect(again, "plan + assemble").toEqual(proof);
        expect(plan.groups.filter((g) => g > 1).length, "at most one folded element").toBeLessThan(
          2,
        );
        expect(rootAt(tree.node, n), "root from stored nodes").toEqual(rootOf(n));
      }),
      { numRuns: 400 },
    );
  });

  it("fail for any single-bit change in a proof element, the root, the leaf or the index", () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.nat(255), ([n, i], pick, bit) => {
        const proof = inclusionProof(tree.node, i, n);
        const leaf = leafAt(i);
        const root = rootOf(n);
        if (proof.length > 0) {
          const j = pick % proof.length;
          const bad = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
          expect(verifyInclusion(i, n, leaf, bad, root), "proof element bit").toBe(false);
          expect(verifyInclusion(i, n, leaf, proof.slice(1), root), "element removed").toBe(false);
        }
        expect(verifyInclusion(i, n, leaf, [...proof, leaf], root), "element added").toBe(false);
        expect(verifyInclusion(i, n, leaf, proof, flipBit(root, bit)), "root bit").toBe(false);
        expect(verifyInclusion(i, n, flipBit(leaf, bit), proof, root), "leaf bit").toBe(false);
        const i2 = i ^ (1 << (pick % 13));
        expect(verifyInclusion(i2, n, leaf, proof, root), "index bit").toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it("verify at a changed size exactly when the verifier's hashing path is the same", () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(13), ([n, i], bit) => {
        const proof = inclusionProof(tree.node, i, n);
        const n2 = n ^ (1 << bit);
        const same =
          i < n2 &&
          inclusionShape(i, n2, proof.length) !== undefined &&
          inclusionShape(i, n2, proof.length) === inclusionShape(i, n, proof.length);
        const ok = verifyInclusion(i, n2, leafAt(i), proof, rootOf(n));
        expect(ok, "changed size verifies iff same path").toBe(same);
        if (n2 >= 1 && n2 <= N && i < n2) {
          expect(verifyInclusion(i, n2, leafAt(i), proof, rootOf(n2)), "against its own root").toBe(
            same && n2 === n,
          );
        }
      }),
      { numRuns: 400 },
    );
  });

  it("refuse attacker-shaped arguments without throwing", () => {
    const proof = inclusionProof(tree.node, 3, 10);
    const root = rootOf(10);
    const leaf = leafAt(3);
    const cases: [string, () => boolean][] = [
      ["negative index", () => verifyInclusion(-1, 10, leaf, proof, root)],
      ["index = size", () => verifyInclusion(10, 10, leaf, proof, root)],
      ["fractional index", () => verifyInclusion(3.5, 10, leaf, proof, root)],
      ["unsafe size", () => verifyInclusion(3, 2 ** 60, leaf, proof, root)],
      ["NaN size", () => verifyInclusion(3, Number.NaN, leaf, proof, root)],
      ["short leaf", () => verifyInclusion(3, 10, leaf.subarray(1), proof, root)],
      ["short root", () => verifyInclusion(3, 10, leaf, proof, root.subarray(1))],
      ["short element", () => verifyInclusion(3, 10, leaf, [proof[0]?.subarray(1) ?? leaf], root)],
      [
        "huge proof",
        () => verifyInclusion(3, 10, leaf, new Array<Uint8Array>(200).fill(leaf), root),
      ],
      ["not an array", () => verifyInclusion(3, 10, leaf, "x" as unknown as Uint8Array[], root)],
    ];
    for (const [label, run] of cases) expect(run(), label).toBe(false);
    expect(rootFromInclusionProof(3, 10, leaf, proof), "the root itself").toEqual(root);
  });
});

describe("consistency proofs (RFC 9162 §2.1.4)", () => {
  it(`verify for every pair of sizes up to ${String(EXHAUSTIVE)} leaves`, () => {
    for (let n = 1; n <= EXHAUSTIVE; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(tree.node, m, n);
        if (!verifyConsistency(m, n, rootOf(m), rootOf(n), proof)) {
          expect.fail(`${String(m)} -> ${String(n)} does not verify`);
        }
      }
    }
  });

  it("verify up to 4096 leaves, and the plan/assemble path gives the same proof", () => {
    fc.assert(
      fc.property(twoSizes, ([m, n]) => {
        const proof = consistencyProof(tree.node, m, n);
        expect(verifyConsistency(m, n, rootOf(m), rootOf(n), proof), "proof verifies").toBe(true);
        const plan = consistencyPlan(m, n);
        const again = assembleProof(
          plan,
          plan.nodes.map((id) => tree.node(id.level, id.index)),
        );
        expect(again, "plan + assemble").toEqual(proof);
      }),
      { numRuns: 400 },
    );
  });

  it("fail for any single-bit change in a proof element, either root or the old size", () => {
    fc.assert(
      fc.property(twoSizes, fc.nat(), fc.nat(255), ([m, n], pick, bit) => {
        const proof = consistencyProof(tree.node, m, n);
        const r1 = rootOf(m);
        const r2 = rootOf(n);
        if (proof.length > 0) {
          const j = pick % proof.length;
          const bad = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
          expect(verifyConsistency(m, n, r1, r2, bad), "proof element bit").toBe(false);
          expect(verifyConsistency(m, n, r1, r2, proof.slice(0, -1)), "element removed").toBe(
            false,
          );
        }
        expect(verifyConsistency(m, n, r1, r2, [...proof, r1]), "element added").toBe(false);
        expect(verifyConsistency(m, n, flipBit(r1, bit), r2, proof), "old root bit").toBe(false);
        expect(verifyConsistency(m, n, r1, flipBit(r2, bit), proof), "new root bit").toBe(false);
        const m2 = m ^ (1 << (pick % 13));
        expect(verifyConsistency(m2, n, r1, r2, proof), "old size bit").toBe(false);
        if (m < n) expect(verifyConsistency(m, n, r2, r1, proof), "roots swapped").toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it("verify at a changed new size exactly when the verifier's hashing path is the same", () => {
    fc.assert(
      fc.property(twoSizes, fc.nat(13), ([m, n], bit) => {
        const proof = consistencyProof(tree.node, m, n);
        const n2 = n ^ (1 << bit);
        const pathLength = proof.length + (m === (m & -m) ? 1 : 0);
        const shape = consistencyShape(m, n2, pathLength);
        const same =
          m < n && m < n2 && shape !== undefined && shape === consistencyShape(m, n, pathLength);
        const ok = verifyConsistency(m, n2, rootOf(m), rootOf(n), proof);
        expect(ok, "changed size verifies iff same path").toBe(same || (m === n && m === n2));
      }),
      { numRuns: 400 },
    );
  });

  it("refuse the empty tree, a shrinking tree and mismatched equal sizes", () => {
    const r = rootOf(5);
    expect(verifyConsistency(0, 5, rootOf(0), r, []), "from the empty tree").toBe(false);
    expect(verifyConsistency(5, 4, r, rootOf(4), []), "shrinking").toBe(false);
    expect(verifyConsistency(5, 5, r, r, []), "same tree").toBe(true);
    expect(verifyConsistency(5, 5, r, rootOf(4), []), "same size, other root").toBe(false);
    expect(verifyConsistency(5, 5, r, r, [r]), "same size, non-empty proof").toBe(false);
  });
});

describe("incremental tree", () => {
  it("has the recursive Merkle Tree Hash as its root at every size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 300 }),
        (ls) => {
          const t = new CompactTree();
          ls.forEach((l, k) => {
            t.append(l);
            if (k % 17 === 0 || k === ls.length - 1) {
              expect(t.root(), `root at ${String(k + 1)}`).toEqual(
                merkleTreeHash(ls.slice(0, k + 1)),
              );
            }
          });
          expect(t.root(), "final root").toEqual(merkleTreeHash(ls));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("continues from a restored frontier as if never stopped", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 200 }), (a, b) => {
        const t = new CompactTree();
        for (const l of leaves.slice(0, a)) t.append(l);
        const r = CompactTree.restore(t.size, t.frontier());
        for (const l of leaves.slice(a, a + b)) r.append(l);
        expect(r.root(), "restored then appended").toEqual(rootOf(a + b));
        expect(r.size, "size").toBe(a + b);
      }),
      { numRuns: 100 },
    );
  });

  it("reports every perfect subtree once, as the node reader serves it", () => {
    const seen = new Map<string, Uint8Array>();
    const t = new CompactTree();
    for (const l of leaves.slice(0, 300)) {
      t.append(l, (level, index, hash) => {
        const k = `${String(level)}/${String(index)}`;
        expect(seen.has(k), `node ${k} reported once`).toBe(false);
        seen.set(k, hash);
      });
    }
    let perfect = 0;
    for (let level = 0; 2 ** level <= 300; level++) perfect += Math.floor(300 / 2 ** level);
    expect(seen.size, "one report per perfect subtree").toBe(perfect);
    for (const [k, h] of seen) {
      const [level = 0, index = 0] = k.split("/").map(Number);
      expect(h, k).toEqual(tree.node(level, index));
    }
  });

  it("refuses a frontier of the wrong shape", () => {
    expect(() => CompactTree.restore(3, [leafAt(0)])).toThrow(RangeError);
    expect(() => CompactTree.restore(1, [leafAt(0).subarray(1)])).toThrow(RangeError);
    expect(() => {
      new CompactTree().append(new Uint8Array(31));
    }).toThrow(RangeError);
    expect(() => tree.node(0, N)).toThrow(RangeError);
    expect(() => inclusionPlan(5, 5)).toThrow(RangeError);
    expect(() => consistencyPlan(0, 5)).toThrow(RangeError);
    const plan = inclusionPlan(3, 10);
    expect(() => assembleProof(plan, []), "missing hashes").toThrow(RangeError);
    const short = plan.nodes.map(() => new Uint8Array(31));
    expect(() => assembleProof(plan, short), "short hashes").toThrow(RangeError);
  });
});
