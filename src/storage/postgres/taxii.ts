/**
 * The PostgreSQL TaxiiRepo (src/app/ports.ts): object versions in date-added order over the
 * `object_added` table that migration 7's trigger keeps in step with `objects`, TAXII client
 * credentials (secret hashes only) and status resources (spec/taxii.md, "Storage").
 *
 * Pages are keyset ranges on `object_added.seq`. Lists travel as text[] parameters, so the
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

const COLUMNS = `a.seq, a.date_added_us, o.object, o.originator, o.received_from, o.agreement_id,
  o.agreement_version, o.purpose, o.retention_until, o.envelope_id, o.stored_at`;
const FROM = "FROM object_added a JOIN objects o ON o.id = a.id AND o.version = a.version";
const IS_LAST = `NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id
  AND (n.version_key, n.version) > (o.version_key, o.version))`;
const IS_FIRST = `NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id
  AND (n.version_key, n.version) < (o.version_key, o.version))`;

function q<R extends QueryResultRow = Record<string, never>>(text: string): Sql<R> {
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 16);
  return { name: `accord_taxii_${digest}`, text };
}

const S = {
  seqAtOrBefore: q<{ s: string | null }>(
    "SELECT max(seq) AS s FROM object_added WHERE date_added_us <= $1",
  ),
  versions: q<AddedRow>(
    `SELECT ${COLUMNS} ${FROM} WHERE a.id = $1 ORDER BY o.version_key, o.version`,
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
    "SELECT seq, id FROM object_added WHERE seq > $1 ORDER BY seq LIMIT $2",
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
    const where = ["a.seq > $1"];
    const param = (v: unknown): string => {
      values.push(v);
      return `$${values.length}`;
    };
    if (aq.ids !== undefined) where.push(`a.id = ANY(${param(aq.ids)}::text[])`);
    if (aq.types !== undefined) where.push(`a.type = ANY(${param(aq.types)}::text[])`);
    if (aq.specVersions !== undefined)
      where.push(`a.spec_version = ANY(${param(aq.specVersions)}::text[])`);
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
          `SELECT ${COLUMNS} ${FROM} WHERE ${where} ORDER BY a.seq LIMIT $${values.length + 1}`,
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
          `SELECT a.seq, a.date_added_us, a.id, a.version, o.object::text AS json
           ${FROM} WHERE ${where} ORDER BY a.seq LIMIT $${values.length + 1}`,
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
