/**
 * The responder's membership filter: a Golomb-compressed set (GCS; Golomb 1966, Rice coding as in
 * BIP 158), one per agreement and key epoch, over the POPRF outputs of its identifiers
 * (spec/match.md §filter).
 *
 * Format (all integers big-endian):
 *   "AGCS" | version 0x01 | p (1 byte, 1..24) | n (4 bytes) | Golomb-Rice bit stream
 * Each item maps to h(item) = (SHA-256("accord-gcs-v1" || item)[0..8] as u64 * n * 2^p) >> 64,
 * a value in [0, n * 2^p); the sorted values are delta-coded, each delta as a unary quotient
 * (q one-bits then a zero) and a p-bit remainder, most significant bit first, the last byte
 * zero-padded. A query for a non-member answers yes with probability about 2^-p.
 *
 * Risks: the filter arrives from a peer (attacker-controlled): `parseGcs` bounds n, p and the
 * stream length before decoding (the stream holds between n(p+1) and n(p+2) bits, plus padding),
 * refuses values beyond the range and non-zero padding, and decodes in time linear in its input.
 * Without the POPRF key a filter says nothing about which identifiers it holds: its items are
 * pseudorandom outputs.
 */
import { createHash, randomBytes } from "node:crypto";
import { AccordError } from "../../errors.js";

export const GCS_MAGIC = "AGCS";
export const GCS_VERSION = 1;
/** The default Golomb-Rice parameter: a false-positive rate of about 2^-20 (one in a million). */
export const GCS_DEFAULT_P = 20;
export const GCS_MAX_P = 24;
/** The most items a filter may hold (n * 2^p stays below 2^53, so values are exact numbers). */
export const GCS_MAX_ITEMS = 2 ** 28;

const HEADER_BYTES = 10;
const TAG = new TextEncoder().encode("accord-gcs-v1");

export interface GcsFilter {
  readonly count: number;
  readonly p: number;
  /** The expected false-positive rate of one query: 1 - (1 - 1/(n 2^p))^n ≈ 2^-p. */
  readonly falsePositiveRate: number;
  has(item: Uint8Array): boolean;
}

function hashToRange(item: Uint8Array, range: number): number {
  const digest = createHash("sha256").update(TAG).update(item).digest();
  const x = digest.readBigUInt64BE(0);
  return Number((x * BigInt(range)) >> 64n);
}

function checkP(p: number): void {
  if (!Number.isInteger(p) || p < 1 || p > GCS_MAX_P) {
    throw new RangeError(`the Golomb-Rice parameter is an integer from 1 to ${String(GCS_MAX_P)}`);
  }
}

class BitWriter {
  bytes: Uint8Array;
  bits = 0;

  constructor(capacityBits: number) {
    this.bytes = new Uint8Array(Math.max(16, Math.ceil(capacityBits / 8)));
  }

  #ensure(extra: number): void {
    const need = Math.ceil((this.bits + extra) / 8);
    if (need <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(need, this.bytes.length * 2));
    grown.set(this.bytes);
    this.bytes = grown;
  }

  #set(): void {
    const at = this.bits >>> 3;
    this.bytes[at] = (this.bytes[at] ?? 0) | (0x80 >>> (this.bits & 7));
  }

  /** Writes `count` bits of `value` (count ≤ 24), most significant first. */
  write(value: number, count: number): void {
    this.#ensure(count);
    for (let i = count - 1; i >= 0; i--) {
      if ((value >>> i) & 1) this.#set();
      this.bits++;
    }
  }

  ones(count: number): void {
    this.#ensure(count);
    for (let i = 0; i < count; i++) {
      this.#set();
      this.bits++;
    }
  }
}

export interface BuildGcsOptions {
  /** The Golomb-Rice parameter: a false-positive rate of about 2^-p. */
  readonly p?: number;
  /**
   * Pads the set with random 64-byte items up to the next multiple of this number, so the
   * published count does not disclose the exact holdings (spec/match.md uses 1024).
   */
  readonly padToMultipleOf?: number;
}

/** Builds the serialized filter over `items` with false-positive rate about 2^-p. */
export function buildGcs(items: readonly Uint8Array[], options: BuildGcsOptions = {}): Uint8Array {
  const p = options.p ?? GCS_DEFAULT_P;
  checkP(p);
  const pad = options.padToMultipleOf ?? 1;
  if (!Number.isInteger(pad) || pad < 1)
    throw new RangeError("padToMultipleOf is a positive integer");
  const n = Math.ceil(items.length / pad) * pad;
  if (n > GCS_MAX_ITEMS)
    throw new RangeError(`a filter holds at most ${String(GCS_MAX_ITEMS)} items`);
  const range = n * 2 ** p;
  const values = new Float64Array(n);
  items.forEach((item, i) => (values[i] = hashToRange(item, range)));
  for (let i = items.length; i < n; i++) values[i] = hashToRange(randomBytes(64), range);
  values.sort();
  const w = new BitWriter(n * (p + 2));
  let previous = 0;
  const m = 2 ** p;
  for (const v of values) {
    const delta = v - previous;
    previous = v;
    w.ones(Math.floor(delta / m));
    w.write(0, 1);
    w.write(delta % m, p);
  }
  const body = w.bytes.subarray(0, Math.ceil(w.bits / 8));
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(new TextEncoder().encode(GCS_MAGIC), 0);
  out[4] = GCS_VERSION;
  out[5] = p;
  new DataView(out.buffer).setUint32(6, n);
  out.set(body, HEADER_BYTES);
  return out;
}

function malformed(message: string): AccordError {
  return new AccordError("ERR_MALFORMED_INPUT", message);
}

/** Parses a serialized filter from a peer (attacker-controlled) and decodes it for queries. */
export function parseGcs(bytes: unknown): GcsFilter {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) {
    throw malformed("the filter is shorter than its header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== GCS_MAGIC || bytes[4] !== GCS_VERSION) {
    throw malformed("the filter is not an AGCS version 1 filter");
  }
  const p = bytes[5] ?? 0;
  const n = view.getUint32(6);
  if (p < 1 || p > GCS_MAX_P || n > GCS_MAX_ITEMS) {
    throw malformed("the filter parameters are out of range");
  }
  const data = bytes.subarray(HEADER_BYTES);
  const totalBits = data.length * 8;
  if (totalBits < n * (p + 1) || data.length > Math.ceil((n * (p + 2)) / 8)) {
    throw malformed("the filter length does not match its item count");
  }
  const m = 2 ** p;
  const range = n * m;
  const values = new Float64Array(n);
  let bit = 0;
  const readBit = (): number => {
    if (bit >= totalBits) throw malformed("the filter stream ends early");
    const b = ((data[bit >>> 3] ?? 0) >>> (7 - (bit & 7))) & 1;
    bit++;
    return b;
  };
  let value = 0;
  for (let i = 0; i < n; i++) {
    let q = 0;
    while (readBit() === 1) {
      q++;
      if (value + q * m >= range) throw malformed("a filter value is out of range");
    }
    let r = 0;
    for (let j = 0; j < p; j++) r = r * 2 + readBit();
    value += q * m + r;
    if (value >= range) throw malformed("a filter value is out of range");
    values[i] = value;
  }
  if (totalBits - bit >= 8) throw malformed("the filter has trailing bytes");
  while (bit < totalBits) {
    if (readBit() !== 0) throw malformed("the filter padding is not zero");
  }
  return Object.freeze({
    count: n,
    p,
    falsePositiveRate: n === 0 ? 0 : -Math.expm1(n * Math.log1p(-1 / range)),
    has(item: Uint8Array): boolean {
      if (n === 0) return false;
      const target = hashToRange(item, range);
      let lo = 0;
      let hi = n - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = values[mid] ?? 0;
        if (v === target) return true;
        if (v < target) lo = mid + 1;
        else hi = mid - 1;
      }
      return false;
    },
  });
}
