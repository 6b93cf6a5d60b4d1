/**
 * The retry schedule of the share outbox and the recall outbox (src/app/retry.ts): exponential
 * backoff from 1 s, capped at one hour plus 20 % jitter, no attempt limit. First the schedule
 * itself, walked attempt by attempt over an hour's and a day's outage; then real nodes over real
 * HTTP, with the partner stopped while the sender's clock crosses an hour attempt by attempt
 * (the clock is virtual, the failures are real refused connections), after which both outboxes
 * deliver everything once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backoffMs,
  FIRST_BACKOFF_MS,
  JITTER,
  MAX_BACKOFF_MS,
  nextAttemptAt,
} from "../../src/app/retry.js";
import type { Clock } from "../../src/app/ports.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { api, freePort, demoBundle, startNodes, type TestNodes } from "../support/nodes.js";

const HOUR = 3_600_000;

/** The times of every attempt while a partner is unreachable from 0 to `downFor`, and the first after. */
function attemptsAcross(downFor: number, jitterByte: (n: number) => number): number[] {
  const times = [0];
  let attempts = 0;
  while (times.at(-1)! < downFor) {
    const last = times.at(-1)!;
    times.push(Date.parse(nextAttemptAt(new Date(last), attempts, jitterByte(attempts))));
    attempts++;
  }
  return times;
}

describe("the retry schedule", () => {
  it("starts at one second and doubles until the one-hour cap, with at most 20 % jitter", () => {
    expect(backoffMs(0, 0)).toBe(FIRST_BACKOFF_MS);
    for (let n = 1; n < 40; n++) {
      expect(backoffMs(n, 0)).toBe(Math.min(MAX_BACKOFF_MS, 2 * backoffMs(n - 1, 0)));
      expect(backoffMs(n, 255)).toBe(Math.floor(backoffMs(n, 0) * (1 + JITTER)));
    }
    expect(backoffMs(12, 0)).toBe(MAX_BACKOFF_MS); // 2^12 s > 1 h
    // Absurd attempt counts (a corrupted row) still give the cap, never Infinity or NaN.
    expect(backoffMs(1e9, 0)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(-3, 0)).toBe(FIRST_BACKOFF_MS);
  });

  it.each([
    ["no jitter", () => 0],
    ["most jitter", () => 255],
    ["varying jitter", (n: number) => (n * 97) % 256],
  ])("keeps trying across an hour's outage and a day's (%s)", (_name, jitter) => {
    for (const downFor of [HOUR, 24 * HOUR]) {
      const times = attemptsAcross(downFor, jitter);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // Never a wait longer than the cap with jitter: no attempt limit, no giving up.
      expect(Math.max(...gaps)).toBeLessThanOrEqual(MAX_BACKOFF_MS * (1 + JITTER));
      // The partner that returns at `downFor` is tried again within one capped wait.
      expect(times.at(-1)! - downFor).toBeLessThanOrEqual(MAX_BACKOFF_MS * (1 + JITTER));
      // Over an hour: the 12 doubling attempts (1 s .. 34 min) and the next.
      expect(times.length - 1).toBeGreaterThanOrEqual(downFor === HOUR ? 12 : 12 + 19);
    }
  });
});

/** A clock both nodes share, so signatures' times agree while it jumps forward. */
function sharedClock(): Clock & { advanceTo(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advanceTo: (ms) => {
      offset = Math.max(offset, ms - Date.now());
    },
  };
}

describe("a partner down for an hour (real nodes, real HTTP, virtual time)", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;
  const clock = sharedClock();
  const bundle = demoBundle() as { objects: { id: string }[] };

  beforeAll(async () => {
    nodes = await startNodes(
      [
        { id: "XA", options: { clock } },
        { id: "XB", port: await freePort(), options: { clock } },
      ],
      { prefix: "accord-retry-" },
    );
    ({ XA: xa, XB: xb } = nodes.nodes);
  });

  afterAll(() => nodes.stop());

  it("both outboxes keep trying through the hour and deliver everything once when it returns", async () => {
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
    const [recalled, ...rest] = bundle.objects.filter((o) => o.id.startsWith("indicator--"));
    // One recall travels while XB is up; the share of the rest waits with it while XB is down.
    await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      objects: [recalled!.id],
    });
    await xa.deliverNow();
    await xb.stop();
    const shared = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      objects: rest.map((o) => o.id),
    });
    expect(shared.body.outcomes[0].sent).toBe(rest.length);
    const issued = await api(xa, "POST", "/api/v1/recalls", { object: recalled!.id });
    expect(issued.status).toBe(201);

    const start0 = clock.now().getTime();
    let passes = 0;
    for (;;) {
      await xa.deliverNow();
      passes++;
      const pending = await xa.store.outbox.list({ status: "pending", limit: 10 });
      const [message] = await xa.store.recalls.messages(issued.body.id);
      expect(pending.length).toBe(1);
      expect(message).toMatchObject({ status: "pending", lastError: "ERR_PEER_UNAVAILABLE" });
      const next = Math.max(
        Date.parse(pending[0]!.nextAttemptAt),
        Date.parse(message!.nextAttemptAt),
      );
      if (next - start0 > HOUR) break;
      clock.advanceTo(next);
    }
    // Every doubling of the backoff was tried while XB was away, nothing given up or refused.
    expect(passes).toBeGreaterThanOrEqual(12);
    const [item] = await xa.store.outbox.list({ status: "pending", limit: 1 });
    expect(item!.attempts).toBeGreaterThanOrEqual(12);

    xb = await nodes.start("XB", { clock });
    // Both messages are due again within one capped wait of the hour's end.
    const [message] = await xa.store.recalls.messages(issued.body.id);
    const due = Math.max(Date.parse(item!.nextAttemptAt), Date.parse(message!.nextAttemptAt));
    expect(due - start0).toBeLessThanOrEqual(HOUR + MAX_BACKOFF_MS * (1 + JITTER));
    clock.advanceTo(due);
    await xa.deliverNow();
    expect(await xa.store.outbox.list({ status: "pending", limit: 10 })).toEqual([]);
    const status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(status.body).toMatchObject({ complete: true, acknowledged: 1 });
    // Exactly once as XB's store sees it: one inbox row per envelope, one recall record.
    expect(await xb.store.inbox.get(item!.id)).toBeDefined();
    expect((await xb.store.recalls.listRecalls({ limit: 10 })).length).toBe(1);
    expect(await xb.store.objects.count()).toBe(rest.length);
  }, 120_000);
});
