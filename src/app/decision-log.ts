/**
 * Decisions in the log, many to an entry (spec/log.md, "Decisions in batches"). A share or an
 * acceptance decides once per object; one log entry per decision made the log the largest cost
 * of the share path. A `decisions` entry holds what the decisions of one share (or one received
 * envelope) have in common once (`action`, `partner`, `purpose`, `envelope`) and the decisions in
 * order, each with exactly the members a `decision` entry would carry.
 *
 * Each decision stays provable on its own: it is the `index`-th member of `decisions` in the entry
 * at `seq`, whose inclusion in the signed tree is proved as for any entry (`accord log prove SEQ`).
 * `expandDecisions` turns either kind back into one record per decision, for audit and tests.
 */

export const DECISION_KIND = "decision";
export const DECISIONS_KIND = "decisions";

/**
 * Bytes of decisions (their JSON) per `decisions` entry. An entry may hold 65,535 bytes (spec/log.md);
 * the members shared by the batch take a few hundred, so this leaves ample room.
 */
export const DECISIONS_BATCH_BYTES = 48 * 1024;

/** What the decisions of one batch have in common. */
export interface DecisionBatchHeader {
  readonly action: string;
  readonly partner: string;
  readonly purpose?: string;
  /** The envelope the decided objects arrived in (acceptance). */
  readonly envelope?: string;
}

/** One decision as logged: the object, its version, the effect and the clauses, and so on. */
export type LoggedDecision = Readonly<Record<string, unknown>> & {
  readonly object: string;
  readonly effect: "permit" | "deny";
};

/** A decision read back from the log: where it is proved, and every member it was logged with. */
export interface ExpandedDecision {
  /** The log entry that holds it. */
  readonly seq: number;
  /** Its place among the entry's `decisions` (0 for a `decision` entry). */
  readonly index: number;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * The log entries recording `decisions` (in order), each at most `DECISIONS_BATCH_BYTES` of
 * decisions; a decision larger than that alone gets an entry of its own. None when there are none.
 */
export function decisionEntries(
  at: string,
  header: DecisionBatchHeader,
  decisions: readonly LoggedDecision[],
): { kind: string; at: string; data: Record<string, unknown> }[] {
  const entries: { kind: string; at: string; data: Record<string, unknown> }[] = [];
  let batch: LoggedDecision[] = [];
  let bytes = 0;
  const close = (): void => {
    if (batch.length === 0) return;
    entries.push({ kind: DECISIONS_KIND, at, data: { ...header, decisions: batch } });
    batch = [];
    bytes = 0;
  };
  for (const d of decisions) {
    const size = Buffer.byteLength(JSON.stringify(d)) + 1;
    if (bytes + size > DECISIONS_BATCH_BYTES) close();
    batch.push(d);
    bytes += size;
  }
  close();
  return entries;
}

/**
 * One record per decision in a log entry: a `decisions` entry gives each decision with the batch's
 * shared members, a `decision` entry gives itself; any other entry gives none.
 */
export function expandDecisions(entry: {
  readonly seq: number;
  readonly at: string;
  readonly kind: string;
  readonly data: Readonly<Record<string, unknown>>;
}): ExpandedDecision[] {
  if (entry.kind === DECISION_KIND)
    return [{ seq: entry.seq, index: 0, at: entry.at, data: entry.data }];
  if (entry.kind !== DECISIONS_KIND) return [];
  const { decisions, ...shared } = entry.data;
  if (!Array.isArray(decisions)) return [];
  return decisions.map((d: unknown, index) => ({
    seq: entry.seq,
    index,
    at: entry.at,
    data: { ...shared, ...(d as Record<string, unknown>) },
  }));
}
