/**
 * Sealed envelopes (spec/envelope.md): the content is signed by its sender, then encrypted to its
 * recipient, as a JWS nested in a JWE, both in compact serialisation.
 *
 *   inner  JWS (RFC 7515)  alg "EdDSA" (Ed25519, RFC 8037 §3.1)    typ "accord-content+jws"
 *   outer  JWE (RFC 7516)  alg "ECDH-ES" with an ephemeral X25519 key (RFC 7518 §4.6, RFC 8037
 *                          §3.2), enc "A256GCM" (RFC 7518 §5.3)   typ "accord-envelope+jwe"
 *
 * Both protected headers carry the five envelope header fields (id, sender, recipient, createdAt,
 * contentType): the outer copy lets the recipient route and refuse cheaply before decrypting; the
 * inner copy is what the sender signed. The outer header is the AES-GCM additional data, but
 * ECDH-ES is anonymous (anyone holding the recipient's public key can make a JWE), so the outer
 * copy is trusted only once it is found equal to the signed one.
 *
 * Flow of `openEnvelope`, cheapest refusal first:
 *   size bound → strict compact parse → outer header allow-list (typ, alg, enc, cty, kid, epk,
 *   fields) → recipient = expected → createdAt within the window → kid = our key → sender known →
 *   decrypt (ECDH-ES + A256GCM only) → inner header allow-list (typ, alg EdDSA only, kid = the
 *   sender's key) → verify → signed fields = outer fields.
 *
 * Risks and answers:
 * - Algorithm substitution ("none", HS256 keyed with a public key, dir, weaker enc): exact `alg`,
 *   `enc` and `typ` values are required and jose is given allow-lists as well.
 * - Cross-protocol confusion (a receipt or a descriptor signature passed off as content): each of
 *   Accord's JWS formats has its own `typ`, checked on every read.
 * - Surreptitious forwarding (B re-encrypts A's signed content to C): `recipient` is signed.
 * - Replay: `createdAt` is signed and must be within `maxSkewSeconds` of `now`; inside the window
 *   the caller deduplicates on `id` (the inbox's idempotency key).
 * - Oracles: failures are vague, one code per stage, no cause attached, no input echoed.
 * Everything in an envelope is attacker-controlled until the signature has verified.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from "node:crypto";
import { AccordError } from "../errors.js";
import {
  MAX_ENVELOPE_BYTES,
  MAX_PROTECTED_HEADER_CHARS,
  decodeB64url,
  encodeB64url,
  forEachB64urlPiece,
  hasExactMembers,
  isCanonicalB64url,
  parseProtectedHeader,
  type JsonObject,
} from "./compact.js";
import { isMediaType, isNodeId, isTimestamp, isUuid } from "./fields.js";
import {
  assertPrivateKey,
  publicKeyObject,
  thumbprintOfKey,
  type NodeKeys,
  type PublicJwk,
} from "./keys.js";
import { parseRfc3339 } from "./rfc3339.js";

export { MAX_ENVELOPE_BYTES } from "./compact.js";

/**
 * A compact envelope as received: its text, or its bytes (ASCII). Bytes are read in place, never
 * copied whole to a string, and never changed.
 */
export type Envelope = string | Uint8Array;

export interface EnvelopeHeader {
  /** Envelope id, a lower-case UUID; also the recipient's idempotency key. */
  readonly id: string;
  /** The sending node's id. */
  readonly sender: string;
  /** The receiving node's id. */
  readonly recipient: string;
  /** When the sender sealed it, RFC 3339. */
  readonly createdAt: string;
  /** The payload's media type, e.g. "application/stix+json;version=2.1". */
  readonly contentType: string;
}

export interface OpenEnvelopeOptions {
  readonly recipientKeys: NodeKeys;
  /** This node's id; an envelope for any other node is refused. */
  readonly expectedRecipient: string;
  /**
   * The sender's pinned Ed25519 public key, or undefined when the sender is not a partner. Called
   * first with the sender only (before decrypting); when the content turns out to be signed by
   * another key, called again with that key's thumbprint `kid`, so a caller that accepts a
   * partner's previous keys during a rotation's overlap can return that key.
   */
  readonly senderKey: (sender: string, kid?: string) => Promise<PublicJwk | undefined>;
  readonly now: Date;
  /** How far `createdAt` may be from `now`, either way. */
  readonly maxSkewSeconds: number;
  /**
   * The caller gives up the envelope's bytes (a request body read for this alone): the plaintext
   * is decrypted over the ciphertext it comes from and the payload returned as a view of them,
   * where otherwise a buffer of the plaintext's size is allocated. Fresh megabytes cost more CPU
   * than the decryption on the benchmark host (page faults). A string's bytes are a copy made
   * here, so a string is always opened so.
   */
  readonly overwrite?: boolean;
}

/** `typ` of the outer JWE. */
export const ENVELOPE_TYP = "accord-envelope+jwe";
/** `typ` of the inner JWS, and `cty` of the outer JWE. */
export const CONTENT_TYP = "accord-content+jws";

const HEADER_FIELDS = ["id", "sender", "recipient", "createdAt", "contentType"] as const;
const OUTER_MEMBERS = ["alg", "enc", "typ", "cty", "kid", "epk", ...HEADER_FIELDS] as const;
const INNER_MEMBERS = ["alg", "typ", "kid", ...HEADER_FIELDS] as const;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** An Ed25519 signature (64 bytes) in base64url without padding. */
const SIGNATURE_B64_CHARS = 86;
/** The IV (12 bytes) and the tag (16 bytes) in base64url without padding. */
const IV_B64_CHARS = 16;
const TAG_B64_CHARS = 22;
const DOT = 0x2e;

/**
 * Sign `payload` with the sender's Ed25519 key, then encrypt the JWS to the recipient's X25519
 * key. Returns the compact JWE. Misuse (a malformed header, a wrong key type, a payload that
 * would not fit in 64 MiB) throws TypeError/RangeError; a malformed recipient key ERR_KEYS_INVALID.
 */
export async function sealEnvelope(
  header: EnvelopeHeader,
  payload: Uint8Array,
  senderSigningKey: KeyObject,
  recipientEncryptionJwk: PublicJwk,
): Promise<string> {
  const bytes = await sealEnvelopeBytes(header, payload, senderSigningKey, recipientEncryptionJwk);
  return bytes.toString("latin1");
}

/**
 * `sealEnvelope`, the compact JWE as its bytes (ASCII, one byte a character): what a sender that
 * hashes, stores and sends it uses, so that megabytes are never converted from a string.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- the API stays a Promise (errors reject)
export async function sealEnvelopeBytes(
  header: EnvelopeHeader,
  payload: Uint8Array,
  senderSigningKey: KeyObject,
  recipientEncryptionJwk: PublicJwk,
): Promise<Buffer> {
  const problem = headerProblem(header);
  if (problem !== undefined) throw new RangeError(`sealEnvelope: ${problem}`);
  if (!(payload instanceof Uint8Array)) throw new TypeError("sealEnvelope: payload must be bytes");
  if (payload.byteLength > MAX_ENVELOPE_BYTES) {
    throw new RangeError("sealEnvelope: the payload is larger than an envelope may be");
  }
  assertPrivateKey(senderSigningKey, "Ed25519", "sealEnvelope: senderSigningKey");
  const recipient = publicKeyObject(recipientEncryptionJwk, "X25519");
  const fields = pickHeader(header);

  // The inner JWS, exactly as jose's CompactSign would write it (header members in this order,
  // Ed25519 is deterministic), but with node:crypto and Buffer's native base64url: jose's
  // pure-JS base64 dominated the cost of multi-MB envelopes. The JWS is written once, as bytes,
  // into one buffer that is signed (its first two segments) and encrypted (whole): building it as
  // a string and converting it to bytes twice cost more than the signature (share bench profile).
  const protectedB64 = Buffer.from(
    JSON.stringify({
      alg: "EdDSA",
      typ: CONTENT_TYP,
      kid: thumbprintOfKey(senderSigningKey, "Ed25519"),
      ...fields,
    }),
  ).toString("base64url");
  const payloadB64 = encodeB64url(payload);
  const signed = protectedB64.length + 1 + payloadB64.length;
  const jws = Buffer.allocUnsafe(signed + 1 + SIGNATURE_B64_CHARS);
  // Both segments are base64url, so ASCII writes one byte per character (and where Latin-1 took
  // about 30 ms to write 5 MB, ASCII takes under 1).
  jws.write(protectedB64, 0, "ascii");
  jws[protectedB64.length] = DOT;
  jws.write(payloadB64, protectedB64.length + 1, "ascii");
  const signingInput = jws.subarray(0, signed);
  const signature = edSign(null, signingInput, senderSigningKey).toString("base64url");
  if (signature.length !== SIGNATURE_B64_CHARS)
    throw new RangeError("sealEnvelope: the signature is not 64 bytes");
  jws[signed] = DOT;
  jws.write(signature, signed + 1, "ascii");
  const jwe = encryptEcdhEs(
    {
      alg: "ECDH-ES",
      enc: "A256GCM",
      typ: ENVELOPE_TYP,
      cty: CONTENT_TYP,
      kid: recipient.thumbprint,
      ...fields,
    },
    jws,
    recipient.key,
  );
  if (jwe.length > MAX_ENVELOPE_BYTES) {
    throw new RangeError("sealEnvelope: the sealed envelope would be larger than 64 MiB");
  }
  return jwe;
}

/**
 * The outer protected header, without decrypting: for routing and early refusal only. It is
 * attacker-controlled (validated in shape, not authenticated); `openEnvelope` is what vouches for
 * it. Throws ERR_ENVELOPE_INVALID.
 */
export function peekEnvelope(envelope: Envelope): EnvelopeHeader {
  // Everything but the ciphertext's spelling: that is megabytes, checked once, by `openEnvelope`
  // as it decrypts.
  return readOuter(envelope).header;
}

/** Decrypt, verify and check an envelope; see the module header for the order of the checks. */
export async function openEnvelope(
  envelope: Envelope,
  opts: OpenEnvelopeOptions,
): Promise<{ header: EnvelopeHeader; payload: Uint8Array }> {
  const { recipientKeys, expectedRecipient, senderKey, now, maxSkewSeconds } = opts;
  assertPrivateKey(
    recipientKeys.encryption.privateKey,
    "X25519",
    "openEnvelope: recipientKeys.encryption.privateKey",
  );
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError("openEnvelope: now must be a valid Date");
  }
  if (!Number.isFinite(maxSkewSeconds) || maxSkewSeconds < 0) {
    throw new RangeError("openEnvelope: maxSkewSeconds must be a finite number >= 0");
  }

  const outer = readOuter(envelope);
  if (outer.header.recipient !== expectedRecipient) {
    throw envelopeInvalid("the envelope is addressed to another node");
  }
  const created = parseRfc3339(outer.header.createdAt);
  if (created === undefined || Math.abs(created - now.getTime()) > maxSkewSeconds * 1000) {
    throw envelopeInvalid("the envelope was created outside the accepted time window");
  }
  // The current key, or a previous one still inside its rotation overlap.
  const own = (recipientKeys.decryptionKeys?.() ?? [recipientKeys.encryption.privateKey]).find(
    (k) => thumbprintOfKey(k, "X25519") === outer.kid,
  );
  if (own === undefined) throw decryptionFailed();

  const pinned = await senderKey(outer.header.sender);
  if (pinned === undefined) throw envelopeInvalid("the envelope names an unknown sender");
  let sender = publicKeyObject(pinned, "Ed25519");

  const plaintext = decryptEcdhEs(outer, own, opts.overwrite === true || outer.copied);
  if (plaintext === undefined) throw decryptionFailed();

  // The plaintext is attacker-controlled too: anyone can encrypt to us.
  const inner = readInner(plaintext);
  if (inner.kid !== sender.thumbprint) {
    // Signed with another key of the sender's: one of its previous keys, if the caller knows it.
    const other = await senderKey(outer.header.sender, inner.kid);
    if (other === undefined) throw signatureInvalid();
    sender = publicKeyObject(other, "Ed25519");
    if (inner.kid !== sender.thumbprint) throw signatureInvalid();
  }
  // Verified with node:crypto over the exact signing input (the header and payload segments as
  // they are spelled); the signature segment is canonical, so Buffer's decoder reads its bytes.
  let valid = false;
  try {
    valid = edVerify(
      null,
      inner.signingInput,
      sender.key,
      Buffer.from(inner.signature, "base64url"),
    );
  } catch {
    valid = false;
  }
  if (!valid) throw signatureInvalid();
  // The payload segment is decoded in place, over its own text in the plaintext (ours, and no
  // longer needed as text once verified); a spelling that is not canonical is refused as before.
  let length = 0;
  const [from, to] = inner.payloadAt;
  const spelled = forEachB64urlPiece(plaintext, from, to, (piece) => {
    length += piece.copy(plaintext, from + length);
  });
  if (!spelled) throw signatureInvalid();
  const payload = new Uint8Array(plaintext.buffer, plaintext.byteOffset + from, length);
  for (const field of HEADER_FIELDS) {
    if (inner.header[field] !== outer.header[field]) {
      throw envelopeInvalid("the envelope's signed header does not match its outer header");
    }
  }
  return { header: inner.header, payload };
}

// ---------------------------------------------------------------------------------------------

interface Outer {
  readonly header: EnvelopeHeader;
  readonly kid: string;
  /** The protected header segment (the AES-GCM additional data). */
  readonly protectedB64: string;
  readonly iv: Uint8Array;
  readonly tag: Uint8Array;
  /** The envelope's bytes and where the ciphertext segment lies in them, its spelling unchecked. */
  readonly bytes: Buffer;
  /** True when `bytes` is a copy made here (of a string), not the caller's. */
  readonly copied: boolean;
  readonly ciphertextAt: readonly [number, number];
  /** The ephemeral X25519 public key's `x`. */
  readonly epkX: string;
}

/*
 * ECDH-ES (direct key agreement, RFC 7518 §4.6) with X25519 (RFC 8037 §3.2) and A256GCM (RFC 7518
 * §5.3), with node:crypto and native base64url: the same JWE jose's CompactEncrypt writes (the
 * ephemeral key is appended to the protected header as `epk: {x, crv, kty}`), without its pure-JS
 * base64 over multi-MB ciphertexts. The content key is the Concat KDF of RFC 7518 §4.6.2 with
 * SHA-256: SHA-256(00000001 || Z || len("A256GCM") "A256GCM" || len(apu)=0 || len(apv)=0 || 256).
 */
const KDF_OTHER_INFO = Buffer.concat([
  Buffer.from([0, 0, 0, 7]),
  Buffer.from("A256GCM", "ascii"),
  Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
]);

function contentKey(z: Buffer): Buffer | undefined {
  if (z.every((b) => b === 0)) return undefined; // a low-order point (RFC 7748 §6.1)
  return createHash("sha256")
    .update(Buffer.from([0, 0, 0, 1]))
    .update(z)
    .update(KDF_OTHER_INFO)
    .digest();
}

function encryptEcdhEs(
  header: Record<string, unknown>,
  plaintext: Buffer,
  recipient: KeyObject,
): Buffer {
  const eph = generateKeyPairSync("x25519");
  const { x } = eph.publicKey.export({ format: "jwk" }) as { x: string };
  const cek = contentKey(diffieHellman({ privateKey: eph.privateKey, publicKey: recipient }));
  if (cek === undefined)
    throw new RangeError("sealEnvelope: the recipient key is a low-order point");
  const protectedB64 = Buffer.from(
    JSON.stringify({ ...header, epk: { x, crv: "X25519", kty: "OKP" } }),
  ).toString("base64url");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", cek, iv);
  cipher.setAAD(Buffer.from(protectedB64, "ascii"));
  // GCM is a stream mode: `final` adds no bytes, so the ciphertext is `update`'s output as is
  // (no copy of megabytes to join an empty tail).
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
  const tag = cipher.getAuthTag();
  // Written into one buffer: joined with `+`, the envelope was a rope that its first reader (the
  // digest, the outbox insert) had to copy flat again.
  const parts = [
    protectedB64,
    "",
    iv.toString("base64url"),
    ciphertext.toString("base64url"),
    tag.toString("base64url"),
  ];
  let length = parts.length - 1;
  for (const part of parts) length += part.length;
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  parts.forEach((part, i) => {
    if (i > 0) out[at++] = DOT;
    at += out.write(part, at, "ascii");
  });
  return out;
}

/**
 * The plaintext, or undefined when anything about the decryption fails (vague on purpose). The
 * ciphertext segment is decoded and decrypted a piece at a time into one buffer of the plaintext's
 * size, and only returned once the tag has verified; a spelling that is not canonical base64url
 * throws ERR_ENVELOPE_INVALID, as the other segments' do.
 */
function decryptEcdhEs(outer: Outer, recipient: KeyObject, overwrite: boolean): Buffer | undefined {
  const [start, end] = outer.ciphertextAt;
  // GCM is a stream mode: the plaintext is as long as the ciphertext (3 bytes per 4 characters),
  // so written over the ciphertext's text it stays behind the piece being read.
  const size = Math.floor(((end - start) * 3) / 4);
  const plaintext = overwrite
    ? outer.bytes.subarray(start, start + size)
    : Buffer.allocUnsafe(size);
  let length = 0;
  let spelled = true;
  try {
    const epk = createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: outer.epkX },
      format: "jwk",
    });
    const cek = contentKey(diffieHellman({ privateKey: recipient, publicKey: epk }));
    if (cek === undefined) return undefined;
    const decipher = createDecipheriv("aes-256-gcm", cek, outer.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(outer.protectedB64, "ascii"));
    decipher.setAuthTag(outer.tag);
    spelled = forEachB64urlPiece(outer.bytes, start, end, (piece) => {
      length += decipher.update(piece).copy(plaintext, length);
    });
    if (spelled) decipher.final();
  } catch {
    return undefined;
  }
  if (!spelled) throw malformed();
  return length === plaintext.length ? plaintext : undefined;
}

/**
 * Parse and allow-list the outer JWE (attacker-controlled), all but the ciphertext segment's
 * spelling (megabytes, checked as it is decrypted). Throws ERR_ENVELOPE_INVALID.
 */
function readOuter(envelope: unknown): Outer {
  const size = typeof envelope === "string" || envelope instanceof Uint8Array ? envelope.length : 0;
  if (size > MAX_ENVELOPE_BYTES) throw envelopeInvalid("the envelope is larger than 64 MiB");
  // A string as UTF-8 (a copy: never overwritten): any character outside ASCII becomes bytes
  // outside base64url, refused below.
  const bytes =
    typeof envelope === "string"
      ? Buffer.from(envelope, "utf8")
      : envelope instanceof Uint8Array
        ? Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength)
        : undefined;
  const dots = bytes === undefined ? undefined : dotsOf(bytes, 4);
  if (bytes === undefined || dots === undefined) throw malformed();
  const [d0 = 0, d1 = 0, d2 = 0, d3 = 0] = dots;
  // ECDH-ES is direct key agreement: there is no encrypted key (RFC 7518 §4.6). The IV and the
  // tag are short; the last segment is the tag, so any further dot lands in it and fails it.
  if (d1 !== d0 + 1 || d3 === d2 + 1 || d0 > MAX_PROTECTED_HEADER_CHARS) throw malformed();
  if (d2 - d1 - 1 > IV_B64_CHARS || bytes.length - d3 - 1 > TAG_B64_CHARS) throw malformed();
  const iv = decodeB64url(bytes.toString("latin1", d1 + 1, d2));
  const tag = decodeB64url(bytes.toString("latin1", d3 + 1));
  if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES) throw malformed();
  const protectedB64 = bytes.toString("latin1", 0, d0);
  const h = parseProtectedHeader(protectedB64);
  if (h === undefined || !isOuterHeader(h)) throw malformed();
  const header = headerOf(h);
  if (header === undefined) throw malformed();
  return {
    header,
    kid: h.kid as string,
    protectedB64,
    iv,
    tag,
    bytes,
    copied: typeof envelope === "string",
    ciphertextAt: [d2 + 1, d3],
    epkX: (h.epk as { x: string }).x,
  };
}

/** The positions of the first `count` dots of `bytes`, or undefined when it has fewer. */
function dotsOf(bytes: Buffer, count: number): number[] | undefined {
  const dots: number[] = [];
  for (let from = 0; dots.length < count;) {
    const at = bytes.indexOf(DOT, from);
    if (at < 0) return undefined;
    dots.push(at);
    from = at + 1;
  }
  return dots;
}

/** The outer protected header's allow-list: exact members, algorithms, types, an X25519 `epk`. */
function isOuterHeader(h: JsonObject): boolean {
  return (
    hasExactMembers(h, OUTER_MEMBERS) &&
    h.alg === "ECDH-ES" &&
    h.enc === "A256GCM" &&
    h.typ === ENVELOPE_TYP &&
    h.cty === CONTENT_TYP &&
    typeof h.kid === "string" &&
    isEphemeralKey(h.epk)
  );
}

interface Inner {
  /** The bytes the signature covers (`header.payload`), a view of the plaintext. */
  readonly signingInput: Buffer;
  /** Where the payload segment lies in the plaintext; its spelling is checked as it is decoded. */
  readonly payloadAt: readonly [number, number];
  /** The signature segment, canonical base64url of 64 bytes' length. */
  readonly signature: string;
  readonly header: EnvelopeHeader;
  readonly kid: string;
}

/**
 * Parse and allow-list the inner JWS (attacker-controlled), all but the payload segment's
 * spelling (checked as it is decoded, after the signature). Throws ERR_SIGNATURE_INVALID.
 */
function readInner(plaintext: Buffer): Inner {
  const dots = dotsOf(plaintext, 2);
  const [d0 = 0, d1 = 0] = dots ?? [];
  // The last segment is the signature, so a further dot lands in it and fails its spelling. Read
  // as Latin-1, any byte outside ASCII is a character outside base64url: as strict as UTF-8.
  const shaped =
    dots !== undefined &&
    d0 <= MAX_PROTECTED_HEADER_CHARS &&
    plaintext.length - d1 - 1 === SIGNATURE_B64_CHARS;
  const signature = shaped ? plaintext.toString("latin1", d1 + 1) : "";
  const h =
    shaped && isCanonicalB64url(signature)
      ? parseProtectedHeader(plaintext.toString("latin1", 0, d0))
      : undefined;
  if (
    h === undefined ||
    !hasExactMembers(h, INNER_MEMBERS) ||
    h.alg !== "EdDSA" ||
    h.typ !== CONTENT_TYP ||
    typeof h.kid !== "string"
  ) {
    throw signatureInvalid();
  }
  const header = headerOf(h);
  if (header === undefined) throw signatureInvalid();
  return {
    signingInput: plaintext.subarray(0, d1),
    payloadAt: [d0 + 1, d1],
    signature,
    header,
    kid: h.kid,
  };
}

function isEphemeralKey(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const epk = value as JsonObject;
  return (
    hasExactMembers(epk, ["kty", "crv", "x"]) &&
    epk.kty === "OKP" &&
    epk.crv === "X25519" &&
    typeof epk.x === "string" &&
    decodeB64url(epk.x)?.length === 32
  );
}

/** The five header fields of a parsed protected header, if each has its shape. */
function headerOf(h: JsonObject): EnvelopeHeader | undefined {
  if (headerProblem(h) !== undefined) return undefined;
  return Object.freeze(pickHeader(h as unknown as EnvelopeHeader));
}

function pickHeader(h: EnvelopeHeader): EnvelopeHeader {
  return {
    id: h.id,
    sender: h.sender,
    recipient: h.recipient,
    createdAt: h.createdAt,
    contentType: h.contentType,
  };
}

/** The first thing wrong with a header's fields, as a phrase for a RangeError, or undefined. */
function headerProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "header must be an object";
  const h = value as Readonly<Record<string, unknown>>;
  if (!isUuid(h.id)) return "header.id must be a lower-case UUID";
  if (!isNodeId(h.sender)) return "header.sender must be 1-256 visible ASCII characters";
  if (!isNodeId(h.recipient)) return "header.recipient must be 1-256 visible ASCII characters";
  if (!isTimestamp(h.createdAt)) return "header.createdAt must be an RFC 3339 date-time";
  if (!isMediaType(h.contentType)) {
    return "header.contentType must be 1-256 printable ASCII characters";
  }
  return undefined;
}

function malformed(): AccordError {
  return envelopeInvalid("the envelope is malformed");
}

function envelopeInvalid(message: string): AccordError {
  return new AccordError("ERR_ENVELOPE_INVALID", message);
}

function decryptionFailed(): AccordError {
  return new AccordError("ERR_DECRYPTION_FAILED", "the envelope could not be decrypted");
}

function signatureInvalid(): AccordError {
  return new AccordError("ERR_SIGNATURE_INVALID", "the envelope signature is invalid");
}
