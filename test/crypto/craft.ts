/**
 * Builds envelopes the way an attacker (or a buggy peer) could: any inner JWS header, signing key
 * or algorithm, any outer JWE header, key-management algorithm or content encryption. Used by the
 * envelope tests and by make-envelope-vector.ts for the negative vectors.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { CompactEncrypt, CompactSign } from "jose";
import { CONTENT_TYP, ENVELOPE_TYP, type EnvelopeHeader } from "../../src/crypto/envelope.js";
import { jwkThumbprint, type NodeKeys } from "../../src/crypto/keys.js";
import { b64url } from "./helpers.js";

export interface CraftOptions {
  /** The envelope header fields, placed in both protected headers unless overridden. */
  header: EnvelopeHeader;
  payload: Uint8Array;
  sender: NodeKeys;
  recipient: NodeKeys;
  /** Replaces or adds inner JWS header members (set a member to undefined to drop it). */
  inner?: Record<string, unknown>;
  /** Signs with this key instead of the sender's (a KeyObject, or bytes for HS256). */
  signWith?: KeyObject | Uint8Array;
  /** Replaces or adds outer JWE header members (set a member to undefined to drop it). */
  outer?: Record<string, unknown>;
  /** Encrypts with this key instead of the recipient's public key (bytes for `dir`). */
  encryptWith?: KeyObject | Uint8Array;
  /** Uses this text as the JWE plaintext instead of the JWS. */
  plaintext?: string;
}

function merge(
  base: Record<string, unknown>,
  patch: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({ ...base, ...patch }).filter(([, v]) => v !== undefined),
  );
}

export async function craftJws(o: CraftOptions): Promise<string> {
  const header = merge(
    { alg: "EdDSA", typ: CONTENT_TYP, kid: jwkThumbprint(o.sender.signing.publicJwk), ...o.header },
    o.inner,
  );
  if (header.alg === "none") {
    return `${b64url(JSON.stringify(header))}.${b64url(o.payload)}.`;
  }
  return new CompactSign(o.payload)
    .setProtectedHeader(header as { alg: string })
    .sign(o.signWith ?? o.sender.signing.privateKey);
}

export async function craft(o: CraftOptions): Promise<string> {
  const plaintext = o.plaintext ?? (await craftJws(o));
  const header = merge(
    {
      alg: "ECDH-ES",
      enc: "A256GCM",
      typ: ENVELOPE_TYP,
      cty: CONTENT_TYP,
      kid: jwkThumbprint(o.recipient.encryption.publicJwk),
      ...o.header,
    },
    o.outer,
  );
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header as { alg: string; enc: string })
    .encrypt(o.encryptWith ?? publicOf(o.recipient));
}

function publicOf(keys: NodeKeys): KeyObject {
  // What a sender holds: the recipient's public key.
  return createPublicKey(keys.encryption.privateKey);
}
