/**
 * RFC 9497 Appendix A.1 (ristretto255-SHA512): every OPRF, VOPRF and POPRF vector replays
 * byte for byte on the libsodium implementation, with the RFC's blinds and proof nonces, on each
 * backend (libsodium.js wasm, and the native addon when it is built: see backends.ts); the
 * `@noble/curves` oracle derives the same keys and outputs from the same data.
 */
import { ristretto255_oprf } from "@noble/curves/ed25519.js";
import { beforeAll, describe, expect, it } from "vitest";
import { oprfSuiteOf, type OprfSuite } from "../../src/crypto/oprf/index.js";
import { BACKEND_NAMES, backendGroup } from "./backends.js";
import { hex, readVector, toHex, nobleEvaluate } from "./helpers.js";

interface VectorTest {
  name: string;
  batchSize: number;
  input: string[];
  info?: string;
  blind: string[];
  blindedElement: string[];
  evaluationElement: string[];
  proof?: string;
  proofRandomScalar?: string;
  output: string[];
}
interface VectorMode {
  section: string;
  seed: string;
  keyInfo: string;
  skSm: string;
  pkSm?: string;
  tests: VectorTest[];
}
interface Vectors {
  source: string;
  suite: string;
  modes: { oprf: VectorMode; voprf: VectorMode; poprf: VectorMode };
}

const v = readVector("rfc9497-ristretto255-sha512.json") as Vectors;
const hexes = (list: string[]): Uint8Array[] => list.map(hex);

describe("spec/vectors/rfc9497-ristretto255-sha512.json", () => {
  it("cites RFC 9497 appendix A.1 and holds all three modes", () => {
    expect(v.source).toContain("RFC 9497");
    expect(v.suite).toBe("ristretto255-SHA512");
    expect(Object.keys(v.modes).sort()).toEqual(["oprf", "poprf", "voprf"]);
    for (const mode of Object.values(v.modes))
      expect(mode.tests.length).toBe(mode === v.modes.oprf ? 2 : 3);
  });
});

describe.each(BACKEND_NAMES)("on the %s backend", (backend) => {
  let suite: OprfSuite;

  beforeAll(async () => {
    suite = oprfSuiteOf(await backendGroup(backend));
  });

  describe(`RFC 9497 ${v.modes.oprf.section}: OPRF mode`, () => {
    const m = v.modes.oprf;
    it("derives skSm from the seed and key info", () => {
      const keys = suite.oprf.deriveKeyPair(hex(m.seed), hex(m.keyInfo));
      expect(toHex(keys.secretKey)).toBe(m.skSm);
      expect(
        toHex(ristretto255_oprf.oprf.deriveKeyPair(hex(m.seed), hex(m.keyInfo)).secretKey),
      ).toBe(m.skSm);
    });
    for (const t of m.tests) {
      it(`replays ${t.name}`, () => {
        const sk = hex(m.skSm);
        const blinded = t.input.map((input, i) =>
          suite.oprf.blind(hex(input), { blind: hex(t.blind[i] ?? "") }),
        );
        expect(blinded.map((b) => toHex(b.blindedElement))).toEqual(t.blindedElement);
        const evaluated = suite.oprf.blindEvaluate(sk, hexes(t.blindedElement));
        expect(evaluated.map(toHex)).toEqual(t.evaluationElement);
        const outputs = suite.oprf.finalize(
          hexes(t.input),
          hexes(t.blind),
          hexes(t.evaluationElement),
        );
        expect(outputs.map(toHex)).toEqual(t.output);
        t.input.forEach((input, i) => {
          expect(toHex(suite.oprf.evaluate(sk, hex(input))), "evaluate").toBe(t.output[i]);
          expect(toHex(nobleEvaluate(ristretto255_oprf.oprf)(sk, hex(input))), "noble").toBe(
            t.output[i],
          );
        });
      });
    }
  });

  describe(`RFC 9497 ${v.modes.voprf.section}: VOPRF mode`, () => {
    const m = v.modes.voprf;
    it("derives skSm and pkSm from the seed and key info", () => {
      const keys = suite.voprf.deriveKeyPair(hex(m.seed), hex(m.keyInfo));
      expect(toHex(keys.secretKey)).toBe(m.skSm);
      expect(toHex(keys.publicKey)).toBe(m.pkSm);
      expect(
        toHex(ristretto255_oprf.voprf.deriveKeyPair(hex(m.seed), hex(m.keyInfo)).publicKey),
      ).toBe(m.pkSm);
    });
    for (const t of m.tests) {
      it(`replays ${t.name} with its proof`, () => {
        const sk = hex(m.skSm);
        const pk = hex(m.pkSm ?? "");
        const blinded = t.input.map((input, i) =>
          suite.voprf.blind(hex(input), { blind: hex(t.blind[i] ?? "") }),
        );
        expect(blinded.map((b) => toHex(b.blindedElement))).toEqual(t.blindedElement);
        const evaluation = suite.voprf.blindEvaluate(sk, pk, hexes(t.blindedElement), {
          proofScalar: hex(t.proofRandomScalar ?? ""),
        });
        expect(evaluation.evaluatedElements.map(toHex)).toEqual(t.evaluationElement);
        expect(toHex(evaluation.proof)).toBe(t.proof);
        const outputs = suite.voprf.finalize(
          hexes(t.input),
          hexes(t.blind),
          hexes(t.evaluationElement),
          hexes(t.blindedElement),
          pk,
          hex(t.proof ?? ""),
        );
        expect(outputs.map(toHex)).toEqual(t.output);
        t.input.forEach((input, i) => {
          expect(toHex(suite.voprf.evaluate(sk, hex(input))), "evaluate").toBe(t.output[i]);
          expect(toHex(nobleEvaluate(ristretto255_oprf.voprf)(sk, hex(input))), "noble").toBe(
            t.output[i],
          );
        });
      });
    }
  });

  describe(`RFC 9497 ${v.modes.poprf.section}: POPRF mode`, () => {
    const m = v.modes.poprf;
    it("derives skSm and pkSm from the seed and key info", () => {
      const keys = suite.poprf.deriveKeyPair(hex(m.seed), hex(m.keyInfo));
      expect(toHex(keys.secretKey)).toBe(m.skSm);
      expect(toHex(keys.publicKey)).toBe(m.pkSm);
    });
    for (const t of m.tests) {
      it(`replays ${t.name} with its proof`, () => {
        const sk = hex(m.skSm);
        const pk = hex(m.pkSm ?? "");
        const info = hex(t.info ?? "");
        const blinded = t.input.map((input, i) =>
          suite.poprf.blind(hex(input), info, pk, { blind: hex(t.blind[i] ?? "") }),
        );
        expect(blinded.map((b) => toHex(b.blindedElement))).toEqual(t.blindedElement);
        const evaluation = suite.poprf.blindEvaluate(sk, hexes(t.blindedElement), info, {
          proofScalar: hex(t.proofRandomScalar ?? ""),
        });
        expect(evaluation.evaluatedElements.map(toHex)).toEqual(t.evaluationElement);
        expect(toHex(evaluation.proof)).toBe(t.proof);
        const tweakedKey = blinded[0]?.tweakedKey ?? new Uint8Array();
        const outputs = suite.poprf.finalize(
          hexes(t.input),
          hexes(t.blind),
          hexes(t.evaluationElement),
          hexes(t.blindedElement),
          hex(t.proof ?? ""),
          info,
          tweakedKey,
        );
        expect(outputs.map(toHex)).toEqual(t.output);
        t.input.forEach((input, i) => {
          expect(toHex(suite.poprf.evaluate(sk, hex(input), info)), "evaluate").toBe(t.output[i]);
          expect(toHex(ristretto255_oprf.poprf(info).evaluate(sk, hex(input))), "noble").toBe(
            t.output[i],
          );
        });
      });
    }
  });
});
