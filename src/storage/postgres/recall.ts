/**
 * PostgreSQL: the recall repository and the retention methods of the object repository
 * (spec/recall.md; tables from migration 5). Statements are named, so each connection prepares
 * them once; where they run (the pool or a transaction's client) is the caller's `Exec`.
 *
 * Retention deadlines are compared as instants through `accord_instant(text)` (migration 5): the
 * RFC 3339 text cast to timestamptz, or NULL when it is not RFC 3339 with an explicit offset. It
 * is declared IMMUTABLE, which holds because a timestamp with an explicit offset does not depend
 * on the session's TimeZone, so it can be indexed. A deadline it cannot read counts as passed.
 */
import type { QueryResultRow } from "pg";
import type { ObjectRepo, RecallRepo, SharedCopy } from "../../app/ports.js";
import { checkLimit, putResult } from "../common/checks.js";
import { jsonValue } from "../common/columns.js";
import * as common from "../common/recall.js";
import { instantKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";

function q<R extends QueryResultRow = Record<string, never>>(name: string, text: string): Sql<R> {
  return { name: `accord_recall_${name}`, text };
}

const S = {
  purgeAll: q("purge_all", "DELETE FROM objects WHERE id = $1"),
  purgeVersion: q("purge_version", "DELETE FROM objects WHERE id = $1 AND version = $2"),
  expired: q<common.ExpiredRow>(
    "expired",
    `SELECT id, version, type, originator, received_from, agreement_id, retention_until
     FROM objects
     WHERE retention_until IS NOT NULL
       AND (accord_instant(retention_until) IS NULL
            OR accord_instant(retention_until) <= accord_instant($1))
     ORDER BY accord_instant(retention_until) NULLS FIRST, id, version LIMIT $2`,
  ),
  copyInsert: q(
    "copy_insert",
    `INSERT INTO shared_copies (object_id, sent_as, version, recipient, envelope_id, agreement,
       purpose, shared_at, credential) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT DO NOTHING`,
  ),
  // One statement for a page of copies (a TAXII read): the columns as parallel arrays.
  copiesInsert: q(
    "copies_insert",
    `INSERT INTO shared_copies (object_id, sent_as, version, recipient, envelope_id, agreement,
       purpose, shared_at, credential)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::text[], $8::text[], $9::text[])
     ON CONFLICT DO NOTHING`,
  ),
  copiesOf: q<common.CopyRow>(
    "copies_of",
    `SELECT object_id, sent_as, version, recipient, envelope_id, agreement, purpose, shared_at,
       credential
     FROM shared_copies WHERE object_id = $1 ORDER BY n`,
  ),
  recallInsert: q(
    "insert",
    `INSERT INTO recalls (id, object_id, kind, originator, role, issued_at, notice, received_from,
       ack, recorded_at, recorded_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
  ),
  recallGet: q<common.RecallRow>(
    "get",
    `SELECT ${common.RECALL_COLUMNS} FROM recalls WHERE id = $1`,
  ),
  recallList: q<common.RecallRow>(
    "list",
    `SELECT ${common.RECALL_COLUMNS} FROM recalls
     WHERE ($1::text IS NULL OR object_id = $1) AND ($2::text IS NULL OR role = $2)
     ORDER BY recorded_key DESC, n DESC LIMIT $3`,
  ),
  targetPut: q(
    "target_put",
    `INSERT INTO recall_targets (recall_id, recipient, via, status, ack, detail, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
     ON CONFLICT (recall_id, recipient) DO UPDATE SET via = EXCLUDED.via,
       status = EXCLUDED.status, ack = EXCLUDED.ack, detail = EXCLUDED.detail,
       updated_at = EXCLUDED.updated_at`,
  ),
  targets: q<common.TargetRow<unknown>>(
    "targets",
    `SELECT recall_id, recipient, via, status, ack, detail, updated_at FROM recall_targets
     WHERE recall_id = $1 ORDER BY recipient`,
  ),
  messageInsert: q(
    "message_insert",
    `INSERT INTO recall_outbox (id, recall_id, recipient, kind, envelope, status, attempts,
       next_attempt_at, next_attempt_key, created_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $6)`,
  ),
  messageDue: q<common.MessageRow>(
    "message_due",
    `SELECT ${common.MESSAGE_COLUMNS} FROM recall_outbox
     WHERE status = 'pending' AND next_attempt_key <= $1 ORDER BY next_attempt_key, n LIMIT $2`,
  ),
  messageSettle: q(
    "message_settle",
    `UPDATE recall_outbox SET status = $1, last_error = $2 WHERE id = $3 AND status = 'pending'`,
  ),
  messageFailed: q(
    "message_failed",
    `UPDATE recall_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
       next_attempt_key = $3 WHERE id = $4 AND status = 'pending'`,
  ),
  messagesOf: q<common.MessageRow>(
    "messages_of",
    `SELECT ${common.MESSAGE_COLUMNS} FROM recall_outbox WHERE recall_id = $1 ORDER BY n`,
  ),
} as const;

/** `purge` and `expired`, merged into the object repository by ./repos.ts. */
export function objectRetention({ query }: Exec): Pick<ObjectRepo, "purge" | "expired"> {
  return {
    async purge(id, version) {
      const r =
        version === undefined
          ? await query("could not purge the object", S.purgeAll, [id])
          : await query("could not purge the object", S.purgeVersion, [id, version]);
      return r.rowCount;
    },
    async expired(now, limit) {
      instantKey(now, "`now`");
      checkLimit(limit);
      const r = await query("could not read retention deadlines", S.expired, [now, limit]);
      return r.rows.map(common.toExpired);
    },
  };
}

export function recallRepo({ query }: Exec): RecallRepo {
  return {
    async recordCopy(c) {
      await query("could not record the shared copy", S.copyInsert, [
        c.objectId,
        c.sentAs,
        c.version,
        c.recipient,
        c.envelopeId,
        c.agreement,
        c.purpose,
        c.sharedAt,
        c.credential ?? null,
      ]);
    },
    async recordCopies(copies) {
      if (copies.length === 0) return 0;
      const column = (f: (c: SharedCopy) => string | null) => copies.map(f);
      const r = await query("could not record the shared copies", S.copiesInsert, [
        column((c) => c.objectId),
        column((c) => c.sentAs),
        column((c) => c.version),
        column((c) => c.recipient),
        column((c) => c.envelopeId),
        column((c) => c.agreement),
        column((c) => c.purpose),
        column((c) => c.sharedAt),
        column((c) => c.credential ?? null),
      ]);
      return r.rowCount;
    },
    async copiesOf(objectId) {
      const r = await query("could not read shared copies", S.copiesOf, [objectId]);
      return r.rows.map(common.toCopy);
    },
    async putRecall(rec) {
      const key = instantKey(rec.recordedAt, "a recall's `recordedAt`");
      const r = await query("could not store the recall", S.recallInsert, [
        rec.id,
        rec.objectId,
        rec.kind,
        rec.originator,
        rec.role,
        rec.issuedAt,
        rec.notice,
        rec.receivedFrom,
        rec.ack,
        rec.recordedAt,
        key,
      ]);
      return putResult(r.rowCount);
    },
    async getRecall(id) {
      const r = await query("could not read the recall", S.recallGet, [id]);
      const row = r.rows[0];
      return row === undefined ? undefined : common.toRecall(row);
    },
    async listRecalls(qy) {
      const limit = checkLimit(qy.limit);
      const r = await query("could not list recalls", S.recallList, [
        qy.objectId ?? null,
        qy.role ?? null,
        limit,
      ]);
      return r.rows.map(common.toRecall);
    },
    async putTarget(t) {
      await query("could not store the recall target", S.targetPut, [
        t.recallId,
        t.recipient,
        t.via,
        t.status,
        t.ack,
        t.detail === null ? null : JSON.stringify(t.detail),
        t.updatedAt,
      ]);
    },
    async targets(recallId) {
      const r = await query("could not read recall targets", S.targets, [recallId]);
      return r.rows.map((row) => common.toTarget(row, jsonValue));
    },
    async enqueue(m) {
      const key = instantKey(m.createdAt, "a recall message's `createdAt`");
      await query("could not enqueue the recall message", S.messageInsert, [
        m.id,
        m.recallId,
        m.recipient,
        m.kind,
        m.envelope,
        m.createdAt,
        key,
      ]);
    },
    async due(now, limit) {
      const key = instantKey(now, "`now`");
      checkLimit(limit);
      const r = await query("could not read the recall outbox", S.messageDue, [key, limit]);
      return r.rows.map(common.toMessage);
    },
    async settle(id, status, error) {
      const r = await query("could not update the recall outbox", S.messageSettle, [
        status,
        error,
        id,
      ]);
      return r.rowCount === 1;
    },
    async markFailed(id, error, nextAttemptAt) {
      const key = instantKey(nextAttemptAt, "`nextAttemptAt`");
      await query("could not update the recall outbox", S.messageFailed, [
        error,
        nextAttemptAt,
        key,
        id,
      ]);
    },
    async messages(recallId) {
      const r = await query("could not read the recall outbox", S.messagesOf, [recallId]);
      return r.rows.map(common.toMessage);
    },
  };
}

/** Migration 5 for PostgreSQL (appended to ./migrations.ts). */
export const RECALL_MIGRATION_SQL = `
  CREATE TABLE shared_copies (
    n           bigint GENERATED ALWAYS AS IDENTITY,
    object_id   text COLLATE "C" NOT NULL,
    sent_as     text COLLATE "C" NOT NULL,
    version     text COLLATE "C" NOT NULL,
    recipient   text COLLATE "C" NOT NULL,
    envelope_id text COLLATE "C" NOT NULL,
    agreement   text NOT NULL,
    purpose     text NOT NULL,
    shared_at   text NOT NULL,
    PRIMARY KEY (object_id, recipient, version, envelope_id)
  );

  CREATE TABLE recalls (
    n             bigint GENERATED ALWAYS AS IDENTITY,
    id            text COLLATE "C" PRIMARY KEY,
    object_id     text COLLATE "C" NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('recall', 'correction')),
    originator    text NOT NULL,
    role          text NOT NULL CHECK (role IN ('issued', 'received')),
    issued_at     text NOT NULL,
    notice        text NOT NULL,
    received_from text,
    ack           text,
    recorded_at   text NOT NULL,
    recorded_key  text COLLATE "C" NOT NULL
  );
  CREATE INDEX recalls_by_object ON recalls (object_id, recorded_key);
  CREATE INDEX recalls_by_time ON recalls (recorded_key);

  CREATE TABLE recall_targets (
    recall_id  text COLLATE "C" NOT NULL,
    recipient  text COLLATE "C" NOT NULL,
    via        text,
    status     text NOT NULL CHECK (status IN ('pending', 'acknowledged', 'refused')),
    ack        text,
    detail     jsonb,
    updated_at text NOT NULL,
    PRIMARY KEY (recall_id, recipient)
  );

  CREATE TABLE recall_outbox (
    n                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               text COLLATE "C" NOT NULL UNIQUE,
    recall_id        text COLLATE "C" NOT NULL,
    recipient        text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('notice', 'report')),
    envelope         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
    attempts         integer NOT NULL CHECK (attempts >= 0),
    next_attempt_at  text NOT NULL,
    next_attempt_key text COLLATE "C" NOT NULL,
    last_error       text,
    created_at       text NOT NULL
  );
  CREATE INDEX recall_outbox_due ON recall_outbox (status, next_attempt_key, n);
  CREATE INDEX recall_outbox_by_recall ON recall_outbox (recall_id, n);

  CREATE FUNCTION accord_instant(t text) RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  BEGIN
    IF t !~ '^\\d{4}-\\d\\d-\\d\\d[Tt]\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?([Zz]|[+-]\\d\\d:\\d\\d)$' THEN
      RETURN NULL;
    END IF;
    RETURN t::timestamptz;
  EXCEPTION WHEN others THEN
    RETURN NULL;
  END
  $fn$;
  CREATE INDEX objects_by_retention ON objects (accord_instant(retention_until))
    WHERE retention_until IS NOT NULL;
`;

/**
 * Migration 12 for PostgreSQL: copies read through a partner's TAXII collection name the
 * credential that read them (NULL for copies that travelled in a sealed envelope), spec/recall.md.
 */
export const RECALL_TAXII_MIGRATION_SQL = `
  ALTER TABLE shared_copies ADD COLUMN credential text COLLATE "C";
`;
