/**
 * The rows of the recall tables (migration 5) as both adapters read them, and their mapping to
 * the records of src/app/ports.ts. The column names and types are the same on both engines but
 * for `recall_targets.detail` (JSON text on SQLite, jsonb on PostgreSQL), which `ReadJson` reads.
 */
import type {
  ExpiredVersion,
  RecallMessage,
  RecallRecord,
  RecallTarget,
  SharedCopy,
} from "../../app/ports.js";
import type { ReadJson } from "./columns.js";

export const RECALL_COLUMNS = `id, object_id, kind, originator, role, issued_at, notice, received_from,
  ack, recorded_at`;
export const MESSAGE_COLUMNS = `id, recall_id, recipient, kind, envelope, status, attempts,
  next_attempt_at, last_error, created_at`;

export interface CopyRow {
  object_id: string;
  sent_as: string;
  version: string;
  recipient: string;
  envelope_id: string;
  agreement: string;
  purpose: string;
  shared_at: string;
  credential: string | null;
}

export interface RecallRow {
  id: string;
  object_id: string;
  kind: "recall" | "correction";
  originator: string;
  role: "issued" | "received";
  issued_at: string;
  notice: string;
  received_from: string | null;
  ack: string | null;
  recorded_at: string;
}

/** A row of recall_targets; `D` is how the engine returns the JSON `detail` column. */
export interface TargetRow<D> {
  recall_id: string;
  recipient: string;
  via: string | null;
  status: RecallTarget["status"];
  ack: string | null;
  detail: D | null;
  updated_at: string;
}

export interface MessageRow {
  id: string;
  recall_id: string;
  recipient: string;
  kind: RecallMessage["kind"];
  envelope: string;
  status: RecallMessage["status"];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
}

/** A version of a stored object with a retention deadline, from the objects table. */
export interface ExpiredRow {
  id: string;
  version: string;
  type: string;
  originator: string;
  received_from: string | null;
  agreement_id: string | null;
  retention_until: string;
}

export function toCopy(r: CopyRow): SharedCopy {
  return {
    objectId: r.object_id,
    sentAs: r.sent_as,
    version: r.version,
    recipient: r.recipient,
    envelopeId: r.envelope_id,
    agreement: r.agreement,
    purpose: r.purpose,
    sharedAt: r.shared_at,
    credential: r.credential,
  };
}

export function toRecall(r: RecallRow): RecallRecord {
  return {
    id: r.id,
    objectId: r.object_id,
    kind: r.kind,
    originator: r.originator,
    role: r.role,
    issuedAt: r.issued_at,
    notice: r.notice,
    receivedFrom: r.received_from,
    ack: r.ack,
    recordedAt: r.recorded_at,
  };
}

export function toTarget<D>(r: TargetRow<D>, json: ReadJson<D>): RecallTarget {
  return {
    recallId: r.recall_id,
    recipient: r.recipient,
    via: r.via,
    status: r.status,
    ack: r.ack,
    detail: r.detail === null ? null : (json(r.detail) as Record<string, unknown>),
    updatedAt: r.updated_at,
  };
}

export function toMessage(r: MessageRow): RecallMessage {
  return {
    id: r.id,
    recallId: r.recall_id,
    recipient: r.recipient,
    kind: r.kind,
    envelope: r.envelope,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
  };
}

export function toExpired(r: ExpiredRow): ExpiredVersion {
  return {
    id: r.id,
    version: r.version,
    type: r.type,
    originator: r.originator,
    receivedFrom: r.received_from,
    agreementId: r.agreement_id,
    retentionUntil: r.retention_until,
  };
}
