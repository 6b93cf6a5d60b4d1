/**
 * The bytes of a log entry (spec/log.md, "Entries"): the leaf that the node's RFC 9162 Merkle log
 * hashes is the UTF-8 of the RFC 8785 canonical JSON
 *   {"at": <RFC 3339>, "data": {...}, "kind": <kind>, "v": 1}
 * so any verifier recomputes a leaf hash from the entry alone, and an entry read back from storage
 * or an entry bundle always reproduces its hash. Entries hold metadata and hashes only.
 *
 * Risks: entry bytes come from storage or from a peer's entry bundle (attacker-controlled when
 * verifying): `decodeLogEntry` accepts only the canonical form of a well-typed entry, so one leaf
 * has exactly one meaning.
 */
import { canonicalize } from "../crypto/jcs.js";
import { AccordError } from "../errors.js";

/** Version of the entry envelope. */
export const LOG_ENTRY_VERSION = 1;
/** An entry bundle length-prefixes entries with a uint16: the largest leaf the log accepts. */
export const MAX_LOG_ENTRY_BYTES = 65535;

export interface LogEntryFields {
  readonly kind: string;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

const utf8 = new TextEncoder();
const KIND = /^[a-z][a-z0-9-]{0,63}$/;

/** The canonical text of an entry (the leaf bytes, as a string). Throws ERR_MALFORMED_INPUT. */
export function logEntryText(entry: LogEntryFields): string {
  if (!KIND.test(entry.kind)) {
    throw new AccordError("ERR_MALFORMED_INPUT", "a log entry kind is 1-64 of [a-z0-9-]");
  }
  if (entry.at.length === 0 || entry.at.length > 64) {
    throw new AccordError("ERR_MALFORMED_INPUT", "a log entry needs an RFC 3339 time");
  }
  const data: unknown = entry.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new AccordError("ERR_MALFORMED_INPUT", "a log entry's data is a JSON object");
  }
  const text = canonicalText({
    at: entry.at,
    data: entry.data,
    kind: entry.kind,
    v: LOG_ENTRY_VERSION,
  });
  if (utf8.encode(text).length > MAX_LOG_ENTRY_BYTES) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `a log entry is at most ${String(MAX_LOG_ENTRY_BYTES)} bytes`,
    );
  }
  return text;
}

/**
 * JSON.stringify writes a lone surrogate as a `\\udXXX` escape. A string that holds a backslash
 * followed by `ud8`…`udf` as plain text matches too; that only sends it down the exact path.
 */
const ESCAPED_SURROGATE = /\\ud[89a-f]/i;

/**
 * RFC 8785 canonical JSON of an entry, on the append hot path. JSON.stringify writes strings and
 * finite numbers exactly as RFC 8785 does (ECMAScript serialization), so this writes sorted keys
 * around it and looks for lone surrogates once over the whole text (JSON.stringify escapes them
 * as `\udXXX`; RFC 8785 has no form for them, and `canonicalize` refuses them). Anything
 * unusual (non-plain objects, non-finite numbers, cycles) goes to `canonicalize`, which throws the
 * precise error. Tested equal to `canonicalize`.
 */
function canonicalText(value: Record<string, unknown>): string {
  const parts: string[] = [];
  if (!writeFast(value, parts, 0)) return canonicalize(value);
  const text = parts.join("");
  if (ESCAPED_SURROGATE.test(text)) return canonicalize(value);
  return text;
}

function writeFast(value: unknown, out: string[], depth: number): boolean {
  if (depth > 64) return false;
  if (value === null) {
    out.push("null");
    return true;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return true;
    case "number":
      if (!Number.isFinite(value)) return false;
      out.push(JSON.stringify(value));
      return true;
    case "string":
      out.push(JSON.stringify(value));
      return true;
    case "object": {
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          const item: unknown = value[i];
          if (item === undefined || !writeFast(item, out, depth + 1)) return false;
        }
        out.push("]");
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      out.push("{");
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        if (!first) out.push(",");
        first = false;
        out.push(JSON.stringify(k), ":");
        if (!writeFast(v, out, depth + 1)) return false;
      }
      out.push("}");
      return true;
    }
    default:
      return false;
  }
}

/** The leaf bytes of an entry. */
export function encodeLogEntry(entry: LogEntryFields): Uint8Array {
  return utf8.encode(logEntryText(entry));
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Parses leaf bytes (attacker-controlled); undefined unless they are a canonical v1 entry. */
export function decodeLogEntry(bytes: Uint8Array | string): LogEntryFields | undefined {
  let text: string;
  let value: unknown;
  try {
    text = typeof bytes === "string" ? bytes : utf8Strict.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (Object.keys(o).length !== 4 || o.v !== LOG_ENTRY_VERSION) return undefined;
  const { kind, at, data } = o;
  if (typeof kind !== "string" || typeof at !== "string") return undefined;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const fields = { kind, at, data: data as Record<string, unknown> };
  try {
    return logEntryText(fields) === text ? fields : undefined;
  } catch {
    return undefined;
  }
}
