/**
 * SQLite: the recall repository and the retention methods of the object repository
 * (spec/recall.md; tables from migration 5). Statements are prepared once per connection, like the
 * rest of the adapter; how they run (under the store's lock or inside a transaction) is the
 * caller's `exec`.
 *
 * Retention deadlines are compared as instants with SQLite's `julianday()`, which reads RFC 3339
 * with `Z` or a numeric offset; migration 5 indexes that expression for the rows that have a
 * deadline. A deadline `julianday()` cannot read is treated as passed.
 */
import type { Database, Statement } from "better-sqlite3";
import type { ObjectRepo, RecallRepo, SharedCopy } from "../../app/ports.js";
import { checkLimit, putResult } from "../common/checks.js";
import { jsonText } from "../common/columns.js";
import * as common from "../common/recall.js";
import { timeKey } from "./timekey.js";

/** How these repositories reach the connection (the shape of ./repos.ts `Exec`). */
interface RunExec {
  run<T>(failure: string, op: () => T): Promise<T>;
}

const prepared = new WeakMap<Database, RecallStatements>();

/** The statements of this file, prepared once per connection. */
function statements(db: Database): RecallStatements {
  let s = prepared.get(db);
  if (s === undefined) {
    s = prepareRecallStatements(db);
    prepared.set(db, s);
  }
  return s;
}

function prepareRecallStatements(db: Database) {
  return {
    objectPurgeAll: db.prepare<[string]>("DELETE FROM objects WHERE id = ?"),
    objectPurgeVersion: db.prepare<[string, string]>(
      "DELETE FROM objects WHERE id = ? AND version = ?",
    ),
    objectExpired: db.prepare<[string, number], common.ExpiredRow>(
      `SELECT id, version, type, originator, received_from, agreement_id, retention_until
       FROM objects
       WHERE retention_until IS NOT NULL
         AND (julianday(retention_until) IS NULL OR julianday(retention_until) <= julianday(?))
       ORDER BY julianday(retention_until), id, version LIMIT ?`,
    ),

    copyInsert: db.prepare<
      [string, string, string, string, string, string, string, string, string | null]
    >(
      `INSERT INTO shared_copies (object_id, sent_as, version, recipient, envelope_id, agreement,
         purpose, shared_at, credential) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    copiesOf: db.prepare<[string], common.CopyRow>(
      `SELECT object_id, sent_as, version, recipient, envelope_id, agreement, purpose, shared_at,
         credential
       FROM shared_copies WHERE object_id = ? ORDER BY rowid`,
    ),

    recallInsert: db.prepare<
      [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string | null,
        string | null,
        string,
        string,
      ]
    >(
      `INSERT INTO recalls (id, object_id, kind, originator, role, issued_at, notice,
         received_from, ack, recorded_at, recorded_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    recallGet: db.prepare<[string], common.RecallRow>(
      `SELECT ${common.RECALL_COLUMNS} FROM recalls WHERE id = ?`,
    ),
    recallList: db.prepare<
      [{ object: string | null; role: string | null; limit: number }],
      common.RecallRow
    >(
      `SELECT ${common.RECALL_COLUMNS} FROM recalls
       WHERE (@object IS NULL OR object_id = @object) AND (@role IS NULL OR role = @role)
       ORDER BY recorded_key DESC, rowid DESC LIMIT @limit`,
    ),

    targetPut: db.prepare<
      [string, string, string | null, string, string | null, string | null, string]
    >(
      `INSERT INTO recall_targets (recall_id, recipient, via, status, ack, detail, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (recall_id, recipient) DO UPDATE SET via = excluded.via,
         status = excluded.status, ack = excluded.ack, detail = excluded.detail,
         updated_at = excluded.updated_at`,
    ),
    targets: db.prepare<[string], common.TargetRow<string>>(
      `SELECT recall_id, recipient, via, status, ack, detail, updated_at FROM recall_targets
       WHERE recall_id = ? ORDER BY recipient`,
    ),

    messageInsert: db.prepare<[string, string, string, string, string, string, string, string]>(
      `INSERT INTO recall_outbox (id, recall_id, recipient, kind, envelope, status, attempts,
         next_attempt_at, next_attempt_key, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
    ),
    messageDue: db.prepare<[string, number], common.MessageRow>(
      `SELECT ${common.MESSAGE_COLUMNS} FROM recall_outbox
       WHERE status = 'pending' AND next_attempt_key <= ? ORDER BY next_attempt_key, n LIMIT ?`,
    ),
    messageSettle: db.prepare<[string, string | null, string]>(
      `UPDATE recall_outbox SET status = ?, last_error = ? WHERE id = ? AND status = 'pending'`,
    ),
    messageFailed: db.prepare<[string, string, string, string]>(
      `UPDATE recall_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
         next_attempt_key = ? WHERE id = ? AND status = 'pending'`,
    ),
    messagesOf: db.prepare<[string], common.MessageRow>(
      `SELECT ${common.MESSAGE_COLUMNS} FROM recall_outbox WHERE recall_id = ? ORDER BY n`,
    ),
  } satisfies Record<string, Statement>;
}

type RecallStatements = ReturnType<typeof prepareRecallStatements>;

/** `purge` and `expired`, merged into the object repository by ./repos.ts. */
export function objectRetention(
  db: Database,
  exec: RunExec,
): Pick<ObjectRepo, "purge" | "expired"> {
  const s = statements(db);
  return {
    async purge(id, version) {
      const info = await exec.run("could not purge the object", () =>
        version === undefined ? s.objectPurgeAll.run(id) : s.objectPurgeVersion.run(id, version),
      );
      return info.changes;
    },
    async expired(now, limit) {
      timeKey(now, "`now`");
      checkLimit(limit);
      const rows = await exec.run("could not read retention deadlines", () =>
        s.objectExpired.all(now, limit),
      );
      return rows.map(common.toExpired);
    },
  };
}

export function recallRepo(db: Database, exec: RunExec): RecallRepo {
  const s = statements(db);
  return {
    async recordCopy(c) {
      await exec.run("could not record the shared copy", () => insertCopy(s, c));
    },
    async recordCopies(copies) {
      return exec.run("could not record the shared copies", () => {
        let inserted = 0;
        for (const c of copies) inserted += insertCopy(s, c);
        return inserted;
      });
    },
    async copiesOf(objectId) {
      const rows = await exec.run("could not read shared copies", () => s.copiesOf.all(objectId));
      return rows.map(common.toCopy);
    },
    async putRecall(r) {
      const key = timeKey(r.recordedAt, "a recall's `recordedAt`");
      const info = await exec.run("could not store the recall", () =>
        s.recallInsert.run(
          r.id,
          r.objectId,
          r.kind,
          r.originator,
          r.role,
          r.issuedAt,
          r.notice,
          r.receivedFrom,
          r.ack,
          r.recordedAt,
          key,
        ),
      );
      return putResult(info.changes);
    },
    async getRecall(id) {
      const row = await exec.run("could not read the recall", () => s.recallGet.get(id));
      return row === undefined ? undefined : common.toRecall(row);
    },
    async listRecalls(q) {
      const limit = checkLimit(q.limit);
      const rows = await exec.run("could not list recalls", () =>
        s.recallList.all({ object: q.objectId ?? null, role: q.role ?? null, limit }),
      );
      return rows.map(common.toRecall);
    },
    async putTarget(t) {
      const detail = t.detail === null ? null : JSON.stringify(t.detail);
      await exec.run("could not store the recall target", () =>
        s.targetPut.run(t.recallId, t.recipient, t.via, t.status, t.ack, detail, t.updatedAt),
      );
    },
    async targets(recallId) {
      const rows = await exec.run("could not read recall targets", () => s.targets.all(recallId));
      return rows.map((r) => common.toTarget(r, jsonText));
    },
    async enqueue(m) {
      const created = timeKey(m.createdAt, "a recall message's `createdAt`");
      await exec.run("could not enqueue the recall message", () =>
        s.messageInsert.run(
          m.id,
          m.recallId,
          m.recipient,
          m.kind,
          m.envelope,
          m.createdAt,
          created,
          m.createdAt,
        ),
      );
    },
    async due(now, limit) {
      const key = timeKey(now, "`now`");
      checkLimit(limit);
      const rows = await exec.run("could not read the recall outbox", () =>
        s.messageDue.all(key, limit),
      );
      return rows.map(common.toMessage);
    },
    async settle(id, status, error) {
      const info = await exec.run("could not update the recall outbox", () =>
        s.messageSettle.run(status, error, id),
      );
      return info.changes === 1;
    },
    async markFailed(id, error, nextAttemptAt) {
      const key = timeKey(nextAttemptAt, "`nextAttemptAt`");
      await exec.run("could not update the recall outbox", () =>
        s.messageFailed.run(error, nextAttemptAt, key, id),
      );
    },
    async messages(recallId) {
      const rows = await exec.run("could not read the recall outbox", () =>
        s.messagesOf.all(recallId),
      );
      return rows.map(common.toMessage);
    },
  };
}

/** Insert one copy; 1 when it is new, 0 when it was recorded before. */
function insertCopy(s: RecallStatements, c: SharedCopy): number {
  return s.copyInsert.run(
    c.objectId,
    c.sentAs,
    c.version,
    c.recipient,
    c.envelopeId,
    c.agreement,
    c.purpose,
    c.sharedAt,
    c.credential ?? null,
  ).changes;
}

/** Migration 5 for SQLite (appended to ./migrations.ts). */
export const RECALL_MIGRATION_SQL = `
  CREATE TABLE shared_copies (
    object_id   TEXT NOT NULL,
    sent_as     TEXT NOT NULL,
    version     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    envelope_id TEXT NOT NULL,
    agreement   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    shared_at   TEXT NOT NULL,
    PRIMARY KEY (object_id, recipient, version, envelope_id)
  ) STRICT;

  CREATE TABLE recalls (
    id            TEXT PRIMARY KEY,
    object_id     TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('recall', 'correction')),
    originator    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('issued', 'received')),
    issued_at     TEXT NOT NULL,
    notice        TEXT NOT NULL,
    received_from TEXT,
    ack           TEXT,
    recorded_at   TEXT NOT NULL,
    recorded_key  TEXT NOT NULL
  ) STRICT;
  CREATE INDEX recalls_by_object ON recalls (object_id, recorded_key);
  CREATE INDEX recalls_by_time ON recalls (recorded_key);

  CREATE TABLE recall_targets (
    recall_id  TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    via        TEXT,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'acknowledged', 'refused')),
    ack        TEXT,
    detail     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (recall_id, recipient)
  ) STRICT;

  CREATE TABLE recall_outbox (
    n                INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    recall_id        TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('notice', 'report')),
    envelope         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
    attempts         INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at  TEXT NOT NULL,
    next_attempt_key TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL
  ) STRICT;
  CREATE INDEX recall_outbox_due ON recall_outbox (status, next_attempt_key, n);
  CREATE INDEX recall_outbox_by_recall ON recall_outbox (recall_id, n);

  CREATE INDEX objects_by_retention ON objects (julianday(retention_until))
    WHERE retention_until IS NOT NULL;
`;

/**
 * Migration 12 for SQLite: copies read through a partner's TAXII collection name the credential
 * that read them (NULL for copies that travelled in a sealed envelope), spec/recall.md.
 */
export const RECALL_TAXII_MIGRATION_SQL = `
  ALTER TABLE shared_copies ADD COLUMN credential TEXT;
`;
