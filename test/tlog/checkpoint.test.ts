/**
 * C2SP tlog-checkpoint and tlog-cosignature (spec/vectors/tlog-checkpoint.json): strict parsing
 * of the spec's example and of transparency-dev/formats' negative cases, a signed and cosigned
 * checkpoint with RFC 8032 keys checked independently (@noble/curves and a hand-built message),
 * the spec example's key ids and cosignature timestamp, and the rules of `openCheckpoint`.
 */
import { createHash, createPrivateKey, generateKeyPairSync } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import {
  COSIGNATURE_TYPE,
  MemoryTree,
  checkConsistency,
  consistencyProof,
  addNoteSignatures,
  cosignatureTimestamp,
  cosignedMessage,
  ed25519CosignatureVerifier,
  ed25519Cosigner,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatCheckpoint,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  verifierFromKey,
  type Checkpoint,
} from "../../src/tlog/index.js";
import { b64, hex, outcomeOf, readVector, syntheticLeaves, toB64 } from "./helpers.js";

interface ParseCase {
  source: string;
  name: string;
  text: string;
  want: string;
  origin?: string;
  size?: number;
  rootHash?: string;
  extensions?: string[];
}
const file = readVector("tlog-checkpoint.json") as {
  sources: Record<string, string>;
  parse: ParseCase[];
  signed: {
    logSecretKey: string;
    logVkey: string;
    witnessSecretKey: string;
    witnessVkey: string;
    timestamp: number;
    checkpoint: { origin: string; size: number; rootHash: string };
    note: string;
    cosigned: string;
    cosignedMessage: string;
  };
  specExample: {
    text: string;
    signatureLines: string;
    log: { name: string; keyId: string };
    witness: { name: string; keyId: string; timestamp: number };
  };
};

const seedKey = (seedHex: string): ReturnType<typeof createPrivateKey> =>
  createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), hex(seedHex)]),
    format: "der",
    type: "pkcs8",
  });

const keyIdHex = (name: string, type: number, pub: Uint8Array): string =>
  createHash("sha256")
    .update(name)
    .update(Buffer.from([0x0a, type]))
    .update(pub)
    .digest()
    .subarray(0, 4)
    .toString("hex");

describe("C2SP tlog-checkpoint parsing", () => {
  it("cites its sources", () => {
    expect(file.sources.c2sp).toContain("c2sp.org/tlog-checkpoint");
    for (const v of file.parse) expect(Object.keys(file.sources), v.name).toContain(v.source);
  });

  it.each(file.parse)("$name ($source): $want", (v) => {
    expect(outcomeOf(() => parseCheckpoint(v.text))).toBe(v.want);
    if (v.want !== "ok") return;
    const c = parseCheckpoint(v.text);
    expect(c.origin).toBe(v.origin);
    expect(c.size).toBe(v.size);
    expect(toB64(c.rootHash)).toBe(v.rootHash);
    expect(c.extensions).toEqual(v.extensions);
    expect(formatCheckpoint(c), "formats back to the same text").toBe(v.text);
  });
});

describe("signed and cosigned checkpoint (RFC 8032 keys)", () => {
  const s = file.signed;
  const logKey = seedKey(s.logSecretKey);
  const witnessKey = seedKey(s.witnessSecretKey);
  const logV = parseVerifierKey(s.logVkey);
  const witV = parseVerifierKey(s.witnessVkey);
  const checkpoint: Checkpoint = {
    ...s.checkpoint,
    rootHash: b64(s.checkpoint.rootHash),
    extensions: [],
  };

  it("derives key ids with type 0x01 for the log and 0x04 for the witness", () => {
    expect(logV.keyId.toString(16).padStart(8, "0")).toBe(
      keyIdHex(logV.name, 0x01, logV.publicKey),
    );
    expect(witV.type).toBe(COSIGNATURE_TYPE);
    expect(witV.keyId.toString(16).padStart(8, "0")).toBe(
      keyIdHex(witV.name, 0x04, witV.publicKey),
    );
  });

  it("signs and cosigns byte for byte", () => {
    const log = ed25519NoteSigner(checkpoint.origin, logKey);
    const note = signCheckpoint(checkpoint, [log]);
    expect(note).toBe(s.note);
    const witness = ed25519Cosigner(witV.name, witnessKey, () => s.timestamp);
    expect(addNoteSignatures(note, [witness])).toBe(s.cosigned);
  });

  it("signs the cosignature/v1 message, as an independent Ed25519 check confirms", () => {
    const text = new TextEncoder().encode(formatCheckpoint(checkpoint));
    expect(new TextDecoder().decode(cosignedMessage(text, s.timestamp))).toBe(s.cosignedMessage);
    const line = s.cosigned.trimEnd().split("\n").at(-1) ?? "";
    const sig = b64(line.split(" ").at(-1) ?? "");
    expect(Buffer.from(sig.subarray(0, 4)).toString("hex"), "key id").toBe(
      witV.keyId.toString(16).padStart(8, "0"),
    );
    expect(Buffer.from(sig.subarray(4, 12)).readBigUInt64BE(0), "timestamp").toBe(
      BigInt(s.timestamp),
    );
    const msg = new TextEncoder().encode(s.cosignedMessage);
    expect(ed25519.verify(sig.subarray(12), msg, witV.publicKey), "noble verifies").toBe(true);
  });

  it("opens with the log key and the witness key, each verified", () => {
    const opened = openCheckpoint(s.cosigned, {
      origin: checkpoint.origin,
      log: verifierFromKey(logV),
      cosigners: [verifierFromKey(witV)],
    });
    expect(opened.checkpoint.size).toBe(checkpoint.size);
    expect(opened.note.verified.map((v) => v.name)).toEqual([logV.name, witV.name]);
    const cosig = opened.note.verified[1]?.signature ?? new Uint8Array();
    expect(cosignatureTimestamp(cosig)).toBe(s.timestamp);
  });

  it("refuses a checkpoint without the log's signature, for another origin, or with a bad cosignature", () => {
    const witnessOnly = openNote(s.cosigned, [verifierFromKey(witV)]);
    expect(witnessOnly.verified.length, "the witness alone verifies as a note").toBe(1);
    const other = generateKeyPairSync("ed25519");
    const otherRaw = new Uint8Array(
      Buffer.from(other.publicKey.export({ format: "jwk" }).x ?? "", "base64url"),
    );
    const imposter = ed25519NoteVerifier(checkpoint.origin, otherRaw);
    expect(
      outcomeOf(() =>
        openCheckpoint(s.cosigned, {
          origin: checkpoint.origin,
          log: imposter,
          cosigners: [verifierFromKey(witV)],
        }),
      ),
      "log key unknown",
    ).toBe("ERR_SIGNATURE_INVALID");
    expect(
      outcomeOf(() =>
        openCheckpoint(s.cosigned, { origin: "example.com/other", log: verifierFromKey(logV) }),
      ),
      "other origin",
    ).toBe("ERR_SIGNATURE_INVALID");
    // The witness's line with its timestamp moved one second: the signature no longer matches.
    const lines = s.cosigned.trimEnd().split("\n");
    const last = lines.pop() ?? "";
    const [dash = "", name = "", sigText = ""] = last.split(" ");
    const sig = b64(sigText);
    sig[11] = (sig[11] ?? 0) ^ 1;
    const forged = `${[...lines, `${dash} ${name} ${toB64(sig)}`].join("\n")}\n`;
    expect(cosignatureTimestamp(sig.subarray(4)), "the forged time").toBe(s.timestamp ^ 1);
    expect(
      outcomeOf(() =>
        openCheckpoint(forged, {
          origin: checkpoint.origin,
          log: verifierFromKey(logV),
          cosigners: [verifierFromKey(witV)],
        }),
      ),
      "cosignature with its timestamp changed",
    ).toBe("ERR_SIGNATURE_INVALID");
  });
});

describe("the specs' example signature lines", () => {
  const ex = file.specExample;
  it("carry the log's and the witness's key ids and the cosignature time", () => {
    // Our own log key signs, so the note opens; the example's lines stay unverified.
    const signer = ed25519NoteSigner("accord.test/log", seedKey(file.signed.logSecretKey));
    const note = addNoteSignatures(`${ex.text}\n${ex.signatureLines}`, [signer]);
    const opened = openNote(note, [
      ed25519NoteVerifier("accord.test/log", parseVerifierKey(file.signed.logVkey).publicKey),
    ]);
    const [log, witness] = opened.unverified;
    expect(log?.name).toBe(ex.log.name);
    expect(log?.keyId.toString(16).padStart(8, "0")).toBe(ex.log.keyId);
    expect(witness?.name).toBe(ex.witness.name);
    expect(witness?.keyId.toString(16).padStart(8, "0")).toBe(ex.witness.keyId);
    expect(cosignatureTimestamp(witness?.signature ?? new Uint8Array())).toBe(ex.witness.timestamp);
  });
});

describe("cosignatures", () => {
  it("refuse malformed or out-of-range timestamps", () => {
    const sig = new Uint8Array(72);
    expect(cosignatureTimestamp(sig)).toBe(0);
    expect(cosignatureTimestamp(sig.subarray(1)), "short").toBeUndefined();
    const huge = new Uint8Array(sig);
    huge[0] = 0x80;
    expect(cosignatureTimestamp(huge), "above 2^63 - 1").toBeUndefined();
    huge[0] = 0x00;
    huge[1] = 0x20;
    expect(cosignatureTimestamp(huge), "above 2^53 - 1").toBeUndefined();
    expect(() => cosignedMessage(new Uint8Array(), -1)).toThrow(RangeError);
  });

  it("do not verify as plain note signatures, nor the reverse", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const raw = new Uint8Array(
      Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url"),
    );
    const text = new TextEncoder().encode("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    const cosig = ed25519Cosigner("w", privateKey, () => 5).sign(text);
    const plain = ed25519NoteSigner("w", privateKey).sign(text);
    expect(ed25519CosignatureVerifier("w", raw).verify(text, cosig), "cosignature").toBe(true);
    expect(ed25519NoteVerifier("w", raw).verify(text, cosig), "as plain").toBe(false);
    expect(ed25519CosignatureVerifier("w", raw).verify(text, plain), "plain as cosignature").toBe(
      false,
    );
    expect(ed25519CosignatureVerifier("w", raw).keyId).not.toBe(
      ed25519NoteVerifier("w", raw).keyId,
    );
  });
});

describe("checkpoint consistency verdicts", () => {
  const tree = new MemoryTree();
  const roots: Uint8Array[] = [tree.root()];
  for (const l of syntheticLeaves(40)) {
    tree.append(l);
    roots.push(tree.root());
  }
  const at = (size: number, origin = "log.example"): Checkpoint => ({
    origin,
    size,
    rootHash: roots[size] ?? new Uint8Array(32),
    extensions: [],
  });

  it("accepts a log that grew, with its proof, and the same checkpoint again", () => {
    expect(checkConsistency(at(7), at(33), consistencyProof(tree.node, 7, 33))).toEqual({
      consistent: true,
    });
    expect(checkConsistency(at(33), at(33), [])).toEqual({ consistent: true });
    expect(checkConsistency(at(0), at(12), []), "from the empty tree").toEqual({
      consistent: true,
    });
  });

  it("names the evidence: another log, a shrunk tree, a fork, a bad proof", () => {
    const proof = consistencyProof(tree.node, 7, 33);
    const verdict = (prev: Checkpoint, next: Checkpoint, p: Uint8Array[]): string => {
      const v = checkConsistency(prev, next, p);
      return v.consistent ? "consistent" : v.reason;
    };
    expect(verdict(at(7), at(33, "other.example"), proof)).toBe("origin");
    expect(verdict(at(33), at(7), proof)).toBe("shrunk");
    expect(verdict(at(33), { ...at(33), rootHash: roots[32] ?? new Uint8Array() }, [])).toBe(
      "fork",
    );
    expect(verdict(at(33), at(33), proof), "same tree with a proof").toBe("proof");
    expect(verdict(at(8), at(33), proof), "proof for other sizes").toBe("proof");
    expect(verdict(at(7), { ...at(33), rootHash: roots[34] ?? new Uint8Array() }, proof)).toBe(
      "proof",
    );
  });
});
