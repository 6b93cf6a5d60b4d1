/**
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519 `cosignature/v1` type:
 * a witness's statement that, as of a time, the checkpoint is the largest consistent tree head it
 * has seen for that origin.
 *
 * The note signature is `timestamp (uint64 big-endian POSIX seconds) || Ed25519 signature` over
 *   "cosignature/v1\n" || "time " || decimal(timestamp) || "\n" || checkpoint note text
 * and the key id is SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4] (signature type 0x04).
 * A cosigner signs through the `NoteSigner` shape and is checked through `NoteVerifier`, so
 * `signNote`, `addNoteSignatures` and `openNote` (note.ts) handle cosignatures as they do any
 * signature.
 *
 * Risks: the time comes from an injected clock (tests are deterministic). A cosignature from a
 * peer is attacker-controlled: the timestamp must not exceed 2^63 - 1 (spec) and Accord also
 * refuses any above 2^53 - 1 (no clock reaches it, and it stays a safe integer); whether a future
 * timestamp is acceptable is the caller's policy (`cosignatureTimestamp` gives it).
 */
import { sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import {
  ED25519_TYPE,
  ed25519NoteVerifier,
  ed25519PublicKey,
  ed25519RawPublic,
  isKeyName,
  noteKeyId,
  type NoteSigner,
  type NoteVerifier,
} from "./note.js";

/** Signature type byte of timestamped Ed25519 cosignatures. */
export const COSIGNATURE_TYPE = 0x04;
const SIGNATURE_BYTES = 8 + 64;

const utf8 = new TextEncoder();

/** The message a cosignature/v1 signs for a checkpoint note text at `timestamp`. */
export function cosignedMessage(text: Uint8Array, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError("a cosignature timestamp is a safe non-negative integer");
  }
  const header = utf8.encode(`cosignature/v1\ntime ${String(timestamp)}\n`);
  const out = new Uint8Array(header.length + text.length);
  out.set(header, 0);
  out.set(text, header.length);
  return out;
}

/** The timestamp of a cosignature (the bytes after the key id), or undefined if malformed. */
export function cosignatureTimestamp(signature: Uint8Array): number | undefined {
  if (signature.length !== SIGNATURE_BYTES) return undefined;
  const t = Buffer.from(signature.buffer, signature.byteOffset, 8).readBigUInt64BE(0);
  return t <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(t) : undefined;
}

/** A cosigner: `now()` gives POSIX seconds (injected clock). */
export function ed25519Cosigner(
  name: string,
  privateKey: KeyObject,
  now: () => number,
): NoteSigner {
  if (!isKeyName(name)) throw new TypeError("a key name is non-empty with no space or `+`");
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
    throw new TypeError("the signing key must be an Ed25519 private key");
  }
  const keyId = noteKeyId(name, COSIGNATURE_TYPE, ed25519RawPublic(privateKey));
  return {
    name,
    keyId,
    sign: (text) => {
      const timestamp = Math.floor(now());
      const sig = edSign(null, cosignedMessage(text, timestamp), privateKey);
      const out = Buffer.alloc(SIGNATURE_BYTES);
      out.writeBigUInt64BE(BigInt(timestamp), 0);
      out.set(sig, 8);
      return new Uint8Array(out);
    },
  };
}

/** Checks cosignature/v1 signatures of `name` with its 32-byte Ed25519 public key. */
export function ed25519CosignatureVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isKeyName(name)) throw new TypeError("a key name is non-empty with no space or `+`");
  const key = ed25519PublicKey(publicKey);
  return {
    name,
    keyId: noteKeyId(name, COSIGNATURE_TYPE, publicKey),
    verify: (text, signature) => {
      const timestamp = cosignatureTimestamp(signature);
      if (timestamp === undefined) return false;
      return edVerify(null, cosignedMessage(text, timestamp), key, signature.subarray(8));
    },
  };
}

/** The verifier a vkey (note.ts `parseVerifierKey`) describes: type 0x01 or 0x04. */
export function verifierFromKey(key: {
  readonly name: string;
  readonly type: number;
  readonly publicKey: Uint8Array;
}): NoteVerifier {
  if (key.type === COSIGNATURE_TYPE) return ed25519CosignatureVerifier(key.name, key.publicKey);
  if (key.type === ED25519_TYPE) return ed25519NoteVerifier(key.name, key.publicKey);
  throw new RangeError("only Ed25519 note and cosignature keys are supported");
}
