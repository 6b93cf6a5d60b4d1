/**
 * The SQLite schema as numbered, append-only migrations (spec/storage.md, "Migrations"). A
 * migration that has landed on main is never edited: a change is a new migration with the next
 * number. Each one runs in the same BEGIN IMMEDIATE transaction as its row in `schema_migrations`,
 * so a crash leaves the schema at one numbered version or the next, never between.
 */
import type { Database } from "better-sqlite3";
import { AccordError } from "../../errors.js";
import { LOG_COSIGNATURES_MIGRATION_SQL, LOG_KIND_COLUMN_MIGRATION_SQL } from "./log.js";
import { MATCH_MIGRATION_SQL } from "./match.js";
import { NODE_KEYS_MIGRATION_SQL } from "./node-keys.js";
import { RECALL_MIGRATION_SQL, RECALL_TAXII_MIGRATION_SQL } from "./recall.js";
import { TAXII_ONE_TABLE_MIGRATION_SQL, TAXII_REISSUED_MIGRATION_SQL } from "./taxii.js";
import { AGREEMENT_EXCHANGE_MIGRATION_SQL, CONSENT_PUSH_MIGRATION_SQL } from "./agreement-state.js";

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
  {
    version: 7,
    name: "taxii",
    // Date-added order for TAXII (spec/taxii.md, "Storage"): every object version gets a seq that
    // is never reused and a date added in microseconds that strictly increases with it, assigned
    // by trigger so every writer (ingest, receive, TAXII POST) is covered. Credentials keep only
    // a hash of their secret.
    sql: `
      CREATE TABLE object_added_head (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        next_seq  INTEGER NOT NULL,
        last_us   INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE object_added (
        seq           INTEGER PRIMARY KEY,
        id            TEXT NOT NULL,
        version       TEXT NOT NULL,
        type          TEXT NOT NULL,
        spec_version  TEXT NOT NULL,
        date_added_us INTEGER NOT NULL,
        UNIQUE (id, version)
      ) STRICT;
      CREATE INDEX object_added_by_date ON object_added (date_added_us);
      CREATE INDEX object_added_by_type ON object_added (type, seq);

      WITH ordered AS (
        SELECT id, version, type,
               coalesce(json_extract(object, '$.spec_version'), '2.1') AS spec_version,
               coalesce(CAST(round(unixepoch(stored_at, 'subsec') * 1000) AS INTEGER) * 1000, 0) AS t,
               row_number() OVER (ORDER BY unixepoch(stored_at, 'subsec'), rowid) AS rn
        FROM objects
      )
      INSERT INTO object_added (seq, id, version, type, spec_version, date_added_us)
      SELECT rn, id, version, type, spec_version,
             max(t - rn) OVER (ORDER BY rn ROWS UNBOUNDED PRECEDING) + rn
      FROM ordered;
      INSERT INTO object_added_head (singleton, next_seq, last_us)
      SELECT 1, coalesce(max(seq), 0) + 1, coalesce(max(date_added_us), 0) FROM object_added;

      CREATE TRIGGER object_added_insert AFTER INSERT ON objects BEGIN
        UPDATE object_added_head SET
          next_seq = next_seq + 1,
          last_us = max(last_us + 1,
            coalesce(CAST(round(unixepoch(NEW.stored_at, 'subsec') * 1000) AS INTEGER) * 1000, 0));
        INSERT INTO object_added (seq, id, version, type, spec_version, date_added_us)
        SELECT next_seq - 1, NEW.id, NEW.version, NEW.type,
               coalesce(json_extract(NEW.object, '$.spec_version'), '2.1'), last_us
        FROM object_added_head;
      END;
      CREATE TRIGGER object_added_delete AFTER DELETE ON objects BEGIN
        DELETE FROM object_added WHERE id = OLD.id AND version = OLD.version;
      END;

      CREATE TABLE taxii_credentials (
        id           TEXT PRIMARY KEY,
        partner      TEXT NOT NULL,
        purpose      TEXT NOT NULL,
        agreement_id TEXT,
        can_read     INTEGER NOT NULL CHECK (can_read IN (0, 1)),
        can_write    INTEGER NOT NULL CHECK (can_write IN (0, 1)),
        secret_hash  TEXT NOT NULL,
        created_at   TEXT NOT NULL
      ) STRICT;

      CREATE TABLE taxii_status (
        id         TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body       TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: "agreement-lifecycle-and-budgets",
    sql: `
      CREATE TABLE agreement_signatures (
        agreement   TEXT NOT NULL,
        version     INTEGER NOT NULL,
        node        TEXT NOT NULL,
        hash        TEXT NOT NULL,
        jws         TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (agreement, version, node)
      ) STRICT;

      CREATE TABLE agreement_events (
        id          TEXT PRIMARY KEY,
        agreement   TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('suspend', 'resume', 'suspend-party', 'resume-party', 'terminate')),
        at          TEXT NOT NULL,
        at_key      TEXT NOT NULL,
        by_whom     TEXT NOT NULL,
        party       TEXT,
        reason      TEXT,
        recorded_by TEXT NOT NULL,
        jws         TEXT NOT NULL,
        recorded_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX agreement_events_by_time ON agreement_events (agreement, at_key, id);

      CREATE TABLE consents (
        id         TEXT PRIMARY KEY,
        originator TEXT NOT NULL,
        object     TEXT NOT NULL,
        holder     TEXT NOT NULL,
        recipient  TEXT NOT NULL,
        agreement  TEXT NOT NULL,
        purpose    TEXT NOT NULL,
        expires    TEXT NOT NULL,
        jws        TEXT NOT NULL,
        stored_at  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX consents_by_holder ON consents (holder, object, id);

      CREATE TABLE agreement_status (
        agreement TEXT NOT NULL,
        version   INTEGER NOT NULL,
        status    TEXT NOT NULL,
        since     TEXT NOT NULL,
        PRIMARY KEY (agreement, version)
      ) STRICT;

      CREATE TABLE query_budgets (
        agreement    TEXT NOT NULL,
        partner      TEXT NOT NULL,
        win          TEXT NOT NULL CHECK (win IN ('day', 'burst')),
        window_start TEXT NOT NULL,
        used         INTEGER NOT NULL CHECK (used >= 0),
        PRIMARY KEY (agreement, partner, win, window_start)
      ) STRICT;
    `,
  },
  {
    // Issue 5: the Merkle log replaces the hash-chained ledger (spec/log.md, "Storage"). The old
    // chain is kept, renamed, as evidence; its rows are carried into the log once on open.
    version: 2,
    name: "merkle-log",
    sql: `
      ALTER TABLE ledger RENAME TO ledger_v1;
      CREATE TABLE log_entries (
        idx       INTEGER PRIMARY KEY CHECK (idx >= 0),
        entry     TEXT NOT NULL,
        leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32)
      ) STRICT;
      CREATE TABLE log_tiles (
        level  INTEGER NOT NULL CHECK (level >= 0),
        idx    INTEGER NOT NULL CHECK (idx >= 0),
        hashes BLOB NOT NULL,
        PRIMARY KEY (level, idx)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE log_state (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        size      INTEGER NOT NULL CHECK (size >= 0),
        frontier  BLOB NOT NULL
      ) STRICT;
      INSERT INTO log_state (singleton, size, frontier) VALUES (1, 0, x'');
      CREATE TABLE log_checkpoints (
        size       INTEGER PRIMARY KEY CHECK (size >= 0),
        note       TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Issue 6: peer-protocol hardening (spec/federation.md). RFC 9421 nonces kept until their
    // window passes; partners' previous keys during a rotation's overlap; the agreement each
    // outbox item travels under (so a sunset can cancel it) and why an item was cancelled.
    version: 4,
    name: "peer-protocol-hardening",
    sql: `
      CREATE TABLE peer_nonces (
        key_id      TEXT NOT NULL,
        nonce       TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        expires_key TEXT NOT NULL,
        PRIMARY KEY (key_id, nonce)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX peer_nonces_by_expiry ON peer_nonces (expires_key);

      CREATE TABLE peer_keys (
        node_id        TEXT NOT NULL,
        fingerprint    TEXT NOT NULL,
        signing_key    TEXT NOT NULL,
        encryption_key TEXT NOT NULL,
        retires_at     TEXT NOT NULL,
        retires_key    TEXT NOT NULL,
        PRIMARY KEY (node_id, fingerprint)
      ) STRICT;

      ALTER TABLE outbox ADD COLUMN agreement_id TEXT;
      ALTER TABLE outbox ADD COLUMN agreement_version INTEGER;
      ALTER TABLE outbox ADD COLUMN cancelled_at TEXT;
      ALTER TABLE outbox ADD COLUMN cancel_reason TEXT;
      CREATE INDEX outbox_by_agreement ON outbox (agreement_id, status);
    `,
  },
  {
    // Issue 6: recall, correction and retention (spec/recall.md): who got which copy, recalls
    // issued and received, their targets and outbox; an index on retention deadlines.
    version: 5,
    name: "recall-and-retention",
    sql: RECALL_MIGRATION_SQL,
  },
  {
    version: 6,
    name: "match-queries-and-requests",
    // Hit/no-hit queries as each side remembers them and follow-up requests (spec/match.md).
    sql: MATCH_MIGRATION_SQL,
  },
  {
    // Key rotation (spec/federation.md, "Key rotation"): this node's key history (public halves),
    // the durable outbox of key announcements to partners, partners' revoked keys.
    version: 8,
    name: "key-rotation",
    sql: NODE_KEYS_MIGRATION_SQL,
  },
  {
    version: 9,
    name: "taxii-reissued-ids",
    // Partner collections: re-issued id -> original id, per agreement (spec/taxii.md, "Storage").
    sql: TAXII_REISSUED_MIGRATION_SQL,
  },
  {
    version: 11,
    name: "agreement-event-order-and-exchanges",
    // Events ordered by a durable sequence at equal instants; exchanges owed to partners.
    sql: AGREEMENT_EXCHANGE_MIGRATION_SQL,
  },
  {
    // Copies read through a partner's TAXII collection, named by credential, so recalls reach
    // them (spec/recall.md, "Copies read by TAXII").
    version: 12,
    name: "taxii-copies",
    sql: RECALL_TAXII_MIGRATION_SQL,
  },
  {
    // Witnesses' cosignatures of this node's checkpoints; an index on log entries' kind
    // (spec/log.md, "Witnesses").
    version: 14,
    name: "log-cosignatures",
    sql: LOG_COSIGNATURES_MIGRATION_SQL,
  },
  {
    // The outbox's envelopes (megabytes each) in a table of their own, written once: marking an
    // item delivered or failed rewrote the whole row, envelope included (spec/storage.md).
    version: 17,
    name: "outbox-envelopes",
    sql: `
      CREATE TABLE outbox_envelopes (
        id       TEXT PRIMARY KEY REFERENCES outbox (id),
        envelope TEXT NOT NULL
      ) STRICT;
      INSERT INTO outbox_envelopes (id, envelope) SELECT id, envelope FROM outbox;
      ALTER TABLE outbox DROP COLUMN envelope;
    `,
  },
  {
    // Consents pushed to their holders, owed until acknowledged (spec/agreement.md).
    version: 19,
    name: "consent-pushes",
    sql: CONSENT_PUSH_MIGRATION_SQL,
  },
  {
    // Log entries' kind in a plain, indexed column written by append, in place of migration 14's
    // index on an expression over the entry text (spec/log.md, "Storage").
    version: 20,
    name: "log-entry-kind-column",
    sql: LOG_KIND_COLUMN_MIGRATION_SQL,
  },
  {
    // One table for objects and their date-added order: seq is the rowid, no trigger on insert,
    // no `object_added` and its indexes, a last-version flag (spec/taxii.md, "Storage").
    version: 21,
    name: "objects-in-date-added-order",
    sql: TAXII_ONE_TABLE_MIGRATION_SQL,
  },
  {
    // The (type, id) index dropped: ids are random, so every insert dirtied a page of it at a
    // random place (a third of a TAXII POST's commit); a listing by type is a range of the
    // (id, ...) index, every id being `<type>--<uuid>` (spec/taxii.md, "Storage").
    version: 24,
    name: "objects-without-type-id-index",
    sql: "DROP INDEX objects_by_type",
  },
  {
    // PostgreSQL's migration 26 makes its insert trigger skip a version already stored before it
    // takes the head; SQLite has no insert trigger (the head is read and written by putMany, under
    // the one writer's lock, and advances only for rows inserted), so nothing changes here.
    version: 26,
    name: "objects-duplicate-insert-skipped",
    sql: "SELECT 1",
  },
  {
    // An envelope is kept while it may still be sent: once its item is delivered (the receipt
    // verified and recorded) or cancelled, the trigger drops its bytes in the same statement. The
    // sender cannot read them (they are encrypted to the recipient); the row keeps the receipt,
    // which names the envelope's SHA-256 (spec/federation.md, "Outbox").
    version: 27,
    name: "outbox-envelopes-dropped-after-delivery",
    sql: `
      DELETE FROM outbox_envelopes
      WHERE id IN (SELECT id FROM outbox WHERE status <> 'pending');
      CREATE TRIGGER outbox_envelope_dropped AFTER UPDATE OF status ON outbox
      WHEN NEW.status <> 'pending'
      BEGIN
        DELETE FROM outbox_envelopes WHERE id = NEW.id;
      END;
    `,
  },
];

/** The schema version this code reaches. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Apply every migration the database lacks, in ascending order, each in its own BEGIN IMMEDIATE
 * transaction (which also makes concurrent starts over one file safe: the second waits for the
 * write lock, then finds the work done). A version missing below the highest applied one (a
 * database made by a build that lacked it) is applied too, not skipped. Returns the highest
 * version applied.
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
  const applied = db.prepare<[number], { one: number }>(
    "SELECT 1 AS one FROM schema_migrations WHERE version = ?",
  );
  const record = db.prepare<[number, string]>(
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
  );
  const step = db.transaction((m: Migration): void => {
    if (applied.get(m.version) !== undefined) return; // another connection applied it while we waited
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
    if (applied.get(m.version) === undefined) step.immediate(m);
  }
  return current.get()?.v ?? 0;
}
