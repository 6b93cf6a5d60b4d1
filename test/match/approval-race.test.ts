/**
 * Deciding a follow-up request across processes (spec/match.md §follow-up): two stores on the
 * same database (as two node processes would hold) race to claim the same pending request; the
 * conditional update lets exactly one win, on SQLite (one file) and on PostgreSQL (one schema).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/app/ports.js";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { matchRequest } from "../storage/conformance-match.js";

const PG_URL = process.env.ACCORD_TEST_PG_URL;

const REQUEST = matchRequest("f0000000-0000-4000-8000-000000000001");

async function race(stores: readonly Store[]): Promise<void> {
  await stores[0]!.match.putRequest(REQUEST);
  const attempts = stores.flatMap((store, s) =>
    Array.from({ length: 6 }, (_, i) =>
      store.match.claimRequest(REQUEST.id, "incoming", {
        claim: `claim:${String(s)}-${String(i)}`,
        at: "2026-03-01T11:00:00.000Z",
        staleBefore: "2026-03-01T10:50:00.000Z",
      }),
    ),
  );
  const won = (await Promise.all(attempts)).filter(Boolean);
  expect(won).toHaveLength(1);
  const holder = (await stores[1]!.match.getRequest(REQUEST.id, "incoming"))?.decidedBy ?? "";
  expect(holder).toMatch(/^claim:/);
  // Only the holder decides; the other store's decision without the claim writes nothing.
  const decision = {
    status: "approved" as const,
    decidedAt: "2026-03-01T11:01:00.000Z",
    decidedBy: "R. Officer",
    decidedRole: "head-of-fiu",
    reasons: [],
    released: ["identity--x"],
  };
  expect(await stores[1]!.match.decideRequest(REQUEST.id, "incoming", decision)).toBe(false);
  expect(
    await stores[0]!.match.decideRequest(REQUEST.id, "incoming", { ...decision, claim: holder }),
  ).toBe(true);
  expect((await stores[1]!.match.getRequest(REQUEST.id, "incoming"))?.status).toBe("approved");
}

describe("two stores on one database claim a request exactly once", () => {
  it("SQLite (one file, two connections)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-claim-"));
    const path = join(dir, "accord.db");
    const stores = [await openSqliteStore({ path }), await openSqliteStore({ path })];
    try {
      await race(stores);
    } finally {
      for (const s of stores) await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Runs when ACCORD_TEST_PG_URL names a PostgreSQL server (CI sets it).
  it.skipIf(PG_URL === undefined)("PostgreSQL (one schema, two pools)", async () => {
    const schema = `claim_${String(process.pid)}_${Date.now().toString(36)}`;
    const stores = [
      await openPostgresStore({ connectionString: PG_URL!, schema }),
      await openPostgresStore({ connectionString: PG_URL!, schema }),
    ];
    try {
      await race(stores);
    } finally {
      const pg = await import("pg");
      const client = new pg.default.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
      for (const s of stores) await s.close();
    }
  });
});
