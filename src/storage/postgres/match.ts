/**
 * The PostgreSQL MatchRepo (src/app/ports.ts): hit/no-hit queries as each side remembers them
 * (never the identifier) and follow-up requests after a hit (spec/match.md §follow-up),
 * migration 6. Statements are named, so each connection prepares them once.
 */
import type { QueryResultRow } from "pg";
import type {
  MatchQueryRecord,
  MatchRepo,
  MatchRequestRecord,
  MatchRequestStatus,
} from "../../app/ports.js";

import { instantKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";

function sql<R extends QueryResultRow = Record<string, never>>(name: string, text: string): Sql<R> {
  return { name: `accord_match_${name}`, text };
}

interface QueryRow {
  id: string;
  side: MatchQueryRecord["side"];
  partner: string;
  agreement_id: string;
  epoch: string;
  kind: string;
  purpose: string;
  elements: number;
  hits: number | null;
  at: string;
}

interface RequestRow {
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
  reasons: string[];
  released: string[];
}

const REQUEST_COLUMNS = `id, direction, partner, agreement_id, query_id, kind, identifier, legal_basis,
  purpose, urgency, justification, filed_at, hit_at, due_at, status, decided_at, decided_by,
  decided_role, reasons, released`;

const S = {
  putQuery: sql(
    "put_query",
    `INSERT INTO match_queries (id, side, partner, agreement_id, epoch, kind, purpose, elements, hits, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id, side) DO NOTHING`,
  ),
  getQuery: sql<QueryRow>(
    "get_query",
    `SELECT id, side, partner, agreement_id, epoch, kind, purpose, elements, hits, at
     FROM match_queries WHERE id = $1 AND side = $2`,
  ),
  putRequest: sql(
    "put_request",
    `INSERT INTO match_requests (${REQUEST_COLUMNS}, filed_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19::jsonb, $20::jsonb, $21)
     ON CONFLICT (id, direction) DO NOTHING`,
  ),
  getRequest: sql<RequestRow>(
    "get_request",
    `SELECT ${REQUEST_COLUMNS} FROM match_requests WHERE id = $1 AND direction = $2`,
  ),
  listRequests: sql<RequestRow>(
    "list_requests",
    `SELECT ${REQUEST_COLUMNS} FROM match_requests
     WHERE ($1::text IS NULL OR direction = $1) AND ($2::text IS NULL OR status = $2)
     ORDER BY filed_key DESC, id LIMIT $3`,
  ),
  decideRequest: sql(
    "decide_request",
    `UPDATE match_requests SET status = $1, decided_at = $2, decided_by = $3, decided_role = $4,
       reasons = $5::jsonb, released = $6::jsonb
     WHERE id = $7 AND direction = $8 AND status = 'pending'
       AND decided_by IS NOT DISTINCT FROM $9`,
  ),
  claimRequest: sql(
    "claim_request",
    `UPDATE match_requests SET decided_by = $1, decided_at = $2
     WHERE id = $3 AND direction = $4 AND status = 'pending'
       AND (decided_by IS NULL OR decided_at < $5)`,
  ),
  releaseClaim: sql(
    "release_claim",
    `UPDATE match_requests SET decided_by = NULL, decided_at = NULL
     WHERE id = $1 AND direction = $2 AND status = 'pending' AND decided_by = $3`,
  ),
};

function toQuery(r: QueryRow): MatchQueryRecord {
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

function toRequest(r: RequestRow): MatchRequestRecord {
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
    reasons: r.reasons,
    released: r.released,
  };
}

export function matchRepo({ query }: Exec): MatchRepo {
  return {
    async putQuery(q) {
      const { rowCount } = await query("could not record the match query", S.putQuery, [
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
      ]);
      return rowCount === 1 ? "inserted" : "unchanged";
    },
    async getQuery(id, side) {
      const { rows } = await query("could not read the match query", S.getQuery, [id, side]);
      const row = rows[0];
      return row === undefined ? undefined : toQuery(row);
    },
    async putRequest(r) {
      const filedKey = instantKey(r.filedAt, "filedAt");
      instantKey(r.dueAt, "dueAt");
      const { rowCount } = await query("could not record the follow-up request", S.putRequest, [
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
        filedKey,
      ]);
      return rowCount === 1 ? "inserted" : "unchanged";
    },
    async getRequest(id, direction) {
      const { rows } = await query("could not read the follow-up request", S.getRequest, [
        id,
        direction,
      ]);
      const row = rows[0];
      return row === undefined ? undefined : toRequest(row);
    },
    async listRequests(q) {
      if (!Number.isSafeInteger(q.limit) || q.limit < 1)
        throw new RangeError("limit must be a positive integer");
      const { rows } = await query("could not list follow-up requests", S.listRequests, [
        q.direction ?? null,
        q.status ?? null,
        q.limit,
      ]);
      return rows.map(toRequest);
    },
    async decideRequest(id, direction, d) {
      const { rowCount } = await query(
        "could not record the decision on the follow-up request",
        S.decideRequest,
        [
          d.status,
          d.decidedAt,
          d.decidedBy,
          d.decidedRole,
          JSON.stringify(d.reasons),
          JSON.stringify(d.released),
          id,
          direction,
          d.claim ?? null,
        ],
      );
      return rowCount === 1;
    },
    async claimRequest(id, direction, c) {
      const { rowCount } = await query("could not claim the follow-up request", S.claimRequest, [
        c.claim,
        c.at,
        id,
        direction,
        c.staleBefore,
      ]);
      return rowCount === 1;
    },
    async releaseClaim(id, direction, claim) {
      await query("could not release the claim on the follow-up request", S.releaseClaim, [
        id,
        direction,
        claim,
      ]);
    },
  };
}

/** Migration 6's SQL (migrations.ts holds the numbered list). */
export const MATCH_MIGRATION_SQL = `
  CREATE TABLE match_queries (
    id           text COLLATE "C" NOT NULL,
    side         text NOT NULL CHECK (side IN ('requester', 'responder')),
    partner      text NOT NULL,
    agreement_id text NOT NULL,
    epoch        bigint NOT NULL CHECK (epoch >= 0),
    kind         text NOT NULL,
    purpose      text NOT NULL,
    elements     integer NOT NULL CHECK (elements >= 0),
    hits         integer,
    at           text NOT NULL,
    PRIMARY KEY (id, side)
  );

  CREATE TABLE match_requests (
    id            text COLLATE "C" NOT NULL,
    direction     text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
    partner       text NOT NULL,
    agreement_id  text NOT NULL,
    query_id      text NOT NULL,
    kind          text NOT NULL,
    identifier    text NOT NULL,
    legal_basis   text NOT NULL,
    purpose       text NOT NULL,
    urgency       text NOT NULL CHECK (urgency IN ('standard', 'urgent')),
    justification text NOT NULL,
    filed_at      text NOT NULL,
    filed_key     text COLLATE "C" NOT NULL,
    hit_at        text NOT NULL,
    due_at        text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    decided_at    text,
    decided_by    text,
    decided_role  text,
    reasons       jsonb NOT NULL,
    released      jsonb NOT NULL,
    PRIMARY KEY (id, direction)
  );
  CREATE INDEX match_requests_by_filed ON match_requests (filed_key DESC, id);
`;
