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
 * Batches: the `…Many` methods take and return packed arrays (n × 32 bytes) and call libsodium's
 * exported C functions directly on one reused block of wasm memory, instead of the wrapper's
 * allocate-copy-call-copy-free per call (measured at a fifth of a multiplication's cost, spec/match.md
 * §performance). They run the same C code as the single-element methods, so the outputs are
 * byte-identical (test/match/batch.test.ts); the secret scalar is wiped from wasm memory after each
 * batch. Without those exports (another build of libsodium) they fall back to the wrapper.
 *
 * Backends: with the native addon built (native.ts), the batch methods and the multiplications
 * run libsodium's C code through it instead (same functions, byte-identical outputs, about 2.5
 * times faster); `loadGroup` picks it unless ACCORD_RISTRETTO_BACKEND says otherwise, and
 * `backend` names the one in use.
 *
 * Flow: `await loadGroup()` once (it awaits `sodium.ready`), then every call is synchronous.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import type * as SodiumModule from "libsodium-wrappers-sumo";
import { AccordError } from "../../errors.js";
import { nativeFor, type BackendChoice, type NativeRistretto } from "./native.js";

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

/**
 * `expand_message_xmd` for exactly 64 bytes (one block: b_0 and b_1 only), the length HashToGroup
 * and HashToScalar use, with the DST-dependent parts prepared once. Same output as
 * `expandMessageXmd(msg, dst, 64)`.
 */
export class Xmd64 {
  readonly #zeroPad: Hash;
  readonly #suffix0: Uint8Array;
  readonly #suffix1: Uint8Array;

  constructor(dst: Uint8Array) {
    if (dst.length > 255)
      throw new RangeError("an RFC 9380 domain separation tag is at most 255 bytes");
    const dstPrime = concat(dst, Uint8Array.of(dst.length));
    this.#zeroPad = createHash("sha512").update(new Uint8Array(128));
    this.#suffix0 = concat(Uint8Array.of(0, 64, 0), dstPrime);
    this.#suffix1 = concat(Uint8Array.of(1), dstPrime);
  }

  expand(msg: Uint8Array): Buffer {
    const b0 = this.#zeroPad.copy().update(msg).update(this.#suffix0).digest();
    return createHash("sha512").update(b0).update(this.#suffix1).digest();
  }
}

/**
 * The raw emscripten exports of libsodium that the batch paths call (libsodium-wrappers exposes
 * the module as `libsodium`). Pointers are offsets into `HEAPU8`; each function returns 0 on
 * success, except `is_valid_point`, which returns 1 for a valid encoding.
 */
interface RawSodium {
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _crypto_scalarmult_ristretto255(q: number, n: number, p: number): number;
  _crypto_core_ristretto255_from_hash(p: number, r: number): number;
  _crypto_core_ristretto255_is_valid_point(p: number): number;
  _crypto_core_ristretto255_add(r: number, p: number, q: number): number;
  _crypto_core_ristretto255_scalar_reduce(r: number, s: number): void;
}

const RAW_FUNCTIONS = [
  "_malloc",
  "_free",
  "_crypto_scalarmult_ristretto255",
  "_crypto_core_ristretto255_from_hash",
  "_crypto_core_ristretto255_is_valid_point",
  "_crypto_core_ristretto255_add",
  "_crypto_core_ristretto255_scalar_reduce",
] as const;

function rawOf(sodium: Sodium): RawSodium | undefined {
  const raw = (sodium as unknown as { libsodium?: Record<string, unknown> }).libsodium;
  if (raw === undefined || !(raw.HEAPU8 instanceof Uint8Array)) return undefined;
  return RAW_FUNCTIONS.every((name) => typeof raw[name] === "function")
    ? (raw as unknown as RawSodium)
    : undefined;
}

/** Elements per pass through wasm memory: bounds the scratch block at about 100 KiB. */
const CHUNK = 1024;

/** One reused block of wasm memory (the module is single-threaded per isolate and calls are sync). */
class Scratch {
  readonly #raw: RawSodium;
  #pointer = 0;
  #size = 0;

  constructor(raw: RawSodium) {
    this.#raw = raw;
  }

  /** A block of at least `size` bytes; re-read `raw.HEAPU8` after this (memory may have grown). */
  get(size: number): number {
    if (size > this.#size) {
      if (this.#size > 0) {
        this.#raw.HEAPU8.fill(0, this.#pointer, this.#pointer + this.#size);
        this.#raw._free(this.#pointer);
      }
      this.#pointer = this.#raw._malloc(size);
      if (this.#pointer === 0) throw new RangeError("libsodium could not allocate memory");
      this.#size = size;
    }
    return this.#pointer;
  }
}

function checkPacked(points: Uint8Array, what: string): number {
  if (!(points instanceof Uint8Array) || points.length % ELEMENT_BYTES !== 0) {
    throw new RangeError(`${what} must be packed ${String(ELEMENT_BYTES)}-byte elements`);
  }
  return points.length / ELEMENT_BYTES;
}

/** Constant-time equality of two byte strings of the same public length. */
function equalBytes(sodium: Sodium, a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(a, b);
}

function identityProduct(index: number): RangeError {
  return new RangeError(`the product at index ${String(index)} is the identity`);
}

/** Packs 64-byte uniform strings (the inputs of from_hash and scalar_reduce) back to back. */
function packWide(xmd: Xmd64, msgs: readonly Uint8Array[]): Uint8Array {
  const wide = new Uint8Array(msgs.length * 64);
  msgs.forEach((msg, i) => {
    wide.set(xmd.expand(msg), i * 64);
  });
  return wide;
}

export interface GroupOptions {
  /** `false` forces the wrapper path for the wasm batch methods (tests compare the two). */
  readonly direct?: boolean;
  /** The native addon (native.ts): when given, batch methods and multiplications run there. */
  readonly native?: NativeRistretto | undefined;
}

/**
 * ristretto255 with the operations RFC 9497 needs. Scalars and elements travel as their 32-byte
 * serializations; every operation returns a fresh array.
 */
export class Ristretto255 {
  readonly #sodium: Sodium;
  readonly #raw: RawSodium | undefined;
  readonly #scratch: Scratch | undefined;
  readonly #native: NativeRistretto | undefined;

  constructor(sodium: Sodium, options: GroupOptions = {}) {
    this.#sodium = sodium;
    this.#native = options.native;
    this.#raw = options.direct === false ? undefined : rawOf(sodium);
    this.#scratch = this.#raw === undefined ? undefined : new Scratch(this.#raw);
  }

  /** Which libsodium runs the group operations, for the start-up log and the benches. */
  get backend(): string {
    return this.#native === undefined
      ? `wasm (libsodium.js, libsodium ${this.#sodium.sodium_version_string()})`
      : `native (system libsodium ${this.#native.sodiumVersion})`;
  }

  /** True when the batch methods call libsodium's C functions directly. */
  get direct(): boolean {
    return this.#raw !== undefined;
  }

  /** HashToGroup: `hash_to_ristretto255(msg, dst)` (RFC 9380 Appendix B). */
  hashToGroup(msg: Uint8Array, dst: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_from_hash(expandMessageXmd(msg, dst, 64));
  }

  /** HashToScalar: 64 uniform bytes from `expand_message_xmd`, read little-endian, mod L. */
  hashToScalar(msg: Uint8Array, dst: Uint8Array): Uint8Array {
    return this.#sodium.crypto_core_ristretto255_scalar_reduce(expandMessageXmd(msg, dst, 64));
  }

  /**
   * RandomScalar: 64 bytes from the operating system's CSPRNG reduced modulo L (statistically
   * uniform, distance below 2^-250), never zero. libsodium.js's own `scalar_random` draws its
   * randomness four bytes per callback into JavaScript, which profiled at a third of a
   * single-element POPRF evaluation; this is one call.
   */
  randomScalar(): Uint8Array {
    for (;;) {
      const wide = randomBytes(64);
      const scalar = this.#sodium.crypto_core_ristretto255_scalar_reduce(wide);
      wide.fill(0);
      if (!this.#sodium.is_zero(scalar)) return scalar;
    }
  }

  /** `k * P`, constant time in `k`; throws `Error` when the product is the identity. */
  mult(k: Uint8Array, p: Uint8Array): Uint8Array {
    if (this.#native === undefined) return this.#sodium.crypto_scalarmult_ristretto255(k, p);
    if (p.length !== ELEMENT_BYTES) throw new TypeError("an element is 32 bytes");
    const out = this.#native.multMany(k, p);
    if (typeof out === "number") throw new Error("the product is the identity");
    return out;
  }

  /** `k * G`, constant time in `k`; throws `Error` when `k` is zero. */
  multGen(k: Uint8Array): Uint8Array {
    if (this.#native === undefined) return this.#sodium.crypto_scalarmult_ristretto255_base(k);
    const out = this.#native.multBase(k);
    if (out === null) throw new Error("the scalar is zero");
    return out;
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
   * `k * P_i` for each packed element (n × 32 bytes in, n × 32 out), constant time in `k`. The
   * elements must already be valid (see `firstInvalid`); a product that is the identity (only
   * possible from an invalid element or a zero scalar) throws `RangeError` naming its index.
   */
  multMany(k: Uint8Array, points: Uint8Array): Uint8Array {
    const out = this.multManyOrIndex(k, points);
    if (typeof out === "number") throw identityProduct(out);
    return out;
  }

  /**
   * `multMany` for elements a peer sent (attacker-controlled), checked on the way: libsodium's
   * multiplication decodes each element (refusing non-canonical encodings and points off the
   * group) and refuses an identity product, so for a non-zero `k` it fails exactly on the
   * elements `firstInvalid` refuses. Returns the products, or the index of the first element that
   * failed (its work so far is discarded). Saves the separate validation pass (one decode each).
   */
  multManyOrIndex(k: Uint8Array, points: Uint8Array): Uint8Array | number {
    const n = checkPacked(points, "the elements");
    if (this.#native !== undefined) return this.#native.multMany(k, points);
    const out = new Uint8Array(points.length);
    const raw = this.#raw;
    if (raw === undefined || this.#scratch === undefined) {
      for (let i = 0; i < n; i++) {
        const at = i * ELEMENT_BYTES;
        try {
          out.set(this.mult(k, points.subarray(at, at + ELEMENT_BYTES)), at);
        } catch {
          return i;
        }
      }
      return out;
    }
    const chunk = Math.min(n, CHUNK) * ELEMENT_BYTES;
    const key = this.#scratch.get(SCALAR_BYTES + 2 * chunk);
    const input = key + SCALAR_BYTES;
    const output = input + chunk;
    const heap = raw.HEAPU8;
    heap.set(k.subarray(0, SCALAR_BYTES), key);
    try {
      for (let start = 0; start < n; start += CHUNK) {
        const count = Math.min(CHUNK, n - start);
        const from = start * ELEMENT_BYTES;
        heap.set(points.subarray(from, from + count * ELEMENT_BYTES), input);
        for (let i = 0; i < count; i++) {
          const at = i * ELEMENT_BYTES;
          if (raw._crypto_scalarmult_ristretto255(output + at, key, input + at) !== 0) {
            return start + i;
          }
        }
        out.set(heap.subarray(output, output + count * ELEMENT_BYTES), from);
      }
    } finally {
      heap.fill(0, key, key + SCALAR_BYTES);
    }
    return out;
  }

  /**
   * The index of the first packed element that is not a canonical encoding of a non-identity
   * point, or -1 when all are valid (the batch form of `deserializeElement`'s check).
   */
  firstInvalid(points: Uint8Array): number {
    const n = checkPacked(points, "the elements");
    if (this.#native !== undefined) return this.#native.firstInvalid(points);
    const raw = this.#raw;
    if (raw === undefined || this.#scratch === undefined) {
      for (let i = 0; i < n; i++) {
        const p = points.subarray(i * ELEMENT_BYTES, (i + 1) * ELEMENT_BYTES);
        if (this.isIdentity(p) || !this.#sodium.crypto_core_ristretto255_is_valid_point(p))
          return i;
      }
      return -1;
    }
    const input = this.#scratch.get(Math.min(n, CHUNK) * ELEMENT_BYTES);
    const heap = raw.HEAPU8;
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const from = start * ELEMENT_BYTES;
      heap.set(points.subarray(from, from + count * ELEMENT_BYTES), input);
      for (let i = 0; i < count; i++) {
        const at = from + i * ELEMENT_BYTES;
        let zero = 0;
        for (let j = 0; j < ELEMENT_BYTES; j++) zero |= points[at + j] ?? 0;
        if (zero === 0 || raw._crypto_core_ristretto255_is_valid_point(input + i * 32) !== 1) {
          return start + i;
        }
      }
    }
    return -1;
  }

  /**
   * `k * HashToGroup(msg_i, dst)` for each message (or just HashToGroup when `k` is undefined),
   * packed; constant time in `k`. Same output as `mult(k, hashToGroup(msg, dst))` per message.
   */
  hashToGroupMany(msgs: readonly Uint8Array[], dst: Uint8Array, k?: Uint8Array): Uint8Array {
    const xmd = new Xmd64(dst);
    if (this.#native !== undefined) {
      const out = this.#native.fromHashMany(packWide(xmd, msgs), k);
      if (typeof out === "number") throw identityProduct(out);
      return out;
    }
    const n = msgs.length;
    const out = new Uint8Array(n * ELEMENT_BYTES);
    const raw = this.#raw;
    if (raw === undefined || this.#scratch === undefined) {
      msgs.forEach((msg, i) => {
        const element = this.#sodium.crypto_core_ristretto255_from_hash(xmd.expand(msg));
        out.set(k === undefined ? element : this.mult(k, element), i * ELEMENT_BYTES);
      });
      return out;
    }
    const count0 = Math.min(n, CHUNK);
    const key = this.#scratch.get(SCALAR_BYTES + count0 * (64 + 2 * ELEMENT_BYTES));
    const uniform = key + SCALAR_BYTES;
    const hashed = uniform + count0 * 64;
    const output = hashed + count0 * ELEMENT_BYTES;
    const heap = raw.HEAPU8;
    if (k !== undefined) heap.set(k.subarray(0, SCALAR_BYTES), key);
    try {
      for (let start = 0; start < n; start += CHUNK) {
        const count = Math.min(CHUNK, n - start);
        for (let i = 0; i < count; i++) {
          heap.set(xmd.expand(msgs[start + i] ?? new Uint8Array()), uniform + i * 64);
          raw._crypto_core_ristretto255_from_hash(hashed + i * ELEMENT_BYTES, uniform + i * 64);
        }
        let result = hashed;
        if (k !== undefined) {
          result = output;
          for (let i = 0; i < count; i++) {
            const at = i * ELEMENT_BYTES;
            if (raw._crypto_scalarmult_ristretto255(output + at, key, hashed + at) !== 0) {
              throw identityProduct(start + i);
            }
          }
        }
        out.set(heap.subarray(result, result + count * ELEMENT_BYTES), start * ELEMENT_BYTES);
      }
    } finally {
      if (k !== undefined) heap.fill(0, key, key + SCALAR_BYTES);
    }
    return out;
  }

  /** HashToScalar of each message (packed scalars); same output as `hashToScalar` per message. */
  hashToScalarMany(msgs: readonly Uint8Array[], dst: Uint8Array): Uint8Array {
    const xmd = new Xmd64(dst);
    if (this.#native !== undefined) return this.#native.scalarReduceMany(packWide(xmd, msgs));
    const out = new Uint8Array(msgs.length * SCALAR_BYTES);
    const raw = this.#raw;
    if (raw === undefined || this.#scratch === undefined) {
      msgs.forEach((msg, i) => {
        out.set(this.#sodium.crypto_core_ristretto255_scalar_reduce(xmd.expand(msg)), i * 32);
      });
      return out;
    }
    const wide = this.#scratch.get(64 + SCALAR_BYTES);
    const heap = raw.HEAPU8;
    msgs.forEach((msg, i) => {
      heap.set(xmd.expand(msg), wide);
      raw._crypto_core_ristretto255_scalar_reduce(wide + 64, wide);
      out.set(heap.subarray(wide + 64, wide + 64 + SCALAR_BYTES), i * SCALAR_BYTES);
    });
    return out;
  }

  /**
   * `sum_i s_i * P_i` over packed scalars and packed elements of the same count (at least one).
   * Each product runs in constant time; a product or a sum of the identity throws `RangeError`.
   */
  linearCombinationMany(scalars: Uint8Array, points: Uint8Array): Uint8Array {
    const n = checkPacked(points, "the elements");
    if (n === 0 || scalars.length !== n * SCALAR_BYTES) {
      throw new RangeError("a linear combination needs one scalar per element, at least one");
    }
    if (this.#native !== undefined) {
      const sum = this.#native.linearCombination(scalars, points);
      if (typeof sum !== "number") return sum;
      throw new RangeError(
        sum < n ? `the term at index ${String(sum)} is the identity` : "a partial sum is not valid",
      );
    }
    const raw = this.#raw;
    if (raw === undefined || this.#scratch === undefined) {
      let sum: Uint8Array | undefined;
      for (let i = 0; i < n; i++) {
        const term = this.mult(
          scalars.subarray(i * 32, i * 32 + 32),
          points.subarray(i * 32, i * 32 + 32),
        );
        sum = sum === undefined ? term : this.add(sum, term);
      }
      return sum ?? new Uint8Array(ELEMENT_BYTES);
    }
    const chunk = Math.min(n, CHUNK) * ELEMENT_BYTES;
    const sum = this.#scratch.get(2 * ELEMENT_BYTES + 2 * chunk);
    const term = sum + ELEMENT_BYTES;
    const sIn = term + ELEMENT_BYTES;
    const pIn = sIn + chunk;
    const heap = raw.HEAPU8;
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const from = start * ELEMENT_BYTES;
      heap.set(scalars.subarray(from, from + count * 32), sIn);
      heap.set(points.subarray(from, from + count * 32), pIn);
      for (let i = 0; i < count; i++) {
        const at = i * 32;
        const target = start + i === 0 ? sum : term;
        if (raw._crypto_scalarmult_ristretto255(target, sIn + at, pIn + at) !== 0) {
          throw new RangeError(`the term at index ${String(start + i)} is the identity`);
        }
        if (target === term && raw._crypto_core_ristretto255_add(sum, sum, term) !== 0) {
          throw new RangeError("a partial sum is not a valid element");
        }
      }
    }
    return heap.slice(sum, sum + ELEMENT_BYTES);
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
let choice: BackendChoice = "auto";

/**
 * Chooses the backend of the process-wide group (`auto` unless called; see native.ts). Call it
 * before the first `loadGroup`; a later call replaces the group for later callers.
 */
export function useRistrettoBackend(next: BackendChoice): void {
  if (next !== choice) group = undefined;
  choice = next;
}

/**
 * A group on one named backend (benches and tests compare them): `native` throws when the addon
 * is not built.
 */
export async function loadGroupOn(backend: "wasm" | "native"): Promise<Ristretto255> {
  const sodium = await loadSodium();
  return new Ristretto255(sodium, { native: nativeFor(backend) });
}

/** The choice `loadGroup` follows (the PSI pool passes it on to its worker threads). */
export function ristrettoBackendChoice(): BackendChoice {
  return choice;
}

/**
 * The process-wide group, ready for synchronous use once the promise resolves: on the native
 * addon when it is built (or required by the choice `native`), else on wasm.
 */
export function loadGroup(): Promise<Ristretto255> {
  const wanted = choice;
  group ??= loadSodium().then((sodium) => new Ristretto255(sodium, { native: nativeFor(wanted) }));
  return group;
}
