/**
 * The libsodium OPRF against the `@noble/curves` oracle on random inputs (byte-identical outputs
 * and interoperable proofs in both directions), the cached POPRF server, and the refusals: a bad
 * or crafted proof, a wrong key, wrong public info, malformed or identity elements from the peer,
 * wrong lengths and batch sizes.
 */
import { ristretto255_hasher, ristretto255_oprf } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import {
  PROOF_BYTES,
  createPoprfServer,
  loadGroup,
  loadOprfSuite,
  type OprfSuite,
  type Ristretto255,
} from "../../src/crypto/oprf/index.js";
import { toHex, utf8, nobleEvaluate } from "./helpers.js";

let suite: OprfSuite;
let g: Ristretto255;

beforeAll(async () => {
  suite = await loadOprfSuite();
  g = await loadGroup();
});

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof AccordError) return e.code;
    if (e instanceof Error) return e.name;
    return "non-error";
  }
  return "no error";
}

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });

describe("POPRF against the @noble/curves oracle", () => {
  it("hashes to the same group elements and scalars as RFC 9380 in noble", () => {
    fc.assert(
      fc.property(bytes(80), fc.uint8Array({ minLength: 1, maxLength: 60 }), (msg, dst) => {
        const ours = g.hashToGroup(msg, dst);
        const theirs = ristretto255_hasher.hashToCurve(msg, { DST: dst }).toBytes();
        expect(toHex(ours), "hashToGroup").toBe(toHex(theirs));
        const scalar = ristretto255_hasher.hashToScalar(msg, { DST: dst });
        const le = Buffer.from(scalar.toString(16).padStart(64, "0"), "hex").reverse();
        expect(toHex(g.hashToScalar(msg, dst)), "hashToScalar").toBe(le.toString("hex"));
      }),
      { numRuns: 50 },
    );
  });

  it("derives the same key pairs as noble from random seeds and key info", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), bytes(40), (seed, keyInfo) => {
        const ours = suite.poprf.deriveKeyPair(seed, keyInfo);
        const theirs = ristretto255_oprf.poprf(new Uint8Array()).deriveKeyPair(seed, keyInfo);
        expect(toHex(ours.secretKey), "skS").toBe(toHex(theirs.secretKey));
        expect(toHex(ours.publicKey), "pkS").toBe(toHex(theirs.publicKey));
      }),
      { numRuns: 30 },
    );
  });

  it("finalizes to the output the server and noble evaluate, for random inputs and info", () => {
    fc.assert(
      fc.property(bytes(64), bytes(48), fc.integer({ min: 1, max: 4 }), (input, info, n) => {
        const keys = suite.poprf.generateKeyPair();
        const inputs = Array.from({ length: n }, (_, i) => Uint8Array.of(...input, i));
        const blinded = inputs.map((x) => suite.poprf.blind(x, info, keys.publicKey));
        const response = suite.poprf.blindEvaluate(
          keys.secretKey,
          blinded.map((b) => b.blindedElement),
          info,
        );
        const outputs = suite.poprf.finalize(
          inputs,
          blinded.map((b) => b.blind),
          response.evaluatedElements,
          blinded.map((b) => b.blindedElement),
          response.proof,
          info,
          blinded[0]?.tweakedKey ?? new Uint8Array(),
        );
        const noble = ristretto255_oprf.poprf(info);
        inputs.forEach((x, i) => {
          const out = toHex(outputs[i] ?? new Uint8Array());
          expect(out, "client output = server evaluate").toBe(
            toHex(suite.poprf.evaluate(keys.secretKey, x, info)),
          );
          expect(out, "client output = noble evaluate").toBe(
            toHex(noble.evaluate(keys.secretKey, x)),
          );
        });
      }),
      { numRuns: 25 },
    );
  });

  it("accepts noble's proofs and noble accepts ours", () => {
    fc.assert(
      fc.property(bytes(40), bytes(40), (input, info) => {
        const noble = ristretto255_oprf.poprf(info);
        const keys = noble.generateKeyPair();
        // noble client, libsodium server
        const nb = noble.blind(input, keys.publicKey);
        const ours = suite.poprf.blindEvaluate(keys.secretKey, [nb.blinded], info);
        const evaluated = ours.evaluatedElements[0] ?? new Uint8Array();
        const theirsEval = noble.blindEvaluate(keys.secretKey, nb.blinded);
        expect(toHex(evaluated), "same evaluated element").toBe(toHex(theirsEval.evaluated));
        const nobleOut = noble.finalize(
          input,
          nb.blind,
          evaluated,
          nb.blinded,
          ours.proof,
          nb.tweakedKey,
        );
        // libsodium client, noble server
        const ob = suite.poprf.blind(input, info, keys.publicKey);
        expect(toHex(ob.tweakedKey), "same tweaked key").toBe(toHex(nb.tweakedKey));
        const theirs = noble.blindEvaluate(keys.secretKey, ob.blindedElement);
        const [ourOut] = suite.poprf.finalize(
          [input],
          [ob.blind],
          [theirs.evaluated],
          [ob.blindedElement],
          theirs.proof,
          info,
          ob.tweakedKey,
        );
        expect(toHex(ourOut ?? new Uint8Array()), "same output").toBe(toHex(nobleOut));
      }),
      { numRuns: 20 },
    );
  });

  it("matches noble in VOPRF and OPRF modes", () => {
    fc.assert(
      fc.property(bytes(40), (input) => {
        const keys = ristretto255_oprf.voprf.generateKeyPair();
        const nb = ristretto255_oprf.voprf.blind(input);
        const ours = suite.voprf.blindEvaluate(keys.secretKey, keys.publicKey, [nb.blinded]);
        const out = ristretto255_oprf.voprf.finalize(
          input,
          nb.blind,
          ours.evaluatedElements[0] ?? new Uint8Array(),
          nb.blinded,
          keys.publicKey,
          ours.proof,
        );
        expect(toHex(out), "voprf").toBe(toHex(suite.voprf.evaluate(keys.secretKey, input)));
        const base = suite.oprf.blind(input);
        const evaluated = ristretto255_oprf.oprf.blindEvaluate(keys.secretKey, base.blindedElement);
        const [plain] = suite.oprf.finalize([input], [base.blind], [evaluated]);
        expect(toHex(plain ?? new Uint8Array()), "oprf").toBe(
          toHex(nobleEvaluate(ristretto255_oprf.oprf)(keys.secretKey, input)),
        );
      }),
      { numRuns: 20 },
    );
  });
});

describe("createPoprfServer", () => {
  it("publishes the tweaked key clients derive and evaluates like the suite", async () => {
    const keys = suite.poprf.generateKeyPair();
    const server = await createPoprfServer(keys.secretKey);
    const info = utf8("agreement:demo epoch:1");
    const b = suite.poprf.blind(utf8("x"), info, server.publicKey);
    expect(toHex(server.publicKey)).toBe(toHex(keys.publicKey));
    expect(toHex(server.tweakedKey(info))).toBe(toHex(b.tweakedKey));
    const r = server.blindEvaluate([b.blindedElement], info);
    const [out] = suite.poprf.finalize(
      [utf8("x")],
      [b.blind],
      r.evaluatedElements,
      [b.blindedElement],
      r.proof,
      info,
      b.tweakedKey,
    );
    expect(toHex(out ?? new Uint8Array())).toBe(toHex(server.evaluate(utf8("x"), info)));
    expect(toHex(server.evaluate(utf8("x"), utf8("other")))).not.toBe(
      toHex(out ?? new Uint8Array()),
    );
  });

  it("stays correct when more infos are used than its tweak cache holds", async () => {
    const keys = suite.poprf.generateKeyPair();
    const server = await createPoprfServer(keys.secretKey);
    const input = utf8("x");
    for (let round = 0; round < 2; round++) {
      for (let epoch = 0; epoch < 80; epoch++) {
        const info = utf8(`agreement:demo epoch:${String(epoch)}`);
        expect(toHex(server.evaluate(input, info)), `epoch ${String(epoch)}`).toBe(
          toHex(suite.poprf.evaluate(keys.secretKey, input, info)),
        );
      }
    }
  });

  it("refuses a secret key that is not a canonical non-zero scalar", async () => {
    await expect(createPoprfServer(new Uint8Array(32))).rejects.toThrow(RangeError);
    await expect(createPoprfServer(new Uint8Array(31).fill(1))).rejects.toThrow(RangeError);
    await expect(createPoprfServer(new Uint8Array(32).fill(0xff))).rejects.toThrow(RangeError);
  });
});

describe("POPRF refusals", () => {
  const info = utf8("agreement:a-1 epoch:7");
  const input = utf8("iban:GB82WEST12345698765432");
  function session() {
    const keys = suite.poprf.generateKeyPair();
    const b = suite.poprf.blind(input, info, keys.publicKey);
    const r = suite.poprf.blindEvaluate(keys.secretKey, [b.blindedElement], info);
    const finalize =
      (patch: {
        evaluated?: unknown[];
        proof?: unknown;
        info?: Uint8Array;
        tweakedKey?: Uint8Array;
        blinded?: Uint8Array[];
      }) =>
      () =>
        suite.poprf.finalize(
          [input],
          [b.blind],
          patch.evaluated ?? r.evaluatedElements,
          patch.blinded ?? [b.blindedElement],
          "proof" in patch ? patch.proof : r.proof,
          patch.info ?? info,
          patch.tweakedKey ?? b.tweakedKey,
        );
    return { keys, b, r, finalize };
  }

  it("accepts the untouched response", () => {
    const { finalize } = session();
    expect(codeOf(finalize({}))).toBe("no error");
  });

  it("refuses every single-bit change to the proof", () => {
    const { r, finalize } = session();
    for (let bit = 0; bit < PROOF_BYTES * 8; bit += 7) {
      const proof = r.proof.slice();
      proof[bit >> 3] = (proof[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(codeOf(finalize({ proof })), `bit ${String(bit)}`).toBe("ERR_SIGNATURE_INVALID");
    }
  });

  it("refuses crafted proofs: zeros, non-canonical scalars, wrong lengths, not bytes", () => {
    const { r, finalize } = session();
    const cases: [string, unknown][] = [
      ["zeros", new Uint8Array(PROOF_BYTES)],
      ["all 0xff", new Uint8Array(PROOF_BYTES).fill(0xff)],
      ["short", r.proof.subarray(0, PROOF_BYTES - 1)],
      ["long", Uint8Array.of(...r.proof, 0)],
      ["string", toHex(r.proof)],
      ["missing", undefined],
    ];
    for (const [note, proof] of cases) {
      expect(codeOf(finalize({ proof })), note).toBe("ERR_SIGNATURE_INVALID");
    }
  });

  it("refuses a response made with another server key", () => {
    const { b, finalize } = session();
    const other = suite.poprf.generateKeyPair();
    const r2 = suite.poprf.blindEvaluate(other.secretKey, [b.blindedElement], info);
    expect(codeOf(finalize({ evaluated: r2.evaluatedElements, proof: r2.proof }))).toBe(
      "ERR_SIGNATURE_INVALID",
    );
    const otherTweak = suite.poprf.blind(input, info, other.publicKey).tweakedKey;
    expect(codeOf(finalize({ tweakedKey: otherTweak }))).toBe("ERR_SIGNATURE_INVALID");
  });

  it("refuses a response evaluated under other public info", () => {
    const { keys, b, finalize } = session();
    const r2 = suite.poprf.blindEvaluate(
      keys.secretKey,
      [b.blindedElement],
      utf8("agreement:a-1 epoch:8"),
    );
    expect(codeOf(finalize({ evaluated: r2.evaluatedElements, proof: r2.proof }))).toBe(
      "ERR_SIGNATURE_INVALID",
    );
    const otherTweak = suite.poprf.blind(
      input,
      utf8("agreement:a-2 epoch:7"),
      keys.publicKey,
    ).tweakedKey;
    expect(codeOf(finalize({ tweakedKey: otherTweak }))).toBe("ERR_SIGNATURE_INVALID");
  });

  it("refuses malformed and identity elements from the peer, on both sides", () => {
    const { keys, r, finalize } = session();
    const bad: [string, unknown][] = [
      ["identity", new Uint8Array(32)],
      ["non-canonical", new Uint8Array(32).fill(0xff)],
      ["short", new Uint8Array(31).fill(1)],
      ["long", new Uint8Array(33).fill(1)],
      ["string", "00".repeat(32)],
      ["null", null],
    ];
    for (const [note, element] of bad) {
      expect(
        codeOf(() => suite.poprf.blindEvaluate(keys.secretKey, [element], info)),
        `server ${note}`,
      ).toBe("ERR_MALFORMED_INPUT");
      expect(codeOf(finalize({ evaluated: [element] })), `client ${note}`).toBe(
        "ERR_MALFORMED_INPUT",
      );
    }
    expect(
      codeOf(finalize({ evaluated: [...r.evaluatedElements, ...r.evaluatedElements] })),
      "count",
    ).toBe("ERR_MALFORMED_INPUT");
    expect(
      codeOf(() => suite.poprf.blindEvaluate(keys.secretKey, [], info)),
      "empty batch",
    ).toBe("ERR_MALFORMED_INPUT");
    expect(
      codeOf(() => suite.poprf.blind(input, info, new Uint8Array(32))),
      "identity public key",
    ).toBe("ERR_MALFORMED_INPUT");
  });

  it("refuses a batch whose evaluated elements were swapped", () => {
    const keys = suite.poprf.generateKeyPair();
    const inputs = [utf8("a"), utf8("b")];
    const bs = inputs.map((x) => suite.poprf.blind(x, info, keys.publicKey));
    const r = suite.poprf.blindEvaluate(
      keys.secretKey,
      bs.map((b) => b.blindedElement),
      info,
    );
    const swapped = [...r.evaluatedElements].reverse();
    expect(
      codeOf(() =>
        suite.poprf.finalize(
          inputs,
          bs.map((b) => b.blind),
          swapped,
          bs.map((b) => b.blindedElement),
          r.proof,
          info,
          bs[0]?.tweakedKey ?? new Uint8Array(),
        ),
      ),
    ).toBe("ERR_SIGNATURE_INVALID");
  });

  it("refuses programmer misuse with TypeError or RangeError", () => {
    const keys = suite.poprf.generateKeyPair();
    expect(codeOf(() => suite.poprf.evaluate(new Uint8Array(32), input, info))).toBe("RangeError");
    expect(codeOf(() => suite.poprf.deriveKeyPair(new Uint8Array(31), new Uint8Array()))).toBe(
      "RangeError",
    );
    expect(codeOf(() => suite.poprf.evaluate(keys.secretKey, new Uint8Array(0x10000), info))).toBe(
      "RangeError",
    );
    expect(
      codeOf(() => suite.poprf.blind(input, info, keys.publicKey, { blind: new Uint8Array(32) })),
    ).toBe("RangeError");
  });
});

describe("VOPRF refusals", () => {
  it("refuses a proof checked against another public key", () => {
    const keys = suite.voprf.generateKeyPair();
    const other = suite.voprf.generateKeyPair();
    const input = utf8("x");
    const b = suite.voprf.blind(input);
    const r = suite.voprf.blindEvaluate(keys.secretKey, keys.publicKey, [b.blindedElement]);
    const run = (pk: Uint8Array) => () =>
      suite.voprf.finalize(
        [input],
        [b.blind],
        r.evaluatedElements,
        [b.blindedElement],
        pk,
        r.proof,
      );
    expect(codeOf(run(keys.publicKey))).toBe("no error");
    expect(codeOf(run(other.publicKey))).toBe("ERR_SIGNATURE_INVALID");
  });
});
