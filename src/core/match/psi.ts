/**
 * Bulk list-against-list matching: Diffie-Hellman private set intersection (Meadows 1986,
 * Huberman-Franklin-Hogg 1999) over ristretto255 (RFC 9496), hashing with RFC 9380
 * `hash_to_ristretto255` (spec/match.md §psi).
 *
 * Flow, A learning the result:
 *   1. A sends `blind(A's inputs)` = [k_A · H(a_i)].
 *   2. B answers `exponentiate(that)` = [k_B · k_A · H(a_i)], in A's order, or shuffled in
 *      cardinality-only mode, and sends `blind(B's inputs, shuffled)` = [k_B · H(b_j)].
 *   3. A computes `exponentiate(B's list)` = [k_A · k_B · H(b_j)] and calls `intersect`
 *      (indices of its own items in the intersection) or `intersectionSize`.
 * Each side learns the other's list size; A learns which of its items (or only how many) are in
 * the intersection; B learns nothing more. Keys are fresh per session (`createPsiParty`).
 *
 * Bulk runs use the packed forms (n × 32-byte elements in one array): `psiDst`,
 * `psiHashAndMultiply`, `psiMultiplyPeer`, `intersectPacked`, `shufflePacked`. They are pure and
 * synchronous, so the same code runs here and in the worker threads of src/compute (which split a
 * list into chunks across cores); `createPsiParty` uses them too.
 *
 * Risks: elements from the peer are attacker-controlled: each is checked (canonical, not the
 * identity) before multiplication. Multiplication by the session key runs in libsodium (constant
 * time). Inputs are hashed with a DST that names the protocol and the session context (agreement,
 * epoch, kind), so elements from one session are useless in another.
 */
import { randomInt } from "node:crypto";
import { AccordError } from "../../errors.js";
import { ELEMENT_BYTES, loadGroup, type Ristretto255 } from "../../crypto/oprf/index.js";

export const PSI_DST_PREFIX = "AccordPSI-V1-ristretto255-SHA512-";

export interface PsiOptions {
  /** Public session context (for example agreement id, epoch and kind), bound into the hash. */
  readonly context: string;
  /** A fixed session key, for tests; by default a fresh random scalar. */
  readonly secretKey?: Uint8Array;
  /** Uniform integer in [0, max), for shuffling; `node:crypto` randomInt by default. */
  readonly randomInt?: (max: number) => number;
}

export interface PsiParty {
  /** [k · H(x)] for each input, in order (or shuffled). */
  blind(inputs: readonly Uint8Array[], options?: { shuffle?: boolean }): Uint8Array[];
  /** [k · P] for each element the peer sent (attacker-controlled), in order (or shuffled). */
  exponentiate(elements: readonly unknown[], options?: { shuffle?: boolean }): Uint8Array[];
}

function shuffleInPlace<T>(list: T[], random: (max: number) => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random(i + 1);
    const t = list[i] as T;
    list[i] = list[j] as T;
    list[j] = t;
  }
  return list;
}

/** The hash DST of a session: the protocol name and the public session context. */
export function psiDst(context: string): Uint8Array {
  const dst = new TextEncoder().encode(PSI_DST_PREFIX + context);
  if (dst.length > 255) throw new RangeError("the PSI context is too long for a DST");
  return dst;
}

/** Checks a session key: a canonical non-zero scalar. */
export function checkPsiKey(g: Ristretto255, key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || !g.isCanonicalScalar(key) || g.isZeroScalar(key)) {
    throw new RangeError("a PSI key is a canonical non-zero 32-byte scalar");
  }
  return key;
}

/** `[k · H(x_i)]`, packed, in input order (constant time in `k`). */
export function psiHashAndMultiply(
  g: Ristretto255,
  key: Uint8Array,
  dst: Uint8Array,
  inputs: readonly Uint8Array[],
): Uint8Array {
  return g.hashToGroupMany(inputs, dst, key);
}

/**
 * `[k · P_i]` for packed elements from the peer (attacker-controlled), in order. An element that
 * is not a canonical non-identity encoding is refused with `ERR_MALFORMED_INPUT` naming its
 * position (offset by `firstIndex`, for a chunk of a longer list).
 */
export function psiMultiplyPeer(
  g: Ristretto255,
  key: Uint8Array,
  packed: Uint8Array,
  firstIndex = 0,
): Uint8Array {
  if (!(packed instanceof Uint8Array) || packed.length % ELEMENT_BYTES !== 0) {
    throw new AccordError("ERR_MALFORMED_INPUT", "the PSI elements are not 32-byte elements");
  }
  // libsodium's multiplication checks each encoding and refuses identity products.
  const out = g.multManyOrIndex(key, packed);
  if (typeof out === "number") throw invalidElement(firstIndex + out);
  return out;
}

function invalidElement(index: number): AccordError {
  return new AccordError(
    "ERR_MALFORMED_INPUT",
    `the PSI element at position ${String(index)} is not a valid group element`,
    { details: [{ path: `/${String(index)}`, message: "not a valid group element" }] },
  );
}

/** Packs a peer's list (attacker-controlled) into n × 32 bytes; refuses anything else. */
export function packElements(list: readonly unknown[]): Uint8Array {
  const packed = new Uint8Array(list.length * ELEMENT_BYTES);
  list.forEach((e, i) => {
    if (!(e instanceof Uint8Array) || e.length !== ELEMENT_BYTES) throw invalidElement(i);
    packed.set(e, i * ELEMENT_BYTES);
  });
  return packed;
}

/** Splits packed elements into one fresh 32-byte array each. */
export function unpackElements(packed: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + ELEMENT_BYTES <= packed.length; at += ELEMENT_BYTES) {
    out.push(packed.slice(at, at + ELEMENT_BYTES));
  }
  return out;
}

/** Fisher-Yates over the 32-byte records of `packed`, in place. */
export function shufflePacked(
  packed: Uint8Array,
  random: (max: number) => number = (max) => randomInt(max),
): Uint8Array {
  const tmp = new Uint8Array(ELEMENT_BYTES);
  for (let i = packed.length / ELEMENT_BYTES - 1; i > 0; i--) {
    const j = random(i + 1);
    if (j === i) continue;
    const a = i * ELEMENT_BYTES;
    const b = j * ELEMENT_BYTES;
    tmp.set(packed.subarray(a, a + ELEMENT_BYTES));
    packed.copyWithin(a, b, b + ELEMENT_BYTES);
    packed.set(tmp, b);
  }
  return packed;
}

/** A PSI participant with a fresh session key (awaits libsodium once). */
export async function createPsiParty(options: PsiOptions): Promise<PsiParty> {
  const g: Ristretto255 = await loadGroup();
  const key = checkPsiKey(g, options.secretKey ?? g.randomScalar());
  const dst = psiDst(options.context);
  const random = options.randomInt ?? ((max: number) => randomInt(max));
  const maybeShuffle = (list: Uint8Array[], shuffle: boolean | undefined): Uint8Array[] =>
    shuffle === true ? shuffleInPlace(list, random) : list;
  return Object.freeze({
    blind: (inputs: readonly Uint8Array[], o: { shuffle?: boolean } = {}) =>
      maybeShuffle(unpackElements(psiHashAndMultiply(g, key, dst, inputs)), o.shuffle),
    exponentiate: (elements: readonly unknown[], o: { shuffle?: boolean } = {}) =>
      maybeShuffle(unpackElements(psiMultiplyPeer(g, key, packElements(elements))), o.shuffle),
  });
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Indices i such that `ownDouble[i]` (k_B k_A H(a_i)) is among `peerDouble` (k_A k_B H(b_j)). */
export function intersect(
  ownDouble: readonly Uint8Array[],
  peerDouble: readonly Uint8Array[],
): number[] {
  const peer = new Set(peerDouble.map(hexOf));
  const out: number[] = [];
  ownDouble.forEach((e, i) => {
    if (peer.has(hexOf(e))) out.push(i);
  });
  return out;
}

/** The intersection size only (for a shuffled `ownDouble`). */
export function intersectionSize(
  ownDouble: readonly Uint8Array[],
  peerDouble: readonly Uint8Array[],
): number {
  return intersect(ownDouble, peerDouble).length;
}

function sameElement(a: Uint8Array, i: number, b: Uint8Array, j: number): boolean {
  for (let k = 0; k < ELEMENT_BYTES; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** Bits 32..63 of an element: uniformly random for the outputs of a multiplication by a secret. */
function slot(bytes: Uint8Array, at: number, mask: number): number {
  return (
    ((bytes[at + 4] ?? 0) |
      ((bytes[at + 5] ?? 0) << 8) |
      ((bytes[at + 6] ?? 0) << 16) |
      ((bytes[at + 7] ?? 0) << 24)) &
    mask
  );
}

/**
 * `intersect` over packed lists: the indices i of `ownDouble` whose element is in `peerDouble`,
 * ascending. Memory is one Int32Array of about 2n-4n slots; time linear. The table is built from
 * `peerDouble`, which this side computed itself (a multiplication by its own secret key of what
 * the peer sent), so the peer cannot choose values that collide in it; equal values are stored once.
 */
export function intersectPacked(ownDouble: Uint8Array, peerDouble: Uint8Array): number[] {
  const peerCount = Math.floor(peerDouble.length / ELEMENT_BYTES);
  let size = 1;
  while (size < 2 * peerCount) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  for (let j = 0; j < peerCount; j++) {
    const at = j * ELEMENT_BYTES;
    let s = slot(peerDouble, at, mask);
    for (;;) {
      const held = table[s] ?? -1;
      if (held === -1) {
        table[s] = at;
        break;
      }
      if (sameElement(peerDouble, held, peerDouble, at)) break;
      s = (s + 1) & mask;
    }
  }
  const out: number[] = [];
  const ownCount = Math.floor(ownDouble.length / ELEMENT_BYTES);
  for (let i = 0; i < ownCount; i++) {
    const at = i * ELEMENT_BYTES;
    let s = slot(ownDouble, at, mask);
    for (;;) {
      const held = table[s] ?? -1;
      if (held === -1) break;
      if (sameElement(peerDouble, held, ownDouble, at)) {
        out.push(i);
        break;
      }
      s = (s + 1) & mask;
    }
  }
  return out;
}
