/**
 * Sunset and outbox cancellation on real nodes (real HTTP, real SQLite): at an agreement's sunset
 * sharing under it stops (the decision engine denies) and deliveries still outstanding under it
 * are cancelled by the node's delivery loop and logged; an operator can cancel a pending item
 * through the API, and a cancelled item is never sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { demoClock, PILOT } from "../../src/cli/demo-sunset.js";
import { api, startNodes, type TestNodes } from "../support/nodes.js";

const indicator = (n: number) => ({
  type: "indicator",
  spec_version: "2.1",
  id: `indicator--0b8f6a5e-3c1d-4f7a-9e2b-5d6c7a8b9c${String(n).padStart(2, "0")}`,
  created: "2026-11-28T09:00:00.000Z",
  modified: "2026-11-28T09:00:00.000Z",
  pattern: `[domain-name:value = 'pilot-${n}.example']`,
  pattern_type: "stix",
  valid_from: "2026-11-28T09:00:00Z",
});

describe("sunset and outbox cancellation", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;
  const clock = demoClock();

  beforeAll(async () => {
    nodes = await startNodes([
      { id: "XA", agreements: ["pilot-exchange.yaml"], options: { clock } },
      { id: "XB", agreements: ["pilot-exchange.yaml"], options: { clock } },
    ]);
    ({ XA: xa, XB: xb } = nodes.nodes);
    await xa.node.ingest({
      type: "bundle",
      id: "bundle--6a0d9c4e-2b7f-4e1a-8c3d-9f0e1d2c3b4a",
      objects: [1, 2, 3].map(indicator),
    });
  });
  afterAll(() => nodes.stop());

  const shareOne = async (n: number) => {
    const [o] = await xa.node.share({
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreementId: PILOT,
      objectIds: [indicator(n).id],
    });
    return o!;
  };

  it("an operator cancels a pending item: it is never sent, and the cancel is logged", async () => {
    const o = await shareOne(1);
    expect(o.envelopes).toHaveLength(1);
    const id = o.envelopes[0]!;
    expect(await xa.store.outbox.get(id)).toMatchObject({
      status: "pending",
      agreementId: PILOT,
      agreementVersion: 1,
    });
    const r = await api(xa, "POST", `/api/v1/outbox/${id}/cancel`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, status: "cancelled", cancelReason: expect.any(String) });
    expect(r.body.envelope).toBeUndefined();
    const again = await api(xa, "POST", `/api/v1/outbox/${id}/cancel`);
    expect(again.status).toBe(400);
    expect(again.body.detail).toContain("cancelled");
    expect((await api(xa, "POST", "/api/v1/outbox/nope/cancel")).status).toBe(404);

    await xa.deliverNow();
    expect(await xb.store.objects.count(), "nothing reached XB").toBe(0);
    const log = await xa.store.ledger.list(0, 10_000);
    expect(log.filter((e) => e.kind === "outbox-cancel").map((e) => e.data)).toEqual([
      { envelope: id, recipient: "XB", agreement: PILOT, reason: "operator" },
    ]);
  });

  it("at the sunset, sharing stops and outstanding deliveries under it are cancelled and logged", async () => {
    const delivered = await shareOne(2);
    await xa.deliverNow();
    expect((await xa.store.outbox.get(delivered.envelopes[0]!))?.status).toBe("delivered");

    // XB goes away; a share under the pilot stays outstanding.
    await xb.stop();
    const outstanding = await shareOne(3);
    await xa.deliverNow();
    const id = outstanding.envelopes[0]!;
    expect(await xa.store.outbox.get(id)).toMatchObject({ status: "pending", attempts: 1 });

    const pilot = xa.node.listAgreements().find((a) => a.id === PILOT)!;
    clock.advanceTo(new Date(pilot.sunsetMs + 1000));
    await xa.deliverNow(); // the loop sweeps sunsets before it delivers
    expect(await xa.store.outbox.get(id)).toMatchObject({
      status: "cancelled",
      attempts: 1,
      cancelReason: "the agreement reached its sunset",
    });
    expect((await xa.store.outbox.get(delivered.envelopes[0]!))?.status).toBe("delivered");
    const cancels = (await xa.store.ledger.list(0, 10_000)).filter(
      (e) => e.kind === "outbox-cancel" && e.data.reason === "sunset",
    );
    expect(cancels.map((e) => e.data)).toEqual([
      { envelope: id, recipient: "XB", agreement: PILOT, reason: "sunset" },
    ]);
    // A second pass finds nothing more to cancel and logs nothing more.
    await xa.deliverNow();
    expect(
      (await xa.store.ledger.list(0, 10_000)).filter((e) => e.kind === "outbox-cancel").length,
    ).toBe(2);

    // The decision engine denies any new share under it, citing the sunset, and queues nothing.
    const after = await shareOne(1);
    expect(after.sent).toBe(0);
    expect(after.envelopes).toEqual([]);
    expect(after.verdicts[0]!.reasons.map((r) => `${r.clause} ${r.message}`).join(" ")).toContain(
      "sunset",
    );
  });
});
