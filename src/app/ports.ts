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
  /**
   * `put` for several versions in one atomic write (in the caller's transaction when there is
   * one), in order; one result each. A writer of many objects pays for the store once.
   */
  putMany(entries: readonly StoredObject[]): Promise<PutResult[]>;
  /** The latest version (greatest version key) of an object, or undefined. */
  get(id: string): Promise<StoredObject | undefined>;
  /** `get` for many ids in few statements: result `i` is the latest version of `ids[i]`. */
  getMany(ids: readonly string[]): Promise<(StoredObject | undefined)[]>;
  /** Every stored version of an object, oldest first. */
  versions(id: string): Promise<StoredObject[]>;
  /** Latest versions, ordered by id, optionally filtered by type, paged by `afterId`. */
  list(query: { type?: string; afterId?: string; limit: number }): Promise<StoredObject[]>;
  /** Number of stored versions. */
  count(): Promise<number>;
  /**
   * Delete the stored versions of `id`: every version, or only `version` when given. Returns how
   * many versions were removed (0 when none was stored). Recall and retention use it.
   */
  purge(id: string, version?: string): Promise<number>;
  /**
   * Versions whose `retentionUntil` is at or before `now` (RFC 3339), earliest deadline first, at
   * most `limit`. A deadline that is not a readable RFC 3339 timestamp counts as passed.
   */
  expired(now: string, limit: number): Promise<ExpiredVersion[]>;
}

/** One stored version whose retention deadline has passed (spec/recall.md, "Retention"). */
export interface ExpiredVersion {
  readonly id: string;
  readonly version: string;
  readonly type: string;
  readonly originator: NodeId;
  readonly receivedFrom: NodeId | null;
  readonly agreementId: string | null;
  readonly retentionUntil: string;
}

/**
 * A log entry as recorded (spec/log.md): metadata and hashes only, never contents or personal
 * data. The entry's leaf in the node's RFC 9162 Merkle log is `bytes`, the UTF-8 of the RFC 8785
 * canonical JSON `{"at","data","kind","v":1}`, and `leafHash` = SHA-256(0x00 || bytes).
 */
export interface LedgerEntry {
  /** 0-based leaf index, dense and increasing. */
  readonly seq: number;
  /** RFC 3339 time. */
  readonly at: string;
  /** What happened: "ingest", "decision", "share", "receipt", "accept", "agreement", ... */
  readonly kind: string;
  /** Canonical-JSON-able metadata. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Hex SHA-256(0x00 || entry bytes): the entry's leaf hash in the Merkle log. */
  readonly leafHash: string;
}

/** A signed checkpoint (C2SP tlog-checkpoint note) the node issued for one tree size. */
export interface StoredCheckpoint {
  readonly size: number;
  /** The signed note text, as served at `<prefix>/checkpoint`. */
  readonly note: string;
  readonly createdAt: string;
}

/**
 * A witness's cosignature on one of this node's checkpoints (C2SP tlog-cosignature), as received
 * and verified (spec/log.md, "Witnesses"): served appended to that checkpoint.
 */
export interface StoredCosignature {
  /** The size of the checkpoint cosigned. */
  readonly size: number;
  /** The witness's key name: `accord.witness/<node id>`, or an oversight witness's name. */
  readonly witness: string;
  /** The note key id (uint32) of the witness's cosignature key. */
  readonly keyId: number;
  /** The cosignature's time, POSIX seconds. */
  readonly timestamp: number;
  /** The signature line, without its newline: `— <name> <base64(key id || time || signature)>`. */
  readonly line: string;
  readonly receivedAt: string;
}

/**
 * The node's append-only Merkle log (RFC 9162 hashing, C2SP tlog-tiles storage; spec/log.md).
 * Appends made in one transaction get their indexes at once and are integrated into the tree
 * together when the transaction commits: stored tile hashes are extended, never recomputed.
 * Outside a transaction an append is its own transaction.
 */
export interface LedgerRepo {
  /**
   * Append an entry at the next index. Concurrent appends serialise: no two entries share an
   * index and the tree never forks. Throws ERR_MALFORMED_INPUT when the entry exceeds 65535 bytes.
   */
  append(entry: {
    kind: string;
    at: string;
    data: Readonly<Record<string, unknown>>;
  }): Promise<LedgerEntry>;
  /** Entries with seq >= from, ascending, at most `limit`. */
  list(from: number, limit: number): Promise<LedgerEntry[]>;
  /** Number of integrated entries (the tree size). */
  size(): Promise<number>;
  /**
   * Stored entry rows with seq >= from, ascending, at most `count`, as raw leaf bytes, whether
   * integrated or not (entry bundles, and verification, which must see every row there is).
   */
  entries(from: number, count: number): Promise<{ seq: number; bytes: Uint8Array }[]>;
  /**
   * The stored hashes of tile (level, index) (C2SP tlog-tiles: up to 256 hashes of Merkle level
   * 8 * level), concatenated; empty when the tile does not exist yet. Tiles only grow, so a
   * partial tile of width w at an earlier size is the first w hashes.
   */
  tile(level: number, index: number): Promise<Uint8Array>;
  /** The tree size and its frontier (the perfect subtree roots, largest first) as stored. */
  state(): Promise<{ size: number; frontier: Uint8Array[] }>;
  /** Record a signed checkpoint; the same size twice keeps the first. */
  putCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** The checkpoint of the largest size, if any. */
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Checkpoints ascending by size with size >= from, at most `limit`. */
  checkpoints(from: number, limit: number): Promise<StoredCheckpoint[]>;
  /**
   * Integrated entries of one kind (an index on the entry's kind, migration 14): ascending from
   * seq `from`, or with `newestFirst` descending from seq `from` (the newest when omitted).
   */
  ofKind(
    kind: string,
    query: { readonly from?: number; readonly limit: number; readonly newestFirst?: boolean },
  ): Promise<LedgerEntry[]>;
  /**
   * Store a witness's cosignature of checkpoint `size` (migration 14). For the same size, witness
   * and key id, the later timestamp is kept.
   */
  putCosignature(c: StoredCosignature): Promise<void>;
  /** The cosignatures of checkpoint `size`, by witness name then key id. */
  cosignatures(size: number): Promise<StoredCosignature[]>;
  /** For each witness and key id, its cosignature of the largest size, by witness then key id. */
  latestCosignatures(): Promise<StoredCosignature[]>;
}

export type OutboxStatus = "pending" | "delivered" | "cancelled";

export interface OutboxItem {
  /** The envelope id; also the idempotency key the recipient deduplicates on. */
  readonly id: string;
  readonly recipient: NodeId;
  /**
   * The sealed envelope exactly as it is sent (compact JWE string), kept while the item is
   * pending; null once it is delivered or cancelled. The bytes are encrypted to the recipient, so
   * the sender cannot read them; the receipt, kept, names their SHA-256 (spec/federation.md).
   */
  readonly envelope: string | null;
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** RFC 3339: when the next attempt is due. */
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly deliveredAt: string | null;
  /** The recipient's signed receipt (compact JWS), once delivered. */
  readonly receipt: string | null;
  /** The agreement the envelope's objects travel under (id and version); null when unknown. */
  readonly agreementId: string | null;
  readonly agreementVersion: number | null;
  /** RFC 3339: when the item was cancelled, and why; null unless cancelled. */
  readonly cancelledAt: string | null;
  readonly cancelReason: string | null;
}

/**
 * An item `due` returns: pending, so it still holds its envelope, handed back as the bytes it is
 * sent as (the delivery pass sends and hashes bytes: no string of megabytes made on the way).
 */
export type PendingOutboxItem = Omit<OutboxItem, "status" | "envelope"> & {
  readonly status: "pending";
  readonly envelope: Uint8Array;
};

export interface OutboxRepo {
  enqueue(item: {
    id: string;
    recipient: NodeId;
    /** The compact JWE, or its bytes (ASCII; anything else is a RangeError); read back as text. */
    envelope: string | Uint8Array;
    createdAt: string;
    /** The agreement the envelope travels under, so a sunset can cancel it. */
    agreement?: { id: string; version: number };
  }): Promise<void>;
  get(id: string): Promise<OutboxItem | undefined>;
  /**
   * Pending items whose nextAttemptAt <= now, oldest first, at most `limit`, leaving out those to
   * the recipients in `except` (a delivery pass holds them until a key announcement is delivered).
   */
  due(now: string, limit: number, except?: readonly NodeId[]): Promise<PendingOutboxItem[]>;
  /**
   * Record a successful delivery (the receipt verified against the envelope) and drop the
   * envelope's bytes in the same write; only a pending item changes. Returns false when it was
   * not pending.
   */
  markDelivered(id: string, receipt: string, at: string): Promise<boolean>;
  /** Record a failed attempt: attempts+1, lastError, nextAttemptAt. */
  markFailed(id: string, error: string, nextAttemptAt: string): Promise<void>;
  list(query: { status?: OutboxStatus; limit: number }): Promise<OutboxItem[]>;
  /**
   * Cancel a pending item (it will never be sent; its envelope's bytes are dropped). Returns
   * false when it was not pending.
   */
  cancel(id: string, reason: string, at: string): Promise<boolean>;
  /**
   * Make every pending item for `recipient` due at `now` (when a delivery shows the partner is
   * back, the rest need not wait out their backoff). Returns how many were brought forward.
   */
  expedite(recipient: NodeId, now: string): Promise<number>;
  /**
   * Cancel every pending item under an agreement (any version), dropping their envelopes' bytes;
   * returns the ids cancelled.
   */
  cancelByAgreement(agreementId: string, reason: string, at: string): Promise<string[]>;
}

/** RFC 9421 nonces seen on signed peer requests, kept until their signature's window has passed. */
export interface NonceRepo {
  /** Record `nonce` for `keyId` until `expiresAt`; false (writing nothing) when already recorded. */
  remember(keyId: string, nonce: string, expiresAt: string): Promise<boolean>;
  /** Forget nonces whose `expiresAt` is before `now`; returns how many were forgotten. */
  prune(now: string): Promise<number>;
}

/** A partner's previous keys, still accepted until `retiresAt` after the partner rotated. */
export interface PeerKeyRecord {
  readonly nodeId: NodeId;
  /** Ed25519 public key, JWK JSON. */
  readonly signingKey: Readonly<Record<string, string>>;
  /** X25519 public key, JWK JSON. */
  readonly encryptionKey: Readonly<Record<string, string>>;
  /** RFC 7638 thumbprint of the signing key. */
  readonly fingerprint: string;
  /** RFC 3339: the end of the overlap; the keys are not accepted from then on. */
  readonly retiresAt: string;
}

export interface PeerKeyRepo {
  /** Remember a previous key of a partner; the same (nodeId, fingerprint) again updates retiresAt. */
  add(rec: PeerKeyRecord): Promise<void>;
  /** Every previous key whose `retiresAt` is after `now`, ordered by node id then fingerprint. */
  active(now: string): Promise<PeerKeyRecord[]>;
}

/** Where one of this node's own key pairs stands (spec/federation.md, "Key rotation"). */
export type NodeKeyStatus = "current" | "previous" | "retired" | "revoked";

/** One of this node's own key pairs, public halves only (the private keys live in 0600 files). */
export interface NodeKeyRecord {
  /** RFC 7638 thumbprint of the Ed25519 signing key. */
  readonly fingerprint: string;
  /** RFC 7638 thumbprint of the X25519 encryption key. */
  readonly encryptionFingerprint: string;
  readonly signingKey: Readonly<Record<string, string>>;
  readonly encryptionKey: Readonly<Record<string, string>>;
  readonly status: NodeKeyStatus;
  /** RFC 3339: when the key became current. */
  readonly activatedAt: string;
  /** RFC 3339: the end of its overlap once rotated out; null while current. */
  readonly retiresAt: string | null;
  /** RFC 3339: when it was retired or revoked; null before. */
  readonly endedAt: string | null;
}

/** A key announcement waiting for (or past) delivery to one partner: rotation's own outbox. */
export interface KeyAnnouncementRecord {
  /** Unique per (announcement, recipient). */
  readonly id: string;
  readonly recipient: NodeId;
  readonly kind: "rotate" | "retire" | "revoke";
  /** The signed announcement (JSON text) exactly as sent. */
  readonly body: string;
  /** Fingerprint of the key the delivery requests are signed with (the one the partner knows). */
  readonly signer: string;
  readonly status: "pending" | "delivered" | "refused";
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly createdAt: string;
}

/** A partner key that partner announced revoked: never accepted again, whatever else says so. */
export interface RevokedPeerKey {
  readonly nodeId: NodeId;
  readonly fingerprint: string;
  readonly revokedAt: string;
}

/** This node's key history, its key announcements, and partners' revoked keys (migration 8). */
export interface KeyRepo {
  /** Insert or replace by fingerprint. */
  putKey(rec: NodeKeyRecord): Promise<void>;
  /** Every own key, oldest activation first. */
  keys(): Promise<NodeKeyRecord[]>;
  enqueueAnnouncement(a: {
    id: string;
    recipient: NodeId;
    kind: KeyAnnouncementRecord["kind"];
    body: string;
    signer: string;
    createdAt: string;
  }): Promise<void>;
  /** Announcements in the order they were enqueued, optionally only one status, at most `limit`. */
  announcements(query: {
    status?: KeyAnnouncementRecord["status"];
    limit: number;
  }): Promise<KeyAnnouncementRecord[]>;
  /** Mark a pending announcement delivered or refused; false when it was not pending. */
  settleAnnouncement(
    id: string,
    status: "delivered" | "refused",
    error: string | null,
  ): Promise<boolean>;
  /** Record a failed attempt: attempts+1, lastError, nextAttemptAt. */
  failAnnouncement(id: string, error: string, nextAttemptAt: string): Promise<void>;
  /** Remember a partner's revoked key; the same (nodeId, fingerprint) again is a no-op. */
  revokePeerKey(rec: RevokedPeerKey): Promise<void>;
  /** Every partner key revoked, ordered by node id then fingerprint. */
  revokedPeerKeys(): Promise<RevokedPeerKey[]>;
  /** Every previous key of every partner ever recorded, whether or not its overlap has ended. */
  peerKeyHistory(): Promise<PeerKeyRecord[]>;
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

/** One stored object version as the TAXII collections see it: in date-added order. */
export interface AddedEntry {
  /** Dense-enough, strictly increasing position in date-added order (never reused). */
  readonly seq: number;
  /** When this version was added here, in microseconds since the epoch; strictly increasing with seq. */
  readonly dateAddedUs: number;
  readonly stored: StoredObject;
}

/** An object version in date-added order as its stored JSON text, for serving without re-parsing. */
export interface AddedJson {
  readonly seq: number;
  readonly dateAddedUs: number;
  readonly id: string;
  /** `versionOf(object)` ("" when the object has no version). */
  readonly version: string;
  /** The stored object as JSON text (a STIX object; not re-serialised). */
  readonly json: string;
}

/** An object id as a partner sees it (re-issued under one agreement) and the id stored here. */
export interface ReissuedId {
  readonly reissuedId: string;
  readonly originalId: string;
}

/** A keyset query over object versions in date-added order (spec/taxii.md, "Storage"). */
export interface AddedQuery {
  /** Only entries with seq > afterSeq. */
  readonly afterSeq: number;
  /** Only entries added strictly after this instant (microseconds since the epoch). */
  readonly addedAfterUs?: number;
  readonly ids?: readonly string[];
  readonly types?: readonly string[];
  readonly specVersions?: readonly string[];
  /** Which versions: any of "first", "last", "all", or explicit version strings; default ["last"]. */
  readonly versions?: readonly string[];
  readonly limit: number;
}

/** A TAXII client credential: the operator hands the secret to one partner; only its hash is kept. */
export interface TaxiiCredential {
  /** The username (HTTP Basic) and the first part of the bearer token. */
  readonly id: string;
  /** The partner node this credential speaks for. */
  readonly partner: NodeId;
  /** The purpose the partner's reads and writes are decided for. */
  readonly purpose: string;
  /** Restrict decisions to one agreement; null: any agreement in force. */
  readonly agreementId: string | null;
  readonly canRead: boolean;
  readonly canWrite: boolean;
  /** Hex SHA-256 of the secret (a 256-bit random string). */
  readonly secretHash: string;
  readonly createdAt: string;
}

/** A TAXII status resource as kept for GET .../status/{id}. */
export interface TaxiiStatusRecord {
  readonly id: string;
  /** Who may read it: the credential id, or "operator". */
  readonly owner: string;
  readonly createdAt: string;
  /** The status resource body (JSON). */
  readonly body: Readonly<Record<string, unknown>>;
}

export interface TaxiiRepo {
  /** Object versions in date-added order, filtered, at most `limit`. */
  added(query: AddedQuery): Promise<AddedEntry[]>;
  /** As `added`, but each version as its stored JSON text without provenance (the local collection). */
  addedJson(query: AddedQuery): Promise<AddedJson[]>;
  /**
   * The re-issued id index (migration 9): how far it covers `agreementId` (the highest seq
   * indexed, 0 when none), and the (seq, id) of versions beyond that, for the caller to map.
   */
  reissuedMark(agreementId: string): Promise<number>;
  addedIds(afterSeq: number, limit: number): Promise<{ seq: number; id: string }[]>;
  /** Record mappings and advance `agreementId`'s mark to `uptoSeq`, atomically. */
  indexReissued(
    agreementId: string,
    entries: readonly ReissuedId[],
    uptoSeq: number,
  ): Promise<void>;
  /** The stored ids that the given ids were re-issued from under any of `agreementIds`. */
  originalIds(agreementIds: readonly string[], ids: readonly string[]): Promise<string[]>;
  /** Every stored version of `id` with its date added, oldest version first. */
  addedVersions(id: string): Promise<AddedEntry[]>;
  /** Delete the given versions of `id` (every version for "all"); returns how many were deleted. */
  deleteObject(id: string, versions: readonly string[] | "all"): Promise<number>;
  /** Insert a credential; ERR_BAD_REQUEST when the id exists. */
  putCredential(c: TaxiiCredential): Promise<void>;
  getCredential(id: string): Promise<TaxiiCredential | undefined>;
  listCredentials(): Promise<TaxiiCredential[]>;
  /** Returns false when there was none. */
  removeCredential(id: string): Promise<boolean>;
  putStatus(s: TaxiiStatusRecord): Promise<void>;
  getStatus(id: string): Promise<TaxiiStatusRecord | undefined>;
}

/** A party's signature over one agreement version, as held here (spec/agreement.md "Signatures"). */
export interface AgreementSignatureRecord {
  readonly agreement: string;
  readonly version: number;
  /** The version's canonical hash the party signed. */
  readonly hash: string;
  readonly node: NodeId;
  /** Detached compact JWS over the signing payload. */
  readonly jws: string;
  readonly receivedAt: string;
}

/** A recorded lifecycle event (suspend, resume, suspend-party, resume-party, terminate). */
export interface AgreementEventRecord {
  /** Stable id (hex SHA-256 of the event's canonical form); repeated puts are idempotent. */
  readonly id: string;
  readonly agreement: string;
  readonly kind: "suspend" | "resume" | "suspend-party" | "resume-party" | "terminate";
  /** RFC 3339: the event takes effect then. */
  readonly at: string;
  /** A party node or an oversight body name. */
  readonly by: string;
  readonly party: string | null;
  readonly reason: string | null;
  /** The node that recorded the event and signed it; `jws` is its detached signature. */
  readonly recordedBy: NodeId;
  readonly jws: string;
  readonly recordedAt: string;
}

/** The originator's signed consent to one onward hop (src/core/agreement/lifecycle.ts `Consent`). */
export interface ConsentRecord {
  /** Hex SHA-256 of the consent's canonical form. */
  readonly id: string;
  readonly originator: NodeId;
  /** An object id, or "*" for every object the originator originated. */
  readonly object: string;
  readonly holder: NodeId;
  readonly recipient: NodeId;
  readonly agreement: string;
  readonly purpose: string;
  readonly expires: string;
  readonly jws: string;
  readonly storedAt: string;
}

/** The lifecycle state this node last recorded for one version (so transitions are logged once). */
export interface AgreementStatusRecord {
  readonly agreement: string;
  readonly version: number;
  readonly status: string;
  readonly since: string;
}

/**
 * One signature exchange owed to a partner for one version (migration 11): pending until the
 * partner's answer shows it holds what this node signed and recorded; retried with backoff.
 */
export interface AgreementExchangeRecord {
  readonly agreement: string;
  readonly version: number;
  readonly partner: NodeId;
  readonly status: "pending" | "done";
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly doneAt: string | null;
}

/**
 * A consent this node signed as originator, owed to its holder until the holder acknowledges it
 * (migration 19, spec/agreement.md "Consent to an onward hop"); retried with backoff.
 */
export interface ConsentPushRecord {
  readonly consent: ConsentRecord;
  /** `expired`: the consent expired before the holder acknowledged it; nothing more is sent. */
  readonly status: "pending" | "done" | "expired";
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly endedAt: string | null;
}

/** Signatures, lifecycle events, consents and recorded states of the agreements held here. */
export interface AgreementStateRepo {
  /** Every held version of every agreement (or of `id`), ordered by id then version. */
  versions(id?: string): Promise<AgreementRecord[]>;
  /** Keyed by (agreement, version, node): a second signature for the same key keeps the first ("unchanged"). */
  putSignature(rec: AgreementSignatureRecord): Promise<PutResult>;
  /** Signatures for `agreement` (all versions, or `version`), ordered by version then node. */
  signatures(agreement: string, version?: number): Promise<AgreementSignatureRecord[]>;
  /** Keyed by `id`: idempotent. */
  putEvent(rec: AgreementEventRecord): Promise<PutResult>;
  /**
   * Events for `agreement` (or every agreement), ordered by their `at` instant, then by the order
   * this node stored them (a durable sequence), so events at the same instant keep their order.
   */
  events(agreement?: string): Promise<AgreementEventRecord[]>;
  /** Keyed by `id`: idempotent. */
  putConsent(rec: ConsentRecord): Promise<PutResult>;
  /** Consents held by `holder` that cover `object` (its id, or "*"), ordered by id. */
  consentsFor(holder: NodeId, object: string): Promise<ConsentRecord[]>;
  statuses(): Promise<AgreementStatusRecord[]>;
  /** Insert or replace by (agreement, version). */
  setStatus(rec: AgreementStatusRecord): Promise<void>;
  /** Owe `partner` an exchange for a version: (re)pending, due at `at`; attempts are kept. */
  oweExchange(req: {
    agreement: string;
    version: number;
    partner: NodeId;
    at: string;
  }): Promise<void>;
  /** Pending exchanges due at `now`, soonest first, at most `limit`. */
  dueExchanges(now: string, limit: number): Promise<AgreementExchangeRecord[]>;
  /** The partner holds everything: done (attempts + 1). False when it was not pending. */
  exchangeDone(agreement: string, version: number, partner: NodeId, at: string): Promise<boolean>;
  /** A failed attempt on a pending exchange: attempts + 1, the error, the next attempt. */
  exchangeFailed(
    agreement: string,
    version: number,
    partner: NodeId,
    error: string,
    nextAttemptAt: string,
  ): Promise<void>;
  /** The exchanges of one agreement, by version then partner. */
  exchanges(agreement: string): Promise<AgreementExchangeRecord[]>;
  /** Owe the push of consent `consent` (held here) to its holder, due at `at`; a held push is kept. */
  oweConsentPush(consent: string, at: string): Promise<void>;
  /** Pending pushes due at `now` with their consents, soonest first, at most `limit`. */
  dueConsentPushes(now: string, limit: number): Promise<ConsentPushRecord[]>;
  /** A failed attempt on a pending push: attempts + 1, the error, the next attempt. */
  consentPushFailed(consent: string, error: string, nextAttemptAt: string): Promise<void>;
  /**
   * End a pending push: `done` (acknowledged; attempts + 1) or `expired`. False when it was not
   * pending, so the caller logs the end once.
   */
  endConsentPush(consent: string, status: "done" | "expired", at: string): Promise<boolean>;
  /** Every consent push, oldest first. */
  consentPushes(): Promise<ConsentPushRecord[]>;
}

/** One query budget window (spec/agreement.md "Query budgets"). */
export type BudgetWindow = "day" | "burst";

export interface BudgetConsumption {
  readonly allowed: boolean;
  /** Units left in the window after this call. */
  readonly remaining: number;
  /** RFC 3339 (UTC, milliseconds): when the window resets. */
  readonly resetAt: string;
}

/**
 * Hit/no-hit query budgets. `consume` is atomic: concurrent calls never spend more than `limit`
 * in one window, and a refused call spends nothing. Windows: `day` is the UTC calendar day of
 * `at`; `burst` is the UTC minute of `at` (src/core/budget.ts).
 */
export interface BudgetRepo {
  consume(req: {
    agreementId: string;
    partner: NodeId;
    window: BudgetWindow;
    /** Units allowed per window (0 refuses everything). */
    limit: number;
    /** RFC 3339: the time of the query. */
    at: string;
    /** Units this call spends (default 1). */
    cost?: number;
  }): Promise<BudgetConsumption>;
  /** Units spent so far in the window containing `at`. */
  used(req: {
    agreementId: string;
    partner: NodeId;
    window: BudgetWindow;
    at: string;
  }): Promise<number>;
}

/** A hit/no-hit query as either side remembers it (spec/match.md): never the identifier. */
export interface MatchQueryRecord {
  /** The requester's query id (a UUID); the responder records the same id. */
  readonly id: string;
  /** "requester": this node asked; "responder": this node evaluated. */
  readonly side: "requester" | "responder";
  /** The other node. */
  readonly partner: NodeId;
  readonly agreementId: string;
  readonly epoch: number;
  readonly kind: string;
  readonly purpose: string;
  /** Elements evaluated (identifiers asked about). */
  readonly elements: number;
  /** Requester only: how many were hits; null on the responder, which never learns it. */
  readonly hits: number | null;
  readonly at: string;
}

export type MatchRequestStatus = "pending" | "approved" | "refused";

/** A follow-up request after a hit (spec/match.md §follow-up), on the side that filed or received it. */
export interface MatchRequestRecord {
  readonly id: string;
  /** "outgoing": filed by this node; "incoming": filed with this node. */
  readonly direction: "outgoing" | "incoming";
  /** The other node. */
  readonly partner: NodeId;
  readonly agreementId: string;
  /** The hit the request cites. */
  readonly queryId: string;
  readonly kind: string;
  /** The normalised identifier the request is about (personal data: never logged). */
  readonly identifier: string;
  readonly legalBasis: string;
  readonly purpose: string;
  readonly urgency: "standard" | "urgent";
  readonly justification: string;
  readonly filedAt: string;
  /** When the cited hit happened. */
  readonly hitAt: string;
  /** RFC 3339 deadline for the answer (48 h after the hit; 8 h after filing when urgent). */
  readonly dueAt: string;
  readonly status: MatchRequestStatus;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  readonly decidedRole: string | null;
  readonly reasons: readonly string[];
  /** Ids of the objects released on approval. */
  readonly released: readonly string[];
}

export interface MatchRepo {
  /** Insert; the same (id, side) again is ignored ("unchanged"). */
  putQuery(q: MatchQueryRecord): Promise<PutResult>;
  getQuery(id: string, side: MatchQueryRecord["side"]): Promise<MatchQueryRecord | undefined>;
  /** Insert; the same (id, direction) again is ignored ("unchanged"). */
  putRequest(r: MatchRequestRecord): Promise<PutResult>;
  getRequest(
    id: string,
    direction: MatchRequestRecord["direction"],
  ): Promise<MatchRequestRecord | undefined>;
  /** Newest first (by filing time), optionally one direction or status, at most `limit`. */
  listRequests(q: {
    direction?: MatchRequestRecord["direction"];
    status?: MatchRequestStatus;
    limit: number;
  }): Promise<MatchRequestRecord[]>;
  /**
   * Record the decision on a pending request; false (nothing written) when it is not pending, or
   * when it is claimed by another claim than `d.claim` (or claimed at all when `d.claim` is absent).
   */
  decideRequest(
    id: string,
    direction: MatchRequestRecord["direction"],
    d: {
      status: "approved" | "refused";
      decidedAt: string;
      decidedBy: string;
      decidedRole: string | null;
      reasons: readonly string[];
      released: readonly string[];
      claim?: string;
    },
  ): Promise<boolean>;
  /**
   * Claim a pending request for deciding, one claimant at a time across processes (a conditional
   * update): true when `claim` now holds it. While claimed it stays pending, with `decidedBy` =
   * `claim` and `decidedAt` = `at`; a claim from before `staleBefore` (a crashed decider) may be
   * taken over.
   */
  claimRequest(
    id: string,
    direction: MatchRequestRecord["direction"],
    claim: { claim: string; at: string; staleBefore: string },
  ): Promise<boolean>;
  /** Give a claim back (its decision failed); nothing happens unless `claim` holds the request. */
  releaseClaim(
    id: string,
    direction: MatchRequestRecord["direction"],
    claim: string,
  ): Promise<void>;
}

// ---------------------------------------------------------------- recall and correction (spec/recall.md)

/** One copy of one object version that this node sent to a partner (written in the share transaction). */
export interface SharedCopy {
  /** The object's id here. */
  readonly objectId: string;
  /** The id the recipient holds it under (differs when the profile re-issues ids). */
  readonly sentAs: string;
  readonly version: string;
  readonly recipient: NodeId;
  readonly envelopeId: string;
  /** "<agreement id> v<version>" */
  readonly agreement: string;
  readonly purpose: string;
  readonly sharedAt: string;
  /**
   * The TAXII credential whose holder read this copy from its partner collection (spec/recall.md,
   * "Copies read by TAXII"); null or absent when it travelled in a sealed envelope. `envelopeId`
   * is then `taxii:<credential>`.
   */
  readonly credential?: string | null;
}

export type RecallKind = "recall" | "correction";

/** A recall or correction notice this node issued (as originator) or received (and acted on). */
export interface RecallRecord {
  readonly id: string;
  readonly objectId: string;
  readonly kind: RecallKind;
  readonly originator: NodeId;
  readonly role: "issued" | "received";
  readonly issuedAt: string;
  /** The originator's signed notice, as JSON text (spec/recall.md, "Notice"). */
  readonly notice: string;
  /** received: the node that delivered the notice (the originator, or a node that relayed it). */
  readonly receivedFrom: NodeId | null;
  /** received: the signed acknowledgement this node returned, as JSON text. */
  readonly ack: string | null;
  readonly recordedAt: string;
}

export type RecallTargetStatus = "pending" | "acknowledged" | "refused";

/** One node a recall must reach, and whether it has acknowledged. */
export interface RecallTarget {
  readonly recallId: string;
  readonly recipient: NodeId;
  /** The node that relays the notice to `recipient` (an onward hop); null when sent directly. */
  readonly via: NodeId | null;
  readonly status: RecallTargetStatus;
  /** The recipient's signed acknowledgement (JSON text), once in. */
  readonly ack: string | null;
  /** What was acknowledged or why it was refused (metadata only). */
  readonly detail: Readonly<Record<string, unknown>> | null;
  readonly updatedAt: string;
}

export type RecallMessageKind = "notice" | "report";

/** A sealed recall message waiting for (or past) delivery: the recall's own durable outbox. */
export interface RecallMessage {
  /** The envelope id; the recipient deduplicates on it. */
  readonly id: string;
  readonly recallId: string;
  readonly recipient: NodeId;
  readonly kind: RecallMessageKind;
  readonly envelope: string;
  readonly status: "pending" | "delivered" | "refused";
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  readonly createdAt: string;
}

export interface RecallRepo {
  /** Remember that a copy travelled; writing the same copy twice is a no-op. */
  recordCopy(copy: SharedCopy): Promise<void>;
  /** Remember many copies in one write (a page read by TAXII); returns how many were new. */
  recordCopies(copies: readonly SharedCopy[]): Promise<number>;
  /** Every copy of any version of `objectId` this node sent, oldest first. */
  copiesOf(objectId: string): Promise<SharedCopy[]>;
  /** Insert a recall; the same id again is "unchanged" and keeps the first record. */
  putRecall(rec: RecallRecord): Promise<PutResult>;
  getRecall(id: string): Promise<RecallRecord | undefined>;
  /** Recalls, newest first, optionally for one object and one role. */
  listRecalls(query: {
    objectId?: string;
    role?: "issued" | "received";
    limit: number;
  }): Promise<RecallRecord[]>;
  /** Insert or replace the target (recallId, recipient). */
  putTarget(target: RecallTarget): Promise<void>;
  /** Every target of a recall, ordered by recipient. */
  targets(recallId: string): Promise<RecallTarget[]>;
  enqueue(message: {
    id: string;
    recallId: string;
    recipient: NodeId;
    kind: RecallMessageKind;
    envelope: string;
    createdAt: string;
  }): Promise<void>;
  /** Pending messages whose nextAttemptAt <= now, oldest first, at most `limit`. */
  due(now: string, limit: number): Promise<RecallMessage[]>;
  /** Mark a pending message delivered or refused (final); false when it was not pending. */
  settle(id: string, status: "delivered" | "refused", error: string | null): Promise<boolean>;
  /** Record a failed attempt: attempts+1, lastError, nextAttemptAt. */
  markFailed(id: string, error: string, nextAttemptAt: string): Promise<void>;
  /** Messages of one recall, oldest first. */
  messages(recallId: string): Promise<RecallMessage[]>;
}

export interface Repos {
  readonly objects: ObjectRepo;
  readonly recalls: RecallRepo;
  readonly ledger: LedgerRepo;
  readonly outbox: OutboxRepo;
  readonly inbox: InboxRepo;
  readonly peers: PeerRepo;
  readonly agreements: AgreementRepo;
  readonly nonces: NonceRepo;
  readonly peerKeys: PeerKeyRepo;
  /** Own key history, key announcements, partners' revoked keys (key rotation, migration 8). */
  readonly keys: KeyRepo;
  readonly match: MatchRepo;
  readonly agreementState: AgreementStateRepo;
  readonly budgets: BudgetRepo;
  readonly taxii: TaxiiRepo;
}

/** A log entry to append (`LedgerRepo.append`). */
export interface LedgerAppend {
  readonly kind: string;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * One write of a `WritePlan`. Plain data, so that a plan can be handed to another thread
 * (structured clone) and run there against that thread's connection (src/app/write-plan.ts).
 */
export type WriteStep =
  | {
      readonly op: "putObjects";
      readonly objects: readonly StoredObject[];
      /** Appended after the objects, with `stored` (how many versions were new) added to its data. */
      readonly counted?: LedgerAppend;
    }
  | { readonly op: "append"; readonly entry: LedgerAppend }
  | { readonly op: "putStatus"; readonly status: TaxiiStatusRecord }
  | { readonly op: "recordCopies"; readonly copies: readonly SharedCopy[] };

/** The writes of one request, run in order (group commit, src/app/group-commit.ts). */
export type WritePlan = readonly WriteStep[];

export interface Store extends Repos {
  /** Which adapter, for health output: "sqlite" or "postgres". */
  readonly kind: string;
  /**
   * Run `fn` in one transaction. Everything written through `tx` commits together, or nothing
   * does when `fn` throws (the error is rethrown unchanged). Transactions on one store serialise
   * where the database cannot isolate them.
   */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /**
   * Run every plan, in order, in one transaction (`runWritePlan`): all commit together, or
   * nothing does and the first error is thrown. Resolves once the transaction is durable. SQLite
   * runs it on a writer thread with a connection of its own, so the calling thread goes on
   * serving requests while the statements and the commit's fsync run (spec/storage.md).
   */
  commitPlans(plans: readonly WritePlan[]): Promise<void>;
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
   * POST a sealed envelope (its text, or that text's bytes) to the partner's inbox; resolves with
   * the partner's signed receipt.
   * Throws AccordError: ERR_PEER_UNAVAILABLE when the partner cannot be reached or answers 5xx
   * (retry later); any other code when the partner refused the envelope (do not retry).
   */
  deliver(peer: Peer, envelope: string | Uint8Array): Promise<{ receipt: string }>;
  /** GET a node's published descriptor from its base URL (attacker-controlled until verified). */
  fetchDescriptor(url: string): Promise<unknown>;
}

/** Structured operational logging (pino's shape). Audit facts go to the ledger, not here. */
export interface Logger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}
