/**
 * `POST /api/v1/log/digest` (spec/log.md, "Keyed digests"): each answer tests a guess, so each is
 * a `log-digest` entry naming only the purpose (never the text) and the route answers at most
 * DIGEST_BUDGET per window of the node's clock, then 429 ERR_BUDGET_EXHAUSTED until it resets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { DIGEST_BUDGET, DIGEST_WINDOW_MS } from "../../src/server/log-routes.js";
import {
  api,
  createNodeDir,
  makeTempDir,
  movableClock,
  removeDir,
  start,
} from "../support/nodes.js";

describe("the keyed-digest route", () => {
  let root: string;
  let xa: RunningNode;
  const clock = movableClock("2026-05-01T00:00:00.000Z");

  beforeAll(async () => {
    root = makeTempDir();
    xa = await start(createNodeDir(root, { id: "XA" }), { clock });
  }, 60_000);

  afterAll(async () => {
    await xa.stop();
    removeDir(root);
  });

  const digestEntries = async (): Promise<{ data: Record<string, unknown> }[]> => {
    const all = await xa.store.ledger.list(0, 10_000);
    return all.filter((e) => e.kind === "log-digest");
  };

  it("logs each answer with its purpose only, and refuses past the budget until the window resets", async () => {
    const guess = "Directive (EU) 2019/1153 art. 8";
    const first = await api(xa, "POST", "/api/v1/log/digest", {
      purpose: "legal-basis",
      text: guess,
    });
    expect(first.status).toBe(200);
    expect(first.body.value).toMatch(/^[0-9a-f]{64}$/);
    expect(await digestEntries()).toEqual([
      expect.objectContaining({ data: { purpose: "legal-basis" } }),
    ]);
    const texts = (await xa.store.ledger.list(0, 10_000)).map((e) => JSON.stringify(e));
    expect(texts.join("\n")).not.toContain(guess);

    for (let i = 1; i < DIGEST_BUDGET; i++) {
      const r = await api(xa, "POST", "/api/v1/log/digest", {
        purpose: "officer",
        text: `o${String(i)}`,
      });
      expect(r.status, `answer ${String(i + 1)}`).toBe(200);
    }
    const refused = await api(xa, "POST", "/api/v1/log/digest", {
      purpose: "recall-reason",
      text: "fraud",
    });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: "ERR_BUDGET_EXHAUSTED",
      retry_at: new Date(Date.parse("2026-05-01T00:00:00.000Z") + DIGEST_WINDOW_MS).toISOString(),
    });
    // A refused request is not an answer: nothing more logged.
    expect(await digestEntries()).toHaveLength(DIGEST_BUDGET);

    clock.advance(DIGEST_WINDOW_MS);
    const again = await api(xa, "POST", "/api/v1/log/digest", {
      purpose: "recall-reason",
      text: "fraud",
    });
    expect(again.status).toBe(200);
    expect(await digestEntries()).toHaveLength(DIGEST_BUDGET + 1);
  });
});
