/**
 * Demo, step 8 (VISION.md): the pilot agreement between XA and XB reaches its sunset and sharing
 * under it stops by itself. The demo federation runs on one adjustable clock (`demoClock`): the
 * step shares under the pilot while it is in force, then takes XB offline, shares again (that
 * delivery fails and stays outstanding), and moves every node's clock past the pilot's sunset.
 * XA's delivery loop cancels the outstanding delivery and logs it (`outbox-cancel`, reason
 * `sunset`); XB comes back and never receives it; XA's decision engine refuses to share under the
 * pilot, citing the sunset.
 */
import type { Clock, OutboxItem } from "../app/ports.js";
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

const pilotIndicator = (n: number, domain: string) => ({
  type: "indicator",
  spec_version: "2.1",
  id: `indicator--0b8f6a5e-3c1d-4f7a-9e2b-5d6c7a8b9c${String(n).padStart(2, "0")}`,
  created: "2026-11-28T09:00:00.000Z",
  modified: "2026-11-28T09:00:00.000Z",
  name: `Phishing landing page seen in the pilot (${domain})`,
  indicator_types: ["malicious-activity"],
  pattern: `[domain-name:value = '${domain}']`,
  pattern_type: "stix",
  valid_from: "2026-11-28T09:00:00Z",
});
const DELIVERED = pilotIndicator(1, "login-pilot.example");
/** Shared while XB is offline: still outstanding at the sunset. */
const OUTSTANDING = pilotIndicator(2, "mail-pilot.example");

/**
 * Stops XB, runs `during` while it is offline, and starts it again at the same address; returns
 * the restarted node.
 */
type Outage = (during: () => Promise<void>) => Promise<RunningNode>;

export async function playSunsetStep(
  xa: RunningNode,
  xb: RunningNode,
  clock: DemoClock,
  xbOffline: Outage,
  say: (line?: string) => void,
): Promise<{ checks: { name: string; ok: boolean }[]; xb: RunningNode }> {
  const pilot = xa.node.listAgreements().find((a) => a.id === PILOT);
  if (pilot === undefined)
    return { checks: [{ name: "XA holds the pilot agreement", ok: false }], xb };
  say(`Step 8: the pilot agreement (${PILOT}, sunset ${pilot.doc.sunset}) reaches its sunset`);
  await xa.node.ingest({
    type: "bundle",
    id: "bundle--6a0d9c4e-2b7f-4e1a-8c3d-9f0e1d2c3b4a",
    objects: [DELIVERED, OUTSTANDING],
  });
  const share = async (objectId: string) => {
    const [outcome] = await xa.node.share({
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreementId: PILOT,
      objectIds: [objectId],
    });
    // The profile may re-issue the id per agreement: XB holds it under the id it travelled as.
    return { outcome, heldAs: outcome?.verdicts[0]?.sentAs ?? objectId };
  };
  const before = await share(DELIVERED.id);
  await xa.deliverNow();
  const heldBefore = (await xb.store.objects.versions(before.heldAs)).length;
  say(
    `  while it is in force: XA shares an indicator under the pilot; ${before.outcome?.sent ?? 0} sent, XB holds ${heldBefore} version(s)`,
  );

  const sunset = new Date(pilot.sunsetMs + 60_000);
  let waiting: OutboxItem | undefined;
  let cancelled: OutboxItem | undefined;
  let outstanding: Awaited<ReturnType<typeof share>> | undefined;
  const xbBack = await xbOffline(async () => {
    outstanding = await share(OUTSTANDING.id);
    const envelope = outstanding.outcome?.envelopes[0];
    await xa.deliverNow();
    waiting = envelope === undefined ? undefined : await xa.store.outbox.get(envelope);
    say(
      `  XB goes offline; XA shares a second indicator under the pilot: ${outstanding.outcome?.sent ?? 0} sent, envelope ${envelope ?? "(none)"} ${waiting?.status ?? "missing"} after ${waiting?.attempts ?? 0} attempt(s) (last error: ${waiting?.lastError ?? "none"})`,
    );
    clock.advanceTo(sunset);
    say(`  the federation's clock moves to ${sunset.toISOString()}, just past the sunset`);
    await xa.deliverNow(); // the node's delivery loop sweeps sunsets before delivering
    cancelled = envelope === undefined ? undefined : await xa.store.outbox.get(envelope);
  });
  const cancelEntry = (await xa.store.ledger.list(0, 100_000)).find(
    (e) =>
      e.kind === "outbox-cancel" &&
      e.data.reason === "sunset" &&
      cancelled !== undefined &&
      e.data.envelope === cancelled.id,
  );
  say(
    `  XA's delivery loop cancels envelope ${cancelled?.id ?? "(none)"}: ${cancelled?.status ?? "missing"} (${cancelled?.cancelReason ?? "no reason"}), never sent; log entry ${cancelEntry === undefined ? "missing" : `#${String(cancelEntry.seq)} \`outbox-cancel\`, reason \`${String(cancelEntry.data.reason)}\``}`,
  );
  await xa.deliverNow();
  const heldCancelled =
    outstanding === undefined
      ? 0
      : (await xbBack.store.objects.versions(outstanding.heldAs)).length;
  say(`  XB is back online: it holds ${heldCancelled} version(s) of the second indicator`);

  const after = await share(DELIVERED.id);
  const reason = after.outcome?.verdicts[0]?.reasons.find((r) => r.effect === "deny");
  say(
    `  XA shares the first indicator under the pilot again: ${after.outcome?.sent ?? 0} sent, refused: ${reason?.message ?? "(no reason)"}`,
  );
  const pending = (await xa.store.outbox.list({ status: "pending", limit: 1000 })).filter(
    (i) => i.agreementId === PILOT,
  );
  say(`  outstanding deliveries under the pilot: ${pending.length}`);
  say("");
  return {
    xb: xbBack,
    checks: [
      {
        name: "XA shared under the pilot while it was in force and XB stored it",
        ok: (before.outcome?.sent ?? 0) === 1 && heldBefore >= 1,
      },
      {
        name: "a delivery under the pilot was outstanding at its sunset (XB offline)",
        ok: waiting?.status === "pending" && waiting.attempts >= 1,
      },
      {
        name: "at the sunset XA cancelled the outstanding delivery and logged `outbox-cancel` (reason `sunset`)",
        ok:
          cancelled?.status === "cancelled" &&
          cancelEntry?.data.recipient === "XB" &&
          cancelEntry.data.agreement === PILOT,
      },
      { name: "XB never received the cancelled delivery", ok: heldCancelled === 0 },
      {
        name: "at the pilot's sunset XA refuses to share under it, citing the sunset",
        ok:
          (after.outcome?.sent ?? 1) === 0 &&
          `${reason?.clause ?? ""} ${reason?.message ?? ""}`.includes("sunset"),
      },
      {
        name: "nothing is left pending under the pilot after its sunset",
        ok: pending.length === 0,
      },
    ],
  };
}
