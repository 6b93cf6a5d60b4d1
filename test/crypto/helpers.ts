/** Shared helpers for the crypto tests and the vector generator: vector files, raw-key import. */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const VECTORS = fileURLToPath(new URL("../../spec/vectors/", import.meta.url));

export function readVector(name: string): unknown {
  return JSON.parse(readFileSync(VECTORS + name, "utf8"));
}

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function b64url(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString("base64url");
}

/*
 * Raw 32-byte keys go into node:crypto through their fixed DER wrappers: PKCS#8 (RFC 5958) for
 * private keys and SubjectPublicKeyInfo for public ones, with the RFC 8410 algorithm identifiers
 * id-Ed25519 (1.3.101.112, 06 03 2b 65 70) and id-X25519 (1.3.101.110, 06 03 2b 65 6e).
 */
const PKCS8_PREFIX = {
  ed25519: "302e020100300506032b657004220420",
  x25519: "302e020100300506032b656e04220420",
};
const SPKI_PREFIX = { ed25519: "302a300506032b6570032100", x25519: "302a300506032b656e032100" };

export function rawPrivateKey(type: "ed25519" | "x25519", raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError("a raw private key is 32 bytes");
  const der = Buffer.concat([Buffer.from(PKCS8_PREFIX[type], "hex"), raw]);
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}

export function rawPublicKey(type: "ed25519" | "x25519", raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError("a raw public key is 32 bytes");
  const der = Buffer.concat([Buffer.from(SPKI_PREFIX[type], "hex"), raw]);
  return createPublicKey({ key: der, format: "der", type: "spki" });
}

/** The raw 32-byte public key of a KeyObject (private or public), read back from its SPKI DER. */
export function rawPublicOf(key: KeyObject): Uint8Array {
  const pub = key.type === "public" ? key : createPublicKey(key);
  const der = pub.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - 32));
}
