/**
 * Demo: before anything is shared, every node signs the agreements it holds on the running node,
 * and the signatures travel to the other parties over the signed HTTP exchange
 * (spec/agreement.md "Enforcement on a node"). Until the last party has signed, nothing may
 * travel under an agreement; the narration says who signed and what each node now enforces.
 */
import type { RunningNode } from "./compose.js";

export async function signAgreementsStep(
  running: readonly RunningNode[],
  say: (line: string) => void,
): Promise<{ name: string; ok: boolean }[]> {
  say("The parties sign the agreements (each on its own node; signatures travel over HTTP)");
  const ids = [...new Set(running.flatMap((n) => n.node.agreementBook.latest().map((a) => a.id)))];
  for (const n of running) {
    for (const a of n.node.agreementBook.latest()) {
      const before = n.node.agreementBook.view(a.id).status;
      const { pushed, view } = await n.node.agreementBook.sign(a.id, a.version);
      const reached = pushed.filter((p) => p.ok).map((p) => p.node);
      const v = view.versions.find((x) => x.version === a.version);
      say(
        `  ${n.node.id} signs ${a.id} v${String(a.version)} (hash ${a.hash.slice(0, 12)}…, was ${before}); sent to ${reached.join(", ") || "nobody"}; now ${v?.status ?? view.status}${v !== undefined && v.missing.length > 0 ? `, awaiting ${v.missing.join(", ")}` : ""}`,
      );
    }
  }
  const checks: { name: string; ok: boolean }[] = [];
  for (const id of ids) {
    const holders = running.filter((n) => n.node.agreementBook.latest().some((a) => a.id === id));
    const views = holders.map((n) => ({ node: n.node.id, view: n.node.agreementBook.view(id) }));
    const first = views[0]?.view;
    if (first === undefined) continue;
    const current = first.versions.find((x) => x.version === first.inForce?.version);
    const line =
      first.inForce !== null && current !== undefined
        ? `${id} v${String(current.version)}: in force: signed by ${current.signed.join(", ")}`
        : `${id}: ${first.status} (${first.detail})`;
    say(`  ${line}`);
    checks.push({
      name: `${id} is in force on ${views.map((v) => v.node).join(", ")}, signed by every party`,
      ok: views.every((v) => v.view.status === "in-force" && v.view.awaiting.length === 0),
    });
  }
  say("");
  return checks;
}
