/**
 * What the share transaction records for recall and oversight (spec/recall.md, "Who got what"):
 * one row per object version per envelope per recipient, so a later recall or correction knows
 * every node that holds a copy and under which id; and, for each object another node originated
 * that this node was refused permission to pass on, an `onward-refused` log entry the oversight
 * body can list. Called from `AccordNode.shareWith` inside its transaction; metadata only.
 */
import type { Reason } from "../core/policy/decide.js";
import type { Repos, StoredObject } from "./ports.js";

export interface ShareRecord {
  readonly self: string;
  readonly recipient: string;
  readonly purpose: string;
  readonly at: string;
  /** The envelopes sealed for the recipient, with the id and version of each object they carry. */
  readonly envelopes: readonly {
    readonly id: string;
    readonly agreement: string;
    readonly members: readonly { readonly sentAs: string; readonly version: string }[];
  }[];
  /** One verdict per object considered, in the order of `objects`. */
  readonly verdicts: readonly {
    readonly id: string;
    readonly effect: "permit" | "deny";
    readonly sentAs?: string;
    readonly reasons: readonly Reason[];
  }[];
  readonly objects: readonly StoredObject[];
}

/** Record the copies that travelled and the refused onward hops, inside the share's transaction. */
export async function recordShare(tx: Repos, share: ShareRecord): Promise<void> {
  // The id the recipient holds an object under can differ from ours (re-issued ids).
  const originalOf = new Map<string, string>();
  for (const v of share.verdicts) if (v.effect === "permit") originalOf.set(v.sentAs ?? v.id, v.id);
  const copies = share.envelopes.flatMap((e) =>
    e.members.map((m) => ({
      objectId: originalOf.get(m.sentAs) ?? m.sentAs,
      sentAs: m.sentAs,
      version: m.version,
      recipient: share.recipient,
      envelopeId: e.id,
      agreement: e.agreement,
      purpose: share.purpose,
      sharedAt: share.at,
    })),
  );
  await tx.recalls.recordCopies(copies);

  // Only a refusal can be an onward hop refused: a share with none needs no look-up of originators.
  if (!share.verdicts.some((v) => v.effect === "deny")) return;
  const originatorOf = new Map(share.objects.map((o) => [o.object.id, o.provenance.originator]));
  for (const v of share.verdicts) {
    const originator = originatorOf.get(v.id);
    if (v.effect !== "deny" || originator === undefined || originator === share.self) continue;
    await tx.ledger.append({
      kind: "onward-refused",
      at: share.at,
      data: {
        object: v.id,
        originator,
        partner: share.recipient,
        purpose: share.purpose,
        clauses: v.reasons.filter((r) => r.effect === "deny").map((r) => r.clause),
      },
    });
  }
}
