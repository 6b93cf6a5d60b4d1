/**
 * C2SP signed notes (https://c2sp.org/signed-note, v1.0.0) with Ed25519 signatures, verifier keys
 * (vkeys) and the `PRIVATE+KEY+...` signer-key encoding of golang.org/x/mod/sumdb/note.
 *
 * A note is a text ending in a newline, a blank line, then one or more signature lines
 * `— <name> base64(keyId(4 bytes, big-endian) || signature)`. The key id of an Ed25519 key is
 * SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]; other signature types (0x04, the
 * timestamped cosignature of cosignature.ts) plug in through the same `NoteSigner` /
 * `NoteVerifier` shapes.
 *
 * Risks: notes arrive from peers (attacker-controlled). `openNote` bounds the size and the number
 * of signature lines before any work, rejects control characters and ill-formed UTF-8, decodes
 * base64 strictly (canonical only), ignores signatures from unknown keys (name and key id must
 * both match a configured verifier, as the spec requires), rejects the whole note if a known key's
 * signature fails, and rejects it if no known key signed. The text must not be trusted until
 * `openNote` returns. Keys are our own configuration: a bad vkey or skey is ERR_KEYS_INVALID, and
 * no key material ever appears in a message.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from "node:crypto";
import { AccordError } from "../errors.js";

/** Signature type byte of plain Ed25519 note signatures. */
export const ED25519_TYPE = 0x01;

/** A key that signs note texts. `sign` returns the signature without the key id. */
export interface NoteSigner {
  readonly name: string;
  /** uint32 key id. */
  readonly keyId: number;
  sign(text: Uint8Array): Uint8Array;
}

/** A trusted key that checks note signatures (name and key id select it). */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the 4-byte key id. */
  readonly signature: Uint8Array;
}

export interface OpenedNote {
  /** The note text, final newline included. */
  readonly text: string;
  /** Signatures by configured keys, each checked (duplicates dropped). */
  readonly verified: readonly NoteSignature[];
  /** Signatures by keys not configured: not checked, kept for relaying (repeats listed once). */
  readonly unverified: readonly NoteSignature[];
}

export interface NoteLimits {
  /** Largest note accepted, in UTF-8 bytes. Default 32 KiB. */
  readonly maxBytes?: number;
  /** Most signature lines accepted. Default 64 (the spec asks for at least 16). */
  readonly maxSignatures?: number;
}

const DEFAULT_MAX_BYTES = 32 * 1024;
const DEFAULT_MAX_SIGNATURES = 64;
const SIG_PREFIX = "\u2014 ";

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ---- encodings ----

/** Standard base64 (RFC 4648 §4), canonical form only; undefined if `text` is anything else. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? new Uint8Array(bytes) : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Key names: non-empty, no Unicode space, no `+`, no control character. */
export function isKeyName(name: string): boolean {
  return name.length > 0 && name.length <= 256 && !/[\s+\p{Cc}\p{Z}]/u.test(name);
}

/** key ID = SHA-256(name || 0x0A || type || public key)[:4], as a uint32. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = createHash("sha256")
    .update(utf8.encode(name))
    .update(new Uint8Array([0x0a, type]))
    .update(publicKey)
    .digest();
  return h.readUInt32BE(0);
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, "0");
}

function keyIdBytes(keyId: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(keyId, 0);
  return b;
}

// ---- Ed25519 keys ----

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 public KeyObject from its 32-byte RFC 8032 encoding. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError("an Ed25519 public key is 32 bytes");
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/** The 32-byte public key of an Ed25519 private (or public) KeyObject. */
export function ed25519RawPublic(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== "ed25519") throw new TypeError("the key must be Ed25519");
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const jwk = pub.export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new TypeError("the key must be Ed25519");
  return new Uint8Array(Buffer.from(jwk.x, "base64url"));
}

function assertEd25519Private(key: KeyObject): void {
  if (key.type !== "private" || key.asymmetricKeyType !== "ed25519") {
    throw new TypeError("the signing key must be an Ed25519 private key");
  }
}

/** Signs note texts with an Ed25519 private key under `name` (signature type 0x01). */
export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (!isKeyName(name)) throw new TypeError("a key name is non-empty with no space or `+`");
  assertEd25519Private(privateKey);
  const keyId = noteKeyId(name, ED25519_TYPE, ed25519RawPublic(privateKey));
  return {
    name,
    keyId,
    sign: (text) => new Uint8Array(edSign(null, text, privateKey)),
  };
}

/** Checks Ed25519 note signatures (type 0x01) of `name` with a 32-byte public key. */
export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isKeyName(name)) throw new TypeError("a key name is non-empty with no space or `+`");
  const key = ed25519PublicKey(publicKey);
  return {
    name,
    keyId: noteKeyId(name, ED25519_TYPE, publicKey),
    verify: (text, signature) => signature.length === 64 && edVerify(null, text, key, signature),
  };
}

/** The first `count - 1` `+`-separated fields and the rest, or undefined if there are fewer. */
function splitFields(text: string, count: number): string[] | undefined {
  const out: string[] = [];
  let rest = text;
  for (let i = 0; i < count - 1; i++) {
    const plus = rest.indexOf("+");
    if (plus < 0) return undefined;
    out.push(rest.slice(0, plus));
    rest = rest.slice(plus + 1);
  }
  out.push(rest);
  return out;
}

/** `<name>+<hex key id>+base64(type || public key)`. */
export function encodeVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  if (!isKeyName(name)) throw new TypeError("a key name is non-empty with no space or `+`");
  const keyId = noteKeyId(name, type, publicKey);
  const material = new Uint8Array([type, ...publicKey]);
  return `${name}+${keyIdHex(keyId)}+${encodeBase64(material)}`;
}

export interface ParsedVerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
}

/**
 * Parses a vkey; the key id must be the one its name, type and key imply. Only Ed25519 material
 * (32 bytes) is accepted, for type 0x01 (notes) and 0x04 (cosignatures).
 */
export function parseVerifierKey(vkey: string): ParsedVerifierKey {
  const bad = (): AccordError =>
    new AccordError("ERR_KEYS_INVALID", "the verifier key is malformed or unsupported");
  if (vkey.length > 1024) throw bad();
  // The base64 key may itself hold `+`: split off the first two fields only.
  const parts = splitFields(vkey, 3);
  if (parts === undefined) throw bad();
  const [name = "", idHex = "", b64 = ""] = parts;
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw bad();
  const material = decodeBase64(b64);
  if (material?.length !== 33) throw bad();
  const type = material[0] ?? -1;
  if (type !== ED25519_TYPE && type !== 0x04) throw bad();
  const publicKey = material.subarray(1);
  const keyId = noteKeyId(name, type, publicKey);
  if (keyIdHex(keyId) !== idHex) throw bad();
  try {
    ed25519PublicKey(publicKey);
  } catch {
    throw bad();
  }
  return { name, keyId, type, publicKey: new Uint8Array(publicKey) };
}

/** `PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || 32-byte seed)` (golang.org/x/mod/sumdb/note). */
export function encodeSignerKey(name: string, privateKey: KeyObject): string {
  if (!isKeyName(name)) throw new TypeError("a key name is non-empty with no space or `+`");
  assertEd25519Private(privateKey);
  const jwk = privateKey.export({ format: "jwk" });
  if (typeof jwk.d !== "string") throw new TypeError("the key must be Ed25519");
  const seed = Buffer.from(jwk.d, "base64url");
  const keyId = noteKeyId(name, ED25519_TYPE, ed25519RawPublic(privateKey));
  return `PRIVATE+KEY+${name}+${keyIdHex(keyId)}+${encodeBase64(new Uint8Array([ED25519_TYPE, ...seed]))}`;
}

/** Parses a signer key into a `NoteSigner`; its key id must match the derived public key. */
export function parseSignerKey(skey: string): NoteSigner {
  const bad = (): AccordError =>
    new AccordError("ERR_KEYS_INVALID", "the signer key is malformed or unsupported");
  if (skey.length > 1024) throw bad();
  const parts = splitFields(skey, 5);
  if (parts?.[0] !== "PRIVATE" || parts[1] !== "KEY") throw bad();
  const [, , name = "", idHex = "", b64 = ""] = parts;
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw bad();
  const material = decodeBase64(b64);
  if (material?.length !== 33 || material[0] !== ED25519_TYPE) throw bad();
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519, material.subarray(1)]),
      format: "der",
      type: "pkcs8",
    });
  } catch {
    throw bad();
  }
  const signer = ed25519NoteSigner(name, key);
  if (keyIdHex(signer.keyId) !== idHex) throw bad();
  return signer;
}

// ---- notes ----

function malformed(what: string): AccordError {
  return new AccordError("ERR_MALFORMED_INPUT", `the signed note is malformed: ${what}`);
}

/** Control characters other than newline, and lone surrogates (not encodable as UTF-8). */
const FORBIDDEN = {
  test(s: string): boolean {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 && c !== 0x0a) return true;
    }
    return /\p{Surrogate}/u.test(s);
  },
};

function signatureLine(signer: NoteSigner, text: Uint8Array): string {
  if (!isKeyName(signer.name)) throw new TypeError("a key name is non-empty with no space or `+`");
  if (!Number.isInteger(signer.keyId) || signer.keyId < 0 || signer.keyId > 0xffffffff) {
    throw new TypeError("a key id is a uint32");
  }
  const sig = signer.sign(text);
  const bytes = new Uint8Array(4 + sig.length);
  bytes.set(keyIdBytes(signer.keyId), 0);
  bytes.set(sig, 4);
  return `${SIG_PREFIX}${signer.name} ${encodeBase64(bytes)}\n`;
}

function checkText(text: string): void {
  if (!text.endsWith("\n")) throw new TypeError("a note text ends with a newline");
  if (FORBIDDEN.test(text)) throw new TypeError("a note text has no control characters");
}

/** The signed note: `text`, a blank line, one signature line per signer (at least one). */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  if (signers.length === 0) throw new RangeError("a note needs at least one signer");
  const bytes = utf8.encode(text);
  return `${text}\n${signers.map((s) => signatureLine(s, bytes)).join("")}`;
}

/**
 * Adds signatures to a signed note without checking the ones it has (a witness appends its
 * cosignature after `openNote` has verified the log's). A signature already present from the same
 * name and key id is replaced.
 */
export function addNoteSignatures(note: string, signers: readonly NoteSigner[]): string {
  const { text, lines } = splitNote(note, DEFAULT_MAX_BYTES * 4, DEFAULT_MAX_SIGNATURES * 4);
  const bytes = utf8.encode(text);
  const replaced = new Set(signers.map((s) => `${s.name} ${String(s.keyId)}`));
  const kept = lines.filter((l) => !replaced.has(`${l.name} ${String(l.keyId)}`));
  return (
    text +
    "\n" +
    kept.map((l) => `${l.raw}\n`).join("") +
    signers.map((s) => signatureLine(s, bytes)).join("")
  );
}

interface SigLine extends NoteSignature {
  readonly raw: string;
}

function splitNote(
  note: string | Uint8Array,
  maxBytes: number,
  maxSignatures: number,
): { text: string; lines: SigLine[] } {
  let s: string;
  if (typeof note === "string") {
    if (note.length > maxBytes || Buffer.byteLength(note, "utf8") > maxBytes) {
      throw malformed("it is too large");
    }
    s = note;
  } else {
    if (note.length > maxBytes) throw malformed("it is too large");
    try {
      s = strictUtf8.decode(note);
    } catch {
      throw malformed("it is not UTF-8");
    }
  }
  if (FORBIDDEN.test(s)) throw malformed("it holds a control character");
  const split = s.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line separates text and signatures");
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith("\n")) throw malformed("no signature lines");
  const rawLines = block.slice(0, -1).split("\n");
  if (rawLines.length > maxSignatures) throw malformed("it has too many signatures");
  const lines: SigLine[] = [];
  for (const raw of rawLines) {
    if (!raw.startsWith(SIG_PREFIX)) throw malformed("a signature line does not start with `—`");
    const rest = raw.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (space < 0 || !isKeyName(name)) throw malformed("a signature line has a bad key name");
    const bytes = decodeBase64(b64);
    if (bytes === undefined || bytes.length < 5) {
      throw malformed("a signature line is not base64 of a key id and a signature");
    }
    const keyId = Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32BE(0);
    lines.push({ name, keyId, signature: bytes.subarray(4), raw });
  }
  return { text, lines };
}

/**
 * Opens a signed note (attacker-controlled) against trusted verifiers. Throws ERR_MALFORMED_INPUT
 * if it does not parse, ERR_SIGNATURE_INVALID if a known key's signature fails or no known key
 * signed it. Verifiers must be distinct by (name, key id).
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  limits: NoteLimits = {},
): OpenedNote {
  const byId = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = `${v.name} ${String(v.keyId)}`;
    if (byId.has(k)) throw new TypeError("two verifiers share a name and a key id");
    byId.set(k, v);
  }
  const { text, lines } = splitNote(
    note,
    limits.maxBytes ?? DEFAULT_MAX_BYTES,
    limits.maxSignatures ?? DEFAULT_MAX_SIGNATURES,
  );
  const textBytes = utf8.encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  for (const line of lines) {
    const k = `${line.name} ${String(line.keyId)}`;
    const sig = { name: line.name, keyId: line.keyId, signature: line.signature };
    const v = byId.get(k);
    if (v === undefined) {
      // Unknown keys are ignored (spec); identical lines are listed once.
      if (!seenUnverified.has(line.raw)) unverified.push(sig);
      seenUnverified.add(line.raw);
      continue;
    }
    if (seen.has(k)) continue;
    seen.add(k);
    if (!v.verify(textBytes, line.signature)) {
      throw new AccordError("ERR_SIGNATURE_INVALID", "a signature on the note does not verify");
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    throw new AccordError("ERR_SIGNATURE_INVALID", "the note is not signed by a known key");
  }
  return { text, verified, unverified };
}
