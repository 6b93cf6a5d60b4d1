/**
 * The rows of the match tables (migration 6) as both adapters read and write them, their column
 * lists, and their mapping to the records of src/app/ports.ts. `epoch` is bigint on
 * PostgreSQL and `reasons` and `released` are jsonb there (JSON text on SQLite).
 */
import type { MatchQueryRecord, MatchRequestRecord, MatchRequestStatus } from "../../app/ports.js";
import type { BigintColumn, ReadJson } from "./columns.js";

export const QUERY_COLUMNS =
  "id, side, partner, agreement_id, epoch, kind, purpose, elements, hits, at";
export const REQUEST_COLUMNS = `id, direction, partner, agreement_id, query_id, kind, identifier, legal_basis,
  purpose, urgency, justification, filed_at, hit_at, due_at, status, decided_at, decided_by,
  decided_role, reasons, released`;

export interface QueryRow {
  id: string;
  side: MatchQueryRecord["side"];
  partner: string;
  agreement_id: string;
  epoch: BigintColumn;
  kind: string;
  purpose: string;
  elements: number;
  hits: number | null;
  at: string;
}

/** A row of match_requests; `J` is how the engine returns the JSON lists `reasons` and `released`. */
export interface RequestRow<J> {
  id: string;
  direction: MatchRequestRecord["direction"];
  partner: string;
  agreement_id: string;
  query_id: string;
  kind: string;
  identifier: string;
  legal_basis: string;
  purpose: string;
  urgency: MatchRequestRecord["urgency"];
  justification: string;
  filed_at: string;
  hit_at: string;
  due_at: string;
  status: MatchRequestStatus;
  decided_at: string | null;
  decided_by: string | null;
  decided_role: string | null;
  reasons: J;
  released: J;
}

/** A query's values in the order of `QUERY_COLUMNS`. */
export function queryValues(q: MatchQueryRecord): unknown[] {
  return [
    q.id,
    q.side,
    q.partner,
    q.agreementId,
    q.epoch,
    q.kind,
    q.purpose,
    q.elements,
    q.hits,
    q.at,
  ];
}

/** A request's values in the order of `REQUEST_COLUMNS`, its JSON lists as text. */
export function requestValues(r: MatchRequestRecord): unknown[] {
  return [
    r.id,
    r.direction,
    r.partner,
    r.agreementId,
    r.queryId,
    r.kind,
    r.identifier,
    r.legalBasis,
    r.purpose,
    r.urgency,
    r.justification,
    r.filedAt,
    r.hitAt,
    r.dueAt,
    r.status,
    r.decidedAt,
    r.decidedBy,
    r.decidedRole,
    JSON.stringify(r.reasons),
    JSON.stringify(r.released),
  ];
}

export function toQuery(r: QueryRow): MatchQueryRecord {
  return {
    id: r.id,
    side: r.side,
    partner: r.partner,
    agreementId: r.agreement_id,
    epoch: Number(r.epoch),
    kind: r.kind,
    purpose: r.purpose,
    elements: r.elements,
    hits: r.hits,
    at: r.at,
  };
}

export function toRequest<J>(r: RequestRow<J>, json: ReadJson<J>): MatchRequestRecord {
  return {
    id: r.id,
    direction: r.direction,
    partner: r.partner,
    agreementId: r.agreement_id,
    queryId: r.query_id,
    kind: r.kind,
    identifier: r.identifier,
    legalBasis: r.legal_basis,
    purpose: r.purpose,
    urgency: r.urgency,
    justification: r.justification,
    filedAt: r.filed_at,
    hitAt: r.hit_at,
    dueAt: r.due_at,
    status: r.status,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    decidedRole: r.decided_role,
    reasons: json(r.reasons) as string[],
    released: json(r.released) as string[],
  };
}
