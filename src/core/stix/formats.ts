/**
 * String formats of STIX 2.1 (OASIS Standard, 10 June 2021), as pure predicates.
 *
 * - §2.14 timestamp: `YYYY-MM-DDTHH:mm:ss[.s+]Z`, RFC 3339 in UTC with an upper-case `T` and `Z`,
 *   a real calendar date, seconds 00–60 (RFC 3339 §5.6 admits a leap second).
 * - §2.8 identifier: `type--UUID`; the type part is a STIX type name (§3, Property Names and
 *   String Literals: ASCII a–z, 0–9 and single hyphens, 3–250 characters, starting with a letter
 *   as both OASIS schemas demand) and the UUID is RFC 4122 (versions 1–5 and the 8/9/a/b variant,
 *   like the OASIS schema).
 * - RFC 3986 §3 URI (external references, `url`, `artifact.url`); RFC 5322 addr-spec in its
 *   dot-atom form (`email-addr.value`); RFC 1034/5890 host names (`domain-name.value`); IPv4 and
 *   IPv6 addresses with an optional CIDR suffix (§6.8, §6.9); MAC-48 (§6.10); hex (§2.7) and
 *   base64 binary (§2.1).
 *
 * Everything here reads attacker-controlled input (a peer's bundle), so each predicate is a
 * bounded linear scan or a regular expression compiled once at load, free of nested quantifiers.
 */
import { META_TYPES, SCO_TYPES, SDO_TYPES, SRO_TYPES } from "./types.js";

const C_0 = 48;
const C_9 = 57;
const C_UPPER_A = 65;
const C_UPPER_F = 70;
const C_UPPER_Z = 90;
const C_LOWER_A = 97;
const C_LOWER_F = 102;
const C_LOWER_Z = 122;

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}
function isHexDigit(c: number): boolean {
  return (
    (c >= C_0 && c <= C_9) ||
    (c >= C_LOWER_A && c <= C_LOWER_F) ||
    (c >= C_UPPER_A && c <= C_UPPER_F)
  );
}
function isAlpha(c: number): boolean {
  return (c >= C_LOWER_A && c <= C_LOWER_Z) || (c >= C_UPPER_A && c <= C_UPPER_Z);
}

// ---------------------------------------------------------------- timestamps (§2.14)

/** Two decimal digits at `i`, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  return isDigit(a) && isDigit(b) ? (a - C_0) * 10 + (b - C_0) : -1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Number of fraction digits of a valid timestamp, or -1 when `s` is not a STIX timestamp. */
export function timestampFractionDigits(s: string): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== C_UPPER_Z) return -1;
  const y1 = two(s, 0);
  const y2 = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (
    y1 < 0 ||
    y2 < 0 ||
    s[4] !== "-" ||
    s[7] !== "-" ||
    s[10] !== "T" ||
    s[13] !== ":" ||
    s[16] !== ":" ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(y1 * 100 + y2, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 60
  ) {
    return -1;
  }
  if (n === 20) return 0;
  if (s[19] !== "." || n === 21) return -1;
  for (let i = 20; i < n - 1; i++) if (!isDigit(s.charCodeAt(i))) return -1;
  return n - 21;
}

export function isTimestamp(s: string): boolean {
  return timestampFractionDigits(s) >= 0;
}

/**
 * Orders two valid timestamps by the instant they denote. Lexical order is wrong as soon as the
 * fractions differ in length (`…00.000Z` denotes an earlier instant than `…00.0001Z` but sorts after
 * it), so the fractions are compared digit by digit, the shorter padded with zeros.
 */
export function compareTimestamps(a: string, b: string): number {
  for (let i = 0; i < 19; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const fa = a.length > 20 ? a.length - 21 : 0;
  const fb = b.length > 20 ? b.length - 21 : 0;
  const digits = fa > fb ? fa : fb;
  for (let i = 0; i < digits; i++) {
    const ca = i < fa ? a.charCodeAt(20 + i) : C_0;
    const cb = i < fb ? b.charCodeAt(20 + i) : C_0;
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
  return 0;
}

// ---------------------------------------------------------------- type names and identifiers (§2.8, §3)

/** A STIX type name: a letter, then letters, digits and single hyphens, no trailing hyphen. */
const TYPE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export function isTypeName(s: string): boolean {
  return s.length >= 3 && s.length <= 250 && TYPE_NAME.test(s);
}

const UUID_LENGTH = 36;

/** The type names STIX 2.1 defines (§4–§8), known valid: a set look-up spares the pattern. */
const SPEC_TYPES: ReadonlySet<string> = new Set([
  ...SDO_TYPES,
  ...SRO_TYPES,
  ...SCO_TYPES,
  ...META_TYPES,
  "bundle",
]);

/** RFC 4122 text form: versions 1–5 and the RFC 4122 variant, either case, as the OASIS schema. */
export function isUuid(s: string, from: number): boolean {
  if (s.length - from !== UUID_LENGTH) return false;
  for (let i = 0; i < UUID_LENGTH; i++) {
    const c = s.charCodeAt(from + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (i === 14) {
      if (c < 49 || c > 53) return false; // version 1-5
    } else if (i === 19) {
      if (!(c === 56 || c === 57 || c === 97 || c === 98 || c === 65 || c === 66)) return false; // 8 9 a b A B
    } else if (!isHexDigit(c)) {
      return false;
    }
  }
  return true;
}

/** The type part of a valid identifier (`indicator` for `indicator--…`), else undefined. */
export function identifierType(s: string): string | undefined {
  const cut = s.length - UUID_LENGTH - 2;
  if (cut < 3 || s.charCodeAt(cut) !== 45 || s.charCodeAt(cut + 1) !== 45) return undefined;
  if (!isUuid(s, cut + 2)) return undefined;
  const type = s.slice(0, cut);
  return SPEC_TYPES.has(type) || isTypeName(type) ? type : undefined;
}

// ---------------------------------------------------------------- property names (§3, §11.1)

/** A property name: a letter, then lower-case letters, digits and underscores, 3–250 in all. */
const PROPERTY_NAME = /^[a-z][a-z0-9_]{2,249}$/;

export function isPropertyName(s: string): boolean {
  return s === "id" || PROPERTY_NAME.test(s);
}

/** §2.3 dictionary keys: ASCII letters, digits, hyphen and underscore, at most 250. */
const DICTIONARY_KEY = /^[a-zA-Z0-9_-]{0,250}$/;

export function isDictionaryKey(s: string): boolean {
  return DICTIONARY_KEY.test(s);
}

/** §2.6 custom hash names: as dictionary keys, at least 3 characters. */
const HASH_KEY = /^[a-zA-Z0-9_-]{3,250}$/;

export function isHashKey(s: string): boolean {
  return HASH_KEY.test(s);
}

// ---------------------------------------------------------------- hex and binary (§2.1, §2.7)

/** Non-empty, even length, hexadecimal digits of either case. */
export function isHex(s: string): boolean {
  const n = s.length;
  if (n === 0 || n % 2 !== 0) return false;
  for (let i = 0; i < n; i++) if (!isHexDigit(s.charCodeAt(i))) return false;
  return true;
}

function isBase64Char(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 43 || c === 47; // + /
}

/** RFC 4648 §4 base64 with padding, non-empty. */
export function isBase64(s: string): boolean {
  const n = s.length;
  if (n === 0 || n % 4 !== 0) return false;
  let pad = 0;
  if (s.charCodeAt(n - 1) === 61) pad = s.charCodeAt(n - 2) === 61 ? 2 : 1;
  for (let i = 0; i < n - pad; i++) if (!isBase64Char(s.charCodeAt(i))) return false;
  return true;
}

// ---------------------------------------------------------------- URI (RFC 3986 §3)

const UNRESERVED = 1;
const SUB_DELIM = 2;
/** RFC 3986 §2.2 and §2.3 character classes for ASCII, as bit flags. */
const URI_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (isAlpha(c) || isDigit(c) || c === 45 || c === 46 || c === 95 || c === 126)
    URI_CLASS[c] = UNRESERVED;
}
for (const ch of "!$&'()*+,;=") URI_CLASS[ch.charCodeAt(0)] = SUB_DELIM;

/** unreserved / sub-delims, plus the characters `extra` allows, over s[from, to); `%XX` is allowed. */
function uriRun(s: string, from: number, to: number, extra: string): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && (URI_CLASS[c] ?? 0) !== 0) continue;
    if (c === 37) {
      if (i + 2 >= to || !isHexDigit(s.charCodeAt(i + 1)) || !isHexDigit(s.charCodeAt(i + 2)))
        return false;
      i += 2;
      continue;
    }
    if (extra.includes(s.charAt(i))) continue;
    return false;
  }
  return true;
}

function isIpv4Address(s: string, from: number, to: number): boolean {
  let parts = 0;
  let i = from;
  while (i <= to) {
    let j = i;
    while (j < to && isDigit(s.charCodeAt(j))) j++;
    const len = j - i;
    if (len === 0 || len > 3 || (len > 1 && s.charCodeAt(i) === C_0)) return false;
    if (Number(s.slice(i, j)) > 255) return false;
    parts++;
    if (j === to) break;
    if (s.charCodeAt(j) !== 46 || parts === 4) return false;
    i = j + 1;
  }
  return parts === 4;
}

/** RFC 4291 §2.2 text form over s[from, to): hex groups, one `::` at most, an IPv4 tail. */
function isIpv6Address(s: string, from: number, to: number): boolean {
  if (to - from < 2) return false;
  let groups = 0;
  let compressed = false;
  let i = from;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    compressed = true;
    i += 2;
    if (i === to) return true;
  }
  while (i < to) {
    let j = i;
    while (j < to && isHexDigit(s.charCodeAt(j))) j++;
    if (j < to && s.charCodeAt(j) === 46) {
      // An IPv4 tail takes the place of the last two groups.
      if (!isIpv4Address(s, i, to)) return false;
      groups += 2;
      i = to;
      break;
    }
    const len = j - i;
    if (len === 0 || len > 4) return false;
    groups++;
    if (j === to) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    if (s.charCodeAt(j + 1) === 58) {
      if (compressed) return false;
      compressed = true;
      i = j + 2;
      if (i === to) break;
    } else {
      i = j + 1;
      if (i === to) return false; // a trailing single colon
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

/**
 * RFC 3986 §3 `URI` (absolute, with an optional query and fragment). `scheme ":" hier-part`, where
 * hier-part is `"//" authority path-abempty`, or a path; every component holds only the characters
 * its production allows, with `%XX` escapes. A leading space, as in two CAPEC references, fails at
 * the scheme.
 */
export function isUri(s: string): boolean {
  const n = s.length;
  if (n === 0 || !isAlpha(s.charCodeAt(0))) return false;
  let i = 1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) break;
    if (!(isAlpha(c) || isDigit(c) || c === 43 || c === 45 || c === 46)) return false;
  }
  if (i === n) return false;
  let end = s.indexOf("#", i + 1);
  if (end >= 0) {
    if (!uriRun(s, end + 1, n, ":@/?")) return false;
  } else {
    end = n;
  }
  const q = s.indexOf("?", i + 1);
  if (q >= 0 && q < end) {
    if (!uriRun(s, q + 1, end, ":@/?")) return false;
    end = q;
  }
  let p = i + 1;
  if (s.startsWith("//", p)) {
    p += 2;
    let authorityEnd = s.indexOf("/", p);
    if (authorityEnd < 0 || authorityEnd > end) authorityEnd = end;
    let host = p;
    const at = s.indexOf("@", p);
    if (at >= 0 && at < authorityEnd) {
      if (!uriRun(s, p, at, ":")) return false;
      host = at + 1;
    }
    let hostEnd: number;
    if (s.charCodeAt(host) === 91) {
      const close = s.indexOf("]", host);
      if (close < 0 || close >= authorityEnd) return false;
      if (!isIpLiteral(s, host + 1, close)) return false;
      hostEnd = close + 1;
      if (hostEnd < authorityEnd && s.charCodeAt(hostEnd) !== 58) return false;
    } else {
      hostEnd = s.indexOf(":", host);
      if (hostEnd < 0 || hostEnd > authorityEnd) hostEnd = authorityEnd;
      if (!uriRun(s, host, hostEnd, "")) return false;
    }
    for (let k = hostEnd + 1; k < authorityEnd; k++) if (!isDigit(s.charCodeAt(k))) return false;
    p = authorityEnd;
  }
  return uriRun(s, p, end, ":@/");
}

/** RFC 3986 §3.2.2 IP-literal content: an IPv6 address or `v` HEXDIG+ `.` (unreserved / sub-delims / `:`)+. */
function isIpLiteral(s: string, from: number, to: number): boolean {
  const c = s.charCodeAt(from);
  if (c === 118 || c === 86) {
    let j = from + 1;
    while (j < to && isHexDigit(s.charCodeAt(j))) j++;
    if (j === from + 1 || s.charCodeAt(j) !== 46 || j + 1 >= to) return false;
    for (let k = j + 1; k < to; k++) {
      const d = s.charCodeAt(k);
      if (!(d < 128 && (URI_CLASS[d] ?? 0) !== 0) && d !== 58) return false;
    }
    return true;
  }
  return isIpv6Address(s, from, to);
}

// ---------------------------------------------------------------- addresses (§6.4, §6.5, §6.8–6.10)

/** IPv4 dotted quad without leading zeros, optionally `/0`–`/32`. */
export function isIpv4Cidr(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return isIpv4Address(s, 0, s.length);
  return isIpv4Address(s, 0, slash) && isPrefixLength(s, slash + 1, 32);
}

/** IPv6 text form, an optional zone (`%eth0`), optionally `/0`–`/128`. */
export function isIpv6Cidr(s: string): boolean {
  let end = s.indexOf("/");
  if (end >= 0 && !isPrefixLength(s, end + 1, 128)) return false;
  if (end < 0) end = s.length;
  const zone = s.indexOf("%");
  if (zone >= 0 && zone < end) {
    if (zone + 1 === end) return false;
    end = zone;
  }
  return isIpv6Address(s, 0, end);
}

function isPrefixLength(s: string, from: number, max: number): boolean {
  const len = s.length - from;
  if (len < 1 || len > 3) return false;
  for (let i = from; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  if (len > 1 && s.charCodeAt(from) === C_0) return false;
  return Number(s.slice(from)) <= max;
}

/** MAC-48 as the STIX spec writes it: six lower-case hex pairs joined by colons. */
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

export function isMac(s: string): boolean {
  return MAC.test(s);
}

const LDH_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
/** A U-label (RFC 5890): letters, marks, digits and hyphens of any script, no edge hyphen. */
const U_LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;

/** RFC 1034 host name whose labels may be IDNA U-labels (RFC 5890); an optional final dot. */
export function isHostname(s: string): boolean {
  const name = s.endsWith(".") ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  for (const label of name.split(".")) {
    if (label.length > 63 || !(LDH_LABEL.test(label) || U_LABEL.test(label))) return false;
  }
  return true;
}

/**
 * RFC 5322 §3.4.1 addr-spec with a dot-atom local part and a dotted DNS domain of LDH labels (no
 * quoted local parts, no address literals, no IDN: SMTPUTF8 addresses are outside the format).
 */
const EMAIL_LOCAL = /^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

export function isEmail(s: string): boolean {
  const at = s.lastIndexOf("@");
  if (at <= 0) return false;
  const domain = s.slice(at + 1);
  if (!domain.includes(".")) return false;
  if (!EMAIL_LOCAL.test(s.slice(0, at))) return false;
  for (const label of domain.split(".")) if (!LDH_LABEL.test(label)) return false;
  return true;
}
