/**
 * Identifier normalisation for private matching (spec/match.md §identifiers).
 *
 * Two nodes find a match only if they hash the same bytes, so each kind has one canonical form:
 * - `iban`: whitespace removed, upper case, ISO 13616 structure, the length registered for the
 *   country when it is known, and the ISO 7064 mod 97-10 check.
 * - `email`: trimmed, NFKC, lower case (the local part too: in practice mailboxes are
 *   case-insensitive); one `@`; plus-tags kept unless `stripEmailPlusTag` is set.
 * - `phone`: E.164 (ITU-T E.164): separators removed, `00` read as `+`; a national number needs
 *   `defaultCallingCode` (its one leading trunk `0` is dropped), else it is refused.
 * - `wallet`: Bitcoin base58check (P2PKH/P2SH, double SHA-256 checksum), bech32/bech32m (BIP 173,
 *   BIP 350; lower-cased), or Ethereum hex (lower-cased; a mixed-case address must pass EIP-55).
 * - `passport`: NFKC, upper case, spaces and hyphens removed, 5 to 20 letters and digits;
 *   optionally prefixed by the issuing state (ICAO 9303 three-letter code).
 * - `file-hash`: lower-case hex of an MD5, SHA-1 or SHA-256 digest, stored as `alg:hex`.
 *
 * `matchInput` frames the kind and the value so that an IBAN never matches an e-mail address
 * with the same bytes (domain separation).
 *
 * Risks: identifiers are personal data and arrive from users and peers (attacker-controlled):
 * every check is linear in the input, input is capped at 256 characters, and error messages
 * name the kind and the problem, never the value.
 */
import { AccordError } from "../../errors.js";
import { base58checkPayload, bech32Decode, eip55Valid } from "../checksums.js";

export const IDENTIFIER_KINDS = [
  "iban",
  "email",
  "phone",
  "wallet",
  "passport",
  "file-hash",
] as const;
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

export interface Identifier {
  readonly kind: IdentifierKind;
  /** The canonical form; the only form that is ever hashed. */
  readonly value: string;
}

export interface NormalizeOptions {
  /** `user+tag@example.org` → `user@example.org`. Off by default: tags can be meaningful. */
  readonly stripEmailPlusTag?: boolean;
  /** Country calling code (1–3 digits) for numbers written without `+` or `00`. */
  readonly defaultCallingCode?: string;
  /** ICAO 9303 three-letter code of the issuing state, prefixed as `UTO:` when given. */
  readonly passportIssuer?: string;
}

/** The longest raw identifier accepted: longer input is refused before any work. */
export const MAX_IDENTIFIER_LENGTH = 256;

function refuse(message: string): AccordError {
  return new AccordError("ERR_BAD_REQUEST", message);
}

// ------------------------------------------------------------------------------------ IBAN

/** IBAN lengths by country, from the SWIFT IBAN registry (ISO 13616). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** ISO 7064 mod 97-10 over the rearranged IBAN, letters expanded to 10..35. */
function ibanRemainder(iban: string): number {
  const r = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    rem = c >= 65 ? (rem * 100 + (c - 55)) % 97 : (rem * 10 + (c - 48)) % 97;
  }
  return rem;
}

export function normalizeIban(raw: string): string {
  const s = raw.replace(/\s+/g, "").toUpperCase();
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(s)) {
    throw refuse("the IBAN is not two letters, two check digits and 11 to 30 letters or digits");
  }
  const expected = IBAN_LENGTHS[s.slice(0, 2)];
  if (expected !== undefined && s.length !== expected) {
    throw refuse(`an IBAN of country \`${s.slice(0, 2)}\` has ${String(expected)} characters`);
  }
  if (ibanRemainder(s) !== 1) throw refuse("the IBAN check digits do not verify");
  return s;
}

// ------------------------------------------------------------------------------------ e-mail

export function normalizeEmail(raw: string, options: NormalizeOptions = {}): string {
  const s = raw.trim().normalize("NFKC").toLowerCase();
  const at = s.indexOf("@");
  if (
    at < 1 ||
    at !== s.lastIndexOf("@") ||
    at === s.length - 1 ||
    /\s/.test(s) ||
    s.length > 254
  ) {
    throw refuse("the e-mail address is not one local part, one `@` and one domain");
  }
  let local = s.slice(0, at);
  const domain = s.slice(at + 1).replace(/\.$/, "");
  if (!/^[^.](?:.*[^.])?$/.test(domain) || !domain.includes(".") || domain.includes("..")) {
    throw refuse("the e-mail domain is not a dotted domain name");
  }
  if (options.stripEmailPlusTag === true) {
    const plus = local.indexOf("+");
    if (plus > 0) local = local.slice(0, plus);
  }
  return `${local}@${domain}`;
}

// ------------------------------------------------------------------------------------ phone

export function normalizePhone(raw: string, options: NormalizeOptions = {}): string {
  let s = raw.normalize("NFKC").replace(/[\s().\-/]/g, "");
  if (s.startsWith("00")) s = `+${s.slice(2)}`;
  if (!s.startsWith("+")) {
    const cc = options.defaultCallingCode;
    if (cc === undefined) {
      throw refuse(
        "the phone number has no `+` country code and no default calling code was given",
      );
    }
    if (!/^[1-9][0-9]{0,2}$/.test(cc)) throw new RangeError("defaultCallingCode is 1 to 3 digits");
    s = `+${cc}${s.startsWith("0") ? s.slice(1) : s}`;
  }
  if (!/^\+[1-9][0-9]{6,14}$/.test(s)) {
    throw refuse("the phone number is not E.164: `+`, a country code and 7 to 15 digits in all");
  }
  return s;
}

// ------------------------------------------------------------------------------------ wallet

/** Bitcoin P2PKH/P2SH, mainnet (0x00/0x05) or testnet (0x6f/0xc4). */
function base58checkValid(s: string): boolean {
  const payload = base58checkPayload(s);
  return payload !== undefined && [0x00, 0x05, 0x6f, 0xc4].includes(payload[0] ?? -1);
}

/** BIP 173 bech32 (witness v0) or BIP 350 bech32m (v1+) segwit address, `bc` or `tb`. */
function bech32Valid(lower: string): boolean {
  const d = bech32Decode(lower);
  if (d === undefined || (d.hrp !== "bc" && d.hrp !== "tb")) return false;
  const version = d.data[0] ?? -1;
  return version === 0
    ? d.encoding === "bech32"
    : version >= 1 && version <= 16 && d.encoding === "bech32m";
}

export function normalizeWallet(raw: string): string {
  const s = raw.trim();
  if (/^0x[0-9a-fA-F]{40}$/.test(s)) {
    if (!eip55Valid(s.slice(2))) throw refuse("the Ethereum address fails its EIP-55 checksum");
    return s.toLowerCase();
  }
  if (/^(bc|tb|BC|TB)1/.test(s)) {
    if (s !== s.toLowerCase() && s !== s.toUpperCase()) {
      throw refuse("a bech32 address is written in one case");
    }
    const lower = s.toLowerCase();
    if (!bech32Valid(lower)) throw refuse("the bech32 address checksum does not verify");
    return lower;
  }
  if (/^[1-9A-HJ-NP-Za-km-z]{25,35}$/.test(s)) {
    if (!base58checkValid(s)) throw refuse("the base58check address checksum does not verify");
    return s;
  }
  throw refuse("the wallet is not a Bitcoin (base58check, bech32) or Ethereum address");
}

// ------------------------------------------------------------------------------------ passport

export function normalizePassport(raw: string, options: NormalizeOptions = {}): string {
  const s = raw.normalize("NFKC").toUpperCase().replace(/[\s-]/g, "");
  if (!/^[A-Z0-9]{5,20}$/.test(s))
    throw refuse("the passport number is not 5 to 20 letters or digits");
  const issuer = options.passportIssuer;
  if (issuer === undefined) return s;
  if (!/^[A-Z]{3}$/.test(issuer))
    throw new RangeError("passportIssuer is an ICAO three-letter code");
  return `${issuer}:${s}`;
}

// ------------------------------------------------------------------------------------ file hash

const DIGEST_BY_LENGTH: Readonly<Record<number, string>> = { 32: "md5", 40: "sha1", 64: "sha256" };

export function normalizeFileHash(raw: string): string {
  const m = /^(?:(md5|sha1|sha-1|sha256|sha-256):)?([0-9a-fA-F]+)$/i.exec(raw.trim());
  const alg = m?.[2] === undefined ? undefined : DIGEST_BY_LENGTH[m[2].length];
  if (m === null || alg === undefined) {
    throw refuse("the file hash is not the hex of an MD5, SHA-1 or SHA-256 digest");
  }
  const named = m[1]?.toLowerCase().replace("-", "");
  if (named !== undefined && named !== alg)
    throw refuse(`a \`${named}\` digest has another length`);
  return `${alg}:${(m[2] ?? "").toLowerCase()}`;
}

// ------------------------------------------------------------------------------------ all kinds

export function isIdentifierKind(kind: unknown): kind is IdentifierKind {
  return typeof kind === "string" && (IDENTIFIER_KINDS as readonly string[]).includes(kind);
}

/** Normalises `raw` as `kind` (both attacker-controlled); `ERR_BAD_REQUEST` when it cannot. */
export function normalizeIdentifier(
  kind: unknown,
  raw: unknown,
  options: NormalizeOptions = {},
): Identifier {
  if (!isIdentifierKind(kind)) {
    throw refuse(`the identifier kind \`${String(kind).slice(0, 40)}\` is not supported`);
  }
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_IDENTIFIER_LENGTH) {
    throw refuse(`an identifier is a string of 1 to ${String(MAX_IDENTIFIER_LENGTH)} characters`);
  }
  switch (kind) {
    case "iban":
      return { kind, value: normalizeIban(raw) };
    case "email":
      return { kind, value: normalizeEmail(raw, options) };
    case "phone":
      return { kind, value: normalizePhone(raw, options) };
    case "wallet":
      return { kind, value: normalizeWallet(raw) };
    case "passport":
      return { kind, value: normalizePassport(raw, options) };
    case "file-hash":
      return { kind, value: normalizeFileHash(raw) };
  }
}

const MATCH_INPUT_TAG = new TextEncoder().encode("accord-match-v1");

/**
 * The bytes an identifier contributes to the OPRF and PSI: `"accord-match-v1" || len(kind) ||
 * kind || len(value) || value`, lengths as two big-endian bytes, strings in UTF-8.
 */
export function matchInput(id: Identifier): Uint8Array {
  const enc = new TextEncoder();
  const kind = enc.encode(id.kind);
  const value = enc.encode(id.value);
  if (value.length > 0xffff) throw new RangeError("an identifier value is at most 65535 bytes");
  const out = new Uint8Array(MATCH_INPUT_TAG.length + 4 + kind.length + value.length);
  let at = 0;
  out.set(MATCH_INPUT_TAG, at);
  at += MATCH_INPUT_TAG.length;
  out.set([kind.length >>> 8, kind.length & 0xff], at);
  out.set(kind, at + 2);
  at += 2 + kind.length;
  out.set([value.length >>> 8, value.length & 0xff], at);
  out.set(value, at + 2);
  return out;
}
