/**
 * The shapes of the identifiers carried in envelope headers and receipts (spec/envelope.md,
 * "Header fields"). Values read from a peer are attacker-controlled; every reader checks them
 * here before using them for routing, lookups or comparisons.
 *
 * Not part of Accord's public API: `index.ts` does not re-export this module.
 */
import { MAX_RFC3339_LENGTH, parseRfc3339 } from "./rfc3339.js";

/** A lower-case RFC 9562 UUID (any version): one spelling per id, so ids compare as strings. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A node id: 1 to 256 visible ASCII characters (no space, no control, no non-ASCII). */
const NODE_ID = /^[\x21-\x7e]{1,256}$/;
/** A media type as text: 1 to 256 printable ASCII characters. */
const MEDIA_TYPE = /^[\x20-\x7e]{1,256}$/;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

export function isNodeId(value: unknown): value is string {
  return typeof value === "string" && NODE_ID.test(value);
}

export function isMediaType(value: unknown): value is string {
  return typeof value === "string" && MEDIA_TYPE.test(value);
}

export function isTimestamp(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length <= MAX_RFC3339_LENGTH &&
    parseRfc3339(value) !== undefined
  );
}

/** A bounded string: at least `min`, at most `max` UTF-16 code units. */
export function isBoundedString(value: unknown, min: number, max: number): value is string {
  return typeof value === "string" && value.length >= min && value.length <= max;
}
