/**
 * Migration 21 (spec/taxii.md, "Storage"): a database made before it, with objects stored under
 * migration 7's `object_added` triggers, keeps every version, its seq and its date added; the
 * last-version flag is set from the stored versions; later writes continue the sequence; a
 * deleted last version hands the flag to the one before. Both adapters, from the same rows.
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/app/ports.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { MIGRATIONS as SQLITE } from "../../src/storage/sqlite/migrations.js";
import { MIGRATIONS as POSTGRES } from "../../src/storage/postgres/migrations.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { versionKey } from "../../src/storage/sqlite/timekey.js";
import { objectVersionKey } from "../../src/storage/postgres/timekey.js";

const A = "indicator--00000000-0000-4000-8000-00000000000a";
const B = "indicator--00000000-0000-4000-8000-00000000000b";
const C = "malware--00000000-0000-4000-8000-00000000000c";
const V = (d: number) => `2026-03-${String(d).padStart(2, "0")}T00:00:00.000Z`;

function obj(id: string, modified: string): StixObject {
  const type = id.slice(0, id.indexOf("--"));
  return { type, spec_version: "2.1", id, created: V(1), modified, name: id };
}

/**
 * The rows written before migration 21, in this order: A's later version arrives before its
 * earlier one, two versions share one stored_at (date added then differs by a microsecond), and
 * C has a retention deadline that has passed.
 */
const OLD_ROWS: { object: StixObject; storedAt: string; retention: string | null }[] = [
  { object: obj(A, V(5)), storedAt: "2026-04-01T00:00:00.000Z", retention: null },
  { object: obj(A, V(2)), storedAt: "2026-04-01T00:00:00.000Z", retention: null },
  { object: obj(B, V(3)), storedAt: "2026-04-02T00:00:00.000Z", retention: null },
  { object: obj(C, V(4)), storedAt: "2026-04-03T00:00:00.000Z", retention: "2026-04-10T00:00:00Z" },
];

/** Insert OLD_ROWS through migration 7's trigger; returns object_added as it was. */
type Seed = () => Promise<{ seq: number; id: string; version: string; us: number }[]>;

async function checkMigrated(store: Store, before: Awaited<ReturnType<Seed>>): Promise<void> {
  // Every version, with the seq and date added it had.
  const all = await store.taxii.added({ afterSeq: 0, versions: ["all"], limit: 100 });
  expect(
    all.map((e) => ({
      seq: e.seq,
      id: e.stored.object.id,
      version: e.stored.object.modified!,
      us: e.dateAddedUs,
    })),
  ).toEqual(before);
  expect(before.map((r) => r.us)).toEqual([...before.map((r) => r.us)].sort((x, y) => x - y));
  expect(new Set(before.map((r) => r.us)).size).toBe(before.length);
  // The flag: A's last version is the one stored first.
  const last = await store.taxii.addedJson({ afterSeq: 0, limit: 100 });
  expect(last.map((r) => [r.id, r.version])).toEqual([
    [A, V(5)],
    [B, V(3)],
    [C, V(4)],
  ]);
  expect((await store.objects.list({ limit: 10 })).map((s) => s.object.modified)).toEqual([
    V(5),
    V(3),
    V(4),
  ]);
  const first = await store.taxii.added({ afterSeq: 0, versions: ["first"], limit: 100 });
  expect(first.map((e) => e.stored.object.modified)).toEqual([V(2), V(3), V(4)]);
  // Retention still reaches the migrated rows.
  expect((await store.objects.expired("2026-05-01T00:00:00Z", 10)).map((x) => x.id)).toEqual([C]);

  // Writes continue the sequence and the date added, and move the flag.
  const maxSeq = Math.max(...before.map((r) => r.seq));
  const maxUs = Math.max(...before.map((r) => r.us));
  const provenance = {
    originator: "XA",
    receivedFrom: null,
    agreementId: null,
    agreementVersion: null,
    purpose: null,
    retentionUntil: null,
    envelopeId: null,
  };
  const results = await store.objects.putMany([
    { object: obj(A, V(9)), provenance, storedAt: "2026-01-01T00:00:00.000Z" },
    { object: obj(B, V(3)), provenance, storedAt: "2026-01-01T00:00:00.000Z" },
  ]);
  expect(results).toEqual(["inserted", "unchanged"]);
  const added = await store.taxii.added({ afterSeq: maxSeq, versions: ["all"], limit: 10 });
  expect(added.map((e) => e.stored.object.modified)).toEqual([V(9)]);
  expect(added[0]?.dateAddedUs).toBeGreaterThan(maxUs);
  expect((await store.objects.get(A))?.object.modified).toBe(V(9));
  const lastNow = await store.taxii.added({ afterSeq: 0, ids: [A], limit: 10 });
  expect(lastNow.map((e) => e.stored.object.modified)).toEqual([V(9)]);

  // Deleting the last version hands the flag back; deleting all leaves nothing of A.
  expect(await store.taxii.deleteObject(A, [V(9)])).toBe(1);
  const back = await store.taxii.added({ afterSeq: 0, ids: [A], limit: 10 });
  expect(back.map((e) => e.stored.object.modified)).toEqual([V(5)]);
  expect(await store.objects.purge(A, V(5))).toBe(1);
  const older = await store.taxii.added({ afterSeq: 0, ids: [A], limit: 10 });
  expect(older.map((e) => e.stored.object.modified)).toEqual([V(2)]);
  expect(await store.objects.purge(A)).toBe(1);
  expect(await store.taxii.added({ afterSeq: 0, ids: [A], versions: ["all"], limit: 10 })).toEqual(
    [],
  );
}

describe("migration 21 on sqlite", () => {
  const dir = mkdtempSync(join(tmpdir(), "accord-m21-"));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every version, its seq and date added, and sets the last-version flag", async () => {
    const path = join(dir, "old.db");
    const raw = new Database(path);
    raw.exec(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT",
    );
    for (const m of [...SQLITE].sort((a, b) => a.version - b.version)) {
      if (m.version >= 21) continue;
      raw.exec(m.sql);
      raw
        .prepare("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000Z')")
        .run(m.version, m.name);
    }
    const put = raw.prepare(
      `INSERT INTO objects (id, version, version_key, type, object, originator, retention_until,
         stored_at) VALUES (?, ?, ?, ?, ?, 'XA', ?, ?)`,
    );
    for (const r of OLD_ROWS) {
      const v = r.object.modified!;
      put.run(
        r.object.id,
        v,
        versionKey(v),
        r.object.type,
        JSON.stringify(r.object),
        r.retention,
        r.storedAt,
      );
    }
    const before = raw
      .prepare<[], { seq: number; id: string; version: string; us: number }>(
        "SELECT seq, id, version, date_added_us AS us FROM object_added ORDER BY seq",
      )
      .all();
    raw.close();
    expect(before).toHaveLength(OLD_ROWS.length);

    const store = await openSqliteStore({ path });
    try {
      await checkMigrated(store, before);
    } finally {
      await store.close();
    }
  });
});

const url = process.env.ACCORD_TEST_PG_URL;

describe.skipIf(url === undefined)(
  url === undefined
    ? "migration 21 on postgres (skipped: set ACCORD_TEST_PG_URL to a database URL)"
    : "migration 21 on postgres",
  () => {
    it("keeps every version, its seq and date added, and sets the last-version flag", async () => {
      const schema = `accord_test_${randomBytes(6).toString("hex")}`;
      const client = new pg.Client({ connectionString: url! });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA "${schema}"`);
        await client.query(`SET search_path = "${schema}"`);
        await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY,
          name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        for (const m of [...POSTGRES].sort((a, b) => a.version - b.version)) {
          if (m.version >= 21) continue;
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
            m.version,
            m.name,
          ]);
        }
        for (const r of OLD_ROWS) {
          const v = r.object.modified!;
          await client.query(
            `INSERT INTO objects (id, version, version_key, type, object, originator,
               retention_until, stored_at) VALUES ($1, $2, $3, $4, $5::jsonb, 'XA', $6, $7)`,
            [
              r.object.id,
              v,
              objectVersionKey(v),
              r.object.type,
              JSON.stringify(r.object),
              r.retention,
              r.storedAt,
            ],
          );
        }
        const { rows } = await client.query<{
          seq: string;
          id: string;
          version: string;
          us: string;
        }>("SELECT seq, id, version, date_added_us AS us FROM object_added ORDER BY seq");
        const before = rows.map((r) => ({
          seq: Number(r.seq),
          id: r.id,
          version: r.version,
          us: Number(r.us),
        }));
        expect(before).toHaveLength(OLD_ROWS.length);

        const store = await openPostgresStore({ connectionString: url!, schema });
        try {
          await checkMigrated(store, before);
        } finally {
          await store.close();
        }
      } finally {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await client.end();
      }
    });
  },
);
