/**
 * Running a `WritePlan` (src/app/ports.ts) against a transaction's repos: the one interpreter of
 * plans, used by every adapter's `Store.commitPlans`, on whichever thread holds the connection.
 */
import type { LedgerAppend, PutResult, Repos, WritePlan } from "./ports.js";

/** Run `plan`'s steps in order through `tx`; returns how many object versions were new. */
export async function runWritePlan(tx: Repos, plan: WritePlan): Promise<number> {
  let stored = 0;
  for (const step of plan) {
    switch (step.op) {
      case "putObjects":
        stored += await countPut(tx, step.counted, await tx.objects.putMany(step.objects));
        break;
      case "append":
        await tx.ledger.append(step.entry);
        break;
      case "putStatus":
        await tx.taxii.putStatus(step.status);
        break;
      case "recordCopies":
        await tx.recalls.recordCopies(step.copies);
        break;
    }
  }
  return stored;
}

/** Every plan in order, in `tx` (the in-process `Store.commitPlans`). */
export async function runWritePlans(tx: Repos, plans: readonly WritePlan[]): Promise<void> {
  for (const plan of plans) await runWritePlan(tx, plan);
}

/**
 * After a `putObjects` step's puts (`results`, one per object): append its counted entry, if any,
 * with `stored` (how many of its versions were new), and return that number. Counted once here,
 * for the entry and for the caller alike, on whichever thread runs the step (./ports.ts
 * `WriteStep`; the SQLite writer thread).
 */
export async function countPut(
  tx: Pick<Repos, "ledger">,
  counted: LedgerAppend | undefined,
  results: readonly PutResult[],
): Promise<number> {
  let stored = 0;
  for (const r of results) if (r === "inserted") stored++;
  if (counted !== undefined)
    await tx.ledger.append({ ...counted, data: { ...counted.data, stored } });
  return stored;
}
