/**
 * The SQLite schema as numbered, append-only migrations (spec/storage.md, "Migrations"). A
 * migration that has landed on main is never edited: a change is a new migration with the next
 * number. Each one runs in the same BEGIN IMMEDIATE transaction as its row in `schema_migrations`,
 * so a crash leaves the schema at one numbered version or the next, never between.
 */
import type { Database } from "better-sqlite3";
import { AccordError } from "../../errors.js";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
      CREATE TABLE objects (
        id                TEXT NOT NULL,
        version           TEXT NOT NULL,
        version_key       TEXT NOT NULL,
        type              TEXT NOT NULL,
        object            TEXT NOT NULL,
        originator        TEXT NOT NULL,
        received_from     TEXT,
        agreement_id      TEXT,
        agreement_version INTEGER,
        purpose           TEXT,
        retention_until   TEXT,
        envelope_id       TEXT,
        stored_at         TEXT NOT NULL,
        PRIMARY KEY (id, version)
      ) STRICT;
      CREATE INDEX objects_by_version ON objects (id, version_key, version);
      CREATE INDEX objects_by_type ON objects (type, id);

      CREATE TABLE ledger (
        seq       INTEGER PRIMARY KEY CHECK (seq >= 0),
        at        TEXT NOT NULL,
        kind      TEXT NOT NULL,
        data      TEXT NOT NULL,
        prev_hash TEXT NOT NULL UNIQUE,
        hash      TEXT NOT NULL
      ) STRICT;

      CREATE TABLE outbox (
        n                INTEGER PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        recipient        TEXT NOT NULL,
        envelope         TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'cancelled')),
        attempts         INTEGER NOT NULL CHECK (attempts >= 0),
        next_attempt_at  TEXT NOT NULL,
        next_attempt_key TEXT NOT NULL,
        last_error       TEXT,
        created_at       TEXT NOT NULL,
        created_key      TEXT NOT NULL,
        delivered_at     TEXT,
        receipt          TEXT
      ) STRICT;
      CREATE INDEX outbox_by_status ON outbox (status, created_key, n);

      CREATE TABLE inbox (
        envelope_id   TEXT PRIMARY KEY,
        sender        TEXT NOT NULL,
        envelope_hash TEXT NOT NULL,
        received_at   TEXT NOT NULL,
        receipt       TEXT NOT NULL
      ) STRICT;

      CREATE TABLE peers (
        node_id        TEXT PRIMARY KEY,
        url            TEXT NOT NULL,
        signing_key    TEXT NOT NULL,
        encryption_key TEXT NOT NULL,
        added_at       TEXT NOT NULL
      ) STRICT;

      CREATE TABLE agreements (
        id        TEXT NOT NULL,
        version   INTEGER NOT NULL,
        source    TEXT NOT NULL,
        hash      TEXT NOT NULL,
        loaded_at TEXT NOT NULL,
        PRIMARY KEY (id, version)
      ) STRICT;
    `,
  },
];

/** The schema version this code reaches. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Apply every migration newer than the database's version, in order, each in its own
 * BEGIN IMMEDIATE transaction (which also makes concurrent starts over one file safe: the second
 * waits for the write lock, then finds the work done). Returns the version reached.
 */
export function applyMigrations(db: Database): number {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    ) STRICT
  `);
  const current = db.prepare<[], { v: number | null }>(
    "SELECT max(version) AS v FROM schema_migrations",
  );
  const record = db.prepare<[number, string]>(
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
  );
  const step = db.transaction((m: Migration): void => {
    const reached = current.get()?.v ?? 0;
    if (m.version <= reached) return; // another connection applied it while we waited
    db.exec(m.sql);
    record.run(m.version, m.name);
  });

  const found = current.get()?.v ?? 0;
  if (found > SCHEMA_VERSION) {
    throw new AccordError(
      "ERR_STORAGE",
      `the database is at schema version ${found}, newer than version ${SCHEMA_VERSION} that this accord knows; upgrade accord`,
    );
  }
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (m.version > found) step.immediate(m);
  }
  return current.get()?.v ?? 0;
}
