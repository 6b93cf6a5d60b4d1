/**
 * The batch paths against the single-element ones: batched and single POPRF evaluation agree
 * (elements, outputs, proofs that verify here and in the @noble/curves oracle); the direct
 * libsodium calls give the same bytes as the wrapper calls; packed PSI helpers agree with the
 * list forms. Timing is never asserted (bench/match.ts measures it).
 */
import { ristretto255_oprf } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import {
  createPoprfServer,
  loadGroup,
  loadOprfSuite,
  type OprfSuite,
  type Ristretto255,
} from "../../src/crypto/oprf/index.js";
import { Ristretto255 as Group, loadSodium } from "../../src/crypto/oprf/group.js";
import {
  createPsiParty,
  intersect,
  intersectPacked,
  packElements,
  psiDst,
  psiHashAndMultiply,
  psiMultiplyPeer,
  shufflePacked,
  unpackElements,
} from "../../src/core/match/index.js";
import { toHex, utf8 } from "./helpers.js";

let suite: OprfSuite;
let g: Ristretto255;
let wrapped: Ristretto255;

beforeAll(async () => {
  suite = await loadOprfSuite();
  g = await loadGroup();
  wrapped = new Group(await loadSodium(), { direct: false });
});

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const hexes = (list: readonly Uint8Array[]) => list.map(toHex);

function randomElements(n: number): Uint8Array {
  const packed = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++)
    packed.set(g.hashToGroup(Uint8Array.of(i, n & 0xff), utf8("t")), i * 32);
  return packed;
}

describe("batched and single POPRF evaluation", () => {
  it("agree element by element, and both finalize to the server's Evaluate", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(bytes(40), { minLength: 1, maxLength: 9 }),
        bytes(30),
        async (inputs, info) => {
          const keys = suite.poprf.generateKeyPair();
          const server = await createPoprfServer(keys.secretKey);
          const blinded = inputs.map((x) => suite.poprf.blind(x, info, keys.publicKey));
          const elements = blinded.map((b) => b.blindedElement);
          const tweakedKey = blinded[0]?.tweakedKey ?? new Uint8Array();
          const batch = server.blindEvaluate(elements, info);
          const singles = elements.map((e) => server.blindEvaluate([e], info));
          expect(hexes(batch.evaluatedElements), "batched = single, per element").toEqual(
            singles.map((s) => toHex(s.evaluatedElements[0] ?? new Uint8Array())),
          );
          const fromBatch = suite.poprf.finalize(
            inputs,
            blinded.map((b) => b.blind),
            batch.evaluatedElements,
            elements,
            batch.proof,
            info,
            tweakedKey,
          );
          const fromSingles = singles.map((s, i) =>
            toHex(
              suite.poprf.finalize(
                [inputs[i] ?? new Uint8Array()],
                [blinded[i]?.blind ?? new Uint8Array()],
                s.evaluatedElements,
                [elements[i] ?? new Uint8Array()],
                s.proof,
                info,
                tweakedKey,
              )[0] ?? new Uint8Array(),
            ),
          );
          expect(hexes(fromBatch), "outputs from one batched proof").toEqual(fromSingles);
          expect(fromSingles).toEqual(inputs.map((x) => toHex(server.evaluate(x, info))));
        },
      ),
      { numRuns: 15 },
    );
  });

  it("produces a batched proof the @noble/curves oracle verifies", () => {
    fc.assert(
      fc.property(
        fc.array(bytes(24), { minLength: 2, maxLength: 6 }),
        bytes(20),
        (inputs, info) => {
          const noble = ristretto255_oprf.poprf(info);
          const keys = noble.generateKeyPair();
          const blinded = inputs.map((x) => noble.blind(x, keys.publicKey));
          const ours = suite.poprf.blindEvaluate(
            keys.secretKey,
            blinded.map((b) => b.blinded),
            info,
          );
          const outputs = noble.finalizeBatch(
            blinded.map((b, i) => ({
              input: inputs[i] ?? new Uint8Array(),
              blind: b.blind,
              evaluated: ours.evaluatedElements[i] ?? new Uint8Array(),
              blinded: b.blinded,
            })),
            ours.proof,
            blinded[0]?.tweakedKey ?? new Uint8Array(),
          );
          expect(hexes(outputs)).toEqual(
            inputs.map((x) => toHex(noble.evaluate(keys.secretKey, x))),
          );
        },
      ),
      { numRuns: 10 },
    );
  });

  it("evaluateMany gives evaluate's outputs, in order", async () => {
    const keys = suite.poprf.generateKeyPair();
    const server = await createPoprfServer(keys.secretKey);
    const info = utf8("agreement-7");
    const inputs = Array.from({ length: 20 }, (_, i) => utf8(`id-${String(i)}`));
    expect(hexes(server.evaluateMany(inputs, info))).toEqual(
      inputs.map((x) => toHex(server.evaluate(x, info))),
    );
    expect(server.evaluateMany([], info)).toEqual([]);
  });

  it("agree in OPRF and VOPRF modes too", () => {
    const keys = suite.voprf.generateKeyPair();
    const elements = Array.from(
      { length: 5 },
      (_, i) => suite.voprf.blind(Uint8Array.of(i)).blindedElement,
    );
    const batch = suite.voprf.blindEvaluate(keys.secretKey, keys.publicKey, elements);
    const oprfBatch = suite.oprf.blindEvaluate(keys.secretKey, elements);
    elements.forEach((e, i) => {
      const single = toHex(
        suite.voprf.blindEvaluate(keys.secretKey, keys.publicKey, [e]).evaluatedElements[0] ??
          new Uint8Array(),
      );
      expect(toHex(batch.evaluatedElements[i] ?? new Uint8Array())).toBe(single);
      expect(toHex(oprfBatch[i] ?? new Uint8Array())).toBe(single);
    });
  });

  it("refuses a batch with one malformed element, naming no bytes", () => {
    const keys = suite.poprf.generateKeyPair();
    const info = utf8("i");
    const good = suite.poprf.blind(utf8("x"), info, keys.publicKey).blindedElement;
    for (const bad of [new Uint8Array(32), new Uint8Array(32).fill(0xff), good.slice(1)]) {
      let error: unknown;
      try {
        suite.poprf.blindEvaluate(keys.secretKey, [good, good, bad], info);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AccordError);
      expect((error as AccordError).code).toBe("ERR_MALFORMED_INPUT");
      expect((error as AccordError).message).not.toContain(toHex(bad).slice(0, 16) || "-");
    }
  });
});

describe("direct libsodium calls against the wrapper", () => {
  it("the group under test uses the direct path", () => {
    expect(g.direct).toBe(true);
    expect(wrapped.direct).toBe(false);
  });

  it("multMany, linearCombinationMany and firstInvalid give the wrapper's bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), (n) => {
        const k = g.randomScalar();
        const points = randomElements(n);
        const scalars = new Uint8Array(n * 32);
        for (let i = 0; i < n; i++) scalars.set(g.randomScalar(), i * 32);
        expect(toHex(g.multMany(k, points))).toBe(toHex(wrapped.multMany(k, points)));
        const perElement = unpackElements(points).map((p) => toHex(g.mult(k, p)));
        expect(hexes(unpackElements(g.multMany(k, points)))).toEqual(perElement);
        expect(toHex(g.linearCombinationMany(scalars, points))).toBe(
          toHex(wrapped.linearCombinationMany(scalars, points)),
        );
        expect(g.firstInvalid(points)).toBe(-1);
        const broken = points.slice();
        const at = n - 1;
        broken.fill(0xff, at * 32, at * 32 + 32);
        expect(g.firstInvalid(broken)).toBe(at);
        expect(wrapped.firstInvalid(broken)).toBe(at);
        broken.fill(0, at * 32, at * 32 + 32);
        expect(g.firstInvalid(broken), "the identity is refused").toBe(at);
      }),
      { numRuns: 10 },
    );
  });

  it("hashToGroupMany and hashToScalarMany give the single-element bytes", () => {
    fc.assert(
      fc.property(
        fc.array(bytes(100), { minLength: 0, maxLength: 10 }),
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        (msgs, dst) => {
          const k = g.randomScalar();
          const single = msgs.map((m) => toHex(g.hashToGroup(m, dst)));
          expect(hexes(unpackElements(g.hashToGroupMany(msgs, dst)))).toEqual(single);
          expect(toHex(wrapped.hashToGroupMany(msgs, dst))).toBe(
            toHex(g.hashToGroupMany(msgs, dst)),
          );
          expect(hexes(unpackElements(g.hashToGroupMany(msgs, dst, k)))).toEqual(
            msgs.map((m) => toHex(g.mult(k, g.hashToGroup(m, dst)))),
          );
          const scalars = g.hashToScalarMany(msgs, dst);
          expect(hexes(unpackElements(scalars))).toEqual(
            msgs.map((m) => toHex(g.hashToScalar(m, dst))),
          );
          expect(toHex(wrapped.hashToScalarMany(msgs, dst))).toBe(toHex(scalars));
        },
      ),
      { numRuns: 20 },
    );
  });

  it("multManyOrIndex fails exactly where firstInvalid does, for any corruption", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 })), {
          maxLength: 3,
        }),
        (n, corruptions) => {
          const k = g.randomScalar();
          const points = randomElements(n);
          for (const [at, junk] of corruptions) points.set(junk, (at % n) * 32);
          const bad = g.firstInvalid(points);
          const out = g.multManyOrIndex(k, points);
          expect(typeof out === "number" ? out : -1).toBe(bad);
          expect(wrapped.multManyOrIndex(k, points)).toEqual(out);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("handles batches longer than one pass through wasm memory (1,024 elements)", () => {
    const n = 1030;
    const k = g.randomScalar();
    const points = randomElements(n);
    const many = g.multMany(k, points);
    for (const i of [0, 1023, 1024, 1029]) {
      expect(toHex(many.subarray(i * 32, i * 32 + 32)), `element ${String(i)}`).toBe(
        toHex(g.mult(k, points.subarray(i * 32, i * 32 + 32))),
      );
    }
    const broken = points.slice();
    broken.fill(0, 1027 * 32, 1028 * 32);
    expect(g.firstInvalid(broken)).toBe(1027);
  });

  it("draws random scalars that are canonical, non-zero and distinct", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = g.randomScalar();
      expect(g.isCanonicalScalar(s) && !g.isZeroScalar(s)).toBe(true);
      seen.add(toHex(s));
    }
    expect(seen.size).toBe(200);
  });
});

describe("packed PSI helpers", () => {
  it("hash-and-multiply and multiply-peer match createPsiParty for the same key", async () => {
    const key = g.randomScalar();
    const party = await createPsiParty({ context: "ctx", secretKey: key });
    const inputs = ["a", "b", "c", ""].map(utf8);
    const packed = psiHashAndMultiply(g, key, psiDst("ctx"), inputs);
    expect(hexes(unpackElements(packed))).toEqual(hexes(party.blind(inputs)));
    expect(hexes(unpackElements(psiMultiplyPeer(g, key, packed)))).toEqual(
      hexes(party.exponentiate(unpackElements(packed))),
    );
  });

  it("names the position of a malformed peer element", () => {
    const key = g.randomScalar();
    const packed = randomElements(4);
    packed.fill(0xff, 64, 96);
    let error: unknown;
    try {
      psiMultiplyPeer(g, key, packed, 100);
    } catch (e) {
      error = e;
    }
    expect((error as AccordError).code).toBe("ERR_MALFORMED_INPUT");
    expect((error as AccordError).message).toContain("position 102");
    expect(() => packElements([new Uint8Array(32), "x"])).toThrow(/position 1/);
  });

  it("intersectPacked agrees with intersect, duplicates included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }),
        (own, peer) => {
          const element = (i: number) => g.hashToGroup(Uint8Array.of(i), utf8("x"));
          const ownList = own.map(element);
          const peerList = peer.map(element);
          expect(intersectPacked(packElements(ownList), packElements(peerList))).toEqual(
            intersect(ownList, peerList),
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it("shufflePacked permutes whole records", () => {
    const packed = randomElements(50);
    const before = hexes(unpackElements(packed)).sort();
    const shuffled = shufflePacked(packed.slice());
    expect(hexes(unpackElements(shuffled)).sort()).toEqual(before);
    expect(toHex(shuffled)).not.toBe(toHex(packed));
  });
});
