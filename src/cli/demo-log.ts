/**
 * Demo checks on the nodes' transparency logs (spec/log.md): every node signs a checkpoint of its
 * log, and every share on a sender's log is matched by the acceptance on the recipient's log
 * (`matchSharesWithReceipts`), each log recomputed from its entries first.
 */
import { readLogEntries, storeLogSource, verifyLog } from "../app/log.js";
import { matchSharesWithReceipts } from "../app/log-match.js";
import type { RunningNode } from "./compose.js";

export async function logChecks(
  running: readonly RunningNode[],
): Promise<{ name: string; ok: boolean }[]> {
  const checks: { name: string; ok: boolean }[] = [];
  const logs = [];
  for (const n of running) {
    const checkpoint = await n.node.checkpoint();
    const source = await storeLogSource(n.store.ledger);
    const verdict = await verifyLog(source, { checkpoints: [checkpoint.note] });
    checks.push({
      name: `${n.node.id}'s Merkle log recomputes to its signed checkpoint (${String(checkpoint.size)} entries)`,
      ok: verdict.ok,
    });
    logs.push({ id: n.node.id, entries: await readLogEntries(source) });
  }
  for (const sender of logs)
    for (const recipient of logs) {
      if (sender === recipient) continue;
      const report = matchSharesWithReceipts(sender, recipient);
      if (report.shares.length === 0) continue;
      checks.push({
        name: `every share on ${sender.id}'s log to ${recipient.id} matches ${recipient.id}'s logged acceptance (${String(report.matched)} envelope${report.matched === 1 ? "" : "s"})`,
        ok: report.problems.length === 0,
      });
    }
  return checks;
}
