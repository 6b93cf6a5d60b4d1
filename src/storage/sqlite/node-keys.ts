/**
 * The SQLite KeyRepo (src/app/ports.ts; migration 8, spec/federation.md "Key rotation"): this
 * node's key history (public halves only), the key-announcement outbox, and partners' revoked
 * keys. Statements are prepared once per connection.
 */
import type { Database } from "better-sqlite3";
import type { KeyRepo } from "../../app/ports.js";
import { jsonText } from "../common/columns.js";
import * as common from "../common/node-keys.js";
import { timeKey } from "./timekey.js";
import type { Exec } from "./rows.js";
import { peerKeyHistory } from "./peer-protocol.js";

function prepare(db: Database) {
  return {
    keyPut: db.prepare<
      [string, string, string, string, string, string, string, string | null, string | null]
    >(
      `INSERT INTO node_keys (fingerprint, encryption_fingerprint, signing_key, encryption_key,
         status, activated_at, activated_key, retires_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status,
         retires_at = excluded.retires_at, ended_at = excluded.ended_at`,
    ),
    keyList: db.prepare<[], common.KeyRow<string>>(
      `SELECT fingerprint, encryption_fingerprint, signing_key, encryption_key, status,
         activated_at, retires_at, ended_at FROM node_keys ORDER BY activated_key, fingerprint`,
    ),
    announce: db.prepare<[string, string, string, string, string, string, string]>(
      `INSERT INTO key_announcements (id, recipient, kind, body, signer, status, attempts,
         next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    ),
    announcementsAll: db.prepare<[number], common.AnnouncementRow>(
      `SELECT ${common.ANNOUNCEMENT_COLUMNS} FROM key_announcements ORDER BY seq LIMIT ?`,
    ),
    announcementsBy: db.prepare<[string, number], common.AnnouncementRow>(
      `SELECT ${common.ANNOUNCEMENT_COLUMNS} FROM key_announcements WHERE status = ? ORDER BY seq LIMIT ?`,
    ),
    settle: db.prepare<[string, string | null, string]>(
      `UPDATE key_announcements SET status = ?, last_error = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    fail: db.prepare<[string, string, string]>(
      `UPDATE key_announcements SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    revoke: db.prepare<[string, string, string]>(
      `INSERT INTO peer_revoked_keys (node_id, fingerprint, revoked_at) VALUES (?, ?, ?)
       ON CONFLICT (node_id, fingerprint) DO NOTHING`,
    ),
    revoked: db.prepare<[], common.RevokedRow>(
      "SELECT node_id, fingerprint, revoked_at FROM peer_revoked_keys ORDER BY node_id, fingerprint",
    ),
  };
}

type Statements = ReturnType<typeof prepare>;
const cache = new WeakMap<Database, Statements>();

function statements(db: Database): Statements {
  let s = cache.get(db);
  if (s === undefined) cache.set(db, (s = prepare(db)));
  return s;
}

export function keyRepo(db: Database, exec: Exec): KeyRepo {
  const s = statements(db);
  return {
    async putKey(rec) {
      const key = timeKey(rec.activatedAt, "a key's `activatedAt`");
      await exec.run("could not record the node key", () =>
        s.keyPut.run(
          rec.fingerprint,
          rec.encryptionFingerprint,
          JSON.stringify(rec.signingKey),
          JSON.stringify(rec.encryptionKey),
          rec.status,
          rec.activatedAt,
          key,
          rec.retiresAt,
          rec.endedAt,
        ),
      );
    },
    async keys() {
      const rows = await exec.run("could not read the node keys", () => s.keyList.all());
      return rows.map((r) => common.toKey(r, jsonText));
    },
    async enqueueAnnouncement(a) {
      timeKey(a.createdAt, "an announcement's `createdAt`");
      await exec.run("could not enqueue the key announcement", () =>
        s.announce.run(a.id, a.recipient, a.kind, a.body, a.signer, a.createdAt, a.createdAt),
      );
    },
    async announcements({ status, limit }) {
      const rows = await exec.run("could not read key announcements", () =>
        status === undefined ? s.announcementsAll.all(limit) : s.announcementsBy.all(status, limit),
      );
      return rows.map(common.toAnnouncement);
    },
    async settleAnnouncement(id, status, error) {
      const info = await exec.run("could not settle the key announcement", () =>
        s.settle.run(status, error, id),
      );
      return info.changes === 1;
    },
    async failAnnouncement(id, error, nextAttemptAt) {
      timeKey(nextAttemptAt, "`nextAttemptAt`");
      await exec.run("could not record the failed announcement", () =>
        s.fail.run(error, nextAttemptAt, id),
      );
    },
    async revokePeerKey(rec) {
      timeKey(rec.revokedAt, "`revokedAt`");
      await exec.run("could not record the revoked key", () =>
        s.revoke.run(rec.nodeId, rec.fingerprint, rec.revokedAt),
      );
    },
    async revokedPeerKeys() {
      const rows = await exec.run("could not read revoked keys", () => s.revoked.all());
      return rows.map(common.toRevoked);
    },
    peerKeyHistory: () => peerKeyHistory(db, exec),
  };
}

/** Migration 8 (SQLite). */
export const NODE_KEYS_MIGRATION_SQL = `
  CREATE TABLE node_keys (
    fingerprint            TEXT PRIMARY KEY,
    encryption_fingerprint TEXT NOT NULL,
    signing_key            TEXT NOT NULL,
    encryption_key         TEXT NOT NULL,
    status                 TEXT NOT NULL
                           CHECK (status IN ('current', 'previous', 'retired', 'revoked')),
    activated_at           TEXT NOT NULL,
    activated_key          TEXT NOT NULL,
    retires_at             TEXT,
    ended_at               TEXT
  ) STRICT;

  CREATE TABLE key_announcements (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('rotate', 'retire', 'revoke')),
    body            TEXT NOT NULL,
    signer          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL
  ) STRICT;
  CREATE INDEX key_announcements_by_status ON key_announcements (status, seq);

  CREATE TABLE peer_revoked_keys (
    node_id     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    revoked_at  TEXT NOT NULL,
    PRIMARY KEY (node_id, fingerprint)
  ) STRICT, WITHOUT ROWID;
`;
