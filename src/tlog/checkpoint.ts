/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint, v1.0.0): a signed note whose text is
 *   <origin>\n<tree size, decimal, no leading zeros>\n<base64 root hash>\n[<extension line>\n]*
 *
 * Risks: checkpoints come from partners (attacker-controlled). `parseCheckpoint` is strict: at
 * least three lines, a non-empty origin, a canonical decimal size that is a safe integer (Accord
 * refuses sizes above 2^53 - 1, which the spec's uint64 would allow), a canonical base64 root of
 * exactly 32 bytes, non-empty extension lines, at most 16 of them. `openCheckpoint` opens the note
 * first (signatures verified before the text is read), then requires the log's own signature and
 * the expected origin, so a checkpoint signed only by witnesses, or by another log, is refused.
 *
 * Flow: a log `signCheckpoint`s its tree head; a witness `openCheckpoint`s it, checks it against
 * the latest it has seen from that log (`checkConsistency`, a verdict with a reason) and `addNoteSignatures` its cosignature (cosignature.ts); a client `openCheckpoint`s
 * with the log key and the witness keys it trusts and applies its quorum to `verified`.
 */
import { AccordError } from "../errors.js";
import { HASH_SIZE, equalBytes, isIndex } from "./hash.js";
import {
  decodeBase64,
  encodeBase64,
  openNote,
  signNote,
  type NoteLimits,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
} from "./note.js";
import { verifyConsistency } from "./proof.js";

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Opaque extension lines (not recommended by the spec; Accord writes none). */
  readonly extensions: readonly string[];
}

export const MAX_EXTENSION_LINES = 16;

/** The checkpoint's note text. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  if (origin.length === 0 || origin.includes("\n")) {
    throw new TypeError("an origin is one non-empty line");
  }
  if (!isIndex(size)) throw new RangeError("a tree size is a safe non-negative integer");
  if (rootHash.length !== HASH_SIZE) throw new RangeError("a root hash is 32 bytes");
  if (extensions.length > MAX_EXTENSION_LINES) throw new RangeError("too many extension lines");
  for (const e of extensions) {
    if (e.length === 0 || e.includes("\n")) throw new TypeError("extension lines are non-empty");
  }
  return [origin, String(size), encodeBase64(rootHash), ...extensions].join("\n") + "\n";
}

function malformed(what: string): AccordError {
  return new AccordError("ERR_MALFORMED_INPUT", `the checkpoint is malformed: ${what}`);
}

/** Parses a checkpoint note text (attacker-controlled). Throws ERR_MALFORMED_INPUT. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw malformed("the text does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw malformed("it has fewer than three lines");
  if (lines.length > 3 + MAX_EXTENSION_LINES) throw malformed("it has too many extension lines");
  const [origin = "", sizeText = "", rootText = "", ...extensions] = lines;
  if (origin.length === 0) throw malformed("the origin is empty");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) throw malformed("the tree size is not canonical");
  const size = Number(sizeText);
  if (!isIndex(size)) throw malformed("the tree size is too large");
  const rootHash = decodeBase64(rootText);
  if (rootHash?.length !== HASH_SIZE) throw malformed("the root hash is not 32 bytes of base64");
  if (extensions.some((e) => e.length === 0)) throw malformed("an extension line is empty");
  return { origin, size, rootHash, extensions };
}

/** A checkpoint signed by the log's key (and any other signer given). */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: OpenedNote;
}

/**
 * Opens a signed checkpoint (attacker-controlled): `log` must have signed it and its origin must
 * be `origin`; signatures of `cosigners` are verified too and listed in `note.verified`. `log` may
 * be several keys of the same log (its key history across rotations): one of them must have
 * signed, and any of them that did must verify.
 */
export function openCheckpoint(
  signed: string | Uint8Array,
  options: {
    readonly origin: string;
    readonly log: NoteVerifier | readonly NoteVerifier[];
    readonly cosigners?: readonly NoteVerifier[];
    readonly limits?: NoteLimits;
  },
): OpenedCheckpoint {
  const logKeys: readonly NoteVerifier[] = Array.isArray(options.log)
    ? options.log
    : [options.log as NoteVerifier];
  if (logKeys.length === 0) throw new TypeError("a log needs at least one key");
  const note = openNote(signed, [...logKeys, ...(options.cosigners ?? [])], options.limits);
  if (!note.verified.some((s) => logKeys.some((k) => s.name === k.name && s.keyId === k.keyId))) {
    throw new AccordError("ERR_SIGNATURE_INVALID", "the checkpoint is not signed by the log");
  }
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== options.origin) {
    throw new AccordError(
      "ERR_SIGNATURE_INVALID",
      `the checkpoint is for another log than \`${options.origin}\``,
    );
  }
  return { checkpoint, note };
}

/** Why a checkpoint is not a consistent successor of another (evidence for oversight). */
export type InconsistencyReason =
  /** The two checkpoints name different logs. */
  | "origin"
  /** The new tree is smaller than the old one: a rollback or a truncation. */
  | "shrunk"
  /** Same size, different root: a fork (split view) or a rewrite. */
  | "fork"
  /** The consistency proof does not show that the new tree extends the old one. */
  | "proof";

export type ConsistencyVerdict =
  | { readonly consistent: true }
  | { readonly consistent: false; readonly reason: InconsistencyReason };

/**
 * Whether `next` is consistent with `previous` (both already opened and verified), given the
 * consistency proof the log served (attacker-controlled). A previous empty tree is consistent
 * with anything; equal sizes need equal roots and an empty proof. A verdict, never an exception:
 * the caller records the evidence (both signed notes) when it is not consistent.
 */
export function checkConsistency(
  previous: Checkpoint,
  next: Checkpoint,
  proof: readonly Uint8Array[],
): ConsistencyVerdict {
  if (previous.origin !== next.origin) return { consistent: false, reason: "origin" };
  if (next.size < previous.size) return { consistent: false, reason: "shrunk" };
  if (next.size === previous.size) {
    const same = equalBytes(previous.rootHash, next.rootHash);
    if (!same) return { consistent: false, reason: "fork" };
    return proof.length === 0 ? { consistent: true } : { consistent: false, reason: "proof" };
  }
  if (previous.size === 0) return { consistent: true };
  return verifyConsistency(previous.size, next.size, previous.rootHash, next.rootHash, proof)
    ? { consistent: true }
    : { consistent: false, reason: "proof" };
}
