/**
 * SHA-256 (FIPS 180-4) over node:crypto: hex for ledger entries, envelope hashes and receipts
 * (`envelopeHash`), raw bytes for RFC 7638 thumbprints. Strings are hashed as their UTF-8 bytes.
 */
import { createHash } from "node:crypto";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function sha256(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}
