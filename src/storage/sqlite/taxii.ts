/**
 * The SQLite TaxiiRepo (src/app/ports.ts): object versions in date-added order (the objects
 * table's `seq`, migration 21), TAXII client credentials (secret hashes only) and status
 * resources (spec/taxii.md, "Storage").
 *
 * Queries are keyset pages on `objects.seq` (its rowid), so a page costs the same at any depth.
 * The filter combinations are few; each distinct statement is prepared once per connection.
 */
import type { Database, Statement } from "better-sqlite3";
import type {
  AddedEntry,
  AddedJson,
  AddedQuery,
  TaxiiCredential,
  TaxiiRepo,
  TaxiiStatusRecord,
} from "../../app/ports.js";
import { AccordError } from "../../errors.js";
import { versionKey } from "./timekey.js";
import { toStoredObject, type Exec, type ObjectRow } from "./rows.js";

/** A row of the objects table with its date-added sequence. */
interface AddedRow extends ObjectRow {
  seq: number;
  date_added_us: number;
}

interface CredentialRow {
  id: string;
  partner: string;
  purpose: string;
  agreement_id: string | null;
  can_read: number;
  can_write: number;
  secret_hash: string;
  created_at: string;
}

const COLUMNS = `o.seq, o.date_added_us, o.id, o.version, o.object, o.originator, o.received_from,
  o.agreement_id, o.agreement_version, o.purpose, o.retention_until, o.envelope_id, o.stored_at`;
const FROM = "FROM objects o";
const IS_LAST = "o.is_last = 1";
const IS_FIRST = `NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id
  AND (n.version_key, n.version) < (o.version_key, o.version))`;

const cache = new WeakMap<Database, Map<string, Statement>>();

function prepared(db: Database, text: string): Statement {
  let m = cache.get(db);
  if (m === undefined) {
    m = new Map();
    cache.set(db, m);
  }
  let st = m.get(text);
  if (st === undefined) {
    st = db.prepare(text);
    m.set(text, st);
  }
  return st;
}

/**
 * Migration 9: the re-issued id index of partner collections (spec/taxii.md, "Storage"). A
 * profile may re-issue ids per agreement (an HMAC of the original id), so the original cannot be
 * computed back from the id a partner asks for; the index maps it, per agreement, and a mark
 * says up to which date-added seq each agreement's mapping is complete.
 */
export const TAXII_REISSUED_MIGRATION_SQL = `
  CREATE TABLE taxii_reissued (
    agreement_id TEXT NOT NULL,
    reissued_id  TEXT NOT NULL,
    original_id  TEXT NOT NULL,
    PRIMARY KEY (agreement_id, reissued_id, original_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE taxii_reissued_mark (
    agreement_id TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL
  ) STRICT;
`;

/**
 * Migration 21: one table for objects and their date-added order (spec/taxii.md, "Storage").
 * Migration 7 kept `object_added` in step with `objects` by triggers, so every stored version
 * wrote two tables and seven indexes; now `seq` is the objects table's rowid, `date_added_us`,
 * `spec_version` and an `is_last` flag (no later version of the id is stored) are its columns, and
 * the writer (`objects.put`) assigns seq and date added from `object_added_head` in its own
 * transaction. The unique `(id, version_key, version)` index replaces the `(id, version)` primary
 * key (the key is a function of the version, so it is as unique). A delete that removes an id's
 * last version hands the flag to the next one (trigger: deletes are rare, and every deleter is
 * covered). Data is carried over with its seq and date added unchanged.
 */
export const TAXII_ONE_TABLE_MIGRATION_SQL = `
  CREATE TABLE objects_v21 (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL,
    version           TEXT NOT NULL,
    version_key       TEXT NOT NULL,
    type              TEXT NOT NULL,
    spec_version      TEXT NOT NULL,
    date_added_us     INTEGER NOT NULL,
    is_last           INTEGER NOT NULL CHECK (is_last IN (0, 1)),
    object            TEXT NOT NULL,
    originator        TEXT NOT NULL,
    received_from     TEXT,
    agreement_id      TEXT,
    agreement_version INTEGER,
    purpose           TEXT,
    retention_until   TEXT,
    envelope_id       TEXT,
    stored_at         TEXT NOT NULL
  ) STRICT;
  INSERT INTO objects_v21 (seq, id, version, version_key, type, spec_version, date_added_us,
    is_last, object, originator, received_from, agreement_id, agreement_version, purpose,
    retention_until, envelope_id, stored_at)
  SELECT a.seq, o.id, o.version, o.version_key, o.type, a.spec_version, a.date_added_us,
    NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id
      AND (n.version_key, n.version) > (o.version_key, o.version)),
    o.object, o.originator, o.received_from, o.agreement_id, o.agreement_version, o.purpose,
    o.retention_until, o.envelope_id, o.stored_at
  FROM object_added a JOIN objects o ON o.id = a.id AND o.version = a.version
  ORDER BY a.seq;
  DROP TRIGGER object_added_insert;
  DROP TRIGGER object_added_delete;
  DROP TABLE object_added;
  DROP TABLE objects;
  ALTER TABLE objects_v21 RENAME TO objects;
  CREATE UNIQUE INDEX objects_by_version ON objects (id, version_key, version);
  CREATE INDEX objects_by_type ON objects (type, id);
  CREATE INDEX objects_by_type_seq ON objects (type, seq);
  CREATE INDEX objects_by_date ON objects (date_added_us);
  CREATE INDEX objects_by_retention ON objects (julianday(retention_until))
    WHERE retention_until IS NOT NULL;
  CREATE TRIGGER objects_last_on_delete AFTER DELETE ON objects WHEN OLD.is_last = 1 BEGIN
    UPDATE objects SET is_last = 1 WHERE seq = (SELECT seq FROM objects WHERE id = OLD.id
      ORDER BY version_key DESC, version DESC LIMIT 1);
  END;
`;

export function taxiiRepo(db: Database, exec: Exec): TaxiiRepo {
  const all = <R>(text: string, args: readonly unknown[], failure: string): Promise<R[]> =>
    exec.run(failure, () => prepared(db, text).all(...args) as R[]);
  /** The WHERE clause and its arguments (without the limit) for a keyset query. */
  const filter = async (q: AddedQuery): Promise<{ where: string; args: unknown[] }> => {
    if (!Number.isSafeInteger(q.limit) || q.limit < 1)
      throw new RangeError("limit must be a positive integer");
    const where: string[] = ["o.seq > ?"];
    const args: unknown[] = [];
    let afterSeq = q.afterSeq;
    if (q.addedAfterUs !== undefined) {
      const rows = await all<{ s: number | null }>(
        "SELECT max(seq) AS s FROM objects WHERE date_added_us <= ?",
        [q.addedAfterUs],
        "could not read the date-added index",
      );
      afterSeq = Math.max(afterSeq, rows[0]?.s ?? 0);
    }
    args.push(afterSeq);
    if (q.ids !== undefined) {
      where.push("o.id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(q.ids));
    }
    if (q.types !== undefined) {
      where.push("o.type IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(q.types));
    }
    if (q.specVersions !== undefined) {
      where.push("o.spec_version IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(q.specVersions));
    }
    const versions = q.versions ?? ["last"];
    if (!versions.includes("all")) {
      const any: string[] = [];
      if (versions.includes("last")) any.push(IS_LAST);
      if (versions.includes("first")) any.push(IS_FIRST);
      const explicit = versions.filter((v) => v !== "last" && v !== "first");
      if (explicit.length > 0) {
        any.push("o.version_key IN (SELECT value FROM json_each(?))");
        args.push(JSON.stringify(explicit.map((v) => versionKey(v))));
      }
      where.push(`(${any.join(" OR ")})`);
    }
    return { where: where.join(" AND "), args };
  };
  return {
    async added(q: AddedQuery) {
      const { where, args } = await filter(q);
      const rows = await all<AddedRow>(
        `SELECT ${COLUMNS} ${FROM} WHERE ${where} ORDER BY o.seq LIMIT ?`,
        [...args, q.limit],
        "could not list objects in date-added order",
      );
      return rows.map(toEntry);
    },
    async addedJson(q: AddedQuery) {
      const { where, args } = await filter(q);
      return all<AddedJson>(
        `SELECT o.seq, o.date_added_us AS dateAddedUs, o.id, o.version, o.object AS json
         ${FROM} WHERE ${where} ORDER BY o.seq LIMIT ?`,
        [...args, q.limit],
        "could not list objects in date-added order",
      );
    },
    async reissuedMark(agreementId) {
      const rows = await all<{ seq: number }>(
        "SELECT seq FROM taxii_reissued_mark WHERE agreement_id = ?",
        [agreementId],
        "could not read the re-issued id index",
      );
      return rows[0]?.seq ?? 0;
    },
    async addedIds(afterSeq, limit) {
      return all<{ seq: number; id: string }>(
        "SELECT seq, id FROM objects WHERE seq > ? ORDER BY seq LIMIT ?",
        [afterSeq, limit],
        "could not read the date-added index",
      );
    },
    async indexReissued(agreementId, entries, uptoSeq) {
      await exec.atomic("could not update the re-issued id index", () => {
        const put = prepared(
          db,
          `INSERT INTO taxii_reissued (agreement_id, reissued_id, original_id) VALUES (?, ?, ?)
           ON CONFLICT DO NOTHING`,
        );
        for (const e of entries) put.run(agreementId, e.reissuedId, e.originalId);
        prepared(
          db,
          `INSERT INTO taxii_reissued_mark (agreement_id, seq) VALUES (?, ?)
           ON CONFLICT (agreement_id) DO UPDATE SET seq = max(seq, excluded.seq)`,
        ).run(agreementId, uptoSeq);
      });
    },
    async originalIds(agreementIds, ids) {
      const rows = await all<{ original_id: string }>(
        `SELECT DISTINCT original_id FROM taxii_reissued
         WHERE agreement_id IN (SELECT value FROM json_each(?))
           AND reissued_id IN (SELECT value FROM json_each(?))`,
        [JSON.stringify(agreementIds), JSON.stringify(ids)],
        "could not read the re-issued id index",
      );
      return rows.map((r) => r.original_id);
    },
    async addedVersions(id) {
      const rows = await all<AddedRow>(
        `SELECT ${COLUMNS} ${FROM} WHERE o.id = ? ORDER BY o.version_key, o.version`,
        [id],
        "could not read the object's versions",
      );
      return rows.map(toEntry);
    },
    async deleteObject(id, versions) {
      return exec.atomic("could not delete the object", () => {
        if (versions === "all")
          return prepared(db, "DELETE FROM objects WHERE id = ?").run(id).changes;
        const keys = versions.map((v) => versionKey(v));
        return prepared(
          db,
          "DELETE FROM objects WHERE id = ? AND version_key IN (SELECT value FROM json_each(?))",
        ).run(id, JSON.stringify(keys)).changes;
      });
    },
    async putCredential(c) {
      const existing = await this.getCredential(c.id);
      if (existing !== undefined)
        throw new AccordError("ERR_BAD_REQUEST", `a TAXII credential \`${c.id}\` exists already`);
      await exec.run("could not store the TAXII credential", () =>
        prepared(
          db,
          `INSERT INTO taxii_credentials (id, partner, purpose, agreement_id, can_read, can_write,
             secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          c.id,
          c.partner,
          c.purpose,
          c.agreementId,
          c.canRead ? 1 : 0,
          c.canWrite ? 1 : 0,
          c.secretHash,
          c.createdAt,
        ),
      );
    },
    async getCredential(id) {
      const rows = await all<CredentialRow>(
        "SELECT * FROM taxii_credentials WHERE id = ?",
        [id],
        "could not read the TAXII credential",
      );
      return rows[0] === undefined ? undefined : toCredential(rows[0]);
    },
    async listCredentials() {
      const rows = await all<CredentialRow>(
        "SELECT * FROM taxii_credentials ORDER BY id",
        [],
        "could not list TAXII credentials",
      );
      return rows.map(toCredential);
    },
    async removeCredential(id) {
      const info = await exec.run("could not remove the TAXII credential", () =>
        prepared(db, "DELETE FROM taxii_credentials WHERE id = ?").run(id),
      );
      return info.changes === 1;
    },
    async putStatus(s: TaxiiStatusRecord) {
      await exec.run("could not store the TAXII status", () =>
        prepared(
          db,
          "INSERT INTO taxii_status (id, owner, created_at, body) VALUES (?, ?, ?, ?)",
        ).run(s.id, s.owner, s.createdAt, JSON.stringify(s.body)),
      );
    },
    async getStatus(id) {
      const rows = await all<{ id: string; owner: string; created_at: string; body: string }>(
        "SELECT id, owner, created_at, body FROM taxii_status WHERE id = ?",
        [id],
        "could not read the TAXII status",
      );
      const r = rows[0];
      return r === undefined
        ? undefined
        : {
            id: r.id,
            owner: r.owner,
            createdAt: r.created_at,
            body: JSON.parse(r.body) as Record<string, unknown>,
          };
    },
  };
}

function toEntry(row: AddedRow): AddedEntry {
  return {
    seq: row.seq,
    dateAddedUs: row.date_added_us,
    stored: toStoredObject(row),
  };
}

function toCredential(r: CredentialRow): TaxiiCredential {
  return {
    id: r.id,
    partner: r.partner,
    purpose: r.purpose,
    agreementId: r.agreement_id,
    canRead: r.can_read === 1,
    canWrite: r.can_write === 1,
    secretHash: r.secret_hash,
    createdAt: r.created_at,
  };
}
