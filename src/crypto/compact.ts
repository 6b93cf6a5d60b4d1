/**
 * Strict readers for the JOSE compact serialisations: JWS (RFC 7515 §7.1,
 * `header.payload.signature`) and JWE (RFC 7516 §7.1, `header.key.iv.ciphertext.tag`), and for
 * base64url without padding (RFC 7515 §2, RFC 4648 §5).
 *
 * Everything read here comes from a peer and is attacker-controlled. The readers are stricter
 * than the RFCs require, on purpose:
 * - a segment must be the canonical base64url of its bytes (no padding, no stray characters, no
 *   non-zero trailing bits). Node's own decoder skips characters it does not know and ignores
 *   trailing bits, so without this check two different strings could carry the same bytes; with
 *   it, one envelope has one spelling, and its SHA-256 (the receipt's `envelopeHash`, the inbox's
 *   replay key) identifies it;
 * - a protected header must be a JSON object, and is bounded in size before it is parsed;
 * - callers then allow-list the header's members, so an unknown (e.g. `crit`, `zip`, `jku`) member
 *   is refused rather than ignored.
 *
 * Not part of Accord's public API: `index.ts` does not re-export this module.
 */

/** Largest compact envelope accepted or produced, in bytes (compact JOSE text is ASCII). */
export const MAX_ENVELOPE_BYTES = 64 * 1024 * 1024;

/** Largest protected header we are willing to parse (ours are well under 1 KiB). */
export const MAX_PROTECTED_HEADER_CHARS = 8 * 1024;

const B64URL = /^[A-Za-z0-9_-]*$/;

/** The value of each base64url character (-1 for any other character code below 128). */
const B64URL_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * True when `text` is canonical unpadded base64url (RFC 4648 §5, §3.5): only alphabet characters,
 * a length that is not 1 modulo 4, and zero bits after the last whole byte. Such a string decodes
 * to exactly one byte string that encodes back to it; checked without decoding (an envelope is
 * megabytes, and checked on its way through several readers).
 */
export function isCanonicalB64url(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 1 || !B64URL.test(text)) return false;
  if (rest === 0) return true;
  const last = B64URL_VALUE[text.charCodeAt(text.length - 1)] ?? -1;
  // 2 characters carry 1 byte (4 spare bits), 3 characters carry 2 bytes (2 spare bits).
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** The bytes of a canonical, unpadded base64url string, or undefined when it is not one. */
export function decodeB64url(text: string): Uint8Array | undefined {
  if (!isCanonicalB64url(text)) return undefined;
  const bytes = Buffer.from(text, "base64url");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Characters read per piece by `forEachB64urlPiece`: a multiple of 4, so pieces split no byte. */
const PIECE_CHARS = 16 * 1024;

/**
 * Decode canonical unpadded base64url held as ASCII bytes, `text[start, end)`, a piece at a time:
 * each piece is checked (what `isCanonicalB64url` checks over the whole, since every piece but the
 * last is a whole number of 4-character groups) and its bytes handed to `use`, in order.
 * Returns false, having stopped at the first bad piece, when the text is not canonical.
 *
 * Why pieces: an envelope is megabytes, and reading it whole as a string, then decoding that to
 * a buffer, allocated two fresh multi-megabyte blocks per segment; on the benchmark host fresh
 * memory costs more CPU (page faults) than the decoding. Pieces are small and their memory is
 * reused. `use` gets a view of a scratch buffer that the next piece overwrites: copy what it keeps.
 * Each piece is read before `use` is called, so `use` may write into `text` behind the piece
 * (decoding in place: the decoded bytes never run ahead of the text they come from).
 */
export function forEachB64urlPiece(
  text: Uint8Array,
  start: number,
  end: number,
  use: (piece: Buffer) => void,
): boolean {
  const view = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  const scratch = Buffer.allocUnsafe((Math.min(PIECE_CHARS, end - start) * 3) / 4 + 1);
  for (let at = start; at < end; at += PIECE_CHARS) {
    const piece = view.toString("latin1", at, Math.min(end, at + PIECE_CHARS));
    const length = scratch.write(piece, 0, "base64url");
    // Checked by encoding the bytes back: Buffer's encoder writes canonical base64url only, so the
    // piece is canonical exactly when it is what its bytes encode to (a character outside the
    // alphabet, `+`, `/`, `=`, a stray length or non-zero trailing bits all come back otherwise).
    // Native both ways, a third of the CPU of the alphabet's regular expression over megabytes.
    if (scratch.toString("base64url", 0, length) !== piece) return false;
    use(scratch.subarray(0, length));
  }
  return true;
}

export function encodeB64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Split a compact serialisation into exactly `parts` segments, each canonical base64url.
 * Returns undefined for anything else. Bounds the total length before looking further.
 */
export function splitCompact(text: unknown, parts: 3 | 5, maxBytes: number): string[] | undefined {
  if (typeof text !== "string" || text.length > maxBytes) return undefined;
  const segments = text.split(".");
  if (segments.length !== parts) return undefined;
  for (const segment of segments) {
    if (!isCanonicalB64url(segment)) return undefined;
  }
  return segments;
}

/** A JSON object member map, as read from a peer. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Parse a protected header segment: canonical base64url of UTF-8 JSON holding one object. */
export function parseProtectedHeader(segment: string): JsonObject | undefined {
  if (segment.length === 0 || segment.length > MAX_PROTECTED_HEADER_CHARS) return undefined;
  const bytes = decodeB64url(segment);
  if (bytes === undefined) return undefined;
  return parseJsonObject(bytes);
}

/** Strict UTF-8 (no replacement characters) then JSON; undefined unless the result is an object. */
export function parseJsonObject(bytes: Uint8Array): JsonObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    // JSON.parse's message quotes the input; it must never travel further.
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return value as JsonObject;
}

/** True when every member of `obj` is in `allowed` and every one of `required` is present. */
export function hasExactMembers(
  obj: JsonObject,
  required: readonly string[],
  optional: readonly string[] = [],
): boolean {
  const keys = Object.keys(obj);
  for (const k of keys) {
    if (!required.includes(k) && !optional.includes(k)) return false;
  }
  return required.every((k) => Object.hasOwn(obj, k));
}
