/**
 * The hash chain of the walking skeleton's ledger (spec/ledger.md). Each entry's hash is
 * SHA-256 over the previous entry's hash (hex) and the RFC 8785 canonical JSON of
 * {seq, at, kind, data}. The Merkle transparency log (RFC 9162) replaces this behind the same port.
 */
import { canonicalize } from "../crypto/jcs.js";
import { sha256Hex } from "../crypto/hash.js";

export const GENESIS_HASH = "0".repeat(64);

export function ledgerEntryHash(
  prevHash: string,
  entry: { seq: number; at: string; kind: string; data: Readonly<Record<string, unknown>> },
): string {
  return sha256Hex(
    `${prevHash}\n${canonicalize({ seq: entry.seq, at: entry.at, kind: entry.kind, data: entry.data })}`,
  );
}

/** Recompute the chain; returns the first seq whose hash or link is wrong, or -1 when intact. */
export function firstBrokenLink(
  entries: readonly {
    seq: number;
    at: string;
    kind: string;
    data: Readonly<Record<string, unknown>>;
    prevHash: string;
    hash: string;
  }[],
  startPrevHash: string = GENESIS_HASH,
): number {
  let prev = startPrevHash;
  let expectedSeq = entries[0]?.seq ?? 0;
  for (const e of entries) {
    if (e.seq !== expectedSeq || e.prevHash !== prev || ledgerEntryHash(prev, e) !== e.hash)
      return e.seq;
    prev = e.hash;
    expectedSeq++;
  }
  return -1;
}
