/**
 * Demo, step 5 (VISION.md): XA's analysts find that the encryptor-hash indicator is a false
 * positive and recall it. The notice, signed by XA, reaches XB and XC (who hold it under the id
 * it travelled as); each verifies it, purges every copy, logs the purge and returns a signed
 * acknowledgement that XA verifies with that partner's key (spec/recall.md).
 */
import { verifyJson } from "../crypto/sign.js";
import { parsePublicJwk } from "../crypto/keys.js";
import type { RunningNode } from "./compose.js";

export const FALSE_POSITIVE = "indicator--6cd8c12f-91de-4cc9-ae6b-51add0dc7e56";

export async function playRecallStep(
  xa: RunningNode,
  partners: readonly RunningNode[],
  say: (line?: string) => void,
): Promise<{ name: string; ok: boolean }[]> {
  say("Step 5: XA recalls a false-positive indicator; XB and XC purge it and acknowledge");
  const copies = await xa.store.recalls.copiesOf(FALSE_POSITIVE);
  const issued = await xa.recalls.issue({
    objectId: FALSE_POSITIVE,
    reason: "false positive: the hash belongs to a signed installer",
  });
  say(
    `  recall ${issued.id} of ${FALSE_POSITIVE}, signed by XA, sealed to ${issued.outstanding.join(" and ")} (the nodes XA's share records say received it)`,
  );
  await xa.deliverNow();
  const status = await xa.recalls.status(issued.id);
  const checks: { name: string; ok: boolean }[] = [];
  for (const t of status.targets) {
    const peer = await xa.store.peers.get(t.recipient);
    const verified =
      t.ack !== null &&
      peer !== undefined &&
      (await verifyJson(t.ack.signature, t.ack.claims, parsePublicJwk(peer.signingKey, "Ed25519")));
    say(
      t.ack === null
        ? `    ${t.recipient}: ${t.status} (retried until it answers)`
        : `    ${t.recipient}: purged ${t.ack.claims.purged} version(s) of ${t.ack.claims.held_as.join(", ")} and acknowledged at ${t.ack.claims.at}; the acknowledgement is signed by ${t.recipient} and ${verified ? "verified" : "NOT verified"} with its key`,
    );
    checks.push({
      name: `${t.recipient} acknowledged XA's recall with a signature XA verified`,
      ok: t.status === "acknowledged" && verified,
    });
  }
  say(
    status.complete
      ? "  every acknowledgement is in (`accord recall status`)"
      : `  outstanding: ${status.outstanding.join(", ")}`,
  );
  say("");

  for (const n of partners) {
    const heldAs = copies.filter((c) => c.recipient === n.node.id).map((c) => c.sentAs);
    let remaining = 0;
    for (const id of heldAs) remaining += (await n.store.objects.versions(id)).length;
    const applied = (await n.store.ledger.list(0, 100_000)).some(
      (e) => e.kind === "recall-applied" && e.data.recall === issued.id,
    );
    checks.push({
      name: `${n.node.id} no longer holds the false positive, and its log records the purge`,
      ok: heldAs.length > 0 && remaining === 0 && applied,
    });
  }
  checks.push({
    name: "XA sees no acknowledgement outstanding for its recall",
    ok: status.complete && status.acknowledged === partners.length,
  });
  return checks;
}
