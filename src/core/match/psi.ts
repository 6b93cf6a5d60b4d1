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
 * Risks: elements from the peer are attacker-controlled: each is checked (canonical, not the
 * identity) before multiplication. Multiplication by the session key runs in libsodium (constant
 * time). Inputs are hashed with a DST that names the protocol and the session context (agreement,
 * epoch, kind), so elements from one session are useless in another.
 */
import { randomInt } from "node:crypto";
import { loadGroup, type Ristretto255 } from "../../crypto/oprf/index.js";

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

/** A PSI participant with a fresh session key (awaits libsodium once). */
export async function createPsiParty(options: PsiOptions): Promise<PsiParty> {
  const g: Ristretto255 = await loadGroup();
  const key = options.secretKey ?? g.randomScalar();
  if (!g.isCanonicalScalar(key) || g.isZeroScalar(key)) {
    throw new RangeError("a PSI key is a canonical non-zero 32-byte scalar");
  }
  const dst = new TextEncoder().encode(PSI_DST_PREFIX + options.context);
  if (dst.length > 255) throw new RangeError("the PSI context is too long for a DST");
  const random = options.randomInt ?? ((max: number) => randomInt(max));
  const maybeShuffle = (list: Uint8Array[], shuffle: boolean | undefined): Uint8Array[] =>
    shuffle === true ? shuffleInPlace(list, random) : list;
  return Object.freeze({
    blind: (inputs: readonly Uint8Array[], o: { shuffle?: boolean } = {}) =>
      maybeShuffle(
        inputs.map((x) => g.mult(key, g.hashToGroup(x, dst))),
        o.shuffle,
      ),
    exponentiate: (elements: readonly unknown[], o: { shuffle?: boolean } = {}) =>
      maybeShuffle(
        elements.map((e) => g.mult(key, g.deserializeElement(e, "PSI element"))),
        o.shuffle,
      ),
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
