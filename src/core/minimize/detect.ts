/**
 * Detectors of personal data in free text (spec/minimization.md §detection).
 *
 * Each detector finds candidates with a bounded regular expression and then validates them:
 * IBAN with the ISO 13616 mod-97 check, payment cards with the Luhn check and an issuer prefix,
 * machine-readable zones with the ICAO 9303 7-3-1 check digits, Bitcoin base58check addresses with
 * their double SHA-256 checksum, bech32/bech32m addresses (BIP 173, BIP 350) with their BCH
 * checksum, Ethereum addresses with EIP-55 when written in mixed case. Formats without a checksum
 * (e-mail, phone, passport-like numbers, IP addresses) are bounded by context instead: phone
 * numbers need an international prefix or a national grouping, passport numbers a passport
 * keyword, IP addresses an identity context.
 *
 * Risks: false negatives hide personal data (callers run `normalizeText` first so look-alikes and
 * invisible characters cannot split a match); false positives on long numbers and hashes (the
 * boundaries reject digits glued to letters, so hex digests and UUIDs do not match). All input is
 * attacker-controlled; every pattern is linear or bounded so a hostile string cannot make it
 * backtrack badly.
 */
import { base58checkPayload, bech32Decode, eip55Valid } from "../checksums.js";
import { parseIp } from "./ip.js";

export const DETECTOR_KINDS = [
  "email",
  "phone",
  "iban",
  "card",
  "passport",
  "wallet",
  "ip",
] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

export interface Match {
  readonly kind: DetectorKind;
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

export interface DetectOptions {
  /** IP addresses count as personal data anywhere in this text (an identity-like object). */
  readonly identityContext: boolean;
  /** Run every detector without its gate (tests prove the gates change nothing). */
  readonly ungated?: boolean;
}

// ---------------------------------------------------------------- e-mail

/** The reserved `.invalid` domain of pseudonymized mailboxes (RFC 2606) is not personal data. */
export const PSEUDONYM_MAIL_DOMAIN = "pseudonym.invalid";
const EMAIL =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.){1,8}\p{L}{2,24}(?![\p{L}\p{N}-])/gu;

function emails(text: string, out: Match[]): void {
  for (const m of text.matchAll(EMAIL)) {
    const value = m[0];
    if (value.toLowerCase().endsWith(`@${PSEUDONYM_MAIL_DOMAIN}`)) continue;
    out.push({ kind: "email", start: m.index, end: m.index + value.length, value });
  }
}

// ---------------------------------------------------------------- phone

/** Digit groups split only at a separator or parentheses, so a long digit run cannot backtrack. */
const PHONE_INTL =
  /(?<![\w+])(?:\+|00)[1-9]\d{0,14}(?:[ .-]\(?\d{1,14}\)?|\(\d{1,14}\)){0,6}(?!\w|[.-]\d)/g;
const PHONE_NANP =
  /(?<![\w.+/-])(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4}(?!\w|[.-]\d)/g;
const PHONE_TRUNK = /(?<![\w.+/-])0[1-9]\d{0,3}(?:[ ./-]?\d{2,4}){2,4}(?!\w|[./-]\d)/g;

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function phones(text: string, out: Match[]): void {
  for (const re of [PHONE_INTL, PHONE_NANP, PHONE_TRUNK]) {
    for (const m of text.matchAll(re)) {
      const value = m[0];
      const digits = digitCount(value) - (value.startsWith("00") ? 2 : 0);
      const [min, max] = re === PHONE_TRUNK ? [9, 12] : re === PHONE_NANP ? [10, 10] : [8, 15];
      if (digits < min || digits > max) continue;
      out.push({ kind: "phone", start: m.index, end: m.index + value.length, value });
    }
  }
}

// ---------------------------------------------------------------- IBAN (ISO 13616)

const IBAN =
  /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?(?![A-Za-z0-9])/g;

/** ISO 13616 / ISO 7064 mod 97-10 over the rearranged, letter-expanded IBAN. */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/ /g, "").toUpperCase();
  if (s.length < 15 || s.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    if (c >= 65) rem = (rem * 100 + (c - 55)) % 97;
    else rem = (rem * 10 + (c - 48)) % 97;
  }
  return rem === 1;
}

function ibans(text: string, out: Match[]): void {
  for (const m of text.matchAll(IBAN)) {
    if (ibanValid(m[0]))
      out.push({ kind: "iban", start: m.index, end: m.index + m[0].length, value: m[0] });
  }
}

// ---------------------------------------------------------------- payment cards

const CARD = /(?<![\w.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?!\w|[.-]\d)/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer identification prefixes of the major schemes (ISO/IEC 7812), with their lengths. */
function issuerKnown(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p4 = Number(d.slice(0, 4));
  const p3 = Number(d.slice(0, 3));
  if (d.startsWith("4")) return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return n >= 16 && n <= 19; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)) return n >= 14 && n <= 19; // Diners
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19; // Maestro
  return false;
}

function cards(text: string, out: Match[]): void {
  for (const m of text.matchAll(CARD)) {
    const d = m[0].replace(/[ -]/g, "");
    if (d.length < 13 || d.length > 19 || /^(\d)\1+$/.test(d)) continue;
    if (luhnValid(d) && issuerKnown(d))
      out.push({ kind: "card", start: m.index, end: m.index + m[0].length, value: m[0] });
  }
}

// ---------------------------------------------------------------- MRZ and passport numbers (ICAO 9303)

/** ICAO 9303 part 3 §4.9: weights 7, 3, 1; digits, A–Z as 10–35, `<` as 0. */
export function mrzCheckDigit(s: string): number {
  const w = [7, 3, 1];
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : 0;
    sum += v * (w[i % 3] ?? 1);
  }
  return sum % 10;
}

/** TD2/TD3 line 2: document number, nationality, birth date, sex, expiry, each checked. */
const MRZ_LINE2 =
  /(?<![A-Z0-9<])[A-Z0-9<]{9}\d[A-Z<]{3}\d{7}[MFX<]\d{7}[A-Z0-9<]{8,16}(?![A-Z0-9<])/g;
/** TD3 line 1: `P`, a type letter or filler, issuing state, then names with `<<`. No checksum. */
const MRZ_LINE1 = /(?<![A-Z0-9<])P[A-Z<][A-Z<]{3}[A-Z<]*<<[A-Z<]*(?![A-Z0-9<])/g;
const PASSPORT_WORD =
  /(?:passport|passeport|reisepass|pasaporte|passaporto|paszport|паспорт)(?:[\s:#.]*(?:no\.?|nr\.?|n°|nº|num(?:ber|ero|éro)?|number|#))?[\s:#.]*([A-Z0-9]{6,9})(?![\p{L}\p{N}])/giu;

function mrzLines(text: string, out: Match[]): void {
  for (const m of text.matchAll(MRZ_LINE2)) {
    const v = m[0];
    const ok =
      mrzCheckDigit(v.slice(0, 9)) === Number(v[9]) &&
      mrzCheckDigit(v.slice(13, 19)) === Number(v[19]) &&
      mrzCheckDigit(v.slice(21, 27)) === Number(v[27]);
    if (ok && (v.length === 36 || v.length === 44))
      out.push({ kind: "passport", start: m.index, end: m.index + v.length, value: v });
  }
}

function passportNumbers(text: string, out: Match[]): void {
  for (const m of text.matchAll(PASSPORT_WORD)) {
    const num = m[1] ?? "";
    if (!/\d/.test(num)) continue;
    const start = m.index + m[0].length - num.length;
    out.push({ kind: "passport", start, end: start + num.length, value: num });
  }
}

// ---------------------------------------------------------------- crypto wallets

const B58_ADDR = /(?<![A-Za-z0-9])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])/g;
const BECH32_ADDR =
  /(?<![A-Za-z0-9])(?:bc|tb|ltc|BC|TB|LTC)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}(?![A-Za-z0-9])/g;
const ETH_ADDR = /(?<![A-Za-z0-9])0x[0-9a-fA-F]{40}(?![A-Za-z0-9])/g;

/** Bitcoin P2PKH / P2SH on mainnet: version 0x00 or 0x05 and a valid double SHA-256 checksum. */
export function base58checkValid(s: string): boolean {
  const payload = base58checkPayload(s);
  return payload !== undefined && (payload[0] === 0 || payload[0] === 5);
}

/** BIP 173 (bech32) or BIP 350 (bech32m) checksum, single case, any human-readable part. */
export function bech32Valid(s: string): boolean {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return false;
  return bech32Decode(s.toLowerCase()) !== undefined;
}

/** EIP-55 on a `0x`-prefixed address. */
export function ethereumValid(s: string): boolean {
  return eip55Valid(s.slice(2));
}

function wallet(text: string, out: Match[], re: RegExp, valid: (s: string) => boolean): void {
  for (const m of text.matchAll(re)) {
    if (valid(m[0]))
      out.push({ kind: "wallet", start: m.index, end: m.index + m[0].length, value: m[0] });
  }
}

// ---------------------------------------------------------------- IP addresses in identity context

const IPV4 = /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?(?!\w|\.\d)/g;
const IPV6 =
  /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:\/\d{1,3})?(?![\w:])/g;
/** Words that put an address in a person's context within 40 characters before it. */
const PERSON_CONTEXT =
  /\b(?:subscriber|customer|home|residential|personal|employee|victim|suspect|user|his|her|their)\b[^.\n]{0,40}$/i;

function isUnspecified(parts: readonly number[]): boolean {
  for (const p of parts) if (p !== 0) return false;
  return true;
}

function ips(text: string, out: Match[], identityContext: boolean): void {
  for (const re of [IPV4, IPV6]) {
    for (const m of text.matchAll(re)) {
      const net = parseIp(m[0]);
      // A network of /24 (IPv4) or /48 (IPv6) or wider names no one: it is what generalization emits.
      if (
        net === undefined ||
        (net.prefix !== undefined && net.prefix <= (net.version === 4 ? 24 : 48))
      )
        continue;
      // The unspecified address (`::`, `0.0.0.0`) names no one.
      if (isUnspecified(net.parts)) continue;
      if (!identityContext && !PERSON_CONTEXT.test(text.slice(Math.max(0, m.index - 60), m.index)))
        continue;
      out.push({ kind: "ip", start: m.index, end: m.index + m[0].length, value: m[0] });
    }
  }
}

// ---------------------------------------------------------------- all

/**
 * Necessary conditions of the detectors, as cheap expressions without look-behind (the regular
 * expression engine rejects most positions on the first character): a detector whose condition
 * does not match cannot match, so its expressions and checksums are not run. Each gate is implied
 * by its detector's pattern (the vectors and the property tests run through the gates).
 */
const GATE_NUMBER = /\d[\d .()/+-]{6,}\d/;
const GATE_CARD = /\d(?:[ -]?\d){12}/;
const GATE_IBAN = /[A-Za-z]{2}\d\d ?[A-Za-z0-9]{4}/;
const GATE_MRZ = /[A-Z0-9<]{36}/;
const GATE_PASSPORT = /pa[sßz]|пас/i;
const GATE_B58 = /[13][1-9A-HJ-NP-Za-km-z]{25}/;
const GATE_BECH32 = /(?:bc|tb|ltc)1/i;
const GATE_ETH = /0[xX][0-9a-fA-F]{40}/;
const GATE_IP = /\d\.\d|[0-9A-Fa-f]?:[0-9A-Fa-f]{0,4}:/;
const GATE_DIGIT = /\d/;

/**
 * Every match in `text` (already normalised with `normalizeText`), sorted by start, overlaps
 * resolved in favour of the earlier, then the longer match. Every detector but e-mail and MRZ
 * names needs a digit, and each runs only when its gate matches.
 */
export function detect(text: string, options: DetectOptions): Match[] {
  const found: Match[] = [];
  if (options.ungated === true || text.includes("@")) emails(text, found);
  if (options.ungated === true || text.includes("<<")) {
    for (const m of text.matchAll(MRZ_LINE1)) {
      if (m[0].length === 44 || m[0].length === 36)
        found.push({ kind: "passport", start: m.index, end: m.index + m[0].length, value: m[0] });
    }
  }
  const all = options.ungated === true;
  if (all || GATE_DIGIT.test(text)) {
    if (all || GATE_NUMBER.test(text)) {
      phones(text, found);
      if (all || GATE_CARD.test(text)) cards(text, found);
    }
    if (all || GATE_IBAN.test(text)) ibans(text, found);
    if (all || GATE_MRZ.test(text)) mrzLines(text, found);
    if (all || GATE_PASSPORT.test(text)) passportNumbers(text, found);
    if (all || GATE_B58.test(text)) wallet(text, found, B58_ADDR, base58checkValid);
    if (all || GATE_BECH32.test(text)) wallet(text, found, BECH32_ADDR, bech32Valid);
    if (all || GATE_ETH.test(text)) wallet(text, found, ETH_ADDR, ethereumValid);
  }
  // IPv6 can be written without a decimal digit (`dead:beef::1` has one, `dead:beef::cafe` not).
  if (all || GATE_IP.test(text)) ips(text, found, options.identityContext);
  if (found.length < 2) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [];
  let end = -1;
  for (const m of found) {
    if (m.start < end) continue;
    out.push(m);
    end = m.end;
  }
  return out;
}
