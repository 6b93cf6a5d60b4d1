/**
 * The PostgreSQL MatchRepo (src/app/ports.ts): hit/no-hit queries as each side remembers them
 * (never the identifier) and follow-up requests after a hit (spec/match.md §follow-up),
 * migration 6. Statements are named, so each connection prepares them once.
 */
import type { QueryResultRow } from "pg";
import type { MatchRepo } from "../../app/ports.js";
import { checkPositiveLimit, putResult } from "../common/checks.js";
import { jsonValue } from "../common/columns.js";
import * as common from "../common/match.js";

import { instantKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";

function sql<R extends QueryResultRow = Record<string, never>>(name: string, text: string): Sql<R> {
  return { name: `accord_match_${name}`, text };
}

const S = {
  putQuery: sql(
    "put_query",
    `INSERT INTO match_queries (${common.QUERY_COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id, side) DO NOTHING`,
  ),
  getQuery: sql<common.QueryRow>(
    "get_query",
    `SELECT ${common.QUERY_COLUMNS} FROM match_queries WHERE id = $1 AND side = $2`,
  ),
  putRequest: sql(
    "put_request",
    `INSERT INTO match_requests (${common.REQUEST_COLUMNS}, filed_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19::jsonb, $20::jsonb, $21)
     ON CONFLICT (id, direction) DO NOTHING`,
  ),
  getRequest: sql<common.RequestRow<unknown>>(
    "get_request",
    `SELECT ${common.REQUEST_COLUMNS} FROM match_requests WHERE id = $1 AND direction = $2`,
  ),
  listRequests: sql<common.RequestRow<unknown>>(
    "list_requests",
    `SELECT ${common.REQUEST_COLUMNS} FROM match_requests
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

export function matchRepo({ query }: Exec): MatchRepo {
  return {
    async putQuery(q) {
      const { rowCount } = await query(
        "could not record the match query",
        S.putQuery,
        common.queryValues(q),
      );
      return putResult(rowCount);
    },
    async getQuery(id, side) {
      const { rows } = await query("could not read the match query", S.getQuery, [id, side]);
      const row = rows[0];
      return row === undefined ? undefined : common.toQuery(row);
    },
    async putRequest(r) {
      const filedKey = instantKey(r.filedAt, "filedAt");
      instantKey(r.dueAt, "dueAt");
      const { rowCount } = await query("could not record the follow-up request", S.putRequest, [
        ...common.requestValues(r),
        filedKey,
      ]);
      return putResult(rowCount);
    },
    async getRequest(id, direction) {
      const { rows } = await query("could not read the follow-up request", S.getRequest, [
        id,
        direction,
      ]);
      const row = rows[0];
      return row === undefined ? undefined : common.toRequest(row, jsonValue);
    },
    async listRequests(q) {
      checkPositiveLimit(q.limit);
      const { rows } = await query("could not list follow-up requests", S.listRequests, [
        q.direction ?? null,
        q.status ?? null,
        q.limit,
      ]);
      return rows.map((r) => common.toRequest(r, jsonValue));
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
