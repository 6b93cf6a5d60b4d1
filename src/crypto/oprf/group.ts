/**
 * The ristretto255 group of RFC 9497 §4.1 over libsodium, with RFC 9380 hashing.
 *
 * Implements: SerializeElement / DeserializeElement and SerializeScalar / DeserializeScalar
 * (RFC 9497 §4.1: ristretto255 encoding of RFC 9496 §4.3, 32-byte little-endian scalars), HashToGroup
 * (`hash_to_ristretto255`, RFC 9380 Appendix B / RFC 9496 §4.3.4, over `expand_message_xmd` with
 * SHA-512, RFC 9380 §5.3.1) and HashToScalar (the same 64 uniform bytes reduced modulo the group
 * order).
 *
 * Risks: every scalar multiplication goes through libsodium (`crypto_scalarmult_ristretto255`,
 * `crypto_scalarmult_ristretto255_base`), which runs in constant time in the scalar; this matters
 * for the server key and for the client's blind. `@noble/curves` is used only as a test oracle: its
 * ristretto255 multiplication is documented as not hardened against timing. Elements that come
 * from a peer are attacker-controlled: `deserializeElement` refuses non-canonical encodings and
 * the identity (RFC 9497 §4.1 and §6.2.1), and a multiplication that lands on the identity throws.
 *
 * Flow: `await loadGroup()` once (it awaits `sodium.ready`), then every call is synchronous.
 */
import { createHash } from "node:crypto";
import type * as SodiumModule from "libsodium-wrappers-sumo";
import { AccordError } from "../../errors.js";

export type Sodium = typeof SodiumModule;

/** Ne and Ns of RFC 9497 §4.1: serialized element and scalar lengths. */
export const ELEMENT_BYTES = 32;
export const SCALAR_BYTES = 32;

const ENCODER = new TextEncoder();
const ZERO_ELEMENT = new Uint8Array(ELEMENT_BYTES);

let loading: Promise<Sodium> | undefined;

/** Loads libsodium once per process; later calls share the same promise. */
export function loadSodium(): Promise<Sodium> {
  loading ??= import("libsodium-wrappers-sumo").then(async (mod) => {
    // The ESM build exports the full API on its default export only once `ready` resolves.
    const sodium = (mod as unknown as { default: Sodium }).default;
    await sodium.ready;
    return sodium;
  });
  return loading;
}

export function utf8(s: string): Uint8Array {
  return ENCODER.encode(s);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** I2OSP(n, 2) of RFC 8017 §4.1, used for every length prefix of RFC 9497. */
export function i2osp2(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
    throw new RangeError(`a length prefix must fit in two bytes, got ${String(n)}`);
  }
  return Uint8Array.of(n >>> 8, n & 0xff);
}

/** `len(x) || x` with a two-byte length, the framing RFC 9497 uses in every transcript. */
export function framed(x: Uint8Array): Uint8Array {
  return concat(i2osp2(x.length), x);
}

function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** `expand_message_xmd` of RFC 9380 §5.3.1 with H = SHA-512 (b_in_bytes 64, s_in_bytes 128). */
export function expandMessageXmd(msg: Uint8Array, dst: Uint8Array, lenInBytes: number): Uint8Array {
  if (dst.length > 255)
    throw new RangeError("an RFC 9380 domain separation tag is at most 255 bytes");
  const ell = Math.ceil(lenInBytes / 64);
  if (!Number.isInteger(lenInBytes) || lenInBytes <= 0 || ell > 255 || lenInBytes > 0xffff) {
    throw new RangeError(`expand_message_xmd cannot produce ${String(lenInBytes)} bytes`);
  }
  const dstPrime = concat(dst, Uint8Array.of(dst.length));
  const b0 = sha512(new Uint8Array(128), msg, i2osp2(lenInBytes), Uint8Array.of(0), dstPrime);
  const out = new Uint8Array(ell * 64);
  let previous = sha512(b0, Uint8Array.of(1), dstPrime);
  out.set(previous, 0);
  for (let i = 2; i <= ell; i++) {
    const mixed = new Uint8Array(64);
    for (let j = 0; j < 64; j++) mixed[j] = (b0[j] ?? 0) ^ (previous[j] ?? 0);
    previous = sha512(mixed, Uint8Array.of(i), dstPrime);
    out.set(previous, (i - 1) * 64);
  }
  return out.subarray(0, lenInBytes);
}

/** Constant-time equality of two byte strings of the same public length. */
function equalBytes(sodium: Sodium, a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(a, b);
}

/**
 * ristretto255 with the operations RFC 9497 needs. Scalars and elements travel as their 32-byte
 * serializations; every operation returns a fresh array.
 */
export class Ristretto255 {
  readonly #sodium: Sodium;

  constructor(sodium: Sodium) {
    this.#sodium = sodium;
  }

  /** HashToGroup: `hash_to_ristretto255(msg, dst)` (RFC 9380 Appendix B). */
  hashToGroup(msg: Uint8Array, dst: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_from_hash(expandMessageXmd(msg, dst, 64));
  }

  /** HashToScalar: 64 uniform bytes from `expand_message_xmd`, read little-endian, mod L. */
  hashToScalar(msg: Uint8Array, dst: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_reduce(expandMessageXmd(msg, dst, 64));
  }

  /** RandomScalar: uniform in [1, L) (libsodium never returns zero). */
  randomScalar(): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_random();
  }

  /** `k * P`, constant time in `k`; throws `Error` when the product is the identity. */
  mult(k: Uint8Array, p: Uint8Array): Uint8Array {
    return this.#sodium.crypto_scalarmult_ristretto255(k, p);
  }

  /** `k * G`, constant time in `k`; throws `Error` when `k` is zero. */
  multGen(k: Uint8Array): Uint8Array {
    return this.#sodium.crypto_scalarmult_ristretto255_base(k);
  }

  add(p: Uint8Array, q: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_add(p, q);
  }

  scalarAdd(x: Uint8Array, y: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_add(x, y);
  }

  scalarSub(x: Uint8Array, y: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_sub(x, y);
  }

  scalarMul(x: Uint8Array, y: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_mul(x, y);
  }

  /** ScalarInverse; throws `Error` on zero. */
  scalarInvert(x: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_invert(x);
  }

  isZeroScalar(x: Uint8Array): boolean {
    return this.#sodium.is_zero(x);
  }

  isIdentity(p: Uint8Array): boolean {
    return equalBytes(this.#sodium, p, ZERO_ELEMENT);
  }

  equal(a: Uint8Array, b: Uint8Array): boolean {
    return equalBytes(this.#sodium, a, b);
  }

  /** True for the canonical encoding of a scalar in [0, L). */
  isCanonicalScalar(x: Uint8Array): boolean {
    if (x.length !== SCALAR_BYTES) return false;
    const wide = new Uint8Array(64);
    wide.set(x);
    return equalBytes(this.#sodium, this.#sodium.crypto_core_ristretto255_scalar_reduce(wide), x);
  }

  /**
   * DeserializeElement for bytes a peer sent (attacker-controlled): a canonical ristretto255
   * encoding of a point other than the identity, else `ERR_MALFORMED_INPUT` naming `what`.
   */
  deserializeElement(bytes: unknown, what: string): Uint8Array {
    if (
      !(bytes instanceof Uint8Array) ||
      bytes.length !== ELEMENT_BYTES ||
      this.isIdentity(bytes) ||
      !this.#sodium.crypto_core_ristretto255_is_valid_point(bytes)
    ) {
      throw new AccordError("ERR_MALFORMED_INPUT", `the ${what} is not a valid group element`);
    }
    return bytes;
  }

  /** DeserializeScalar for bytes a peer sent (attacker-controlled): canonical, in [0, L). */
  deserializeScalar(bytes: unknown, what: string): Uint8Array {
    if (!(bytes instanceof Uint8Array) || !this.isCanonicalScalar(bytes)) {
      throw new AccordError("ERR_MALFORMED_INPUT", `the ${what} is not a valid scalar`);
    }
    return bytes;
  }
}

let group: Promise<Ristretto255> | undefined;

/** The process-wide group, ready for synchronous use once the promise resolves. */
export function loadGroup(): Promise<Ristretto255> {
  group ??= loadSodium().then((sodium) => new Ristretto255(sodium));
  return group;
}
