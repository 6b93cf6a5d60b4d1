/**
 * The PostgreSQL repositories behind the ports of src/app/ports.ts: their SQL (named, so each
 * connection prepares a statement once) and the mapping between rows and port records. Where a
 * statement runs (the pool, or a transaction's client) is the caller's `Exec`.
 *
 * Timestamps are text, returned exactly as given; SQL orders and compares them through a derived
 * key (./timekey.ts). JSON is jsonb: objects and peer keys as `JSON.stringify` gives them. Keys
 * come back from jsonb in jsonb's own order; values are unchanged. The log (the `ledger` port)
 * lives in ./log.ts. bigint columns arrive as strings and are converted.
 */
import type { QueryResultRow } from "pg";
import type {
  AgreementRecord,
  AgreementRepo,
  InboxRecord,
  InboxRepo,
  ObjectRepo,
  OutboxItem,
  OutboxRepo,
  OutboxStatus,
  Peer,
  PeerRepo,
  PutResult,
  Repos,
  StoredObject,
} from "../../app/ports.js";
import { versionOf } from "../../core/stix/object.js";
import type { StixObject } from "../../core/stix/object.js";
import { AccordError } from "../../errors.js";
import { instantKey, objectVersionKey } from "./timekey.js";
import { matchRepo } from "./match.js";
import { agreementStateRepo, budgetRepo } from "./agreement-state.js";
import { taxiiRepo } from "./taxii.js";
import { objectRetention, recallRepo } from "./recall.js";
import { nonceRepo, peerKeyRepo } from "./peer-protocol.js";
import { keyRepo } from "./node-keys.js";
import type { Exec, Sql } from "./sql.js";
import { envelopeParam, pendingItem } from "../common/checks.js";

/** A statement with no rows of interest. */
type NoRows = Record<string, never>;

function sql<R extends QueryResultRow = NoRows>(name: string, text: string): Sql<R> {
  return { name: `accord_${name}`, text };
}

interface ObjectRow {
  id: string;
  version: string;
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

interface OutboxRow {
  id: string;
  recipient: string;
  envelope: string | null;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  receipt: string | null;
  agreement_id: string | null;
  agreement_version: number | null;
  cancelled_at: string | null;
  cancel_reason: string | null;
}

interface InboxRow {
  envelope_id: string;
  sender: string;
  envelope_hash: string;
  received_at: string;
  receipt: string;
}

interface PeerRow {
  node_id: string;
  url: string;
  signing_key: Record<string, string>;
  encryption_key: Record<string, string>;
  added_at: string;
}

interface AgreementRow {
  id: string;
  version: string;
  source: string;
  hash: string;
  loaded_at: string;
}

const OUTBOX_COLUMNS = `id, recipient, envelope, status, attempts, next_attempt_at, last_error,
  created_at, delivered_at, receipt, agreement_id, agreement_version, cancelled_at, cancel_reason`;
const OBJECT_COLUMNS = `id, version, object, originator, received_from, agreement_id,
  agreement_version, purpose, retention_until, envelope_id, stored_at`;

const S = {
  objectPut: sql(
    "object_put",
    `INSERT INTO objects (id, version, version_key, type, object, originator, received_from,
       agreement_id, agreement_version, purpose, retention_until, envelope_id, stored_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT DO NOTHING`,
  ),
  // The latest version of each of many ids (`getMany`).
  objectGetMany: sql<ObjectRow>(
    "object_get_many",
    `SELECT DISTINCT ON (id) ${OBJECT_COLUMNS} FROM objects WHERE id = ANY($1::text[])
     ORDER BY id, version_key DESC, version DESC`,
  ),
  objectGet: sql<ObjectRow>(
    "object_get",
    `SELECT ${OBJECT_COLUMNS} FROM objects WHERE id = $1
     ORDER BY version_key DESC, version DESC LIMIT 1`,
  ),
  objectVersions: sql<ObjectRow>(
    "object_versions",
    `SELECT ${OBJECT_COLUMNS} FROM objects WHERE id = $1 ORDER BY version_key, version`,
  ),
  // The latest version of each id by the last-version flag (migration 21), as on SQLite: one
  // row per id read, where DISTINCT ON read and sorted every version of each id in the page.
  objectList: sql<ObjectRow>(
    "object_list",
    `SELECT ${OBJECT_COLUMNS} FROM objects WHERE is_last ORDER BY id LIMIT $1`,
  ),
  objectListAfter: sql<ObjectRow>(
    "object_list_after",
    `SELECT ${OBJECT_COLUMNS} FROM objects WHERE id > $1 AND is_last ORDER BY id LIMIT $2`,
  ),
  objectListType: sql<ObjectRow>(
    "object_list_type",
    `SELECT ${OBJECT_COLUMNS} FROM objects WHERE type = $1 AND is_last ORDER BY id LIMIT $2`,
  ),
  objectListTypeAfter: sql<ObjectRow>(
    "object_list_type_after",
    `SELECT ${OBJECT_COLUMNS} FROM objects WHERE type = $1 AND id > $2 AND is_last
     ORDER BY id LIMIT $3`,
  ),
  objectCount: sql<{ n: string }>("object_count", "SELECT count(*) AS n FROM objects"),

  outboxInsert: sql(
    "outbox_insert",
    `INSERT INTO outbox (id, recipient, envelope, status, attempts, next_attempt_at,
       next_attempt_key, created_at, created_key, agreement_id, agreement_version)
     VALUES ($1, $2, $3, 'pending', 0, $4, $5, $4, $5, $6, $7)`,
  ),
  outboxExpedite: sql(
    "outbox_expedite",
    `UPDATE outbox SET next_attempt_at = $1, next_attempt_key = $2
     WHERE recipient = $3 AND status = 'pending' AND next_attempt_key > $2`,
  ),
  outboxCancel: sql(
    "outbox_cancel",
    `UPDATE outbox SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2,
       envelope = NULL
     WHERE id = $3 AND status = 'pending'`,
  ),
  outboxCancelByAgreement: sql<{ id: string }>(
    "outbox_cancel_by_agreement",
    `UPDATE outbox SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2,
       envelope = NULL
     WHERE agreement_id = $3 AND status = 'pending' RETURNING id`,
  ),
  outboxGet: sql<OutboxRow>("outbox_get", `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = $1`),
  outboxDue: sql<OutboxRow>(
    "outbox_due",
    `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_key <= $1
       AND recipient <> ALL($3::text[])
     ORDER BY created_key, n LIMIT $2`,
  ),
  outboxDelivered: sql(
    "outbox_delivered",
    `UPDATE outbox SET status = 'delivered', receipt = $1, delivered_at = $2, envelope = NULL
     WHERE id = $3 AND status = 'pending'`,
  ),
  outboxFailed: sql(
    "outbox_failed",
    `UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
       next_attempt_key = $3
     WHERE id = $4 AND status = 'pending'`,
  ),
  outboxList: sql<OutboxRow>(
    "outbox_list",
    `SELECT ${OUTBOX_COLUMNS} FROM outbox ORDER BY created_key, n LIMIT $1`,
  ),
  outboxListStatus: sql<OutboxRow>(
    "outbox_list_status",
    `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE status = $1 ORDER BY created_key, n LIMIT $2`,
  ),

  inboxGet: sql<InboxRow>(
    "inbox_get",
    `SELECT envelope_id, sender, envelope_hash, received_at, receipt FROM inbox
     WHERE envelope_id = $1`,
  ),
  inboxRecord: sql(
    "inbox_record",
    `INSERT INTO inbox (envelope_id, sender, envelope_hash, received_at, receipt)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (envelope_id) DO NOTHING`,
  ),

  peerUpsert: sql(
    "peer_upsert",
    `INSERT INTO peers (node_id, url, signing_key, encryption_key, added_at)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)
     ON CONFLICT (node_id) DO UPDATE SET url = EXCLUDED.url, signing_key = EXCLUDED.signing_key,
       encryption_key = EXCLUDED.encryption_key, added_at = EXCLUDED.added_at`,
  ),
  peerGet: sql<PeerRow>(
    "peer_get",
    "SELECT node_id, url, signing_key, encryption_key, added_at FROM peers WHERE node_id = $1",
  ),
  peerList: sql<PeerRow>(
    "peer_list",
    "SELECT node_id, url, signing_key, encryption_key, added_at FROM peers ORDER BY node_id",
  ),

  agreementInsert: sql(
    "agreement_insert",
    `INSERT INTO agreements (id, version, source, hash, loaded_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id, version) DO NOTHING`,
  ),
  agreementGet: sql<AgreementRow>(
    "agreement_get",
    "SELECT id, version, source, hash, loaded_at FROM agreements WHERE id = $1 AND version = $2",
  ),
  agreementLatest: sql<AgreementRow>(
    "agreement_latest",
    `SELECT DISTINCT ON (id) id, version, source, hash, loaded_at FROM agreements
     ORDER BY id, version DESC`,
  ),
} as const;

/** The six repositories, each statement run through `exec`. */
export function makeRepos(exec: Exec): Omit<Repos, "ledger"> {
  return {
    objects: { ...objectRepo(exec), ...objectRetention(exec) },
    recalls: recallRepo(exec),
    outbox: outboxRepo(exec),
    inbox: inboxRepo(exec),
    peers: peerRepo(exec),
    agreements: agreementRepo(exec),
    match: matchRepo(exec),
    agreementState: agreementStateRepo(exec),
    budgets: budgetRepo(exec),
    taxii: taxiiRepo(exec),
    nonces: nonceRepo(exec),
    peerKeys: peerKeyRepo(exec),
    keys: keyRepo(exec),
  };
}

/** The values of `objectPut` for one stored version (seq and date added: the trigger's). */
function putValues({ object, provenance: p, storedAt }: StoredObject): unknown[] {
  const version = versionOf(object);
  return [
    object.id,
    version,
    objectVersionKey(version),
    object.type,
    JSON.stringify(object),
    p.originator,
    p.receivedFrom,
    p.agreementId,
    p.agreementVersion,
    p.purpose,
    p.retentionUntil,
    p.envelopeId,
    storedAt,
  ];
}

/** Ids per statement of `getMany`. */
const GET_IDS = 1000;

function objectRepo({ query, atomic }: Exec): Omit<ObjectRepo, "purge" | "expired"> {
  return {
    async putMany(entries) {
      return atomic(async (qy) => {
        const out: PutResult[] = [];
        for (const e of entries) {
          const { rowCount } = await qy("could not store the object", S.objectPut, putValues(e));
          out.push(rowCount === 1 ? "inserted" : "unchanged");
        }
        return out;
      });
    },
    async put(entry) {
      const { rowCount } = await query("could not store the object", S.objectPut, putValues(entry));
      return rowCount === 1 ? "inserted" : "unchanged";
    },
    async get(id) {
      const { rows } = await query("could not read the object", S.objectGet, [id]);
      const row = rows[0];
      return row === undefined ? undefined : toStoredObject(row);
    },
    async getMany(ids) {
      const byId = new Map<string, StoredObject>();
      for (let i = 0; i < ids.length; i += GET_IDS) {
        const { rows } = await query("could not read the objects", S.objectGetMany, [
          ids.slice(i, i + GET_IDS),
        ]);
        for (const row of rows) byId.set(row.id, toStoredObject(row));
      }
      return ids.map((id) => byId.get(id));
    },
    async versions(id) {
      const { rows } = await query("could not read the object's versions", S.objectVersions, [id]);
      return rows.map(toStoredObject);
    },
    async list({ type, afterId, limit }) {
      nonNegative(limit, "limit");
      const [statement, values] =
        type === undefined
          ? afterId === undefined
            ? [S.objectList, [limit]]
            : [S.objectListAfter, [afterId, limit]]
          : afterId === undefined
            ? [S.objectListType, [type, limit]]
            : [S.objectListTypeAfter, [type, afterId, limit]];
      const { rows } = await query("could not list objects", statement, values);
      return rows.map(toStoredObject);
    },
    async count() {
      const { rows } = await query("could not count objects", S.objectCount, []);
      return Number(rows[0]?.n ?? 0);
    },
  };
}

function toStoredObject(row: ObjectRow): StoredObject {
  return {
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
  };
}

function outboxRepo({ query }: Exec): OutboxRepo {
  return {
    async enqueue({ id, recipient, envelope, createdAt, agreement }) {
      const key = instantKey(createdAt, "an outbox item's `createdAt`");
      // Bytes go as a binary parameter, which PostgreSQL reads as the text's UTF-8 as is.
      await query("could not enqueue the envelope", S.outboxInsert, [
        id,
        recipient,
        envelopeParam(envelope),
        createdAt,
        key,
        agreement?.id ?? null,
        agreement?.version ?? null,
      ]);
    },
    async cancel(id, reason, at) {
      instantKey(at, "`at`");
      const { rowCount } = await query("could not update the outbox", S.outboxCancel, [
        at,
        reason,
        id,
      ]);
      return rowCount === 1;
    },
    async expedite(recipient, now) {
      const key = instantKey(now, "`now`");
      const { rowCount } = await query("could not update the outbox", S.outboxExpedite, [
        now,
        key,
        recipient,
      ]);
      return rowCount;
    },
    async cancelByAgreement(agreementId, reason, at) {
      instantKey(at, "`at`");
      const { rows } = await query("could not update the outbox", S.outboxCancelByAgreement, [
        at,
        reason,
        agreementId,
      ]);
      return rows.map((r) => r.id).sort();
    },
    async get(id) {
      const { rows } = await query("could not read the outbox", S.outboxGet, [id]);
      const row = rows[0];
      return row === undefined ? undefined : toOutboxItem(row);
    },
    async due(now, limit, except = []) {
      const key = instantKey(now, "`now`");
      nonNegative(limit, "limit");
      const { rows } = await query("could not read the outbox", S.outboxDue, [key, limit, except]);
      return rows.map((r) => pendingItem(toOutboxItem(r)));
    },
    async markDelivered(id, receipt, at) {
      const { rowCount } = await query("could not update the outbox", S.outboxDelivered, [
        receipt,
        at,
        id,
      ]);
      return rowCount === 1;
    },
    async markFailed(id, error, nextAttemptAt) {
      const key = instantKey(nextAttemptAt, "`nextAttemptAt`");
      await query("could not update the outbox", S.outboxFailed, [error, nextAttemptAt, key, id]);
    },
    async list({ status, limit }) {
      nonNegative(limit, "limit");
      const { rows } =
        status === undefined
          ? await query("could not read the outbox", S.outboxList, [limit])
          : await query("could not read the outbox", S.outboxListStatus, [status, limit]);
      return rows.map(toOutboxItem);
    },
  };
}

function toOutboxItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    recipient: row.recipient,
    envelope: row.envelope,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    receipt: row.receipt,
    agreementId: row.agreement_id,
    agreementVersion: row.agreement_version,
    cancelledAt: row.cancelled_at,
    cancelReason: row.cancel_reason,
  };
}

function inboxRepo({ query }: Exec): InboxRepo {
  return {
    async get(envelopeId) {
      const { rows } = await query("could not read the inbox", S.inboxGet, [envelopeId]);
      const row = rows[0];
      return row === undefined ? undefined : toInboxRecord(row);
    },
    async record(rec) {
      const { rowCount } = await query("could not record the envelope", S.inboxRecord, [
        rec.envelopeId,
        rec.sender,
        rec.envelopeHash,
        rec.receivedAt,
        rec.receipt,
      ]);
      return rowCount === 1;
    },
  };
}

function toInboxRecord(row: InboxRow): InboxRecord {
  return {
    envelopeId: row.envelope_id,
    sender: row.sender,
    envelopeHash: row.envelope_hash,
    receivedAt: row.received_at,
    receipt: row.receipt,
  };
}

function peerRepo({ query }: Exec): PeerRepo {
  return {
    async upsert(peer) {
      await query("could not store the peer", S.peerUpsert, [
        peer.nodeId,
        peer.url,
        JSON.stringify(peer.signingKey),
        JSON.stringify(peer.encryptionKey),
        peer.addedAt,
      ]);
    },
    async get(nodeId) {
      const { rows } = await query("could not read the peer", S.peerGet, [nodeId]);
      const row = rows[0];
      return row === undefined ? undefined : toPeer(row);
    },
    async list() {
      const { rows } = await query("could not list peers", S.peerList, []);
      return rows.map(toPeer);
    },
  };
}

function toPeer(row: PeerRow): Peer {
  return {
    nodeId: row.node_id,
    url: row.url,
    signingKey: row.signing_key,
    encryptionKey: row.encryption_key,
    addedAt: row.added_at,
  };
}

function agreementRepo({ query }: Exec): AgreementRepo {
  return {
    async put(rec) {
      const inserted = await query("could not store the agreement", S.agreementInsert, [
        rec.id,
        rec.version,
        rec.source,
        rec.hash,
        rec.loadedAt,
      ]);
      if (inserted.rowCount === 1) return "inserted";
      const { rows } = await query("could not read the agreement", S.agreementGet, [
        rec.id,
        rec.version,
      ]);
      if (rows[0]?.hash === rec.hash) return "unchanged";
      throw new AccordError(
        "ERR_AGREEMENT_INVALID",
        `agreement \`${rec.id}\` version ${rec.version} is already held with another hash; publish a new version instead`,
      );
    },
    async get(id, version) {
      const { rows } = await query("could not read the agreement", S.agreementGet, [id, version]);
      const row = rows[0];
      return row === undefined ? undefined : toAgreement(row);
    },
    async listLatest() {
      const { rows } = await query("could not list agreements", S.agreementLatest, []);
      return rows.map(toAgreement);
    },
  };
}

function toAgreement(row: AgreementRow): AgreementRecord {
  return {
    id: row.id,
    version: Number(row.version),
    source: row.source,
    hash: row.hash,
    loadedAt: row.loaded_at,
  };
}

function nonNegative(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
}
