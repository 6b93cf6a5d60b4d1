/**
 * The rows of the agreement-state tables (migrations 3, 11 and 19) whose column names and types
 * are the same on both engines, the column lists that select them, and their mapping to the
 * records of src/app/ports.ts. The versions of agreements and their signatures are bigint on
 * PostgreSQL (`BigintColumn`).
 */
import type {
  AgreementEventRecord,
  AgreementExchangeRecord,
  AgreementRecord,
  AgreementSignatureRecord,
  ConsentPushRecord,
  ConsentRecord,
} from "../../app/ports.js";
import type { BigintColumn } from "./columns.js";

export const EVENT_COLUMNS =
  "id, agreement, kind, at, by_whom, party, reason, recorded_by, jws, recorded_at";
export const CONSENT_COLUMNS =
  "id, originator, object, holder, recipient, agreement, purpose, expires, jws, stored_at";
export const EXCHANGE_COLUMNS =
  "agreement, version, partner, status, attempts, next_attempt_at, last_error, created_at, done_at";

/** A consent owed to its holder, with the push's state (a consent_pushes row joined to its consent). */
export const PUSH_SELECT = `SELECT c.id, c.originator, c.object, c.holder, c.recipient, c.agreement,
    c.purpose, c.expires, c.jws, c.stored_at, p.status AS push_status, p.attempts,
    p.next_attempt_at, p.last_error, p.created_at, p.ended_at
  FROM consent_pushes p JOIN consents c ON c.id = p.consent`;

export interface AgreementRow {
  id: string;
  version: BigintColumn;
  source: string;
  hash: string;
  loaded_at: string;
}

export interface SignatureRow {
  agreement: string;
  version: BigintColumn;
  node: string;
  hash: string;
  jws: string;
  received_at: string;
}

export interface EventRow {
  id: string;
  agreement: string;
  kind: AgreementEventRecord["kind"];
  at: string;
  by_whom: string;
  party: string | null;
  reason: string | null;
  recorded_by: string;
  jws: string;
  recorded_at: string;
}

export type ConsentRow = Omit<ConsentRecord, "storedAt"> & { stored_at: string };

export interface ExchangeRow {
  agreement: string;
  version: number;
  partner: string;
  status: "pending" | "done";
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  done_at: string | null;
}

export interface ConsentPushRow extends ConsentRow {
  push_status: ConsentPushRecord["status"];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  ended_at: string | null;
}

export function toAgreement(r: AgreementRow): AgreementRecord {
  return {
    id: r.id,
    version: Number(r.version),
    source: r.source,
    hash: r.hash,
    loadedAt: r.loaded_at,
  };
}

export function toSignature(r: SignatureRow): AgreementSignatureRecord {
  return {
    agreement: r.agreement,
    version: Number(r.version),
    node: r.node,
    hash: r.hash,
    jws: r.jws,
    receivedAt: r.received_at,
  };
}

export function toEvent(r: EventRow): AgreementEventRecord {
  return {
    id: r.id,
    agreement: r.agreement,
    kind: r.kind,
    at: r.at,
    by: r.by_whom,
    party: r.party,
    reason: r.reason,
    recordedBy: r.recorded_by,
    jws: r.jws,
    recordedAt: r.recorded_at,
  };
}

export function toConsent({ stored_at, ...rest }: ConsentRow): ConsentRecord {
  return { ...rest, storedAt: stored_at };
}

export function toExchange(r: ExchangeRow): AgreementExchangeRecord {
  return {
    agreement: r.agreement,
    version: r.version,
    partner: r.partner,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    doneAt: r.done_at,
  };
}

export function toConsentPush(r: ConsentPushRow): ConsentPushRecord {
  const { push_status, attempts, next_attempt_at, last_error, created_at, ended_at, ...consent } =
    r;
  return {
    consent: toConsent(consent),
    status: push_status,
    attempts,
    nextAttemptAt: next_attempt_at,
    lastError: last_error,
    createdAt: created_at,
    endedAt: ended_at,
  };
}
