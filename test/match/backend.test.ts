/**
 * The two ristretto255 backends (spec/match.md §performance): the native addon over the system's
 * libsodium gives byte-identical results to libsodium.js (wasm) on random inputs, for every
 * operation matching and PSI use, with `@noble/curves` as the oracle of the outputs; elements a
 * peer could send (random corruptions, the top bit of RFC 9496 §4.3.1 that libsodium 1.0.18
 * ignores, the identity) are refused at the same positions by both; and the backend choice falls
 * back to wasm when the addon is absent, or fails loudly when native is required.
 */
import { ristretto255_oprf } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backendChoice,
  createPoprfServer,
  loadGroup,
  oprfSuiteOf,
  useRistrettoBackend,
  type Ristretto255,
} from "../../src/crypto/oprf/index.js";
import { nativeFor } from "../../src/crypto/oprf/native.js";
import { psiDst, psiHashAndMultiply, psiMultiplyPeer } from "../../src/core/match/psi.js";
import { backendGroup, nativeAddon } from "./backends.js";
import { toHex } from "./helpers.js";

let wasm: Ristretto255;

beforeAll(async () => {
  wasm = await backendGroup("wasm");
});

describe("backend choice", () => {
  afterAll(() => {
    useRistrettoBackend("auto");
  });

  it("parses ACCORD_RISTRETTO_BACKEND and names a wrong value", () => {
    expect(backendChoice(undefined)).toBe("auto");
    expect(backendChoice("")).toBe("auto");
    expect(backendChoice("native")).toBe("native");
    expect(backendChoice("wasm")).toBe("wasm");
    expect(() => backendChoice("fast")).toThrow(/ACCORD_RISTRETTO_BACKEND.*"fast"/);
  });

  it("runs on wasm when asked, and on native when asked only if the addon is built", async () => {
    useRistrettoBackend("wasm");
    expect((await loadGroup()).backend).toMatch(/^wasm \(libsodium\.js/);
    expect(nativeFor("wasm")).toBeUndefined();
    useRistrettoBackend("native");
    if (nativeAddon === undefined) {
      // Without the addon (no libsodium headers at install), native is refused, auto is wasm.
      await expect(loadGroup()).rejects.toThrow(/ACCORD_RISTRETTO_BACKEND=native but/);
      useRistrettoBackend("auto");
      expect((await loadGroup()).backend).toMatch(/^wasm/);
    } else {
      expect((await loadGroup()).backend).toMatch(/^native \(system libsodium \d/);
      useRistrettoBackend("auto");
      expect((await loadGroup()).backend).toMatch(/^native/);
    }
  });
});

// Without the addon there is nothing to compare: the wasm backend alone is covered by the rest
// of test/match (the RFC vectors, the oracle) and by the choice test above.
describe.skipIf(nativeAddon === undefined)("native against wasm, byte for byte", () => {
  let native: Ristretto255;
  beforeAll(async () => {
    native = await backendGroup("native");
  });
  const scalar = () => wasm.randomScalar();
  const randomElements = (n: number): Uint8Array => {
    const out = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) out.set(wasm.multGen(scalar()), i * 32);
    return out;
  };

  it("POPRF BlindEvaluate (elements and proof) and Evaluate agree, and match noble", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        fc.uint8Array({ maxLength: 30 }),
        (inputs, info) => {
          const [a, b] = [oprfSuiteOf(wasm), oprfSuiteOf(native)];
          const keys = a.poprf.generateKeyPair();
          const proofScalar = scalar();
          const blinded = inputs.map((x) => a.poprf.blind(x, info, keys.publicKey).blindedElement);
          const one = a.poprf.blindEvaluate(keys.secretKey, blinded, info, { proofScalar });
          const two = b.poprf.blindEvaluate(keys.secretKey, blinded, info, { proofScalar });
          expect(two.evaluatedElements.map(toHex)).toEqual(one.evaluatedElements.map(toHex));
          expect(toHex(two.proof)).toBe(toHex(one.proof));
          const noble = ristretto255_oprf.poprf(info);
          for (const x of inputs) {
            const out = toHex(b.poprf.evaluate(keys.secretKey, x, info));
            expect(out).toBe(toHex(a.poprf.evaluate(keys.secretKey, x, info)));
            expect(out, "noble oracle").toBe(toHex(noble.evaluate(keys.secretKey, x)));
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a client on one backend verifies and finalizes what a server on the other evaluated", async () => {
    const info = new TextEncoder().encode("agreement:a epoch:1");
    const keys = oprfSuiteOf(wasm).poprf.generateKeyPair();
    const server = await createPoprfServer(keys.secretKey, native);
    const client = oprfSuiteOf(wasm).poprf;
    const inputs = ["iban:DE89370400440532013000", "email:a@b.example"].map((s) =>
      new TextEncoder().encode(s),
    );
    const blinded = inputs.map((x) => client.blind(x, info, server.publicKey));
    const answer = server.blindEvaluate(
      blinded.map((b) => b.blindedElement),
      info,
    );
    const outputs = client.finalize(
      inputs,
      blinded.map((b) => b.blind),
      answer.evaluatedElements,
      blinded.map((b) => b.blindedElement),
      answer.proof,
      info,
      blinded[0]?.tweakedKey ?? new Uint8Array(),
    );
    expect(outputs.map(toHex)).toEqual(server.evaluateMany(inputs, info).map(toHex));
    expect(toHex(server.tweakedKey(info))).toBe(toHex(blinded[0]?.tweakedKey ?? new Uint8Array()));
  });

  it("every batch primitive agrees on random data", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 20 }),
        fc.uint8Array({ minLength: 1, maxLength: 60 }),
        (n, msgs, dst) => {
          const k = scalar();
          const points = randomElements(n);
          const scalars = new Uint8Array(n * 32);
          for (let i = 0; i < n; i++) scalars.set(scalar(), i * 32);
          const same = (f: (g: Ristretto255) => unknown) => {
            const x = f(wasm);
            const y = f(native);
            expect(y instanceof Uint8Array ? toHex(y) : y).toEqual(
              x instanceof Uint8Array ? toHex(x) : x,
            );
          };
          same((g) => g.multManyOrIndex(k, points));
          same((g) => g.mult(k, points.subarray(0, 32)));
          same((g) => g.multGen(k));
          same((g) => g.firstInvalid(points));
          same((g) => g.linearCombinationMany(scalars, points));
          same((g) => g.hashToGroupMany(msgs, dst));
          same((g) => g.hashToGroupMany(msgs, dst, k));
          same((g) => g.hashToScalarMany(msgs, dst));
          same((g) => psiHashAndMultiply(g, k, psiDst("bench"), msgs));
          same((g) => psiMultiplyPeer(g, k, points));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("refuses the same peer elements at the same positions (corruptions, top bit, identity)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.oneof(
              fc.uint8Array({ minLength: 32, maxLength: 32 }),
              fc.constant(new Uint8Array(32)),
              fc.nat({ max: 1000 }).map((seed) => {
                // A valid element with bit 255 set: non-canonical (RFC 9496 §4.3.1).
                const e = wasm.multGen(wasm.hashToScalar(Uint8Array.of(seed), Uint8Array.of(1)));
                e[31] = (e[31] ?? 0) | 0x80;
                return e;
              }),
            ),
          ),
          { maxLength: 3 },
        ),
        (n, corruptions) => {
          const k = scalar();
          const points = randomElements(n);
          for (const [at, junk] of corruptions) points.set(junk, (at % n) * 32);
          const bad = wasm.firstInvalid(points);
          expect(native.firstInvalid(points)).toBe(bad);
          const out = native.multManyOrIndex(k, points);
          expect(typeof out === "number" ? out : -1).toBe(bad);
          const expected = wasm.multManyOrIndex(k, points);
          expect(out instanceof Uint8Array ? toHex(out) : out).toEqual(
            expected instanceof Uint8Array ? toHex(expected) : expected,
          );
          if (bad >= 0) {
            const scalars = new Uint8Array(n * 32).fill(1);
            expect(() => native.linearCombinationMany(scalars, points)).toThrow(RangeError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refuses a zero scalar like wasm does", () => {
    const zero = new Uint8Array(32);
    expect(() => native.multGen(zero)).toThrow();
    expect(() => wasm.multGen(zero)).toThrow();
    const p = randomElements(1);
    expect(native.multManyOrIndex(zero, p)).toBe(0);
    expect(wasm.multManyOrIndex(zero, p)).toBe(0);
  });
});
