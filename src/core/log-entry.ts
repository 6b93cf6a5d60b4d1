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
  // The envelope's keys in RFC 8785 order (`at`, `data`, `kind`, `v`) around the data; anything
  // unusual (non-plain objects, non-finite numbers, cycles, lone surrogates) goes to
  // `canonicalize`, which writes the exact form or throws the precise error.
  const body = writeFast(entry.data, 1);
  let text =
    body === undefined
      ? undefined
      : `{"at":${quote(entry.at)},"data":${body},"kind":"${entry.kind}","v":${String(LOG_ENTRY_VERSION)}}`;
  if (text === undefined || ESCAPED_SURROGATE.test(text)) {
    text = canonicalize({ at: entry.at, data: entry.data, kind: entry.kind, v: LOG_ENTRY_VERSION });
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long text needs counting.
  if (text.length * 3 > MAX_LOG_ENTRY_BYTES && utf8.encode(text).length > MAX_LOG_ENTRY_BYTES) {
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

/** Printable ASCII without `"` and `\\`: a string of only these is its own JSON body. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal: RFC 8785 and JSON.stringify write strings alike. */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * RFC 8785 canonical JSON on the append hot path: `value` as canonical JSON, or undefined when it
 * needs `canonicalize`'s exact path. JSON.stringify writes strings and finite numbers exactly as
 * RFC 8785 does (ECMAScript serialization), so this writes sorted keys around them (a printable
 * ASCII string without quotes or backslashes, the common case, is copied as it is), building one
 * string rather than a list of parts. The caller looks for lone surrogates once over the whole
 * text (JSON.stringify escapes each as `\\ud800`–`\\udfff`; RFC 8785 has no form for them, and
 * `canonicalize` refuses them). Tested equal to `canonicalize`.
 */
function writeFast(value: unknown, depth: number): string | undefined {
  if (depth > 64) return undefined;
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      // Number::toString is JSON's (and RFC 8785's) number form for every finite number.
      return Number.isFinite(value) ? String(value) : undefined;
    case "string":
      return quote(value);
    case "object": {
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) return undefined;
          const s = writeFast(item, depth + 1);
          if (s === undefined) return undefined;
          out += i === 0 ? s : `,${s}`;
        }
        return `${out}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return undefined;
      const obj = value as Record<string, unknown>;
      const keys = sortedKeys(obj);
      let out = "{";
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        const s = writeFast(v, depth + 1);
        if (s === undefined) return undefined;
        out += `${out.length === 1 ? "" : ","}${quote(k)}:${s}`;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

/**
 * An object's keys in UTF-16 code-unit order (RFC 8785 §3.2.3, and what `Array.prototype.sort`
 * does without a comparator). Entry data has a handful of keys: an insertion sort with `<` is a
 * few times faster than the generic sort there.
 */
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  if (keys.length > 32) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] ?? "";
    let j = i - 1;
    for (let prev = keys[j]; prev !== undefined && prev > k; prev = keys[--j]) keys[j + 1] = prev;
    keys[j + 1] = k;
  }
  return keys;
}

/**
 * An appended entry as the log hands it back (the `LedgerEntry` of the app's ports): `data` is
 * what reading the entry back gives, parsed from the canonical text when first asked for (most
 * callers never ask, and parsing costs as much as hashing the leaf).
 */
export function appendedLogEntry(
  seq: number,
  entry: LogEntryFields,
  text: string,
  leaf: Uint8Array,
): {
  readonly seq: number;
  readonly at: string;
  readonly kind: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly leafHash: string;
} {
  let data: Record<string, unknown> | undefined;
  return {
    seq,
    at: entry.at,
    kind: entry.kind,
    get data(): Record<string, unknown> {
      data ??= (JSON.parse(text) as { data: Record<string, unknown> }).data;
      return data;
    },
    leafHash: Buffer.from(leaf.buffer, leaf.byteOffset, leaf.length).toString("hex"),
  };
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
