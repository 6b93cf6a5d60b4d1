/**
 * Cross-log check (spec/log.md, "Matching shares and receipts"): every envelope a sender's log
 * says it shared with a partner must appear on that partner's log as accepted, with the same
 * envelope digest, and the receipt the sender logged must agree with what the recipient logged
 * about the objects; every envelope the recipient's log says came from the sender must be one the
 * sender's log shared. Both logs are read through verified sources (app/log.ts), so a mismatch is
 * evidence against one of the two nodes, not a storage accident.
 *
 * Entries used (data fields): sender `share` {envelope, recipient, digest}, sender `receipt`
 * {envelope, recipient, accepted}, recipient `accept` {envelope, sender, accepted, digest}.
 */

export interface LoggedEntry {
  readonly seq: number;
  readonly kind: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type MatchProblem =
  /** The recipient's log has no `accept` for an envelope the sender's log shared. */
  | "not-accepted"
  /** Both logged the envelope, but with different digests: not the same envelope. */
  | "digest-differs"
  /** The sender logged a receipt whose accepted objects differ from the recipient's `accept`. */
  | "receipt-differs"
  /** The recipient's log accepted an envelope from the sender that the sender's log never shared. */
  | "not-shared";

export interface ShareMatch {
  readonly envelope: string;
  /** Index of the `share` entry on the sender's log, when there is one. */
  readonly share?: number;
  /** Index of the sender's `receipt` entry, when the delivery completed. */
  readonly receipt?: number;
  /** Index of the `accept` entry on the recipient's log, when there is one. */
  readonly accept?: number;
  readonly problem?: MatchProblem;
}

export interface MatchReport {
  readonly sender: string;
  readonly recipient: string;
  readonly matched: number;
  readonly problems: readonly ShareMatch[];
  readonly shares: readonly ShareMatch[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function sameList(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return a === b;
  const x = a.map(String).sort();
  const y = b.map(String).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Matches `sender`'s shares to `recipient` with `recipient`'s accepts from `sender`. An envelope
 * still pending delivery (no receipt on the sender's log, no accept on the recipient's) is listed
 * without a problem when `pendingOk` says so (the default): it is in flight, not missing.
 */
export function matchSharesWithReceipts(
  sender: { readonly id: string; readonly entries: readonly LoggedEntry[] },
  recipient: { readonly id: string; readonly entries: readonly LoggedEntry[] },
  options: { readonly pendingOk?: boolean } = {},
): MatchReport {
  const pendingOk = options.pendingOk ?? true;
  const receipts = new Map<string, LoggedEntry>();
  const shares = new Map<string, LoggedEntry>();
  for (const e of sender.entries) {
    const envelope = str(e.data.envelope);
    if (envelope === undefined || str(e.data.recipient) !== recipient.id) continue;
    if (e.kind === "share" && !shares.has(envelope)) shares.set(envelope, e);
    if (e.kind === "receipt" && !receipts.has(envelope)) receipts.set(envelope, e);
  }
  const accepts = new Map<string, LoggedEntry>();
  for (const e of recipient.entries) {
    const envelope = str(e.data.envelope);
    if (e.kind !== "accept" || envelope === undefined || str(e.data.sender) !== sender.id) continue;
    if (!accepts.has(envelope)) accepts.set(envelope, e);
  }
  const out: ShareMatch[] = [];
  for (const [envelope, share] of shares) {
    const receipt = receipts.get(envelope);
    const accept = accepts.get(envelope);
    const where = {
      envelope,
      share: share.seq,
      ...(receipt === undefined ? {} : { receipt: receipt.seq }),
      ...(accept === undefined ? {} : { accept: accept.seq }),
    };
    if (accept === undefined) {
      out.push(receipt === undefined && pendingOk ? where : { ...where, problem: "not-accepted" });
    } else if (str(accept.data.digest) !== str(share.data.digest)) {
      out.push({ ...where, problem: "digest-differs" });
    } else if (receipt !== undefined && !sameList(receipt.data.accepted, accept.data.accepted)) {
      out.push({ ...where, problem: "receipt-differs" });
    } else {
      out.push(where);
    }
  }
  for (const [envelope, accept] of accepts) {
    if (!shares.has(envelope)) out.push({ envelope, accept: accept.seq, problem: "not-shared" });
  }
  const problems = out.filter((m) => m.problem !== undefined);
  return {
    sender: sender.id,
    recipient: recipient.id,
    matched: out.filter((m) => m.problem === undefined && m.accept !== undefined).length,
    problems,
    shares: out,
  };
}
