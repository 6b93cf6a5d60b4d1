/**
 * Detached signatures over canonical JSON, e.g. for the node descriptor a partner pins.
 *
 * `signJson` signs the RFC 8785 (JCS) canonical bytes of a JSON value with Ed25519 and returns a
 * compact JWS (RFC 7515) with a detached payload (RFC 7515 Appendix F: the payload segment is
 * empty): `header..signature`. The protected header is exactly
 * `{"alg":"EdDSA","typ":"accord-json+jws","kid":<RFC 7638 thumbprint>}`.
 *
 * `verifyJson` re-derives the canonical bytes from the value it is given, so the signature holds
 * for the data whatever its member order or spacing, and for nothing else. The JWS is
 * attacker-controlled: any fault in it is `false`, never an exception; only a malformed key (our
 * own configuration) throws ERR_KEYS_INVALID.
 *
 * Callers sign values whose shapes differ (a descriptor is not an agreement), so one `typ` serves
 * all of them; a value that must never be confused with another should carry its own `type`
 * member.
 */
import type { KeyObject } from "node:crypto";
import { CompactSign, compactVerify } from "jose";
import { encodeB64url, hasExactMembers, parseProtectedHeader, splitCompact } from "./compact.js";
import { canonicalBytes } from "./jcs.js";
import { assertPrivateKey, publicKeyObject, thumbprintOfKey, type PublicJwk } from "./keys.js";

export const JSON_SIGNATURE_TYP = "accord-json+jws";

/** A detached JWS is a header and a signature: a few hundred bytes. */
const MAX_DETACHED_JWS_CHARS = 16 * 1024;

/** Detached compact JWS over `canonicalize(value)`. Non-JSON values throw TypeError/RangeError. */
export async function signJson(value: unknown, key: KeyObject): Promise<string> {
  assertPrivateKey(key, "Ed25519", "signJson: key");
  const jws = await new CompactSign(canonicalBytes(value))
    .setProtectedHeader({
      alg: "EdDSA",
      typ: JSON_SIGNATURE_TYP,
      kid: thumbprintOfKey(key, "Ed25519"),
    })
    .sign(key);
  const [header, , signature] = jws.split(".");
  return `${header ?? ""}..${signature ?? ""}`;
}

/** The `kid` of a detached JWS's protected header (which key signed it), if it names one. */
export function signatureKeyId(jws: string): string | undefined {
  const kid = parseProtectedHeader(jws.split(".", 1)[0] ?? "")?.kid;
  return typeof kid === "string" ? kid : undefined;
}

/** True iff `jws` is a signature by `jwk` over exactly the canonical bytes of `value`. */
export async function verifyJson(jws: string, value: unknown, jwk: PublicJwk): Promise<boolean> {
  const signer = publicKeyObject(jwk, "Ed25519");
  // The JWS is attacker-controlled: strictly parsed, allow-listed, detached form only.
  const segments = splitCompact(jws, 3, MAX_DETACHED_JWS_CHARS);
  if (segments === undefined) return false;
  const [header = "", payload, signature = ""] = segments;
  if (payload !== "") return false;
  const h = parseProtectedHeader(header);
  if (
    h === undefined ||
    !hasExactMembers(h, ["alg", "typ", "kid"]) ||
    h.alg !== "EdDSA" ||
    h.typ !== JSON_SIGNATURE_TYP ||
    h.kid !== signer.thumbprint
  ) {
    return false;
  }
  let bytes: Uint8Array;
  try {
    bytes = canonicalBytes(value);
  } catch {
    return false; // not JSON, so nothing signJson could have signed
  }
  try {
    await compactVerify(`${header}.${encodeB64url(bytes)}.${signature}`, signer.key, {
      algorithms: ["EdDSA"],
    });
    return true;
  } catch {
    return false;
  }
}
