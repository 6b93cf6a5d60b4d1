/**
 * HMAC-SHA-256 (RFC 2104, SHA-256 of FIPS 180-4) for many short messages under one key: the
 * minimization keys' pseudonyms and re-issued ids (src/core/minimize/pseudonym.ts), two MACs of
 * about 50 bytes for every object shared.
 *
 * The key's padded blocks (key ⊕ ipad, key ⊕ opad) are hashed once, and their SHA-256 states
 * kept (`HmacKey`); each message then costs its own blocks and one outer block, compressed here in
 * JavaScript. For messages of a block or two this is about half the CPU of node:crypto's
 * `createHmac` per message (1.0 against 2.0-2.3 µs for a 50-byte message, Node 20, this machine),
 * whose cost is mostly building the HMAC object and crossing into C++; node:crypto's one-shot
 * `hash` over a pad-prefixed copy and copies of pad-hashed `Hash` objects measured no better than
 * `createHmac`. The output is the same bytes: RFC 4231's vectors and an independent HMAC
 * (@noble/hashes) check it in test/minimize/pseudonym.test.ts.
 *
 * Risks: not constant-time with respect to the message's length (its block count), as no HMAC is;
 * the key itself only enters the two pad states. The states are the key's equivalent: kept in
 * memory beside it, never logged.
 */
import { createHash } from "node:crypto";

const BLOCK = 64;

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/* FIPS 180-4 §5.3.3: the initial hash value. */
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);

/** FIPS 180-4 §6.2.2: one 64-byte block of `b` at `off` into the state `h`. */
function compress(h: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = ((b[j] ?? 0) << 24) | ((b[j + 1] ?? 0) << 16) | ((b[j + 2] ?? 0) << 8) | (b[j + 3] ?? 0);
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15] ?? 0;
    const y = W[i - 2] ?? 0;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = ((W[i - 16] ?? 0) + s0 + (W[i - 7] ?? 0) + s1) | 0;
  }
  let a = h[0] ?? 0;
  let bb = h[1] ?? 0;
  let c = h[2] ?? 0;
  let d = h[3] ?? 0;
  let e = h[4] ?? 0;
  let f = h[5] ?? 0;
  let g = h[6] ?? 0;
  let hh = h[7] ?? 0;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + (K[i] ?? 0) + (W[i] ?? 0)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] = ((h[0] ?? 0) + a) | 0;
  h[1] = ((h[1] ?? 0) + bb) | 0;
  h[2] = ((h[2] ?? 0) + c) | 0;
  h[3] = ((h[3] ?? 0) + d) | 0;
  h[4] = ((h[4] ?? 0) + e) | 0;
  h[5] = ((h[5] ?? 0) + f) | 0;
  h[6] = ((h[6] ?? 0) + g) | 0;
  h[7] = ((h[7] ?? 0) + hh) | 0;
}

/** The big-endian bytes of state `h` into `out` at `off`. */
function putState(h: Int32Array, out: Uint8Array, off: number): void {
  for (let i = 0; i < 8; i++) {
    const w = h[i] ?? 0;
    out[off + i * 4] = w >>> 24;
    out[off + i * 4 + 1] = w >>> 16;
    out[off + i * 4 + 2] = w >>> 8;
    out[off + i * 4 + 3] = w;
  }
}

/** A key made ready for many messages: the SHA-256 states after its inner and outer pad blocks. */
export interface HmacKey {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

/** RFC 2104 §2: a key longer than a block is hashed first; the block is the key, zero-padded. */
export function hmacKey(key: Uint8Array): HmacKey {
  const k = key.length > BLOCK ? createHash("sha256").update(key).digest() : key;
  const pad = (byte: number): Int32Array => {
    const block = new Uint8Array(BLOCK).fill(byte);
    for (let i = 0; i < k.length; i++) block[i] = (block[i] ?? 0) ^ (k[i] ?? 0);
    const h = IV.slice();
    compress(h, block, 0);
    return h;
  };
  return { inner: pad(0x36), outer: pad(0x5c) };
}

/** The message, padded (FIPS 180-4 §5.1.1), is written here; grown for a longer one. */
let scratch = Buffer.allocUnsafe(256);
/** The outer message: the inner digest then its padding, for 64 + 32 bytes (768 bits). */
const OUTER = new Uint8Array(BLOCK);
OUTER[32] = 0x80;
OUTER[62] = 0x03;
const STATE = new Int32Array(8);

/** HMAC-SHA-256 of the concatenated parts (strings as UTF-8) under a prepared key. */
export function hmacSha256With(key: HmacKey, parts: readonly (string | Uint8Array)[]): Buffer {
  let n = 0;
  for (const p of parts) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; 72 more leave room for the padding.
    const need = n + (typeof p === "string" ? p.length * 3 : p.length) + BLOCK + 8;
    if (need > scratch.length) {
      const grown = Buffer.allocUnsafe(need * 2);
      scratch.copy(grown, 0, 0, n);
      scratch = grown;
    }
    if (typeof p !== "string") {
      scratch.set(p, n);
      n += p.length;
      continue;
    }
    // ASCII (ids, labels) byte by byte; anything else through Buffer's UTF-8 encoder, which
    // writes a lone surrogate as U+FFFD, as createHmac's `update(string)` does.
    let ascii = true;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (c > 0x7f) {
        ascii = false;
        break;
      }
      scratch[n + i] = c;
    }
    n += ascii ? p.length : scratch.write(p, n, "utf8");
  }
  // The inner hash's message is the 64-byte pad block then these n bytes.
  const bits = (BLOCK + n) * 8;
  let end = n;
  scratch[end++] = 0x80;
  while ((end + 8) % BLOCK !== 0) scratch[end++] = 0;
  scratch.writeUInt32BE(Math.floor(bits / 0x1_0000_0000), end);
  scratch.writeUInt32BE(bits >>> 0, end + 4);
  end += 8;
  STATE.set(key.inner);
  for (let off = 0; off < end; off += BLOCK) compress(STATE, scratch, off);
  putState(STATE, OUTER, 0);
  STATE.set(key.outer);
  compress(STATE, OUTER, 0);
  const out = Buffer.allocUnsafe(32);
  putState(STATE, out, 0);
  return out;
}
