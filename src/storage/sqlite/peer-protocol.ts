/**
 * The SQLite NonceRepo and PeerKeyRepo (src/app/ports.ts; migration 4, spec/federation.md):
 * RFC 9421 nonces seen on signed peer requests, and partners' previous keys during a key
 * rotation's overlap. Statements are prepared once per connection.
 */
import type { Database } from "better-sqlite3";
import type { NonceRepo, PeerKeyRecord, PeerKeyRepo } from "../../app/ports.js";
import { jsonText } from "../common/columns.js";
import { toPeerKey, type PeerKeyRow } from "../common/node-keys.js";
import { timeKey } from "./timekey.js";
import type { Exec } from "./rows.js";

function prepare(db: Database) {
  return {
    nonceInsert: db.prepare<[string, string, string, string]>(
      `INSERT INTO peer_nonces (key_id, nonce, expires_at, expires_key) VALUES (?, ?, ?, ?)
       ON CONFLICT (key_id, nonce) DO NOTHING`,
    ),
    noncePrune: db.prepare<[string]>("DELETE FROM peer_nonces WHERE expires_key < ?"),
    peerKeyUpsert: db.prepare<[string, string, string, string, string, string]>(
      `INSERT INTO peer_keys (node_id, fingerprint, signing_key, encryption_key, retires_at,
         retires_key) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (node_id, fingerprint) DO UPDATE SET retires_at = excluded.retires_at,
         retires_key = excluded.retires_key`,
    ),
    peerKeysActive: db.prepare<[string], PeerKeyRow<string>>(
      `SELECT node_id, fingerprint, signing_key, encryption_key, retires_at FROM peer_keys
       WHERE retires_key > ? ORDER BY node_id, fingerprint`,
    ),
    peerKeysAll: db.prepare<[], PeerKeyRow<string>>(
      `SELECT node_id, fingerprint, signing_key, encryption_key, retires_at FROM peer_keys
       ORDER BY node_id, fingerprint`,
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

export function nonceRepo(db: Database, exec: Exec): NonceRepo {
  const s = statements(db);
  return {
    async remember(keyId, nonce, expiresAt) {
      const key = timeKey(expiresAt, "a nonce's `expiresAt`");
      const info = await exec.run("could not record the nonce", () =>
        s.nonceInsert.run(keyId, nonce, expiresAt, key),
      );
      return info.changes === 1;
    },
    async prune(now) {
      const key = timeKey(now, "`now`");
      const info = await exec.run("could not prune nonces", () => s.noncePrune.run(key));
      return info.changes;
    },
  };
}

export function peerKeyRepo(db: Database, exec: Exec): PeerKeyRepo {
  const s = statements(db);
  return {
    async add(rec) {
      const key = timeKey(rec.retiresAt, "a key's `retiresAt`");
      await exec.run("could not record the partner's previous key", () =>
        s.peerKeyUpsert.run(
          rec.nodeId,
          rec.fingerprint,
          JSON.stringify(rec.signingKey),
          JSON.stringify(rec.encryptionKey),
          rec.retiresAt,
          key,
        ),
      );
    },
    async active(now) {
      const key = timeKey(now, "`now`");
      const rows = await exec.run("could not read partners' previous keys", () =>
        s.peerKeysActive.all(key),
      );
      return rows.map((r) => toPeerKey(r, jsonText));
    },
  };
}

/** Every previous key of every partner, whether or not its overlap has ended (key rotation). */
export async function peerKeyHistory(db: Database, exec: Exec): Promise<PeerKeyRecord[]> {
  const s = statements(db);
  const rows = await exec.run("could not read partners' key history", () => s.peerKeysAll.all());
  return rows.map((r) => toPeerKey(r, jsonText));
}
