/**
 * Keyed pseudonymization and deterministic id re-issue (spec/minimization.md §pseudonyms, §ids).
 *
 * Keys: HKDF-SHA-256 (RFC 5869) from the node's minimization secret, salted with a fixed label,
 * with `info` naming the agreement (and, for pseudonyms, the epoch), so tokens differ across
 * agreements and epochs and one agreement's key says nothing about another's. Tokens:
 * HMAC-SHA-256 over `kind || 0x00 || normalised value`, truncated to 128 bits, base64url.
 * Id re-issue: an HMAC over the original id under the per-agreement id key gives 74 bits of the
 * new UUID and an HMAC over those gives a 48-bit tag, so an id already re-issued under the same
 * key is recognised and kept (minimizing twice equals minimizing once).
 *
 * Risks: a key in a log or an error message (never: keys are opaque bytes, never printed);
 * dictionary attacks on low-entropy values by anyone holding the key (the key stays on the node;
 * partners see tokens only).
 */
import { createHmac, hkdfSync } from "node:crypto";
import type { DetectorKind } from "./detect.js";
import { PSEUDONYM_MAIL_DOMAIN } from "./detect.js";

/** The keys one minimization run needs; derive them with `deriveMinimizationKeys`. */
export interface MinimizationKeys {
  /** Per agreement and epoch: pseudonym tokens. */
  readonly pseudonym: Uint8Array;
  /** Per agreement (all epochs): re-issued object ids, stable so later versions keep their id. */
  readonly ids: Uint8Array;
}

const SALT = new TextEncoder().encode("accord/minimize/v1");

/**
 * HMAC-SHA-256 (RFC 2104) of the concatenated parts. `createHmac` per message: measured on Node 20
 * (2026-12-03, `node --cpu-prof` of the share bench) at about half the CPU of copying padded-key
 * hash states per message, which this replaced.
 */
export function hmacSha256(key: Uint8Array, ...parts: (string | Uint8Array)[]): Buffer {
  const mac = createHmac("sha256", key);
  for (const p of parts) mac.update(p);
  return mac.digest();
}

/** RFC 5869 HKDF-SHA-256 from a node secret of at least 32 bytes. */
export function deriveMinimizationKeys(
  nodeSecret: Uint8Array,
  agreementId: string,
  epoch: number,
): MinimizationKeys {
  if (!(nodeSecret instanceof Uint8Array) || nodeSecret.length < 32)
    throw new RangeError("the minimization secret must be at least 32 bytes");
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new RangeError("epoch must be a non-negative integer");
  if (agreementId.length === 0) throw new RangeError("agreementId must not be empty");
  const key = (info: string): Uint8Array =>
    new Uint8Array(hkdfSync("sha256", nodeSecret, SALT, info, 32));
  return {
    pseudonym: key(`pseudonym\x00${agreementId}\x00${String(epoch)}`),
    ids: key(`ids\x00${agreementId}`),
  };
}

/**
 * The normal form a value is hashed in: NFKC (done by the caller), then per kind — e-mail and
 * wallet-less kinds lower-cased; phone, card and IBAN reduced to digits and letters; separators
 * (space, dot, hyphen, slash, parentheses) removed where they carry no meaning.
 */
export function normalizeValue(kind: DetectorKind | "text", value: string): string {
  const v = value.trim();
  switch (kind) {
    case "email":
      return v.toLowerCase();
    case "phone": {
      const digits = v.replace(/\D/g, "");
      return v.startsWith("+") ? `+${digits}` : v.startsWith("00") ? `+${digits.slice(2)}` : digits;
    }
    case "iban":
    case "card":
    case "passport":
      return v.replace(/[\s./()-]/g, "").toUpperCase();
    case "wallet":
      // bech32 and hex are case-insensitive; base58 is case-sensitive.
      return /^(?:0x|bc1|tb1|ltc1)/i.test(v) ? v.toLowerCase() : v;
    case "ip":
    case "text":
      return v.toLowerCase();
  }
}

function b64url(b: Buffer): string {
  return b.toString("base64url");
}

/**
 * `pseu:v1:<kind>:<22 base64url chars>`; e-mail tokens take the mailbox form
 * `pseu-v1-<22 chars>@pseudonym.invalid` so they stay valid wherever STIX wants an address.
 */
export function pseudonym(
  keys: MinimizationKeys,
  kind: DetectorKind | "text",
  value: string,
): string {
  const mac = hmacSha256(keys.pseudonym, `${kind}\x00${normalizeValue(kind, value)}`).subarray(
    0,
    16,
  );
  return kind === "email"
    ? `pseu-v1-${b64url(mac)}@${PSEUDONYM_MAIL_DOMAIN}`
    : `pseu:v1:${kind}:${b64url(mac)}`;
}

/** ASCII of the hex digits. */
const HEX = Buffer.from("0123456789abcdef", "latin1");
/** A UUID's text is written here, then read as one string. */
const UUID_TEXT = Buffer.alloc(36);

/**
 * The UUID's text, written as bytes and read back in one piece: built with `+=`, it was a string
 * of some 40 joined pieces that every memo entry and every object holding it kept, and that the
 * garbage collector traced (the share bench spent more on that than on the two HMACs).
 */
function uuidFrom(b: Uint8Array): string {
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) UUID_TEXT[at++] = 0x2d;
    const x = b[i] ?? 0;
    UUID_TEXT[at++] = HEX[x >> 4] ?? 0;
    UUID_TEXT[at++] = HEX[x & 15] ?? 0;
  }
  return UUID_TEXT.toString("latin1", 0, 36);
}

/** The 16 bytes of a re-issued UUID whose first bytes are `head` (version 5, RFC 4122 variant). */
function tagged(keys: MinimizationKeys, head: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(head.subarray(0, 10));
  out[6] = ((out[6] ?? 0) & 0x0f) | 0x50;
  out[8] = ((out[8] ?? 0) & 0x3f) | 0x80;
  const tag = hmacSha256(keys.ids, "tag", out.subarray(0, 10));
  out.set(tag.subarray(0, 6), 10);
  return out;
}

function uuidBytes(s: string): Uint8Array | undefined {
  const hex = s.replace(/-/g, "");
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** True when `id` was re-issued under these keys (its tag verifies). */
export function isReissued(keys: MinimizationKeys, id: string): boolean {
  const cut = id.lastIndexOf("--");
  // Re-issued ids are version 5 with the RFC 4122 variant: anything else needs no HMAC to rule out.
  if (cut < 0 || id.charCodeAt(cut + 16) !== 53 || !"89ab".includes(id.charAt(cut + 21)))
    return false;
  const bytes = uuidBytes(id.slice(cut + 2));
  if (bytes === undefined) return false;
  const expect = tagged(keys, bytes);
  for (let i = 10; i < 16; i++) if (expect[i] !== bytes[i]) return false;
  return true;
}

/** Memo of re-issued ids per key (references repeat across a bundle); bounded, pure in effect. */
const MEMO = new WeakMap<Uint8Array, Map<string, string>>();
const MEMO_LIMIT = 50_000;

/** `type--uuid` re-issued under the agreement's id key; ids already re-issued are returned as is. */
export function reissueId(keys: MinimizationKeys, id: string): string {
  let memo = MEMO.get(keys.ids);
  if (memo === undefined) MEMO.set(keys.ids, (memo = new Map<string, string>()));
  const known = memo.get(id);
  if (known !== undefined) return known;
  let next = id;
  if (!isReissued(keys, id)) {
    const cut = id.lastIndexOf("--");
    const type = cut < 0 ? id : id.slice(0, cut);
    next = `${type}--${uuidFrom(tagged(keys, hmacSha256(keys.ids, "id\x00", id)))}`;
  }
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(id, next);
  return next;
}
