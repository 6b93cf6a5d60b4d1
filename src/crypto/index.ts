/**
 * Accord's crypto leaf: node keys (RFC 8032, RFC 7748, RFC 8037, RFC 7638), sealed envelopes
 * (JWS in JWE, RFC 7515/7516/7518; spec/envelope.md), signed receipts, detached signatures over
 * RFC 8785 canonical JSON, and SHA-256. Pure: no file or network I/O.
 */
export { sha256, sha256Hex } from "./hash.js";
export { canonicalBytes, canonicalize } from "./jcs.js";
export {
  NODE_KEYS_FORMAT,
  exportNodeKeys,
  generateNodeKeys,
  importNodeKeys,
  jwkThumbprint,
  parsePublicJwk,
  type NodeKeys,
  type OkpCurve,
  type PublicJwk,
} from "./keys.js";
export {
  CONTENT_TYP,
  ENVELOPE_TYP,
  MAX_ENVELOPE_BYTES,
  openEnvelope,
  peekEnvelope,
  sealEnvelope,
  type EnvelopeHeader,
  type OpenEnvelopeOptions,
} from "./envelope.js";
export {
  MAX_RECEIPT_BYTES,
  RECEIPT_TYP,
  signReceipt,
  verifyReceipt,
  type ObjectOutcome,
  type ReceiptClaims,
  type ReceiptObject,
} from "./receipt.js";
export { JSON_SIGNATURE_TYP, signJson, verifyJson } from "./sign.js";
