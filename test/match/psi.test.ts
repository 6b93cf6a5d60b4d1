/**
 * Diffie-Hellman PSI over ristretto255 (spec/match.md §psi): two parties find exactly the
 * intersection of their lists, or only its size in cardinality-only mode; sessions with another
 * context match nothing; malformed elements from the peer are refused.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import { createPsiParty, intersect, intersectionSize } from "../../src/core/match/index.js";
import { utf8 } from "./helpers.js";

async function run(a: string[], b: string[], cardinalityOnly: boolean, contexts = ["ctx", "ctx"]) {
  const alice = await createPsiParty({ context: contexts[0] ?? "" });
  const bob = await createPsiParty({ context: contexts[1] ?? "" });
  const sentByAlice = alice.blind(a.map(utf8));
  const aliceDouble = bob.exponentiate(sentByAlice, { shuffle: cardinalityOnly });
  const sentByBob = bob.blind(b.map(utf8), { shuffle: true });
  const bobDouble = alice.exponentiate(sentByBob);
  return {
    indices: intersect(aliceDouble, bobDouble),
    size: intersectionSize(aliceDouble, bobDouble),
  };
}

describe("DH-PSI", () => {
  it("finds exactly the intersection, for any two lists", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 25 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 25 }),
        async (a, b) => {
          const { indices } = await run(a, b, false);
          const want = a.flatMap((x, i) => (b.includes(x) ? [i] : []));
          expect(indices, "indices of A's items that B holds").toEqual(want);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("reveals only the size in cardinality-only mode, and the size is right", async () => {
    const a = Array.from({ length: 40 }, (_, i) => `a-${String(i)}`);
    const b = [...a.slice(10, 25), "x", "y"];
    const { size, indices } = await run(a, b, true);
    expect(size).toBe(15);
    // Shuffled: the matching positions no longer point at A's items 10..24.
    expect(indices).not.toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
  });

  it("matches nothing across two contexts", async () => {
    const list = ["GB82WEST12345698765432", "alice@example.org"];
    const { size } = await run(list, list, false, ["agreement-1", "agreement-2"]);
    expect(size).toBe(0);
  });

  it("refuses malformed and identity elements from the peer", async () => {
    const party = await createPsiParty({ context: "ctx" });
    for (const bad of [
      new Uint8Array(32),
      new Uint8Array(32).fill(0xff),
      new Uint8Array(31),
      "00",
      null,
    ]) {
      let code = "no error";
      try {
        party.exponentiate([bad]);
      } catch (e) {
        code = e instanceof AccordError ? e.code : "other";
      }
      expect(code).toBe("ERR_MALFORMED_INPUT");
    }
  });

  it("refuses a session key that is not a canonical non-zero scalar", async () => {
    await expect(createPsiParty({ context: "ctx", secretKey: new Uint8Array(32) })).rejects.toThrow(
      RangeError,
    );
  });
});
