/**
 * The PostgreSQL KeyRepo (src/app/ports.ts; migration 8, spec/federation.md "Key rotation"):
 * this node's key history (public halves only), the key-announcement outbox, and partners'
 * revoked keys.
 */
import type { QueryResultRow } from "pg";
import type { KeyRepo } from "../../app/ports.js";
import { jsonValue } from "../common/columns.js";
import * as common from "../common/node-keys.js";
import { instantKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";
import { peerKeyHistory } from "./peer-protocol.js";

function sql<R extends QueryResultRow = Record<string, never>>(name: string, text: string): Sql<R> {
  return { name: `accord_nk_${name}`, text };
}

const S = {
  keyPut: sql(
    "key_put",
    `INSERT INTO node_keys (fingerprint, encryption_fingerprint, signing_key, encryption_key,
       status, activated_at, activated_key, retires_at, ended_at)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8, $9)
     ON CONFLICT (fingerprint) DO UPDATE SET status = EXCLUDED.status,
       retires_at = EXCLUDED.retires_at, ended_at = EXCLUDED.ended_at`,
  ),
  keyList: sql<common.KeyRow<unknown>>(
    "key_list",
    `SELECT fingerprint, encryption_fingerprint, signing_key, encryption_key, status,
       activated_at, retires_at, ended_at FROM node_keys ORDER BY activated_key, fingerprint`,
  ),
  announce: sql(
    "announce",
    `INSERT INTO key_announcements (id, recipient, kind, body, signer, status, attempts,
       next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)`,
  ),
  announcementsAll: sql<common.AnnouncementRow>(
    "announcements_all",
    `SELECT ${common.ANNOUNCEMENT_COLUMNS} FROM key_announcements ORDER BY seq LIMIT $1`,
  ),
  announcementsBy: sql<common.AnnouncementRow>(
    "announcements_by",
    `SELECT ${common.ANNOUNCEMENT_COLUMNS} FROM key_announcements WHERE status = $1 ORDER BY seq LIMIT $2`,
  ),
  settle: sql(
    "settle",
    `UPDATE key_announcements SET status = $1, last_error = $2
     WHERE id = $3 AND status = 'pending'`,
  ),
  fail: sql(
    "fail",
    `UPDATE key_announcements SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2
     WHERE id = $3 AND status = 'pending'`,
  ),
  revoke: sql(
    "revoke",
    `INSERT INTO peer_revoked_keys (node_id, fingerprint, revoked_at) VALUES ($1, $2, $3)
     ON CONFLICT (node_id, fingerprint) DO NOTHING`,
  ),
  revoked: sql<common.RevokedRow>(
    "revoked",
    "SELECT node_id, fingerprint, revoked_at FROM peer_revoked_keys ORDER BY node_id, fingerprint",
  ),
};

export function keyRepo(exec: Exec): KeyRepo {
  const { query } = exec;
  return {
    async putKey(rec) {
      const key = instantKey(rec.activatedAt, "a key's `activatedAt`");
      await query("could not record the node key", S.keyPut, [
        rec.fingerprint,
        rec.encryptionFingerprint,
        JSON.stringify(rec.signingKey),
        JSON.stringify(rec.encryptionKey),
        rec.status,
        rec.activatedAt,
        key,
        rec.retiresAt,
        rec.endedAt,
      ]);
    },
    async keys() {
      const { rows } = await query("could not read the node keys", S.keyList, []);
      return rows.map((r) => common.toKey(r, jsonValue));
    },
    async enqueueAnnouncement(a) {
      instantKey(a.createdAt, "an announcement's `createdAt`");
      await query("could not enqueue the key announcement", S.announce, [
        a.id,
        a.recipient,
        a.kind,
        a.body,
        a.signer,
        a.createdAt,
      ]);
    },
    async announcements({ status, limit }) {
      const { rows } =
        status === undefined
          ? await query("could not read key announcements", S.announcementsAll, [limit])
          : await query("could not read key announcements", S.announcementsBy, [status, limit]);
      return rows.map(common.toAnnouncement);
    },
    async settleAnnouncement(id, status, error) {
      const { rowCount } = await query("could not settle the key announcement", S.settle, [
        status,
        error,
        id,
      ]);
      return rowCount === 1;
    },
    async failAnnouncement(id, error, nextAttemptAt) {
      instantKey(nextAttemptAt, "`nextAttemptAt`");
      await query("could not record the failed announcement", S.fail, [error, nextAttemptAt, id]);
    },
    async revokePeerKey(rec) {
      instantKey(rec.revokedAt, "`revokedAt`");
      await query("could not record the revoked key", S.revoke, [
        rec.nodeId,
        rec.fingerprint,
        rec.revokedAt,
      ]);
    },
    async revokedPeerKeys() {
      const { rows } = await query("could not read revoked keys", S.revoked, []);
      return rows.map(common.toRevoked);
    },
    peerKeyHistory: () => peerKeyHistory(exec),
  };
}

/** Migration 8 (PostgreSQL). */
export const NODE_KEYS_MIGRATION_SQL = `
  CREATE TABLE node_keys (
    fingerprint            text COLLATE "C" PRIMARY KEY,
    encryption_fingerprint text COLLATE "C" NOT NULL,
    signing_key            jsonb NOT NULL,
    encryption_key         jsonb NOT NULL,
    status                 text NOT NULL
                           CHECK (status IN ('current', 'previous', 'retired', 'revoked')),
    activated_at           text NOT NULL,
    activated_key          text COLLATE "C" NOT NULL,
    retires_at             text,
    ended_at               text
  );

  CREATE TABLE key_announcements (
    seq             bigserial PRIMARY KEY,
    id              text COLLATE "C" NOT NULL UNIQUE,
    recipient       text COLLATE "C" NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('rotate', 'retire', 'revoke')),
    body            text NOT NULL,
    signer          text COLLATE "C" NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'refused')),
    attempts        integer NOT NULL,
    next_attempt_at text NOT NULL,
    last_error      text,
    created_at      text NOT NULL
  );
  CREATE INDEX key_announcements_by_status ON key_announcements (status, seq);

  CREATE TABLE peer_revoked_keys (
    node_id     text COLLATE "C" NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    revoked_at  text NOT NULL,
    PRIMARY KEY (node_id, fingerprint)
  );
`;
