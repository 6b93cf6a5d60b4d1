/**
 * Signed receipts (spec/envelope.md, "Receipts"): the recipient's answer to an envelope, a compact
 * JWS (RFC 7515) with alg "EdDSA" (Ed25519, RFC 8037 §3.1), typ "accord-receipt+jws", kid = the
 * RFC 7638 thumbprint of the recipient's signing key, and as payload the RFC 8785 canonical JSON
 * of the claims. `envelopeHash` (hex SHA-256 of the compact envelope, exactly as sent) binds the
 * receipt to one envelope; oversight compares it with the sender's outbox.
 *
 * A receipt arrives from a peer and is attacker-controlled until its signature has verified; its
 * claims are then still checked for shape. Every failure is ERR_SIGNATURE_INVALID, with no detail.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { AccordError } from "../errors.js";
import {
  decodeB64url,
  hasExactMembers,
  parseJsonObject,
  parseProtectedHeader,
  splitCompact,
} from "./compact.js";
import { isBoundedString, isNodeId, isTimestamp, isUuid } from "./fields.js";
import { assertPrivateKey, publicKeyObject, thumbprintOfKey, type PublicJwk } from "./keys.js";

export type ObjectOutcome = "stored" | "unchanged" | "rejected";

export interface ReceiptObject {
  readonly id: string;
  readonly version: string;
  readonly outcome: ObjectOutcome;
  readonly reason?: string;
}

export interface ReceiptClaims {
  readonly envelopeId: string;
  /** Hex SHA-256 of the compact envelope. */
  readonly envelopeHash: string;
  readonly recipient: string;
  readonly sender: string;
  /** RFC 3339. */
  readonly receivedAt: string;
  readonly accepted: number;
  readonly rejected: number;
  readonly objects: readonly ReceiptObject[];
}

export const RECEIPT_TYP = "accord-receipt+jws";
/** Largest receipt accepted, in bytes. */
export const MAX_RECEIPT_BYTES = 16 * 1024 * 1024;

const CLAIMS = [
  "envelopeId",
  "envelopeHash",
  "recipient",
  "sender",
  "receivedAt",
  "accepted",
  "rejected",
  "objects",
] as const;
const MAX_OBJECTS = 100_000;
const MAX_OBJECT_ID = 1024;
const MAX_REASON = 4096;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const OUTCOMES: readonly unknown[] = ["stored", "unchanged", "rejected"];

// eslint-disable-next-line @typescript-eslint/require-await -- the API stays a Promise (errors reject)
export async function signReceipt(
  claims: ReceiptClaims,
  recipientSigningKey: KeyObject,
): Promise<string> {
  const problem = claimsProblem(claims);
  if (problem !== undefined) throw new RangeError(`signReceipt: ${problem}`);
  assertPrivateKey(recipientSigningKey, "Ed25519", "signReceipt: recipientSigningKey");
  // The JWS jose's CompactSign writes (header members in this order; Ed25519 is deterministic),
  // with node:crypto and Buffer's native base64url: jose's pure-JS base64 over a receipt of
  // thousands of outcomes was a tenth of the receiving side's CPU (spec/federation.md).
  const protectedB64 = Buffer.from(
    JSON.stringify({
      alg: "EdDSA",
      typ: RECEIPT_TYP,
      kid: thumbprintOfKey(recipientSigningKey, "Ed25519"),
    }),
  ).toString("base64url");
  const signingInput = `${protectedB64}.${Buffer.from(canonicalClaims(claims), "utf8").toString("base64url")}`;
  return `${signingInput}.${edSign(null, Buffer.from(signingInput, "ascii"), recipientSigningKey).toString("base64url")}`;
}

/**
 * Verify a receipt against the recipient's pinned signing key and return its claims. Throws
 * ERR_SIGNATURE_INVALID for any fault in the receipt, ERR_KEYS_INVALID for a malformed key.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- the API stays a Promise (errors reject)
export async function verifyReceipt(
  receipt: string,
  recipientSigningJwk: PublicJwk,
): Promise<ReceiptClaims> {
  const signer = publicKeyObject(recipientSigningJwk, "Ed25519");
  // The receipt is attacker-controlled: bounded, strictly parsed, allow-listed.
  const segments = splitCompact(receipt, 3, MAX_RECEIPT_BYTES);
  const h = segments === undefined ? undefined : parseProtectedHeader(segments[0] ?? "");
  if (
    h === undefined ||
    !hasExactMembers(h, ["alg", "typ", "kid"]) ||
    h.alg !== "EdDSA" ||
    h.typ !== RECEIPT_TYP ||
    h.kid !== signer.thumbprint
  ) {
    throw receiptInvalid();
  }
  // Every segment is canonical base64url (splitCompact), so each decodes to exactly its bytes.
  const [hB64 = "", pB64 = "", sB64 = ""] = segments ?? [];
  const signature = decodeB64url(sB64);
  const payload = decodeB64url(pB64);
  let valid = false;
  try {
    valid =
      signature !== undefined &&
      payload !== undefined &&
      edVerify(null, Buffer.from(`${hB64}.${pB64}`, "ascii"), signer.key, signature);
  } catch {
    valid = false;
  }
  if (!valid || payload === undefined) throw receiptInvalid();
  const claims = parseJsonObject(payload);
  if (claims === undefined || claimsProblem(claims) !== undefined) throw receiptInvalid();
  return copyClaims(claims as unknown as ReceiptClaims);
}

// ---------------------------------------------------------------------------------------------

/**
 * The RFC 8785 canonical JSON of claims that passed `claimsProblem`, written directly: their
 * members are exactly the known ones, so the sorted order is fixed, and every value is a string
 * or a safe integer, which serialise as JSON.stringify writes them (RFC 8785 §3.2.2). The generic
 * canonicalizer (./jcs.ts) sorted the keys of, and copied, each of thousands of outcomes: half of
 * signing a receipt. A string holding a lone surrogate has no canonical form and is refused, as
 * there. test/crypto/receipt.test.ts holds this equal to `canonicalize` of the claims.
 */
function canonicalClaims(c: ReceiptClaims): string {
  const parts: string[] = [];
  for (const o of c.objects) {
    // Members in UTF-16 order: id, outcome, reason, version.
    parts.push(
      o.reason === undefined
        ? `{"id":${str(o.id)},"outcome":${str(o.outcome)},"version":${str(o.version)}}`
        : `{"id":${str(o.id)},"outcome":${str(o.outcome)},"reason":${str(o.reason)},"version":${str(o.version)}}`,
    );
  }
  return (
    `{"accepted":${String(c.accepted)},"envelopeHash":${str(c.envelopeHash)},` +
    `"envelopeId":${str(c.envelopeId)},"objects":[${parts.join(",")}],` +
    `"receivedAt":${str(c.receivedAt)},"recipient":${str(c.recipient)},` +
    `"rejected":${String(c.rejected)},"sender":${str(c.sender)}}`
  );
}

/** `String.prototype.isWellFormed` (ES2024, Node 20): false when a string holds a lone surrogate. */
type WellFormed = string & { isWellFormed(): boolean };

function str(s: string): string {
  if (!(s as WellFormed).isWellFormed())
    throw new RangeError("signReceipt: a string holds a lone surrogate");
  return JSON.stringify(s);
}

/** A fresh, frozen copy holding only the known members. */
function copyClaims(c: ReceiptClaims): ReceiptClaims {
  return Object.freeze({
    envelopeId: c.envelopeId,
    envelopeHash: c.envelopeHash,
    recipient: c.recipient,
    sender: c.sender,
    receivedAt: c.receivedAt,
    accepted: c.accepted,
    rejected: c.rejected,
    objects: Object.freeze(
      c.objects.map((o) =>
        Object.freeze(
          o.reason === undefined
            ? { id: o.id, version: o.version, outcome: o.outcome }
            : { id: o.id, version: o.version, outcome: o.outcome, reason: o.reason },
        ),
      ),
    ),
  });
}

/** The first thing wrong with a claims object, as a phrase, or undefined. */
function claimsProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "claims must be an object";
  }
  const c = value as Readonly<Record<string, unknown>>;
  if (!hasExactMembers(c, CLAIMS))
    return `claims must have exactly the members ${CLAIMS.join(", ")}`;
  if (!isUuid(c.envelopeId)) return "envelopeId must be a lower-case UUID";
  if (typeof c.envelopeHash !== "string" || !HEX_SHA256.test(c.envelopeHash)) {
    return "envelopeHash must be 64 lower-case hex digits";
  }
  if (!isNodeId(c.recipient)) return "recipient must be 1-256 visible ASCII characters";
  if (!isNodeId(c.sender)) return "sender must be 1-256 visible ASCII characters";
  if (!isTimestamp(c.receivedAt)) return "receivedAt must be an RFC 3339 date-time";
  if (!isCount(c.accepted)) return "accepted must be a non-negative safe integer";
  if (!isCount(c.rejected)) return "rejected must be a non-negative safe integer";
  if (!Array.isArray(c.objects) || c.objects.length > MAX_OBJECTS) {
    return `objects must be an array of at most ${MAX_OBJECTS} entries`;
  }
  for (const o of c.objects as readonly unknown[]) {
    if (typeof o !== "object" || o === null || Array.isArray(o)) return "objects[] must be objects";
    const obj = o as Readonly<Record<string, unknown>>;
    if (
      !hasExactMembers(obj, ["id", "version", "outcome"], ["reason"]) ||
      !isBoundedString(obj.id, 1, MAX_OBJECT_ID) ||
      // STIX cyber-observables have neither `modified` nor `created`: their version is "".
      !isBoundedString(obj.version, 0, MAX_OBJECT_ID) ||
      !OUTCOMES.includes(obj.outcome) ||
      (obj.reason !== undefined && !isBoundedString(obj.reason, 0, MAX_REASON))
    ) {
      return "objects[] must be {id, version, outcome, reason?} with short strings and a known outcome";
    }
  }
  return undefined;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function receiptInvalid(): AccordError {
  return new AccordError("ERR_SIGNATURE_INVALID", "the receipt is invalid");
}
