/**
 * C2SP signed notes (spec/vectors/tlog-signed-note.json): the spec's example vkey and note, and
 * the golang.org/x/mod/sumdb/note vectors (signer key, deterministic signing byte for byte, opening
 * with known, unknown, duplicated and broken signatures, malformed notes), plus Accord's own
 * negative cases (non-canonical base64, key id mismatches).
 */
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addNoteSignatures,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  encodeSignerKey,
  encodeVerifierKey,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierFromKey,
} from "../../src/tlog/index.js";
import { outcomeOf, readVector } from "./helpers.js";

interface VkeyCase {
  source: string;
  vkey: string;
  name?: string;
  keyId?: string;
  type?: number;
  want: string;
}
interface SkeyCase {
  source: string;
  skey: string;
  vkey?: string;
  want: string;
}
interface OpenCase {
  source: string;
  name: string;
  note?: string;
  noteBase64?: string;
  vkeys: string[];
  want: string;
  text?: string;
  verified?: string[];
  unverified?: string[];
}
const file = readVector("tlog-signed-note.json") as {
  sources: Record<string, string>;
  verifierKeys: VkeyCase[];
  signerKeys: SkeyCase[];
  sign: { skey: string; text: string; signed: string }[];
  open: OpenCase[];
};

/** `s` without C0 control characters (which a note may not hold). */
function withoutControls(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x20) out += s.charAt(i);
  return out;
}

const idOf = (s: { name: string; keyId: number }): string =>
  `${s.name}+${s.keyId.toString(16).padStart(8, "0")}`;

describe("C2SP signed-note vectors", () => {
  it("cites its sources", () => {
    expect(file.sources.c2sp).toContain("c2sp.org/signed-note");
    expect(file.sources.go).toContain("sumdb/note");
    const all = [...file.verifierKeys, ...file.signerKeys, ...file.open];
    for (const v of all) expect(Object.keys(file.sources), v.source).toContain(v.source);
  });

  it.each(file.verifierKeys)("vkey $vkey: $want", (v) => {
    expect(outcomeOf(() => parseVerifierKey(v.vkey))).toBe(v.want);
    if (v.want !== "ok") return;
    const k = parseVerifierKey(v.vkey);
    expect(k.name).toBe(v.name);
    expect(k.keyId.toString(16).padStart(8, "0")).toBe(v.keyId);
    expect(k.type).toBe(v.type);
    expect(encodeVerifierKey(k.name, k.type, k.publicKey), "re-encodes").toBe(v.vkey);
  });

  it.each(file.signerKeys)("skey $skey: $want", (v) => {
    expect(outcomeOf(() => parseSignerKey(v.skey))).toBe(v.want);
    if (v.want !== "ok" || v.vkey === undefined) return;
    const s = parseSignerKey(v.skey);
    const k = parseVerifierKey(v.vkey);
    expect(s.keyId, "signer and verifier key ids").toBe(k.keyId);
    expect(s.name).toBe(k.name);
  });

  it.each(file.sign)("signs byte for byte", (v) => {
    const signer = parseSignerKey(v.skey);
    expect(signNote(v.text, [signer])).toBe(v.signed);
  });

  it.each(file.open)("opens $name ($source): $want", (v) => {
    const note = v.noteBase64 === undefined ? (v.note ?? "") : Buffer.from(v.noteBase64, "base64");
    const verifiers = v.vkeys.map((k) => verifierFromKey(parseVerifierKey(k)));
    expect(outcomeOf(() => openNote(note, verifiers))).toBe(v.want);
    if (v.want !== "ok") return;
    const opened = openNote(note, verifiers);
    expect(opened.text).toBe(v.text);
    expect(opened.verified.map(idOf), "verified").toEqual(v.verified);
    expect(opened.unverified.map(idOf), "unverified").toEqual(v.unverified);
  });
});

describe("signed notes", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url"));

  it("derives the key id from the name, the type byte 0x01 and the public key", () => {
    const signer = ed25519NoteSigner("node-a.example/log", privateKey);
    expect(signer.keyId).toBe(noteKeyId("node-a.example/log", 0x01, raw));
    expect(signer.keyId).not.toBe(noteKeyId("node-a.example/log", 0x04, raw));
    expect(ed25519NoteVerifier("node-a.example/log", raw).keyId).toBe(signer.keyId);
  });

  it("round-trips a signer key and signs and opens any text", () => {
    const skey = encodeSignerKey("node-a.example/log", privateKey);
    const signer = parseSignerKey(skey);
    const verifier = verifierFromKey(
      parseVerifierKey(encodeVerifierKey("node-a.example/log", 0x01, raw)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme" }).map(withoutControls), {
          maxLength: 6,
        }),
        (lines) => {
          const text = lines.map((l) => `${l}\n`).join("") || "x\n";
          const note = signNote(text, [signer]);
          const opened = openNote(note, [verifier]);
          expect(opened.text, "text round-trips").toBe(text);
          expect(opened.verified.length, "one verified signature").toBe(1);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("rejects a note whose text was changed after signing", () => {
    const signer = ed25519NoteSigner("a.example", privateKey);
    const verifier = ed25519NoteVerifier("a.example", raw);
    const note = signNote("one\ntwo\n", [signer]);
    expect(outcomeOf(() => openNote(note.replace("two", "tw0"), [verifier]))).toBe(
      "ERR_SIGNATURE_INVALID",
    );
  });

  it("adds a signature to a signed note and replaces the same key's old one", () => {
    const a = ed25519NoteSigner("a.example", privateKey);
    const other = generateKeyPairSync("ed25519");
    const b = ed25519NoteSigner("b.example", other.privateKey);
    const bRaw = new Uint8Array(
      Buffer.from(other.publicKey.export({ format: "jwk" }).x ?? "", "base64url"),
    );
    const note = addNoteSignatures(signNote("t\n", [a]), [b]);
    const twice = addNoteSignatures(note, [b]);
    expect(twice, "re-signing replaces").toBe(note);
    const opened = openNote(note, [
      ed25519NoteVerifier("a.example", raw),
      ed25519NoteVerifier("b.example", bRaw),
    ]);
    expect(opened.verified.map((s) => s.name)).toEqual(["a.example", "b.example"]);
  });

  it("bounds the size and the number of signatures", () => {
    const signer = ed25519NoteSigner("a.example", privateKey);
    const verifier = ed25519NoteVerifier("a.example", raw);
    const big = signNote(`${"x".repeat(40_000)}\n`, [signer]);
    expect(
      outcomeOf(() => openNote(big, [verifier])),
      "default 32 KiB",
    ).toBe("ERR_MALFORMED_INPUT");
    expect(
      outcomeOf(() => openNote(big, [verifier], { maxBytes: 64_000 })),
      "raised limit",
    ).toBe("ok");
    const many = signNote("t\n", new Array(17).fill(signer) as (typeof signer)[]);
    expect(
      outcomeOf(() => openNote(many, [verifier])),
      "17 signatures by default",
    ).toBe("ok");
    expect(outcomeOf(() => openNote(many, [verifier], { maxSignatures: 16 }))).toBe(
      "ERR_MALFORMED_INPUT",
    );
  });

  it("refuses programmer errors with TypeError", () => {
    expect(() => ed25519NoteSigner("bad name", privateKey)).toThrow(TypeError);
    expect(() => ed25519NoteSigner("a+b", privateKey)).toThrow(TypeError);
    expect(() => ed25519NoteSigner("a", publicKey)).toThrow(TypeError);
    expect(() => signNote("no newline", [ed25519NoteSigner("a", privateKey)])).toThrow(TypeError);
    const v = ed25519NoteVerifier("a", raw);
    expect(() => openNote("t\n\n— a AAAAAAA=\n", [v, v])).toThrow(TypeError);
  });
});
