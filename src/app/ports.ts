/**
 * Ports: what the use cases need from the outside world. Adapters (storage/sqlite,
 * storage/postgres, federation's HTTP peer client, the composition root's clock) implement them;
 * the one storage conformance suite in test/storage/ holds every adapter to the same contract.
 *
 * All store methods are async so that one contract fits embedded SQLite and networked PostgreSQL.
 * Anything written inside `Store.transaction` commits together or not at all.
 */
import type { StixObject } from "../core/stix/object.js";

export type NodeId = string;

/** Where a stored object came from and under which terms it may be kept. */
export interface Provenance {
  /** The node that first ingested the object. */
  readonly originator: NodeId;
  /** The node that delivered it here; null when ingested locally. */
  readonly receivedFrom: NodeId | null;
  /** The agreement (id and version) it arrived under; null when ingested locally. */
  readonly agreementId: string | null;
  readonly agreementVersion: number | null;
  /** The purpose it was shared for; null when ingested locally. */
  readonly purpose: string | null;
  /** RFC 3339 timestamp after which the object must be purged; null when no limit applies. */
  readonly retentionUntil: string | null;
  /** The envelope that carried it; null when ingested locally. */
  readonly envelopeId: string | null;
}

export interface StoredObject {
  readonly object: StixObject;
  readonly provenance: Provenance;
  /** RFC 3339 time the object was written to this store. */
  readonly storedAt: string;
}

export type PutResult = "inserted" | "unchanged";

export interface ObjectRepo {
  /**
   * Store one version of an object, keyed by (id, version) where version is `versionOf(object)`.
   * Writing the same version again is idempotent ("unchanged") and keeps the first provenance.
   */
  put(entry: StoredObject): Promise<PutResult>;
  /** The latest version (greatest version key) of an object, or undefined. */
  get(id: string): Promise<StoredObject | undefined>;
  /** Every stored version of an object, oldest first. */
  versions(id: string): Promise<StoredObject[]>;
  /** Latest versions, ordered by id, optionally filtered by type, paged by `afterId`. */
  list(query: { type?: string; afterId?: string; limit: number }): Promise<StoredObject[]>;
  /** Number of stored versions. */
  count(): Promise<number>;
}

/** A ledger entry as recorded: metadata and hashes only, never contents or personal data. */
export interface LedgerEntry {
  /** 0-based position, dense and increasing. */
  readonly seq: number;
  /** RFC 3339 time. */
  readonly at: string;
  /** What happened: "ingest", "decision", "share", "receipt", "accept", "delivery". */
  readonly kind: string;
  /** Canonical-JSON-able metadata. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Hex SHA-256 of the previous entry (64 zeros for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 over prevHash and this entry's canonical form (see core/ledger.ts). */
  readonly hash: string;
}

export interface LedgerRepo {
  /**
   * Append an entry at the next sequence number, chaining its hash to the previous entry with
   * `ledgerEntryHash` from core/ledger.ts. Concurrent appends must serialise: no two entries
   * share a seq and the chain never forks.
   */
  append(entry: {
    kind: string;
    at: string;
    data: Readonly<Record<string, unknown>>;
  }): Promise<LedgerEntry>;
  /** Entries with seq >= from, ascending, at most `limit`. */
  list(from: number, limit: number): Promise<LedgerEntry[]>;
  /** Number of entries. */
  size(): Promise<number>;
}

export type OutboxStatus = "pending" | "delivered" | "cancelled";

export interface OutboxItem {
  /** The envelope id; also the idempotency key the recipient deduplicates on. */
  readonly id: string;
  readonly recipient: NodeId;
  /** The sealed envelope exactly as it is sent (compact JWE string). */
  readonly envelope: string;
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** RFC 3339: when the next attempt is due. */
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  /** The recipient's signed receipt (compact JWS), once delivered. */
  readonly receipt: string | null;
}

export interface OutboxRepo {
  enqueue(item: {
    id: string;
    recipient: NodeId;
    envelope: string;
    createdAt: string;
  }): Promise<void>;
  get(id: string): Promise<OutboxItem | undefined>;
  /** Pending items whose nextAttemptAt <= now, oldest first, at most `limit`. */
  due(now: string, limit: number): Promise<OutboxItem[]>;
  /** Record a successful delivery; only a pending item changes. Returns false when it was not pending. */
  markDelivered(id: string, receipt: string, at: string): Promise<boolean>;
  /** Record a failed attempt: attempts+1, lastError, nextAttemptAt. */
  markFailed(id: string, error: string, nextAttemptAt: string): Promise<void>;
  list(query: { status?: OutboxStatus; limit: number }): Promise<OutboxItem[]>;
}

/** What the recipient remembers about each envelope it accepted, for idempotent redelivery. */
export interface InboxRecord {
  readonly envelopeId: string;
  readonly sender: NodeId;
  /** Hex SHA-256 of the envelope as received; a replay with other content is refused. */
  readonly envelopeHash: string;
  readonly receivedAt: string;
  /** The signed receipt that was returned (compact JWS). */
  readonly receipt: string;
}

export interface InboxRepo {
  get(envelopeId: string): Promise<InboxRecord | undefined>;
  /** Returns false (and writes nothing) when the envelope id is already recorded. */
  record(rec: InboxRecord): Promise<boolean>;
}

/** A partner node as this node knows it: where it is and which keys are its own. */
export interface Peer {
  readonly nodeId: NodeId;
  readonly url: string;
  /** Ed25519 public key, JWK JSON. */
  readonly signingKey: Readonly<Record<string, string>>;
  /** X25519 public key, JWK JSON. */
  readonly encryptionKey: Readonly<Record<string, string>>;
  readonly addedAt: string;
}

export interface PeerRepo {
  /** Insert or replace by nodeId. */
  upsert(peer: Peer): Promise<void>;
  get(nodeId: NodeId): Promise<Peer | undefined>;
  list(): Promise<Peer[]>;
}

/** An agreement document as this node holds it. */
export interface AgreementRecord {
  readonly id: string;
  readonly version: number;
  /** The YAML source as loaded. */
  readonly source: string;
  /** Hex SHA-256 of the canonical (RFC 8785) JSON form. */
  readonly hash: string;
  readonly loadedAt: string;
}

export interface AgreementRepo {
  /** Insert; the same (id, version) with the same hash is idempotent, with another hash it throws ERR_AGREEMENT_INVALID. */
  put(rec: AgreementRecord): Promise<PutResult>;
  get(id: string, version: number): Promise<AgreementRecord | undefined>;
  /** The highest version of each agreement, ordered by id. */
  listLatest(): Promise<AgreementRecord[]>;
}

export interface Repos {
  readonly objects: ObjectRepo;
  readonly ledger: LedgerRepo;
  readonly outbox: OutboxRepo;
  readonly inbox: InboxRepo;
  readonly peers: PeerRepo;
  readonly agreements: AgreementRepo;
}

export interface Store extends Repos {
  /** Which adapter, for health output: "sqlite" or "postgres". */
  readonly kind: string;
  /**
   * Run `fn` in one transaction. Everything written through `tx` commits together, or nothing
   * does when `fn` throws (the error is rethrown unchanged). Transactions on one store serialise
   * where the database cannot isolate them.
   */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /** Apply pending schema migrations; idempotent. Returns the schema version reached. */
  migrate(): Promise<number>;
  close(): Promise<void>;
}

/** Injected time, so tests are deterministic. */
export interface Clock {
  now(): Date;
}

/** Injected randomness. */
export interface Random {
  bytes(n: number): Uint8Array;
  /** A random RFC 4122 v4 UUID. */
  uuid(): string;
}

/** How this node reaches a partner over the peer protocol (federation's HTTP client implements it). */
export interface PeerClient {
  /**
   * POST a sealed envelope to the partner's inbox; resolves with the partner's signed receipt.
   * Throws AccordError: ERR_PEER_UNAVAILABLE when the partner cannot be reached or answers 5xx
   * (retry later); any other code when the partner refused the envelope (do not retry).
   */
  deliver(peer: Peer, envelope: string): Promise<{ receipt: string }>;
  /** GET a node's published descriptor from its base URL (attacker-controlled until verified). */
  fetchDescriptor(url: string): Promise<unknown>;
}

/** Structured operational logging (pino's shape). Audit facts go to the ledger, not here. */
export interface Logger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}
