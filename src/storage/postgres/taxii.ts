/**
 * The PostgreSQL TaxiiRepo (src/app/ports.ts): object versions in date-added order (the objects
 * table's `seq`, migration 21), TAXII client credentials (secret hashes only) and status
 * resources (spec/taxii.md, "Storage").
 *
 * Pages are keyset ranges on `objects.seq`. Lists travel as text[] parameters, so the
 * statement text depends only on which filters are present; each text is a named statement.
 */
import { createHash } from "node:crypto";
import type { QueryResultRow } from "pg";
import type {
  AddedEntry,
  AddedQuery,
  TaxiiCredential,
  TaxiiRepo,
  TaxiiStatusRecord,
} from "../../app/ports.js";
import type { StixObject } from "../../core/stix/object.js";
import { AccordError } from "../../errors.js";
import { objectVersionKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";

interface AddedRow {
  seq: string;
  date_added_us: string;
  object: StixObject;
  originator: string;
  received_from: string | null;
  agreement_id: string | null;
  agreement_version: string | null;
  purpose: string | null;
  retention_until: string | null;
  envelope_id: string | null;
  stored_at: string;
}

interface CredentialRow {
  id: string;
  partner: string;
  purpose: string;
  agreement_id: string | null;
  can_read: boolean;
  can_write: boolean;
  secret_hash: string;
  created_at: string;
}

const COLUMNS = `o.seq, o.date_added_us, o.object, o.originator, o.received_from, o.agreement_id,
  o.agreement_version, o.purpose, o.retention_until, o.envelope_id, o.stored_at`;
const FROM = "FROM objects o";
const IS_LAST = "o.is_last";
const IS_FIRST = `NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id
  AND (n.version_key, n.version) < (o.version_key, o.version))`;

function q<R extends QueryResultRow = Record<string, never>>(text: string): Sql<R> {
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 16);
  return { name: `accord_taxii_${digest}`, text };
}

const S = {
  seqAtOrBefore: q<{ s: string | null }>(
    "SELECT max(seq) AS s FROM objects WHERE date_added_us <= $1",
  ),
  versions: q<AddedRow>(
    `SELECT ${COLUMNS} ${FROM} WHERE o.id = $1 ORDER BY o.version_key, o.version`,
  ),
  deleteAll: q("DELETE FROM objects WHERE id = $1"),
  deleteSome: q("DELETE FROM objects WHERE id = $1 AND version_key = ANY($2::text[])"),
  credentialPut: q(
    `INSERT INTO taxii_credentials (id, partner, purpose, agreement_id, can_read, can_write,
       secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO NOTHING`,
  ),
  credentialGet: q<CredentialRow>("SELECT * FROM taxii_credentials WHERE id = $1"),
  credentialList: q<CredentialRow>("SELECT * FROM taxii_credentials ORDER BY id"),
  credentialRemove: q("DELETE FROM taxii_credentials WHERE id = $1"),
  statusPut: q(
    "INSERT INTO taxii_status (id, owner, created_at, body) VALUES ($1, $2, $3, $4::jsonb)",
  ),
  reissuedMark: q<{ seq: string }>("SELECT seq FROM taxii_reissued_mark WHERE agreement_id = $1"),
  addedIds: q<{ seq: string; id: string }>(
    "SELECT seq, id FROM objects WHERE seq > $1 ORDER BY seq LIMIT $2",
  ),
  reissuedPut: q(
    `INSERT INTO taxii_reissued (agreement_id, reissued_id, original_id)
     SELECT $1, r, o FROM unnest($2::text[], $3::text[]) AS u(r, o)
     ON CONFLICT DO NOTHING`,
  ),
  reissuedMarkPut: q(
    `INSERT INTO taxii_reissued_mark (agreement_id, seq) VALUES ($1, $2)
     ON CONFLICT (agreement_id) DO UPDATE
       SET seq = greatest(taxii_reissued_mark.seq, excluded.seq)`,
  ),
  originalIds: q<{ original_id: string }>(
    `SELECT DISTINCT original_id FROM taxii_reissued
     WHERE agreement_id = ANY($1::text[]) AND reissued_id = ANY($2::text[])`,
  ),
  statusGet: q<{ id: string; owner: string; created_at: string; body: Record<string, unknown> }>(
    "SELECT id, owner, created_at, body FROM taxii_status WHERE id = $1",
  ),
};

/**
 * Migration 21: one table for objects and their date-added order (spec/taxii.md, "Storage"), as
 * for SQLite: `seq` (now the primary key), `date_added_us`, `spec_version` and `is_last` are
 * columns of `objects`, and `object_added` is gone. A BEFORE INSERT trigger takes them from the
 * one-row head with UPDATE, whose row lock is held to commit, so inserting transactions still
 * serialise there and seq order stays commit order. The unique `(id, version_key, version)`
 * index replaces the `(id, version)` primary key. The last-version flag moves on insert and,
 * when an id's last version is deleted, to the next one.
 */
export const TAXII_ONE_TABLE_MIGRATION_SQL = `
  ALTER TABLE objects ADD COLUMN seq bigint, ADD COLUMN spec_version text COLLATE "C",
    ADD COLUMN date_added_us bigint, ADD COLUMN is_last boolean;
  UPDATE objects o SET seq = a.seq, spec_version = a.spec_version,
      date_added_us = a.date_added_us,
      is_last = NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id
        AND (n.version_key, n.version) > (o.version_key, o.version))
    FROM object_added a WHERE a.id = o.id AND a.version = o.version;
  DROP TRIGGER object_added_insert ON objects;
  DROP TRIGGER object_added_delete ON objects;
  DROP FUNCTION accord_object_added();
  DROP TABLE object_added;
  ALTER TABLE objects ALTER COLUMN seq SET NOT NULL, ALTER COLUMN spec_version SET NOT NULL,
    ALTER COLUMN date_added_us SET NOT NULL, ALTER COLUMN is_last SET NOT NULL;
  ALTER TABLE objects DROP CONSTRAINT objects_pkey;
  ALTER TABLE objects ADD PRIMARY KEY (seq);
  DROP INDEX objects_by_version;
  CREATE UNIQUE INDEX objects_by_version ON objects (id, version_key DESC, version DESC);
  CREATE INDEX objects_by_type_seq ON objects (type, seq);
  CREATE INDEX objects_by_date ON objects (date_added_us);

  CREATE FUNCTION accord_object_order() RETURNS trigger LANGUAGE plpgsql AS $f$
  BEGIN
    UPDATE object_added_head
       SET next_seq = next_seq + 1,
           last_us = greatest(last_us + 1, accord_stored_us(NEW.stored_at))
     RETURNING next_seq - 1, last_us INTO NEW.seq, NEW.date_added_us;
    NEW.spec_version := coalesce(NEW.object->>'spec_version', '2.1');
    NEW.is_last := NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = NEW.id
      AND (n.version_key, n.version) > (NEW.version_key, NEW.version));
    RETURN NEW;
  END $f$;
  CREATE FUNCTION accord_object_last() RETURNS trigger LANGUAGE plpgsql AS $f$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      IF NEW.is_last THEN
        UPDATE objects SET is_last = false WHERE id = NEW.id AND is_last AND seq <> NEW.seq;
      END IF;
    ELSIF OLD.is_last THEN
      UPDATE objects SET is_last = true WHERE seq = (SELECT seq FROM objects WHERE id = OLD.id
        ORDER BY version_key DESC, version DESC LIMIT 1);
    END IF;
    RETURN NULL;
  END $f$;
  CREATE TRIGGER objects_order BEFORE INSERT ON objects
    FOR EACH ROW EXECUTE FUNCTION accord_object_order();
  CREATE TRIGGER objects_last AFTER INSERT OR DELETE ON objects
    FOR EACH ROW EXECUTE FUNCTION accord_object_last();
`;

/**
 * Migration 26: an insert of a version already stored is skipped by the BEFORE INSERT trigger
 * itself, before it takes the one-row head. PostgreSQL runs BEFORE ROW triggers ahead of the
 * `ON CONFLICT DO NOTHING` check, so under migration 21 a duplicate (a redelivery, a re-pull, a
 * partner's repeated POST) still updated the head: it consumed a seq, moved `last_us`, and held
 * the head's row lock to commit, serialising every other inserting transaction behind a write
 * that stores nothing. Skipping the row (RETURN NULL) is what `ON CONFLICT DO NOTHING` does;
 * a duplicate racing an uncommitted insert of the same version still reaches the unique index,
 * which settles it as before.
 */
export const OBJECT_DUPLICATE_SKIP_MIGRATION_SQL = `
  CREATE OR REPLACE FUNCTION accord_object_order() RETURNS trigger LANGUAGE plpgsql AS $f$
  BEGIN
    IF EXISTS (SELECT 1 FROM objects n WHERE n.id = NEW.id AND n.version_key = NEW.version_key
        AND n.version = NEW.version) THEN
      RETURN NULL;
    END IF;
    UPDATE object_added_head
       SET next_seq = next_seq + 1,
           last_us = greatest(last_us + 1, accord_stored_us(NEW.stored_at))
     RETURNING next_seq - 1, last_us INTO NEW.seq, NEW.date_added_us;
    NEW.spec_version := coalesce(NEW.object->>'spec_version', '2.1');
    NEW.is_last := NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = NEW.id
      AND (n.version_key, n.version) > (NEW.version_key, NEW.version));
    RETURN NEW;
  END $f$;
`;

export function taxiiRepo({ query, atomic }: Exec): TaxiiRepo {
  /** The WHERE clause and its values (the limit goes last) for a keyset query. */
  const filter = async (aq: AddedQuery): Promise<{ where: string; values: unknown[] }> => {
    if (!Number.isSafeInteger(aq.limit) || aq.limit < 1)
      throw new RangeError("limit must be a positive integer");
    let afterSeq = aq.afterSeq;
    if (aq.addedAfterUs !== undefined) {
      const { rows } = await query("could not read the date-added index", S.seqAtOrBefore, [
        aq.addedAfterUs,
      ]);
      afterSeq = Math.max(afterSeq, Number(rows[0]?.s ?? 0));
    }
    const values: unknown[] = [afterSeq];
    const where = ["o.seq > $1"];
    const param = (v: unknown): string => {
      values.push(v);
      return `$${values.length}`;
    };
    if (aq.ids !== undefined) where.push(`o.id = ANY(${param(aq.ids)}::text[])`);
    if (aq.types !== undefined) where.push(`o.type = ANY(${param(aq.types)}::text[])`);
    if (aq.specVersions !== undefined)
      where.push(`o.spec_version = ANY(${param(aq.specVersions)}::text[])`);
    const versions = aq.versions ?? ["last"];
    if (!versions.includes("all")) {
      const any: string[] = [];
      if (versions.includes("last")) any.push(IS_LAST);
      if (versions.includes("first")) any.push(IS_FIRST);
      const explicit = versions.filter((v) => v !== "last" && v !== "first");
      if (explicit.length > 0)
        any.push(`o.version_key = ANY(${param(explicit.map((v) => objectVersionKey(v)))}::text[])`);
      where.push(`(${any.join(" OR ")})`);
    }
    return { where: where.join(" AND "), values };
  };
  return {
    async added(aq: AddedQuery) {
      const { where, values } = await filter(aq);
      const { rows } = await query(
        "could not list objects in date-added order",
        q<AddedRow>(
          `SELECT ${COLUMNS} ${FROM} WHERE ${where} ORDER BY o.seq LIMIT $${values.length + 1}`,
        ),
        [...values, aq.limit],
      );
      return rows.map(toEntry);
    },
    async addedJson(aq: AddedQuery) {
      const { where, values } = await filter(aq);
      const { rows } = await query(
        "could not list objects in date-added order",
        q<{ seq: string; date_added_us: string; id: string; version: string; json: string }>(
          `SELECT o.seq, o.date_added_us, o.id, o.version, o.object::text AS json
           ${FROM} WHERE ${where} ORDER BY o.seq LIMIT $${values.length + 1}`,
        ),
        [...values, aq.limit],
      );
      return rows.map((r) => ({
        seq: Number(r.seq),
        dateAddedUs: Number(r.date_added_us),
        id: r.id,
        version: r.version,
        json: r.json,
      }));
    },
    async reissuedMark(agreementId) {
      const { rows } = await query("could not read the re-issued id index", S.reissuedMark, [
        agreementId,
      ]);
      return Number(rows[0]?.seq ?? 0);
    },
    async addedIds(afterSeq, limit) {
      const { rows } = await query("could not read the date-added index", S.addedIds, [
        afterSeq,
        limit,
      ]);
      return rows.map((r) => ({ seq: Number(r.seq), id: r.id }));
    },
    async indexReissued(agreementId, entries, uptoSeq) {
      await atomic(async (qy) => {
        if (entries.length > 0)
          await qy("could not update the re-issued id index", S.reissuedPut, [
            agreementId,
            entries.map((e) => e.reissuedId),
            entries.map((e) => e.originalId),
          ]);
        await qy("could not update the re-issued id index", S.reissuedMarkPut, [
          agreementId,
          uptoSeq,
        ]);
      });
    },
    async originalIds(agreementIds, ids) {
      const { rows } = await query("could not read the re-issued id index", S.originalIds, [
        agreementIds,
        ids,
      ]);
      return rows.map((r) => r.original_id);
    },
    async addedVersions(id) {
      const { rows } = await query("could not read the object's versions", S.versions, [id]);
      return rows.map(toEntry);
    },
    async deleteObject(id, versions) {
      return atomic(async (qy) => {
        const r =
          versions === "all"
            ? await qy("could not delete the object", S.deleteAll, [id])
            : await qy("could not delete the object", S.deleteSome, [
                id,
                versions.map((v) => objectVersionKey(v)),
              ]);
        return r.rowCount;
      });
    },
    async putCredential(c: TaxiiCredential) {
      const { rowCount } = await query("could not store the TAXII credential", S.credentialPut, [
        c.id,
        c.partner,
        c.purpose,
        c.agreementId,
        c.canRead,
        c.canWrite,
        c.secretHash,
        c.createdAt,
      ]);
      if (rowCount !== 1)
        throw new AccordError("ERR_BAD_REQUEST", `a TAXII credential \`${c.id}\` exists already`);
    },
    async getCredential(id) {
      const { rows } = await query("could not read the TAXII credential", S.credentialGet, [id]);
      return rows[0] === undefined ? undefined : toCredential(rows[0]);
    },
    async listCredentials() {
      const { rows } = await query("could not list TAXII credentials", S.credentialList, []);
      return rows.map(toCredential);
    },
    async removeCredential(id) {
      const { rowCount } = await query(
        "could not remove the TAXII credential",
        S.credentialRemove,
        [id],
      );
      return rowCount === 1;
    },
    async putStatus(s: TaxiiStatusRecord) {
      await query("could not store the TAXII status", S.statusPut, [
        s.id,
        s.owner,
        s.createdAt,
        JSON.stringify(s.body),
      ]);
    },
    async getStatus(id) {
      const { rows } = await query("could not read the TAXII status", S.statusGet, [id]);
      const r = rows[0];
      return r === undefined
        ? undefined
        : { id: r.id, owner: r.owner, createdAt: r.created_at, body: r.body };
    },
  };
}

/** Migration 9: the re-issued id index of partner collections (see the SQLite adapter). */
export const TAXII_REISSUED_MIGRATION_SQL = `
  CREATE TABLE taxii_reissued (
    agreement_id text COLLATE "C" NOT NULL,
    reissued_id  text COLLATE "C" NOT NULL,
    original_id  text COLLATE "C" NOT NULL,
    PRIMARY KEY (agreement_id, reissued_id, original_id)
  );
  CREATE TABLE taxii_reissued_mark (
    agreement_id text COLLATE "C" PRIMARY KEY,
    seq          bigint NOT NULL
  );
`;

function toEntry(row: AddedRow): AddedEntry {
  return {
    seq: Number(row.seq),
    dateAddedUs: Number(row.date_added_us),
    stored: {
      object: row.object,
      provenance: {
        originator: row.originator,
        receivedFrom: row.received_from,
        agreementId: row.agreement_id,
        agreementVersion: row.agreement_version === null ? null : Number(row.agreement_version),
        purpose: row.purpose,
        retentionUntil: row.retention_until,
        envelopeId: row.envelope_id,
      },
      storedAt: row.stored_at,
    },
  };
}

function toCredential(r: CredentialRow): TaxiiCredential {
  return {
    id: r.id,
    partner: r.partner,
    purpose: r.purpose,
    agreementId: r.agreement_id,
    canRead: r.can_read,
    canWrite: r.can_write,
    secretHash: r.secret_hash,
    createdAt: r.created_at,
  };
}
