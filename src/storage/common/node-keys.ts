/**
 * The rows of the key tables (migrations 4 and 8: this node's keys, the key-announcement outbox,
 * partners' previous and revoked keys) as both adapters read them, and their mapping to the
 * records of src/app/ports.ts. The public keys are JWKs in JSON columns (text on SQLite, jsonb on
 * PostgreSQL).
 */
import type {
  KeyAnnouncementRecord,
  NodeKeyRecord,
  PeerKeyRecord,
  RevokedPeerKey,
} from "../../app/ports.js";
import type { ReadJson } from "./columns.js";

export const ANNOUNCEMENT_COLUMNS =
  "id, recipient, kind, body, signer, status, attempts, next_attempt_at, last_error, created_at";

/** A row of node_keys; `J` is how the engine returns the JSON key columns. */
export interface KeyRow<J> {
  fingerprint: string;
  encryption_fingerprint: string;
  signing_key: J;
  encryption_key: J;
  status: NodeKeyRecord["status"];
  activated_at: string;
  retires_at: string | null;
  ended_at: string | null;
}

export interface AnnouncementRow {
  id: string;
  recipient: string;
  kind: KeyAnnouncementRecord["kind"];
  body: string;
  signer: string;
  status: KeyAnnouncementRecord["status"];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
}

export interface RevokedRow {
  node_id: string;
  fingerprint: string;
  revoked_at: string;
}

/** A row of peer_keys; `J` is how the engine returns the JSON key columns. */
export interface PeerKeyRow<J> {
  node_id: string;
  fingerprint: string;
  signing_key: J;
  encryption_key: J;
  retires_at: string;
}

export function toKey<J>(r: KeyRow<J>, json: ReadJson<J>): NodeKeyRecord {
  return {
    fingerprint: r.fingerprint,
    encryptionFingerprint: r.encryption_fingerprint,
    ...publicKeys(r, json),
    status: r.status,
    activatedAt: r.activated_at,
    retiresAt: r.retires_at,
    endedAt: r.ended_at,
  };
}

export function toAnnouncement(r: AnnouncementRow): KeyAnnouncementRecord {
  return {
    id: r.id,
    recipient: r.recipient,
    kind: r.kind,
    body: r.body,
    signer: r.signer,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
  };
}

export function toRevoked(r: RevokedRow): RevokedPeerKey {
  return { nodeId: r.node_id, fingerprint: r.fingerprint, revokedAt: r.revoked_at };
}

export function toPeerKey<J>(r: PeerKeyRow<J>, json: ReadJson<J>): PeerKeyRecord {
  return {
    nodeId: r.node_id,
    fingerprint: r.fingerprint,
    ...publicKeys(r, json),
    retiresAt: r.retires_at,
  };
}

/** The public JWKs a key row holds. */
function publicKeys<J>(
  r: { signing_key: J; encryption_key: J },
  json: ReadJson<J>,
): Pick<PeerKeyRecord, "signingKey" | "encryptionKey"> {
  return {
    signingKey: json(r.signing_key) as Record<string, string>,
    encryptionKey: json(r.encryption_key) as Record<string, string>,
  };
}
