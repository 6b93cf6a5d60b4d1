/**
 * RFC 9162 §2.1 Merkle hashing and proofs against the transparency-dev/merkle vectors
 * (spec/vectors/tlog-rfc6962-tree.json, tlog-merkle-inclusion.json, tlog-merkle-consistency.json):
 * the 8-leaf reference tree hash by hash, its frontier at every size, reference proofs generated
 * byte for byte, and every verification probe (happy paths and the mutations that must fail).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CompactTree,
  EMPTY_ROOT,
  MemoryTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  leafHashOfText,
  merkleTreeHash,
  nodeHash,
  rootAt,
  verifyConsistency,
  verifyInclusion,
} from "../../src/tlog/index.js";
import { b64, hex, readVector, toB64, toHex } from "./helpers.js";

interface TreeFile {
  source: string;
  leafInputs: string[];
  nodeHashes: string[][];
  rootHashes: string[];
  compactTrees: string[][];
  inclusionProofs: { index: number; size: number; proof: string[] }[];
  consistencyProofs: { size1: number; size2: number; proof: string[] }[];
}

interface InclusionProbe {
  path: string;
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyProbe {
  path: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

const tree = readVector("tlog-rfc6962-tree.json") as TreeFile;
const inclusion = readVector("tlog-merkle-inclusion.json") as {
  source: string;
  vectors: InclusionProbe[];
};
const consistency = readVector("tlog-merkle-consistency.json") as {
  source: string;
  vectors: ConsistencyProbe[];
};

const leaves = tree.leafInputs.map((d) => leafHash(hex(d)));

function treeOf(n: number): MemoryTree {
  const t = new MemoryTree();
  for (const l of leaves.slice(0, n)) t.append(l);
  return t;
}

describe("RFC 9162 §2.1.1 hashing on the reference tree", () => {
  it("cites its source", () => {
    expect(tree.source).toContain("transparency-dev/merkle");
    expect(tree.source).toContain("RFC 9162");
  });

  it("hashes the empty tree to SHA-256 of nothing", () => {
    expect(toHex(EMPTY_ROOT)).toBe(tree.rootHashes[0]);
    expect(toHex(merkleTreeHash([]))).toBe(tree.rootHashes[0]);
  });

  it("hashes each leaf with the 0x00 prefix", () => {
    expect(leaves.map(toHex)).toEqual(tree.nodeHashes[0]);
  });

  it("hashes interior nodes with the 0x01 prefix", () => {
    for (let level = 1; level < tree.nodeHashes.length; level++) {
      const below = (tree.nodeHashes[level - 1] ?? []).map(hex);
      const here = (tree.nodeHashes[level] ?? []).map((_, i) =>
        toHex(nodeHash(below[2 * i]!, below[2 * i + 1]!)),
      );
      expect(here, `level ${String(level)}`).toEqual(tree.nodeHashes[level]);
    }
  });

  it.each(tree.rootHashes.map((root, size) => ({ size, root })))(
    "computes MTH at size $size recursively and incrementally",
    ({ size, root }) => {
      expect(toHex(merkleTreeHash(leaves.slice(0, size))), "recursive MTH").toBe(root);
      const t = new CompactTree();
      for (const l of leaves.slice(0, size)) t.append(l);
      expect(toHex(t.root()), "compact tree root").toBe(root);
      expect(t.frontier().map(toHex), "frontier").toEqual(tree.compactTrees[size]);
      const restored = CompactTree.restore(size, (tree.compactTrees[size] ?? []).map(hex));
      expect(toHex(restored.root()), "restored frontier root").toBe(root);
    },
  );

  it("computes the root at every past size from the stored nodes", () => {
    const t = treeOf(8);
    tree.rootHashes.forEach((root, size) => {
      expect(toHex(rootAt(t.node, size)), `size ${String(size)}`).toBe(root);
    });
  });

  it("stores every perfect subtree hash of the reference tree", () => {
    const t = treeOf(8);
    tree.nodeHashes.forEach((level, l) => {
      level.forEach((h, i) => {
        expect(toHex(t.node(l, i)), `node ${String(l)}/${String(i)}`).toBe(h);
      });
    });
  });
});

describe("leaf and node hashes against an independent SHA-256 (@noble/hashes)", () => {
  it("hash any leaf data, across the one-shot buffer size", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ minLength: 4090, maxLength: 4200 }),
        ),
        (data) => {
          const want = sha256(new Uint8Array([0x00, ...data]));
          expect(leafHash(data), `leaf of ${String(data.length)} bytes`).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("hash any text as the leaf of its UTF-8 bytes, across the one-shot buffer size", () => {
    const utf8 = new TextEncoder();
    fc.assert(
      fc.property(
        fc.oneof(
          // Any UTF-16 units, lone surrogates included (TextEncoder writes them as U+FFFD).
          fc.string({ unit: "binary", maxLength: 64 }),
          fc.string({ unit: "grapheme", minLength: 1300, maxLength: 1500 }),
          fc.string({ unit: "binary-ascii", minLength: 4090, maxLength: 4200 }),
        ),
        (text) => {
          const want = sha256(new Uint8Array([0x00, ...utf8.encode(text)]));
          expect(leafHashOfText(text), `leaf of ${String(text.length)} units`).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("hash any two children, of any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (l, r) => {
        expect(nodeHash(l, r), "node").toEqual(sha256(new Uint8Array([0x01, ...l, ...r])));
      }),
      { numRuns: 200 },
    );
  });

  it("do not alias: each hash is its own bytes", () => {
    const a = leafHash(new Uint8Array([1]));
    const b = leafHash(new Uint8Array([2]));
    const n1 = nodeHash(a, b);
    const n2 = nodeHash(b, a);
    expect(toHex(a), "first leaf kept").toBe(toHex(leafHash(new Uint8Array([1]))));
    expect(toHex(n1)).not.toBe(toHex(n2));
    expect(toHex(n1), "first node kept").toBe(toHex(nodeHash(a, b)));
  });
});

describe("RFC 9162 §2.1.3-2.1.4 proofs on the reference tree", () => {
  it.each(tree.inclusionProofs)(
    "generates the inclusion proof of leaf $index at size $size",
    (v) => {
      const t = treeOf(v.size);
      expect(inclusionProof(t.node, v.index, v.size).map(toHex)).toEqual(v.proof);
      const root = hex(tree.rootHashes[v.size] ?? "");
      const ok = verifyInclusion(v.index, v.size, leaves[v.index]!, v.proof.map(hex), root);
      expect(ok).toBe(true);
    },
  );

  it.each(tree.consistencyProofs)("generates the consistency proof $size1 -> $size2", (v) => {
    const t = treeOf(v.size2);
    expect(consistencyProof(t.node, v.size1, v.size2).map(toHex)).toEqual(v.proof);
    const ok = verifyConsistency(
      v.size1,
      v.size2,
      hex(tree.rootHashes[v.size1] ?? ""),
      hex(tree.rootHashes[v.size2] ?? ""),
      v.proof.map(hex),
    );
    expect(ok).toBe(true);
  });

  it("proves every leaf at every size of the reference tree and across every pair of sizes", () => {
    const t = treeOf(8);
    for (let n = 1; n <= 8; n++) {
      const root = hex(tree.rootHashes[n] ?? "");
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(t.node, i, n);
        expect(verifyInclusion(i, n, leaves[i]!, proof, root), `${i}@${n}`).toBe(true);
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(t.node, m, n);
        const r1 = hex(tree.rootHashes[m] ?? "");
        expect(verifyConsistency(m, n, r1, root, proof), `${m}->${n}`).toBe(true);
      }
    }
  });
});

/*
 * Departures from transparency-dev/merkle, each deliberate (spec/tlog.md §Verification): Accord
 * refuses a root that is not 32 bytes even when the sizes are equal and the roots match.
 */
const CONSISTENCY_DEPARTURES = new Map([
  [
    "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "roots of 15 bytes are not SHA-256 roots",
  ],
]);

describe("transparency-dev/merkle verification probes", () => {
  it("cites its source and holds every probe", () => {
    expect(inclusion.source).toContain("transparency-dev/merkle");
    expect(inclusion.vectors.length).toBeGreaterThan(90);
    expect(consistency.vectors.length).toBeGreaterThan(90);
    expect(inclusion.vectors.filter((v) => !v.wantErr).length).toBeGreaterThan(5);
  });

  it.each(inclusion.vectors)("inclusion $path: fails iff wantErr", (v) => {
    const ok = verifyInclusion(
      v.leafIdx,
      v.treeSize,
      b64(v.leafHash),
      (v.proof ?? []).map(b64),
      b64(v.root),
    );
    expect(ok, v.desc).toBe(!v.wantErr);
  });

  it.each(consistency.vectors)("consistency $path: fails iff wantErr", (v) => {
    const ok = verifyConsistency(
      v.size1,
      v.size2,
      b64(v.root1),
      b64(v.root2),
      (v.proof ?? []).map(b64),
    );
    const want = CONSISTENCY_DEPARTURES.has(v.path) ? false : !v.wantErr;
    expect(ok, v.desc).toBe(want);
  });

  it("generates exactly the proofs of the happy-path probes (all on the reference tree)", () => {
    const t = treeOf(8);
    const happyInclusion = inclusion.vectors.filter((v) => v.desc === "happy path");
    const happyConsistency = consistency.vectors.filter((v) => v.desc === "happy path");
    expect(happyInclusion.length + happyConsistency.length).toBeGreaterThan(8);
    for (const v of happyInclusion) {
      expect(toHex(rootAt(t.node, v.treeSize)), `${v.path} root`).toBe(toHex(b64(v.root)));
      const proof = inclusionProof(t.node, v.leafIdx, v.treeSize).map((p) => toB64(p));
      expect(proof, v.path).toEqual(v.proof ?? []);
    }
    for (const v of happyConsistency) {
      if (v.size1 === 0) continue; // nothing to generate from the empty tree
      const proof = consistencyProof(t.node, v.size1, v.size2).map((p) => toB64(p));
      expect(proof, v.path).toEqual(v.proof ?? []);
    }
  });

  it("lists only departures that are probes expected to pass", () => {
    for (const path of CONSISTENCY_DEPARTURES.keys()) {
      const v = consistency.vectors.find((p) => p.path === path);
      expect(v?.wantErr, path).toBe(false);
    }
  });
});
