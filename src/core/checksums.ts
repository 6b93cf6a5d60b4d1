/**
 * Checksums carried by identifier formats, shared by the match normaliser (src/core/match) and
 * the minimization detectors (src/core/minimize), which each apply their own policy on top
 * (which versions, prefixes and networks they accept).
 *
 * - Base58Check (Bitcoin P2PKH/P2SH): 25 bytes = version ‖ 20-byte hash ‖ first 4 bytes of
 *   SHA-256(SHA-256(version ‖ hash)).
 * - Bech32 (BIP 173) and Bech32m (BIP 350): the BCH checksum over the expanded human-readable
 *   part and the 5-bit data; the constant 1 marks bech32, 0x2bc830a3 bech32m.
 * - EIP-55: a mixed-case Ethereum address spells its checksum in the case of its hex letters,
 *   from Keccak-256 of the lower-case hex.
 *
 * Inputs are untrusted strings; every function answers without throwing.
 */
import { createHash } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3.js";

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE58_VALUE = new Map<string, number>(Array.from(BASE58, (c, i) => [c, i]));
const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32M_CONST = 0x2bc830a3;

/** Decode base58 (Bitcoin alphabet); undefined on a character outside it. */
export function base58Decode(s: string): Uint8Array | undefined {
  const bytes: number[] = [];
  for (const ch of s) {
    let carry = BASE58_VALUE.get(ch);
    if (carry === undefined) return undefined;
    for (let i = 0; i < bytes.length; i++) {
      carry += (bytes[i] ?? 0) * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) bytes.push(carry & 0xff);
  }
  for (let i = 0; i < s.length && s[i] === "1"; i++) bytes.push(0);
  return Uint8Array.from(bytes.reverse());
}

/** The 21-byte payload (version ‖ hash) of a 25-byte Base58Check string whose checksum holds. */
export function base58checkPayload(s: string): Uint8Array | undefined {
  const raw = base58Decode(s);
  if (raw?.length !== 25) return undefined;
  const body = raw.subarray(0, 21);
  const h = createHash("sha256").update(createHash("sha256").update(body).digest()).digest();
  return h[0] === raw[21] && h[1] === raw[22] && h[2] === raw[23] && h[3] === raw[24]
    ? body
    : undefined;
}

function bech32Polymod(values: readonly number[]): number {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ (gen[i] ?? 0)) >>> 0;
  }
  return chk;
}

export interface Bech32Decoded {
  readonly hrp: string;
  /** The 5-bit data values, checksum excluded. */
  readonly data: readonly number[];
  readonly encoding: "bech32" | "bech32m";
}

/** Decode a lower-case bech32/bech32m string (at most 90 characters); undefined when the checksum fails. */
export function bech32Decode(lower: string): Bech32Decoded | undefined {
  const sep = lower.lastIndexOf("1");
  if (sep < 1 || lower.length > 90 || lower.length - sep < 7) return undefined;
  const hrp = lower.slice(0, sep);
  const values: number[] = [];
  for (let i = 0; i < hrp.length; i++) values.push(hrp.charCodeAt(i) >> 5);
  values.push(0);
  for (let i = 0; i < hrp.length; i++) values.push(hrp.charCodeAt(i) & 31);
  const data: number[] = [];
  for (const c of lower.slice(sep + 1)) {
    const v = BECH32.indexOf(c);
    if (v < 0) return undefined;
    data.push(v);
  }
  values.push(...data);
  const pm = bech32Polymod(values);
  const encoding = pm === 1 ? "bech32" : pm === BECH32M_CONST ? "bech32m" : undefined;
  return encoding === undefined ? undefined : { hrp, data: data.slice(0, -6), encoding };
}

/** EIP-55 over the 40 hex digits of an address: single-case carries no checksum; mixed case must match it. */
export function eip55Valid(hex40: string): boolean {
  if (hex40 === hex40.toLowerCase() || hex40 === hex40.toUpperCase()) return true;
  const hash = keccak_256(new TextEncoder().encode(hex40.toLowerCase()));
  for (let i = 0; i < 40; i++) {
    const c = hex40.charCodeAt(i);
    if (c < 65) continue; // a digit
    const nibble = ((hash[i >> 1] ?? 0) >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    if (c <= 70 !== nibble >= 8) return false;
  }
  return true;
}
