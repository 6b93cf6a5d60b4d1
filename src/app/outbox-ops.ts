/**
 * Operations on the durable outbox beyond delivery (spec/federation.md, "Outbox"):
 *
 *   cancelOutboxItem  the operator cancels a pending item: it is never sent; logged
 *   sweepSunsets      at an agreement's sunset every pending item under it is cancelled, each
 *                     logged (the decision engine already denies new shares under it)
 *
 * Both write the outbox change and its log entry in one transaction. Log entries hold ids and
 * reasons from a fixed vocabulary, never envelope contents.
 */
import { AccordError } from "../errors.js";
import type { Agreement } from "../core/agreement/parse.js";
import type { Clock, OutboxItem, Store } from "./ports.js";

export const CANCELLED_BY_OPERATOR = "cancelled by the operator";
export const CANCELLED_AT_SUNSET = "the agreement reached its sunset";

/** Cancel one pending outbox item; ERR_NOT_FOUND when unknown, ERR_BAD_REQUEST when not pending. */
export async function cancelOutboxItem(
  deps: { readonly store: Store; readonly clock: Clock },
  id: string,
): Promise<Omit<OutboxItem, "envelope">> {
  const at = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    const item = await tx.outbox.get(id);
    if (item === undefined) throw new AccordError("ERR_NOT_FOUND", `no outbox item \`${id}\``);
    if (!(await tx.outbox.cancel(id, CANCELLED_BY_OPERATOR, at)))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `outbox item \`${id}\` is ${item.status}; only a pending item can be cancelled`,
      );
    await tx.ledger.append({
      kind: "outbox-cancel",
      at,
      data: {
        envelope: id,
        recipient: item.recipient,
        agreement: item.agreementId,
        reason: "operator",
      },
    });
  });
  const after = await deps.store.outbox.get(id);
  if (after === undefined) throw new AccordError("ERR_NOT_FOUND", `no outbox item \`${id}\``);
  const { envelope: _e, ...rest } = after;
  return rest;
}

/**
 * Cancel and log every pending item under each agreement whose sunset has passed at `now`.
 * Idempotent: a second sweep finds nothing pending. Returns the ids cancelled, per agreement.
 */
export async function sweepSunsets(deps: {
  readonly store: Store;
  readonly clock: Clock;
  readonly agreements: readonly Agreement[];
}): Promise<{ agreement: string; cancelled: string[] }[]> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const out: { agreement: string; cancelled: string[] }[] = [];
  const sunset = new Set(
    deps.agreements.filter((a) => now.getTime() >= a.sunsetMs).map((a) => a.id),
  );
  for (const agreement of [...sunset].sort()) {
    const cancelled = await deps.store.transaction(async (tx) => {
      const ids = await tx.outbox.cancelByAgreement(agreement, CANCELLED_AT_SUNSET, at);
      for (const id of ids) {
        const item = await tx.outbox.get(id);
        await tx.ledger.append({
          kind: "outbox-cancel",
          at,
          data: {
            envelope: id,
            recipient: item?.recipient ?? null,
            agreement,
            reason: "sunset",
          },
        });
      }
      return ids;
    });
    if (cancelled.length > 0) out.push({ agreement, cancelled });
  }
  return out;
}
