/**
 * The SQLite repositories behind the ports of src/app/ports.ts: their SQL, prepared once per
 * connection, and the mapping between rows and port records. How a statement is run (under the
 * store's lock, or inside a transaction that already holds it) is the caller's `Exec`.
 *
 * Timestamps are stored as the exact strings given; where SQL orders or compares them it uses a
 * derived sort key (./timekey.ts). JSON is stored as text: `JSON.stringify` of what was put. The
 * log (the `ledger` port) lives in ./log.ts.
 */
import type { Database, Statement } from "better-sqlite3";
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
  Provenance,
  PutResult,
  Repos,
  StoredObject,
} from "../../app/ports.js";
import { versionOf } from "../../core/stix/object.js";
import { AccordError } from "../../errors.js";
import { timeKey, versionKey } from "./timekey.js";
import { matchRepo } from "./match.js";
import { agreementStateRepo, budgetRepo } from "./agreement-state.js";
import { taxiiRepo } from "./taxii.js";
import { nonceRepo, peerKeyRepo } from "./peer-protocol.js";
import { keyRepo } from "./node-keys.js";
import { objectRetention, recallRepo } from "./recall.js";
import { toStoredObject, type Exec, type ObjectRow } from "./rows.js";
import { envelopeParam, pendingItem } from "../common/checks.js";

interface OutboxRow<Envelope = string> {
  id: string;
  recipient: string;
  envelope: Envelope | null;
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
  signing_key: string;
  encryption_key: string;
  added_at: string;
}

interface AgreementRow {
  id: string;
  version: number;
  source: string;
  hash: string;
  loaded_at: string;
}

const OBJECT_COLUMNS = `id, version, object, originator, received_from, agreement_id,
  agreement_version, purpose, retention_until, envelope_id, stored_at`;

/** Rows `o` that are the latest version of their id (the flag of migration 21). */
const IS_LATEST = "o.is_last = 1";

/**
 * An outbox row with its envelope, which lives in `outbox_envelopes` (migration 17) while the item
 * is pending: migration 27's trigger deletes it when the status changes (delivered, cancelled).
 */
const OUTBOX_COLUMNS = `o.id, o.recipient, e.envelope, o.status, o.attempts, o.next_attempt_at,
  o.last_error, o.created_at, o.delivered_at, o.receipt, o.agreement_id, o.agreement_version,
  o.cancelled_at, o.cancel_reason`;
const OUTBOX_FROM = "outbox o LEFT JOIN outbox_envelopes e ON e.id = o.id";

/** An object insert's arguments before its last-version flag: seq .. date_added_us. */
type ObjectLeading = [number, string, string, string, string, string, number];
/** ... and after it: object .. stored_at. */
type ObjectRest = [
  string,
  string,
  string | null,
  string | null,
  number | null,
  string | null,
  string | null,
  string | null,
  string,
];

/** Every statement the repositories run, prepared once when the store opens. */
export function prepareStatements(db: Database) {
  return {
    // Migration 21: seq and date added come from the head, read and written once per batch by
    // the caller; the new version is the id's last unless a later one is stored.
    objectPut: db.prepare<[...ObjectLeading, string, string, string, ...ObjectRest]>(
      `INSERT INTO objects (seq, id, version, version_key, type, spec_version, date_added_us,
         is_last, object, originator, received_from, agreement_id, agreement_version, purpose,
         retention_until, envelope_id, stored_at)
       VALUES (?, ?, ?, ?, ?, ?, ?,
         NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = ?
           AND (n.version_key, n.version) > (?, ?)),
         ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    /**
     * The insert of a version whose id has no stored version (`objectIdsHeld` said so, and no
     * earlier entry of the batch had it): it is the id's last, and there is nothing to clear.
     */
    objectPutNew: db.prepare<[...ObjectLeading, ...ObjectRest]>(
      `INSERT INTO objects (seq, id, version, version_key, type, spec_version, date_added_us,
         is_last, object, originator, received_from, agreement_id, agreement_version, purpose,
         retention_until, envelope_id, stored_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    /** Which ids of a JSON array have a stored version (one statement for a batch). */
    objectIdsHeld: db.prepare<[string], { id: string }>(
      `SELECT DISTINCT id FROM objects WHERE id IN (SELECT value FROM json_each(?))`,
    ),
    /** After a version is inserted: earlier versions of its id are no longer the last. */
    objectLastClear: db.prepare<[string, string, string]>(
      `UPDATE objects SET is_last = 0
       WHERE id = ? AND is_last = 1 AND (version_key, version) < (?, ?)`,
    ),
    objectHead: db.prepare<[], { next_seq: number; last_us: number }>(
      "SELECT next_seq, last_us FROM object_added_head WHERE singleton = 1",
    ),
    objectHeadSet: db.prepare<[number, number]>(
      "UPDATE object_added_head SET next_seq = ?, last_us = ? WHERE singleton = 1",
    ),
    /** A stored_at as microseconds, as migration 7 computed it (0 when it is not a timestamp). */
    storedUs: db.prepare<[string], { us: number }>(
      "SELECT coalesce(CAST(round(unixepoch(?, 'subsec') * 1000) AS INTEGER) * 1000, 0) AS us",
    ),
    // The latest version of each id of a JSON array (`getMany`).
    objectGetMany: db.prepare<[string], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o
       WHERE id IN (SELECT value FROM json_each(?)) AND ${IS_LATEST}`,
    ),
    objectGet: db.prepare<[string], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects WHERE id = ?
       ORDER BY version_key DESC, version DESC LIMIT 1`,
    ),
    objectVersions: db.prepare<[string], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects WHERE id = ? ORDER BY version_key, version`,
    ),
    objectList: db.prepare<[number], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o WHERE ${IS_LATEST} ORDER BY id LIMIT ?`,
    ),
    objectListAfter: db.prepare<[string, number], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o WHERE id > ? AND ${IS_LATEST} ORDER BY id LIMIT ?`,
    ),
    // A type's ids are the range [`<type>--`, `<type>-.`) of the (id, ...) index ('.' follows
    // '-'), migration 24: every stored object passed STIX validation, whose ids begin with
    // `<type>--`; `type = ?` stays as a filter.
    objectListType: db.prepare<[string, string, string, number], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o WHERE id >= ? AND id < ? AND type = ?
         AND ${IS_LATEST}
       ORDER BY id LIMIT ?`,
    ),
    objectListTypeAfter: db.prepare<[string, string, string, string, number], ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o WHERE id >= ? AND id < ? AND type = ? AND id > ?
         AND ${IS_LATEST}
       ORDER BY id LIMIT ?`,
    ),
    objectCount: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM objects"),

    outboxInsert: db.prepare<
      [string, string, string, string, string, string, string | null, number | null]
    >(
      `INSERT INTO outbox (id, recipient, status, attempts, next_attempt_at,
         next_attempt_key, created_at, created_key, agreement_id, agreement_version)
       VALUES (?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)`,
    ),
    // Bytes bind as a blob, made text by the cast without a conversion (they are ASCII).
    outboxEnvelopeInsert: db.prepare<[string, string | Buffer]>(
      "INSERT INTO outbox_envelopes (id, envelope) VALUES (?, CAST(? AS TEXT))",
    ),
    outboxExpedite: db.prepare<[string, string, string, string]>(
      `UPDATE outbox SET next_attempt_at = ?, next_attempt_key = ?
       WHERE recipient = ? AND status = 'pending' AND next_attempt_key > ?`,
    ),
    outboxCancel: db.prepare<[string, string, string]>(
      `UPDATE outbox SET status = 'cancelled', cancelled_at = ?, cancel_reason = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    outboxCancelByAgreement: db.prepare<[string, string, string], { id: string }>(
      `UPDATE outbox SET status = 'cancelled', cancelled_at = ?, cancel_reason = ?
       WHERE agreement_id = ? AND status = 'pending' RETURNING id`,
    ),
    outboxGet: db.prepare<[string], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM ${OUTBOX_FROM} WHERE o.id = ?`,
    ),
    // The envelope as a BLOB: a Buffer of its bytes, where a TEXT value became a string first
    // (4 MB: 3 ms of CPU against 17 for the string and its bytes, spec/federation.md "Outbox").
    outboxDue: db.prepare<[string, string, number], OutboxRow<Buffer>>(
      `SELECT ${OUTBOX_COLUMNS.replace("e.envelope", "CAST(e.envelope AS BLOB) AS envelope")}
       FROM ${OUTBOX_FROM}
       WHERE o.status = 'pending' AND o.next_attempt_key <= ?
         AND o.recipient NOT IN (SELECT value FROM json_each(?))
       ORDER BY o.created_key, o.n LIMIT ?`,
    ),
    outboxDelivered: db.prepare<[string, string, string]>(
      `UPDATE outbox SET status = 'delivered', receipt = ?, delivered_at = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    outboxFailed: db.prepare<[string, string, string, string]>(
      `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
         next_attempt_key = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    outboxList: db.prepare<[number], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM ${OUTBOX_FROM} ORDER BY o.created_key, o.n LIMIT ?`,
    ),
    outboxListStatus: db.prepare<[string, number], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM ${OUTBOX_FROM} WHERE o.status = ?
       ORDER BY o.created_key, o.n LIMIT ?`,
    ),

    inboxGet: db.prepare<[string], InboxRow>(
      `SELECT envelope_id, sender, envelope_hash, received_at, receipt FROM inbox
       WHERE envelope_id = ?`,
    ),
    inboxRecord: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO inbox (envelope_id, sender, envelope_hash, received_at, receipt)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (envelope_id) DO NOTHING`,
    ),

    peerUpsert: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO peers (node_id, url, signing_key, encryption_key, added_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET url = excluded.url, signing_key = excluded.signing_key,
         encryption_key = excluded.encryption_key, added_at = excluded.added_at`,
    ),
    peerGet: db.prepare<[string], PeerRow>(
      "SELECT node_id, url, signing_key, encryption_key, added_at FROM peers WHERE node_id = ?",
    ),
    peerList: db.prepare<[], PeerRow>(
      "SELECT node_id, url, signing_key, encryption_key, added_at FROM peers ORDER BY node_id",
    ),

    agreementInsert: db.prepare<[string, number, string, string, string]>(
      `INSERT INTO agreements (id, version, source, hash, loaded_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id, version) DO NOTHING`,
    ),
    agreementGet: db.prepare<[string, number], AgreementRow>(
      "SELECT id, version, source, hash, loaded_at FROM agreements WHERE id = ? AND version = ?",
    ),
    agreementLatest: db.prepare<[], AgreementRow>(
      `SELECT a.id, a.version, a.source, a.hash, a.loaded_at FROM agreements a
       WHERE a.version = (SELECT max(b.version) FROM agreements b WHERE b.id = a.id)
       ORDER BY a.id`,
    ),
  } satisfies Record<string, Statement>;
}

export type Statements = ReturnType<typeof prepareStatements>;

/** The six repositories over `s`, each statement run through `exec`. */
/** The repositories of a SQLite store (the ports' and the objects' `putPrepared`), but the log. */
export type SqliteRepos = Omit<Repos, "ledger" | "objects"> & {
  readonly objects: SqliteObjectRepo;
};

export function makeRepos(s: Statements, exec: Exec): SqliteRepos {
  return {
    objects: { ...objectRepo(s, exec), ...objectRetention(s.objectCount.database, exec) },
    recalls: recallRepo(s.objectCount.database, exec),
    outbox: outboxRepo(s, exec),
    inbox: inboxRepo(s, exec),
    peers: peerRepo(s, exec),
    agreements: agreementRepo(s, exec),
    match: matchRepo(s.objectCount.database, exec),
    agreementState: agreementStateRepo(s.agreementGet.database, exec),
    budgets: budgetRepo(s.agreementGet.database, exec),
    taxii: taxiiRepo(s.objectCount.database, exec),
    nonces: nonceRepo(s.objectCount.database, exec),
    peerKeys: peerKeyRepo(s.objectCount.database, exec),
    keys: keyRepo(s.objectCount.database, exec),
  };
}

/** Ids per statement of `getMany`. */
const GET_IDS = 500;

/**
 * An object version ready to insert: what `putMany` computes before it takes the store, all
 * strings and numbers (and the provenance), so that the writer thread receives it cheaply
 * (writer.ts) and does only the inserts.
 */
export interface PreparedObject {
  readonly id: string;
  readonly type: string;
  readonly version: string;
  readonly key: string;
  readonly specVersion: string;
  readonly json: string;
  readonly provenance: Provenance;
  readonly storedAt: string;
}

/** Serialise before taking the store: JSON.stringify is most of the work outside SQLite. */
export function prepareObjects(entries: readonly StoredObject[]): PreparedObject[] {
  return entries.map(({ object, provenance, storedAt }) => {
    const version = versionOf(object);
    return {
      id: object.id,
      type: object.type,
      version,
      key: versionKey(version),
      specVersion: object.spec_version ?? "2.1",
      json: JSON.stringify(object),
      provenance,
      storedAt,
    };
  });
}

/** The SQLite objects repository, with the insert of prepared versions the writer thread runs. */
export type SqliteObjectRepo = ObjectRepo & {
  putPrepared(rows: readonly PreparedObject[]): Promise<PutResult[]>;
};

function objectRepo(s: Statements, exec: Exec): Omit<SqliteObjectRepo, "purge" | "expired"> {
  const putPrepared = (rows: readonly PreparedObject[]): Promise<PutResult[]> =>
    exec.atomic("could not store the object", () => {
      // Date added (spec/taxii.md, "Storage"): the stored_at instant, or one microsecond after
      // the previous version's when that is not later; seq is never reused.
      const head = s.objectHead.get();
      if (head === undefined) throw new Error("object_added_head has no row");
      let seq = head.next_seq;
      let lastUs = head.last_us;
      let storedAt: string | undefined;
      let storedUs = 0;
      // Most batches bring ids this store has never held: those versions are their id's last
      // with no earlier one to clear, so they skip the two lookups of the general insert.
      const held = new Set<string>();
      for (let i = 0; i < rows.length; i += GET_IDS)
        for (const { id } of s.objectIdsHeld.all(
          JSON.stringify(rows.slice(i, i + GET_IDS).map((r) => r.id)),
        ))
          held.add(id);
      const out: PutResult[] = [];
      for (const r of rows) {
        const p = r.provenance;
        if (r.storedAt !== storedAt) {
          storedAt = r.storedAt;
          storedUs = s.storedUs.get(storedAt)?.us ?? 0;
        }
        const dateUs = Math.max(lastUs + 1, storedUs);
        const fresh = !held.has(r.id);
        // Both inserts take the same columns; the general one also binds the "no later version"
        // check's (id, version_key, version) after date_added_us.
        const leading = [seq, r.id, r.version, r.key, r.type, r.specVersion, dateUs] as const;
        const rest = [
          r.json,
          p.originator,
          p.receivedFrom,
          p.agreementId,
          p.agreementVersion,
          p.purpose,
          p.retentionUntil,
          p.envelopeId,
          r.storedAt,
        ] as const;
        const info = fresh
          ? s.objectPutNew.run(...leading, ...rest)
          : s.objectPut.run(...leading, r.id, r.key, r.version, ...rest);
        if (info.changes === 1) {
          if (fresh) held.add(r.id);
          else s.objectLastClear.run(r.id, r.key, r.version);
          seq++;
          lastUs = dateUs;
          out.push("inserted");
        } else out.push("unchanged");
      }
      if (seq !== head.next_seq) s.objectHeadSet.run(seq, lastUs);
      return out;
    });
  const putMany = (entries: readonly StoredObject[]): Promise<PutResult[]> =>
    putPrepared(prepareObjects(entries));
  return {
    putPrepared,
    async put(entry) {
      const [result] = await putMany([entry]);
      return result ?? "unchanged";
    },
    putMany,
    async get(id) {
      const row = await exec.run("could not read the object", () => s.objectGet.get(id));
      return row === undefined ? undefined : toStoredObject(row);
    },
    async getMany(ids) {
      const byId = new Map<string, StoredObject>();
      await exec.run("could not read the objects", () => {
        for (let i = 0; i < ids.length; i += GET_IDS)
          for (const row of s.objectGetMany.all(JSON.stringify(ids.slice(i, i + GET_IDS))))
            byId.set(row.id, toStoredObject(row));
      });
      return ids.map((id) => byId.get(id));
    },
    async versions(id) {
      const rows = await exec.run("could not read the object's versions", () =>
        s.objectVersions.all(id),
      );
      return rows.map(toStoredObject);
    },
    async list(query) {
      const limit = checkLimit(query.limit);
      const { type, afterId } = query;
      const rows = await exec.run("could not list objects", () => {
        if (type === undefined) {
          return afterId === undefined
            ? s.objectList.all(limit)
            : s.objectListAfter.all(afterId, limit);
        }
        const [from, to] = [`${type}--`, `${type}-.`];
        return afterId === undefined
          ? s.objectListType.all(from, to, type, limit)
          : s.objectListTypeAfter.all(from, to, type, afterId, limit);
      });
      return rows.map(toStoredObject);
    },
    async count() {
      const row = await exec.run("could not count objects", () => s.objectCount.get());
      return row?.n ?? 0;
    },
  };
}

function outboxRepo(s: Statements, exec: Exec): OutboxRepo {
  return {
    async enqueue(item) {
      const key = timeKey(item.createdAt, "an outbox item's `createdAt`");
      const envelope = envelopeParam(item.envelope);
      // Both rows or neither (atomic: its own transaction unless one is open).
      await exec.atomic("could not enqueue the envelope", () => {
        s.outboxInsert.run(
          item.id,
          item.recipient,
          item.createdAt,
          key,
          item.createdAt,
          key,
          item.agreement?.id ?? null,
          item.agreement?.version ?? null,
        );
        s.outboxEnvelopeInsert.run(item.id, envelope);
      });
    },
    async cancel(id, reason, at) {
      timeKey(at, "`at`");
      const info = await exec.run("could not update the outbox", () =>
        s.outboxCancel.run(at, reason, id),
      );
      return info.changes === 1;
    },
    async expedite(recipient, now) {
      const key = timeKey(now, "`now`");
      const info = await exec.run("could not update the outbox", () =>
        s.outboxExpedite.run(now, key, recipient, key),
      );
      return info.changes;
    },
    async cancelByAgreement(agreementId, reason, at) {
      timeKey(at, "`at`");
      const rows = await exec.run("could not update the outbox", () =>
        s.outboxCancelByAgreement.all(at, reason, agreementId),
      );
      return rows.map((r) => r.id).sort();
    },
    async get(id) {
      const row = await exec.run("could not read the outbox", () => s.outboxGet.get(id));
      return row === undefined ? undefined : toOutboxItem(row);
    },
    async due(now, limit, except = []) {
      const key = timeKey(now, "`now`");
      checkLimit(limit);
      const skip = JSON.stringify(except);
      const rows = await exec.run("could not read the outbox", () =>
        s.outboxDue.all(key, skip, limit),
      );
      return rows.map((r) => pendingItem(toOutboxItem(r)));
    },
    async markDelivered(id, receipt, at) {
      const info = await exec.run("could not update the outbox", () =>
        s.outboxDelivered.run(receipt, at, id),
      );
      return info.changes === 1;
    },
    async markFailed(id, error, nextAttemptAt) {
      const key = timeKey(nextAttemptAt, "`nextAttemptAt`");
      await exec.run("could not update the outbox", () =>
        s.outboxFailed.run(error, nextAttemptAt, key, id),
      );
    },
    async list(query) {
      const limit = checkLimit(query.limit);
      const { status } = query;
      const rows = await exec.run("could not read the outbox", () =>
        status === undefined ? s.outboxList.all(limit) : s.outboxListStatus.all(status, limit),
      );
      return rows.map(toOutboxItem);
    },
  };
}

function toOutboxItem<Envelope>(
  row: OutboxRow<Envelope>,
): Omit<OutboxItem, "envelope"> & { envelope: Envelope | null } {
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

function inboxRepo(s: Statements, exec: Exec): InboxRepo {
  return {
    async get(envelopeId) {
      const row = await exec.run("could not read the inbox", () => s.inboxGet.get(envelopeId));
      return row === undefined ? undefined : toInboxRecord(row);
    },
    async record(rec) {
      const info = await exec.run("could not record the envelope", () =>
        s.inboxRecord.run(
          rec.envelopeId,
          rec.sender,
          rec.envelopeHash,
          rec.receivedAt,
          rec.receipt,
        ),
      );
      return info.changes === 1;
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

function peerRepo(s: Statements, exec: Exec): PeerRepo {
  return {
    async upsert(peer) {
      const signing = JSON.stringify(peer.signingKey);
      const encryption = JSON.stringify(peer.encryptionKey);
      await exec.run("could not store the peer", () =>
        s.peerUpsert.run(peer.nodeId, peer.url, signing, encryption, peer.addedAt),
      );
    },
    async get(nodeId) {
      const row = await exec.run("could not read the peer", () => s.peerGet.get(nodeId));
      return row === undefined ? undefined : toPeer(row);
    },
    async list() {
      const rows = await exec.run("could not list peers", () => s.peerList.all());
      return rows.map(toPeer);
    },
  };
}

function toPeer(row: PeerRow): Peer {
  return {
    nodeId: row.node_id,
    url: row.url,
    signingKey: JSON.parse(row.signing_key) as Record<string, string>,
    encryptionKey: JSON.parse(row.encryption_key) as Record<string, string>,
    addedAt: row.added_at,
  };
}

function agreementRepo(s: Statements, exec: Exec): AgreementRepo {
  return {
    async put(rec) {
      return exec.run("could not store the agreement", () => {
        const info = s.agreementInsert.run(rec.id, rec.version, rec.source, rec.hash, rec.loadedAt);
        if (info.changes === 1) return "inserted" as const;
        const held = s.agreementGet.get(rec.id, rec.version);
        if (held?.hash === rec.hash) return "unchanged" as const;
        throw conflictingAgreement(rec);
      });
    },
    async get(id, version) {
      const row = await exec.run("could not read the agreement", () =>
        s.agreementGet.get(id, version),
      );
      return row === undefined ? undefined : toAgreement(row);
    },
    async listLatest() {
      const rows = await exec.run("could not list agreements", () => s.agreementLatest.all());
      return rows.map(toAgreement);
    },
  };
}

function conflictingAgreement(rec: AgreementRecord): AccordError {
  return new AccordError(
    "ERR_AGREEMENT_INVALID",
    `agreement \`${rec.id}\` version ${rec.version} is already held with another hash; publish a new version instead`,
  );
}

function toAgreement(row: AgreementRow): AgreementRecord {
  return {
    id: row.id,
    version: row.version,
    source: row.source,
    hash: row.hash,
    loadedAt: row.loaded_at,
  };
}

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  }
  return limit;
}
