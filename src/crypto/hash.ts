/**
 * SHA-256 (FIPS 180-4) over node:crypto: hex for ledger entries, envelope hashes and receipts
 * (`envelopeHash`), raw bytes for RFC 7638 thumbprints. Strings are hashed as their UTF-8 bytes.
 */
import { createHash } from "node:crypto";
import { canonicalStream } from "./jcs.js";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function sha256(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/**
 * SHA-256 hex of the RFC 8785 canonical form of `value`, hashed as it is written (in pieces of
 * about 64 KiB) rather than built as one string first: the same digest as
 * `sha256Hex(canonicalize(value))`, at a fraction of the memory for a large bundle.
 */
export function canonicalSha256Hex(value: unknown): string {
  const h = createHash("sha256");
  canonicalStream(value, (piece) => h.update(piece, "utf8"));
  return h.digest("hex");
}
