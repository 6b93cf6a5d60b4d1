/**
 * Everything a peer sends is attacker-controlled: notes, checkpoints, tile paths, entry bundles
 * and proofs. Arbitrary and near-valid inputs end in a value or an AccordError with a stable
 * code, never in another exception, and never in acceptance of a changed signed note.
 */
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeEntryBundle,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseTilePath,
  signCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "../../src/tlog/index.js";
import { outcomeOf } from "./helpers.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url"));
const signer = ed25519NoteSigner("log.example", privateKey);
const verifier = ed25519NoteVerifier("log.example", raw);
const signed = signCheckpoint(
  { origin: "log.example", size: 12345, rootHash: new Uint8Array(32).fill(7), extensions: [] },
  [signer],
);
const stable = /^(ok|ERR_MALFORMED_INPUT|ERR_SIGNATURE_INVALID)$/;

describe("hostile input", () => {
  it("ends every arbitrary note in a value or a stable error code", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 400 })), (note) => {
        expect(
          outcomeOf(() => openNote(note, [verifier])),
          "openNote",
        ).toMatch(stable);
        const text = typeof note === "string" ? note : Buffer.from(note).toString("latin1");
        expect(
          outcomeOf(() => parseCheckpoint(text)),
          "parseCheckpoint",
        ).toMatch(stable);
      }),
      { numRuns: 500 },
    );
  });

  it("never accepts a signed checkpoint with one character changed, inserted or removed", () => {
    fc.assert(
      fc.property(
        fc.nat(signed.length - 1),
        fc.constantFrom("insert", "delete", "replace"),
        fc.string({ minLength: 1, maxLength: 1 }),
        (at, op, c) => {
          const chars = signed.split("");
          if (op === "insert") chars.splice(at, 0, c);
          else if (op === "delete") chars.splice(at, 1);
          else chars[at] = c;
          const changed = chars.join("");
          fc.pre(changed !== signed);
          const outcome = outcomeOf(() =>
            openCheckpoint(changed, { origin: "log.example", log: verifier }),
          );
          // The only change that may still open is one that leaves text and signature intact
          // (e.g. a new, unknown signature line); then the checkpoint must be the same.
          if (outcome === "ok") {
            const opened = openCheckpoint(changed, { origin: "log.example", log: verifier });
            expect(opened.note.text, "same text").toBe(signed.slice(0, signed.indexOf("\n\n") + 1));
          } else {
            expect(outcome, "stable code").toMatch(stable);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("parses or refuses any tile path and any entry bundle without another exception", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 256 }),
        (p, b, w) => {
          const parsed = parseTilePath(`tile/${p}`);
          if (parsed !== undefined) expect(parsed.width, "width").toBeLessThanOrEqual(256);
          expect(
            outcomeOf(() => decodeEntryBundle(b, w)),
            "bundle",
          ).toMatch(stable);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("answers false to arbitrary proofs", () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.anything(),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 30 }),
        (i, n, proof) => {
          const h = new Uint8Array(32);
          const other = new Uint8Array(32).fill(1);
          expect(verifyInclusion(i as number, n as number, h, proof, other), "inclusion").toBe(
            false,
          );
          expect(verifyConsistency(i as number, n as number, h, h, proof), "consistency").toBe(
            i === n &&
              typeof i === "number" &&
              Number.isSafeInteger(i) &&
              i > 0 &&
              proof.length === 0,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
