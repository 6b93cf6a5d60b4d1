/**
 * Lifecycle correctness on a running node (spec/agreement.md "Signature exchange", "Lifecycle"),
 * over real HTTP between real nodes:
 * - a signature exchange a partner could not take (it did not hold the version yet) is owed
 *   durably, survives a restart, is retried when due — not before — and is done, and logged,
 *   once the partner's answer shows it holds the signature;
 * - suspend and resume recorded at the same instant resolve in the order they were recorded, also
 *   after a restart (events are ordered by instant, then by a durable sequence: migration 11).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { backoffMs } from "../../src/app/retry.js";
import { api, EXAMPLES, signAgreements, startNodes, type TestNodes } from "../support/nodes.js";

const ID = "regional-cyber-accord";
const source = readFileSync(join(EXAMPLES, "agreements", `${ID}.yaml`), "utf8");

describe("signature exchanges owed to partners", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;
  let offsetMs = 0;
  // XA's clock moves only when the test moves it, so "not due yet" does not depend on how long
  // a restart takes.
  const base = Date.now();
  const clock = { now: () => new Date(base + offsetMs) };

  beforeAll(async () => {
    // XB does not hold the agreement at first: XA's exchange with it fails. Only XA's clock
    // moves (its retries fall due); XB keeps real time, and signed requests are dated by real time.
    nodes = await startNodes(
      [
        { id: "XA", options: { clock } },
        { id: "XB", agreements: [] },
      ],
      { prefix: "accord-exchange-retry-", sign: false },
    );
    ({ XA: xa, XB: xb } = nodes.nodes);
  });

  afterAll(() => nodes.stop());

  const exchanges = async (n: RunningNode) => {
    const r = await api(n, "GET", `/api/v1/agreements/${ID}/exchanges`);
    expect(r.status).toBe(200);
    return r.body.exchanges as {
      partner: string;
      status: string;
      attempts: number;
      lastError: string | null;
    }[];
  };
  const signedOnXb = async () => {
    const r = await api(xb, "GET", `/api/v1/agreements/${ID}`);
    expect(r.status).toBe(200);
    return r.body.versions[0].signed as string[];
  };

  it("keeps a failed exchange, retries it when due after a restart, and logs it done", async () => {
    const signed = await api(xa, "POST", `/api/v1/agreements/${ID}/sign`, {});
    expect(signed.status).toBe(200);
    const toXb = (signed.body.pushed as { node: string; ok: boolean; error?: string }[]).find(
      (p) => p.node === "XB",
    );
    expect(toXb?.ok).toBe(false);
    expect(toXb?.error).toContain("not held");
    const owed = (await exchanges(xa)).find((x) => x.partner === "XB");
    expect(owed).toMatchObject({ status: "pending", attempts: 1 });
    expect(owed?.lastError).toContain("not held");

    // XB loads the version; XA restarts (the debt is in its database, not in memory).
    const add = await api(xb, "POST", "/api/v1/agreements", source, {
      "content-type": "application/yaml",
    });
    expect(add.status).toBe(201);
    expect(await signedOnXb()).toEqual([]);
    await xa.stop();
    xa = await nodes.start("XA", { clock });

    // Not due yet (backoff): nothing is attempted for XB.
    await xa.node.agreementBook.retryExchanges();
    expect((await exchanges(xa)).find((x) => x.partner === "XB")?.status).toBe("pending");
    expect(await signedOnXb()).toEqual([]);

    // Due on the shared retry schedule of every outbox (src/app/retry.ts): the first retry
    // after at most FIRST_BACKOFF_MS plus its jitter.
    offsetMs += backoffMs(0, 255);
    expect(await xa.node.agreementBook.retryExchanges()).toBeGreaterThanOrEqual(1);
    expect(await signedOnXb()).toEqual(["XA"]);
    expect((await exchanges(xa)).find((x) => x.partner === "XB")).toMatchObject({
      status: "done",
      attempts: 2,
      lastError: null,
    });
    const logged = (await xa.store.ledger.list(0, 10_000)).filter(
      (e) => e.kind === "agreement-exchange",
    );
    expect(logged.map((e) => e.data.partner)).toEqual(["XB"]);

    // Done stays done: a later pass does not send again, nor log again.
    offsetMs += 10 * 60_000;
    await xa.node.agreementBook.retryExchanges();
    const again = (await xa.store.ledger.list(0, 10_000)).filter(
      (e) => e.kind === "agreement-exchange",
    );
    expect(again).toHaveLength(1);
  });

  it("resolves suspend and resume recorded at the same instant in the order recorded", async () => {
    // Every event below carries the same `at` (a frozen clock); XC signs on paper.
    const fixed = { now: () => new Date(Date.now() + offsetMs) };
    const frozen = fixed.now();
    await xa.stop();
    xa = await nodes.start("XA", { clock: { now: () => frozen } });
    await signAgreements([xa, xb]);
    // XB's push to XA went to XA's address before the restart (and is owed there); XA pulls.
    expect((await api(xa, "POST", `/api/v1/agreements/${ID}/sync`, {})).status).toBe(200);
    // Distinct reasons: an event is identified by its content, and two identical events at one
    // instant are one event.
    let n = 0;
    const record = async (action: "suspend" | "resume") => {
      n++;
      const r = await api(xa, "POST", `/api/v1/agreements/${ID}/${action}`, {
        reason: `test ${String(n)}`,
      });
      expect(r.status).toBe(200);
      return r.body.view as { status: string };
    };
    expect((await api(xa, "GET", `/api/v1/agreements/${ID}`)).body.status).toBe("in-force");
    expect((await record("suspend")).status).toBe("suspended");
    expect((await record("resume")).status).toBe("in-force");
    expect((await record("suspend")).status).toBe("suspended");
    expect((await record("resume")).status).toBe("in-force");
    const events = await xa.store.agreementState.events(ID);
    expect(events.map((e) => e.kind)).toEqual(["suspend", "resume", "suspend", "resume"]);
    expect(new Set(events.map((e) => e.at)).size, "one instant").toBe(1);
    // A restart reloads them in the same order.
    await xa.stop();
    xa = await nodes.start("XA", { clock: { now: () => frozen } });
    expect((await api(xa, "GET", `/api/v1/agreements/${ID}`)).body.status).toBe("in-force");
  });
});
