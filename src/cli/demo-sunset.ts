/**
 * Demo, step 8 (VISION.md): the pilot agreement between XA and XB reaches its sunset and sharing
 * under it stops by itself. The demo federation runs on one adjustable clock (`demoClock`): the
 * step shares under the pilot while it is in force, then moves every node's clock past the
 * pilot's sunset. XA's decision engine then refuses to share under it, citing the sunset, and the
 * node's delivery loop cancels (and logs) anything still outstanding under it.
 */
import type { Clock } from "../app/ports.js";
import type { RunningNode } from "./compose.js";

export const PILOT = "pilot-exchange";

/** A clock all demo nodes share; `advanceTo` moves it (never back). */
export interface DemoClock extends Clock {
  advanceTo(t: Date): void;
}

export function demoClock(): DemoClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advanceTo(t) {
      offset = Math.max(offset, t.getTime() - Date.now());
    },
  };
}

const PILOT_INDICATOR = {
  type: "indicator",
  spec_version: "2.1",
  id: "indicator--0b8f6a5e-3c1d-4f7a-9e2b-5d6c7a8b9c01",
  created: "2026-11-28T09:00:00.000Z",
  modified: "2026-11-28T09:00:00.000Z",
  name: "Phishing landing page seen in the pilot",
  indicator_types: ["malicious-activity"],
  pattern: "[domain-name:value = 'login-pilot.example']",
  pattern_type: "stix",
  valid_from: "2026-11-28T09:00:00Z",
};

export async function playSunsetStep(
  xa: RunningNode,
  xb: RunningNode,
  clock: DemoClock,
  say: (line?: string) => void,
): Promise<{ name: string; ok: boolean }[]> {
  const pilot = xa.node.listAgreements().find((a) => a.id === PILOT);
  if (pilot === undefined) return [{ name: "XA holds the pilot agreement", ok: false }];
  say(`Step 8: the pilot agreement (${PILOT}, sunset ${pilot.doc.sunset}) reaches its sunset`);
  await xa.node.ingest({
    type: "bundle",
    id: "bundle--6a0d9c4e-2b7f-4e1a-8c3d-9f0e1d2c3b4a",
    objects: [PILOT_INDICATOR],
  });
  const share = () =>
    xa.node.share({
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreementId: PILOT,
      objectIds: [PILOT_INDICATOR.id],
    });
  const [before] = await share();
  await xa.deliverNow();
  // The profile may re-issue the id per agreement: XB holds it under the id it travelled as.
  const heldAs = before?.verdicts[0]?.sentAs ?? PILOT_INDICATOR.id;
  const heldBefore = (await xb.store.objects.versions(heldAs)).length;
  say(
    `  while it is in force: XA shares an indicator under the pilot; ${before?.sent ?? 0} sent, XB holds ${heldBefore} version(s)`,
  );

  const sunset = new Date(pilot.sunsetMs + 60_000);
  clock.advanceTo(sunset);
  say(`  the federation's clock moves to ${sunset.toISOString()}, just past the sunset`);
  await xa.deliverNow(); // the node's delivery loop sweeps sunsets before delivering
  const [after] = await share();
  const reason = after?.verdicts[0]?.reasons.find((r) => r.effect === "deny");
  say(
    `  XA shares the same indicator under the pilot again: ${after?.sent ?? 0} sent, refused: ${reason?.message ?? "(no reason)"}`,
  );
  const pending = (await xa.store.outbox.list({ status: "pending", limit: 1000 })).filter(
    (i) => i.agreementId === PILOT,
  );
  say(
    `  outstanding deliveries under the pilot: ${pending.length} (any left at the sunset are cancelled and logged as \`outbox-cancel\`)`,
  );
  say("");
  return [
    {
      name: "XA shared under the pilot while it was in force and XB stored it",
      ok: (before?.sent ?? 0) === 1 && heldBefore >= 1,
    },
    {
      name: "at the pilot's sunset XA refuses to share under it, citing the sunset",
      ok:
        (after?.sent ?? 1) === 0 &&
        `${reason?.clause ?? ""} ${reason?.message ?? ""}`.includes("sunset"),
    },
    { name: "nothing is left pending under the pilot after its sunset", ok: pending.length === 0 },
  ];
}
