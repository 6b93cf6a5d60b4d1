/**
 * Does a log carry enough witnesses' cosignatures? (spec/log.md, "Requiring witnesses";
 * `accord log verify --witness VKEY --min-cosigs N`.)
 *
 * The verifier has recomputed the log and checked the root of every checkpoint it was given
 * (app/log.ts `verifyLog`); those checkpoints come with the witnesses' cosignature lines appended
 * (C2SP tlog-cosignature). A witness counts when its cosignature on one of them verifies under
 * the key the verifier trusts: it then vouches for the log up to that checkpoint's size. Because
 * checkpoints are issued on demand and a log grows between a witness's visit and a verifier's, the
 * largest checkpoint a witness cosigned is often smaller than the latest; the standing says which
 * size each witness covers, and whether that is the latest.
 *
 * Risks: the lines are served by the node whose log is checked, so they are attacker-controlled:
 * a witness whose line is present but does not verify on any checkpoint is `invalid` and does not
 * count, even if another of its lines verifies (a node serving a forged cosignature is itself the
 * problem to report).
 */
import { AccordError, isAccordError } from "../errors.js";
import {
  COSIGNATURE_TYPE,
  cosignatureTimestamp,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifierFromKey,
  type NoteVerifier,
} from "../tlog/index.js";

/** What one witness's cosignatures on the checked checkpoints show. */
export interface WitnessStanding {
  /** The witness's key name (from its vkey). */
  readonly witness: string;
  /**
   * `cosigned`: a cosignature verifies (on the checkpoint of `size`); `missing`: none of the
   * checkpoints carries a line of this witness's key; `invalid`: a line of its key does not verify.
   */
  readonly status: "cosigned" | "missing" | "invalid";
  /** The size of the largest checkpoint it validly cosigned. */
  readonly size?: number;
  /** Whether that checkpoint is the latest one checked. */
  readonly latest?: boolean;
  /** The cosignature's time (POSIX seconds). */
  readonly time?: number;
}

/** Parses witnesses' vkeys (each a C2SP cosignature key, type 0x04), naming the bad one. */
export function parseWitnessKeys(vkeys: readonly string[]): NoteVerifier[] {
  const out: NoteVerifier[] = [];
  const seen = new Set<string>();
  vkeys.forEach((vkey, i) => {
    let key;
    try {
      key = parseVerifierKey(vkey);
    } catch (e) {
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `--witness #${String(i + 1)} is not a note verifier key: ${(e as Error).message}`,
      );
    }
    if (key.type !== COSIGNATURE_TYPE) {
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `--witness #${String(i + 1)} (\`${key.name}\`) is not a cosignature key (type 0x04): a witness's vkey is printed by \`accord witness init\``,
      );
    }
    const v = verifierFromKey(key);
    const id = `${v.name} ${String(v.keyId)}`;
    if (!seen.has(id)) out.push(v);
    seen.add(id);
  });
  return out;
}

/**
 * Each witness's standing over `checkpoints` (signed notes with cosignature lines, whose roots
 * the caller has checked against the recomputed log).
 */
export function witnessStandings(
  checkpoints: readonly string[],
  witnesses: readonly NoteVerifier[],
): WitnessStanding[] {
  const notes = checkpoints
    .map((note) => ({ note, size: sizeOf(note) }))
    .filter((c): c is { note: string; size: number } => c.size !== undefined)
    .sort((a, b) => b.size - a.size);
  const latest = notes[0]?.size;
  return witnesses.map((w) => {
    let invalid = false;
    let best: { size: number; time: number } | undefined;
    for (const { note, size } of notes) {
      const r = lineOf(note, w);
      if (r.status === "invalid") invalid = true;
      if (r.status === "valid" && best === undefined) best = { size, time: r.time };
    }
    if (invalid) return { witness: w.name, status: "invalid" };
    if (best === undefined) return { witness: w.name, status: "missing" };
    return {
      witness: w.name,
      status: "cosigned",
      size: best.size,
      latest: best.size === latest,
      time: best.time,
    };
  });
}

/** Whether `note` carries a line of `w`'s key, and whether it verifies. */
function lineOf(
  note: string,
  w: NoteVerifier,
): { status: "none" | "invalid" } | { status: "valid"; time: number } {
  let result: { status: "none" | "invalid" } | { status: "valid"; time: number } = {
    status: "none",
  };
  // The verifier is wrapped so that openNote reports whether it was asked, and what it said,
  // rather than failing the whole note on the first bad line.
  const probe: NoteVerifier = {
    name: w.name,
    keyId: w.keyId,
    verify: (text, signature) => {
      const time = cosignatureTimestamp(signature);
      result =
        time !== undefined && w.verify(text, signature)
          ? { status: "valid", time }
          : { status: "invalid" };
      return true;
    },
  };
  try {
    openNote(note, [probe]);
  } catch (e) {
    if (!isAccordError(e)) throw e;
  }
  return result;
}

function sizeOf(note: string): number | undefined {
  try {
    return parseCheckpoint(note.slice(0, note.indexOf("\n\n") + 1)).size;
  } catch {
    return undefined;
  }
}
