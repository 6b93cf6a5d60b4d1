/**
 * The PostgreSQL NonceRepo and PeerKeyRepo (src/app/ports.ts; migration 4, spec/federation.md):
 * RFC 9421 nonces seen on signed peer requests, and partners' previous keys during a key
 * rotation's overlap.
 */
import type { QueryResultRow } from "pg";
import type { NonceRepo, PeerKeyRecord, PeerKeyRepo } from "../../app/ports.js";
import { jsonValue } from "../common/columns.js";
import { toPeerKey, type PeerKeyRow } from "../common/node-keys.js";
import { instantKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";

function sql<R extends QueryResultRow = Record<string, never>>(name: string, text: string): Sql<R> {
  return { name: `accord_pp_${name}`, text };
}

const S = {
  nonceInsert: sql(
    "nonce_insert",
    `INSERT INTO peer_nonces (key_id, nonce, expires_at, expires_key) VALUES ($1, $2, $3, $4)
     ON CONFLICT (key_id, nonce) DO NOTHING`,
  ),
  noncePrune: sql("nonce_prune", "DELETE FROM peer_nonces WHERE expires_key < $1"),
  peerKeyUpsert: sql(
    "peer_key_upsert",
    `INSERT INTO peer_keys (node_id, fingerprint, signing_key, encryption_key, retires_at,
       retires_key) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (node_id, fingerprint) DO UPDATE SET retires_at = excluded.retires_at,
       retires_key = excluded.retires_key`,
  ),
  peerKeysActive: sql<PeerKeyRow<unknown>>(
    "peer_keys_active",
    `SELECT node_id, fingerprint, signing_key, encryption_key, retires_at FROM peer_keys
     WHERE retires_key > $1 ORDER BY node_id, fingerprint`,
  ),
  peerKeysAll: sql<PeerKeyRow<unknown>>(
    "peer_keys_all",
    `SELECT node_id, fingerprint, signing_key, encryption_key, retires_at FROM peer_keys
     ORDER BY node_id, fingerprint`,
  ),
};

export function nonceRepo({ query }: Exec): NonceRepo {
  return {
    async remember(keyId, nonce, expiresAt) {
      const key = instantKey(expiresAt, "a nonce's `expiresAt`");
      const { rowCount } = await query("could not record the nonce", S.nonceInsert, [
        keyId,
        nonce,
        expiresAt,
        key,
      ]);
      return rowCount === 1;
    },
    async prune(now) {
      const key = instantKey(now, "`now`");
      const { rowCount } = await query("could not prune nonces", S.noncePrune, [key]);
      return rowCount;
    },
  };
}

export function peerKeyRepo({ query }: Exec): PeerKeyRepo {
  return {
    async add(rec) {
      const key = instantKey(rec.retiresAt, "a key's `retiresAt`");
      await query("could not record the partner's previous key", S.peerKeyUpsert, [
        rec.nodeId,
        rec.fingerprint,
        JSON.stringify(rec.signingKey),
        JSON.stringify(rec.encryptionKey),
        rec.retiresAt,
        key,
      ]);
    },
    async active(now) {
      const key = instantKey(now, "`now`");
      const { rows } = await query("could not read partners' previous keys", S.peerKeysActive, [
        key,
      ]);
      return rows.map((r) => toPeerKey(r, jsonValue));
    },
  };
}

/** Every previous key of every partner, whether or not its overlap has ended (key rotation). */
export async function peerKeyHistory({ query }: Exec): Promise<PeerKeyRecord[]> {
  const { rows } = await query("could not read partners' key history", S.peerKeysAll, []);
  return rows.map((r) => toPeerKey(r, jsonValue));
}
