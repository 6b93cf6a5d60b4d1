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
      case "putObjects": {
        const results = await tx.objects.putMany(step.objects);
        stored += insertedOf(results);
        if (step.counted !== undefined) await tx.ledger.append(counted(step.counted, results));
        break;
      }
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

function insertedOf(results: readonly PutResult[]): number {
  return results.filter((r) => r === "inserted").length;
}

/** A `putObjects` step's counted entry: `stored` is how many of its versions were new. */
export function counted(entry: LedgerAppend, results: readonly PutResult[]): LedgerAppend {
  return { ...entry, data: { ...entry.data, stored: insertedOf(results) } };
}
