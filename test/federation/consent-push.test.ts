/**
 * A consent pushed to its holder is durable (spec/agreement.md "Consent to an onward hop"), over
 * real HTTP between real nodes: the originator writes the push owed in the same transaction as
 * the consent; a holder that is down gets it once it is back, on the shared retry schedule
 * (src/app/retry.ts), also across a restart of the originator; done is logged once, when the
 * holder acknowledges it; a consent that expires before its holder is reached ends, logged, and
 * is never sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { api, freePort, startNodes, type TestNodes } from "../support/nodes.js";

const ID = "regional-cyber-accord";
const OBJECT = "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4";

interface Push {
  consent: { id: string; holder: string; expires: string };
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string;
}

describe("consents pushed to their holders", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode | undefined;
  let offsetMs = 0;
  // XA's clock stands still unless the test moves it (so what is due never depends on how long
  // a step took); XB keeps real time, and signed requests are dated by real time.
  const base = Date.now();
  const clock = { now: () => new Date(base + offsetMs) };

  beforeAll(async () => {
    // XB keeps its port across restarts: XA knows it by its address.
    nodes = await startNodes(
      [
        { id: "XA", options: { clock } },
        { id: "XB", port: await freePort() },
      ],
      { prefix: "accord-consent-push-", sign: false },
    );
    ({ XA: xa, XB: xb } = nodes.nodes);
  });

  afterAll(() => nodes.stop());

  const pushes = async (): Promise<Push[]> => {
    const r = await api(xa, "GET", "/api/v1/consents/pushes");
    expect(r.status).toBe(200);
    return r.body.pushes as Push[];
  };
  const grant = (expires: string) =>
    api(xa, "POST", "/api/v1/consents/grant", {
      object: OBJECT,
      holder: "XB",
      recipient: "XC",
      agreement: ID,
      purpose: "cyber-defence",
      expires,
    });
  const heldByXb = async (node: RunningNode) =>
    (await node.store.agreementState.consentsFor("XB", OBJECT)).map((c) => c.jws);
  const pushLog = async () =>
    (await xa.store.ledger.list(0, 10_000)).filter((e) => e.kind === "consent-push");

  it("retries a push the holder missed while down, across a restart, until it acknowledges", async () => {
    await xb!.stop();
    xb = undefined;
    const granted = await grant(new Date(clock.now().getTime() + 86_400_000).toISOString());
    expect(granted.status).toBe(201);
    expect(granted.body.pushed).toMatchObject({ node: "XB", ok: false });
    expect(granted.body.pushed.error).toContain("could not be reached");
    const [owed] = await pushes();
    expect(owed).toMatchObject({ status: "pending", attempts: 1 });
    expect(owed!.lastError).toContain("could not be reached");
    // The first retry waits about a second (src/app/retry.ts), not the exchanges' 30 s.
    const wait = Date.parse(owed!.nextAttemptAt) - clock.now().getTime();
    expect(wait).toBeLessThanOrEqual(1200);
    // Logged as a consent at once; not yet as acknowledged.
    const consents = (await xa.store.ledger.list(0, 10_000)).filter((e) => e.kind === "consent");
    expect(consents).toHaveLength(1);
    expect(await pushLog()).toEqual([]);

    // A pass while XB is still down: attempted again, still pending, attempts counted.
    offsetMs += 5_000;
    await xa.deliverNow();
    expect((await pushes())[0]).toMatchObject({ status: "pending", attempts: 2 });

    // XB comes back; XA restarts (the debt is in its database, not in memory).
    xb = await nodes.start("XB");
    await xa.stop();
    xa = await nodes.start("XA", { clock });
    expect(await heldByXb(xb)).toEqual([]);
    // Not due yet (the second wait is about two seconds): nothing is sent.
    expect(await xa.node.agreementBook.retryConsentPushes()).toBe(0);
    expect(await heldByXb(xb)).toEqual([]);

    offsetMs += 5_000;
    await xa.deliverNow();
    expect(await heldByXb(xb)).toEqual([granted.body.consent.jws]);
    const [done] = await pushes();
    expect(done).toMatchObject({ status: "done", attempts: 3 });
    const logged = await pushLog();
    expect(logged.map((e) => e.data)).toEqual([
      {
        consent: done!.consent.id,
        holder: "XB",
        agreement: ID,
        outcome: "acknowledged",
        attempts: 3,
      },
    ]);
    // XB logged the consent it received, once.
    const atXb = (await xb.store.ledger.list(0, 10_000)).filter((e) => e.kind === "consent");
    expect(atXb).toHaveLength(1);

    // Done stays done: later passes neither send nor log again.
    offsetMs += 3_600_000;
    await xa.deliverNow();
    expect(await pushLog()).toHaveLength(1);
    expect((await pushes())[0]?.status).toBe("done");
  });

  it("ends a push whose consent expired before the holder was reached, and never sends it", async () => {
    await xb!.stop();
    xb = undefined;
    const expires = new Date(clock.now().getTime() + 60_000).toISOString();
    const granted = await grant(expires);
    expect(granted.status).toBe(201);
    expect(granted.body.pushed.ok).toBe(false);
    xb = await nodes.start("XB");
    offsetMs += 120_000; // past the consent's expiry
    await xa.deliverNow();
    const ended = (await pushes()).find((p) => p.consent.expires === expires);
    expect(ended).toMatchObject({ status: "expired", attempts: 1 });
    expect(await heldByXb(xb)).not.toContain(granted.body.consent.jws);
    const logged = (await pushLog()).filter((e) => e.data.outcome === "expired");
    expect(logged.map((e) => e.data.consent)).toEqual([ended!.consent.id]);
  });
});
