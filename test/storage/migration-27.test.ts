/**
 * Migration 27 (spec/federation.md, "Outbox"): a database made before it, holding the envelopes
 * of items already delivered or cancelled, keeps only those of pending items; everything else of
 * each row stays, a pending item is still due with its envelope and, delivered after the
 * migration, loses its envelope too. Both adapters, from the same rows.
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/app/ports.js";
import { MIGRATIONS as SQLITE } from "../../src/storage/sqlite/migrations.js";
import { MIGRATIONS as POSTGRES } from "../../src/storage/postgres/migrations.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { timeKey } from "../../src/storage/sqlite/timekey.js";
import { instantKey } from "../../src/storage/postgres/timekey.js";

const T = (s: number) => `2026-04-01T00:00:${String(s).padStart(2, "0")}.000Z`;

/** Outbox rows as a build before migration 27 left them: every envelope kept. */
const OLD_ROWS = [
  { id: "env-delivered", status: "delivered", receipt: "receipt.jws.sig", deliveredAt: T(5) },
  { id: "env-pending", status: "pending", receipt: null, deliveredAt: null },
  { id: "env-cancelled", status: "cancelled", receipt: null, deliveredAt: null },
] as const;
const envelopeOf = (id: string) => `eyJhbGciOiJFQ0RILUVTIn0.${id}.iv.ct.tag`;

async function checkMigrated(store: Store): Promise<void> {
  const items = await store.outbox.list({ limit: 10 });
  expect(items.map((i) => [i.id, i.status, i.envelope, i.receipt])).toEqual([
    ["env-delivered", "delivered", null, "receipt.jws.sig"],
    ["env-pending", "pending", envelopeOf("env-pending"), null],
    ["env-cancelled", "cancelled", null, null],
  ]);
  expect((await store.outbox.get("env-delivered"))?.deliveredAt).toBe(T(5));
  const due = await store.outbox.due(T(30), 10);
  expect(due.map((i) => [i.id, Buffer.from(i.envelope).toString("latin1")])).toEqual([
    ["env-pending", envelopeOf("env-pending")],
  ]);
  expect(await store.outbox.markDelivered("env-pending", "receipt-2.jws.sig", T(31))).toBe(true);
  expect(await store.outbox.get("env-pending")).toMatchObject({
    status: "delivered",
    envelope: null,
    receipt: "receipt-2.jws.sig",
  });
}

describe("migration 27 on sqlite", () => {
  const dir = mkdtempSync(join(tmpdir(), "accord-m27-"));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("drops the envelopes of delivered and cancelled items and keeps the pending one's", async () => {
    const path = join(dir, "old.db");
    const raw = new Database(path);
    raw.exec(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT",
    );
    for (const m of [...SQLITE].sort((a, b) => a.version - b.version)) {
      if (m.version >= 27) continue;
      raw.exec(m.sql);
      raw
        .prepare("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000Z')")
        .run(m.version, m.name);
    }
    const row = raw.prepare(
      `INSERT INTO outbox (id, recipient, status, attempts, next_attempt_at, next_attempt_key,
         created_at, created_key, delivered_at, receipt) VALUES (?, 'XB', ?, 0, ?, ?, ?, ?, ?, ?)`,
    );
    const envelope = raw.prepare("INSERT INTO outbox_envelopes (id, envelope) VALUES (?, ?)");
    OLD_ROWS.forEach((r, i) => {
      const at = T(i + 1);
      row.run(
        r.id,
        r.status,
        at,
        timeKey(at, "at"),
        at,
        timeKey(at, "at"),
        r.deliveredAt,
        r.receipt,
      );
      envelope.run(r.id, envelopeOf(r.id));
    });
    raw.close();

    const store = await openSqliteStore({ path });
    try {
      await checkMigrated(store);
    } finally {
      await store.close();
    }
    const after = new Database(path, { readonly: true });
    try {
      const held = after.prepare<[], { id: string }>("SELECT id FROM outbox_envelopes").all();
      expect(held, "no envelope row of an item past pending").toEqual([]);
    } finally {
      after.close();
    }
  });
});

const url = process.env.ACCORD_TEST_PG_URL;

describe.skipIf(url === undefined)(
  url === undefined
    ? "migration 27 on postgres (skipped: set ACCORD_TEST_PG_URL to a database URL)"
    : "migration 27 on postgres",
  () => {
    it("drops the envelopes of delivered and cancelled items and keeps the pending one's", async () => {
      const schema = `accord_test_${randomBytes(6).toString("hex")}`;
      const client = new pg.Client({ connectionString: url! });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA "${schema}"`);
        await client.query(`SET search_path = "${schema}"`);
        await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY,
          name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        for (const m of [...POSTGRES].sort((a, b) => a.version - b.version)) {
          if (m.version >= 27) continue;
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
            m.version,
            m.name,
          ]);
        }
        for (const [i, r] of OLD_ROWS.entries()) {
          const at = T(i + 1);
          await client.query(
            `INSERT INTO outbox (id, recipient, envelope, status, attempts, next_attempt_at,
               next_attempt_key, created_at, created_key, delivered_at, receipt)
             VALUES ($1, 'XB', $2, $3, 0, $4, $5, $4, $5, $6, $7)`,
            [r.id, envelopeOf(r.id), r.status, at, instantKey(at, "at"), r.deliveredAt, r.receipt],
          );
        }

        const store = await openPostgresStore({ connectionString: url!, schema });
        try {
          await checkMigrated(store);
        } finally {
          await store.close();
        }
        // The schema now refuses a pending item without its envelope.
        await client.query(
          `INSERT INTO outbox (id, recipient, envelope, status, attempts, next_attempt_at,
             next_attempt_key, created_at, created_key) VALUES ('x', 'XB', 'e', 'pending', 0,
             $1, $2, $1, $2)`,
          [T(40), instantKey(T(40), "at")],
        );
        await expect(
          client.query("UPDATE outbox SET envelope = NULL WHERE id = 'x'"),
        ).rejects.toThrow(/outbox_envelope_while_pending/);
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await client.end();
      }
    });
  },
);
