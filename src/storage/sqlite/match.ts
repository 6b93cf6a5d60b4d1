/**
 * The SQLite MatchRepo (src/app/ports.ts): hit/no-hit queries as each side remembers them (never
 * the identifier) and follow-up requests after a hit (spec/match.md §follow-up), migration 6.
 * Statements are prepared once per connection.
 */
import type { Database, Statement } from "better-sqlite3";
import type {
  MatchQueryRecord,
  MatchRepo,
  MatchRequestRecord,
  MatchRequestStatus,
} from "../../app/ports.js";

import { timeKey } from "./timekey.js";
import type { Exec } from "./rows.js";

interface QueryRow {
  id: string;
  side: MatchQueryRecord["side"];
  partner: string;
  agreement_id: string;
  epoch: number;
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
  reasons: string;
  released: string;
}

const cache = new WeakMap<Database, Map<string, Statement>>();

function prepared(db: Database, text: string): Statement {
  let m = cache.get(db);
  if (m === undefined) {
    m = new Map();
    cache.set(db, m);
  }
  let st = m.get(text);
  if (st === undefined) {
    st = db.prepare(text);
    m.set(text, st);
  }
  return st;
}

const REQUEST_COLUMNS = `id, direction, partner, agreement_id, query_id, kind, identifier, legal_basis,
  purpose, urgency, justification, filed_at, hit_at, due_at, status, decided_at, decided_by,
  decided_role, reasons, released`;

function toQuery(r: QueryRow): MatchQueryRecord {
  return {
    id: r.id,
    side: r.side,
    partner: r.partner,
    agreementId: r.agreement_id,
    epoch: r.epoch,
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
    reasons: JSON.parse(r.reasons) as string[],
    released: JSON.parse(r.released) as string[],
  };
}

export function matchRepo(db: Database, exec: Exec): MatchRepo {
  return {
    putQuery(q) {
      return exec.run("could not record the match query", () =>
        prepared(
          db,
          `INSERT INTO match_queries (id, side, partner, agreement_id, epoch, kind, purpose, elements, hits, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, side) DO NOTHING`,
        ).run(
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
        ).changes === 1
          ? ("inserted" as const)
          : ("unchanged" as const),
      );
    },
    getQuery(id, side) {
      return exec.run("could not read the match query", () => {
        const row = prepared(
          db,
          `SELECT id, side, partner, agreement_id, epoch, kind, purpose, elements, hits, at
           FROM match_queries WHERE id = ? AND side = ?`,
        ).get(id, side) as QueryRow | undefined;
        return row === undefined ? undefined : toQuery(row);
      });
    },
    async putRequest(r) {
      const filedKey = timeKey(r.filedAt, "filedAt");
      timeKey(r.dueAt, "dueAt");
      return exec.run("could not record the follow-up request", () =>
        prepared(
          db,
          `INSERT INTO match_requests (${REQUEST_COLUMNS}, filed_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id, direction) DO NOTHING`,
        ).run(
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
        ).changes === 1
          ? ("inserted" as const)
          : ("unchanged" as const),
      );
    },
    getRequest(id, direction) {
      return exec.run("could not read the follow-up request", () => {
        const row = prepared(
          db,
          `SELECT ${REQUEST_COLUMNS} FROM match_requests WHERE id = ? AND direction = ?`,
        ).get(id, direction) as RequestRow | undefined;
        return row === undefined ? undefined : toRequest(row);
      });
    },
    async listRequests(q) {
      if (!Number.isSafeInteger(q.limit) || q.limit < 1)
        throw new RangeError("limit must be a positive integer");
      return exec.run("could not list follow-up requests", () =>
        (
          prepared(
            db,
            `SELECT ${REQUEST_COLUMNS} FROM match_requests
             WHERE (@direction IS NULL OR direction = @direction)
               AND (@status IS NULL OR status = @status)
             ORDER BY filed_key DESC, id LIMIT @limit`,
          ).all({
            direction: q.direction ?? null,
            status: q.status ?? null,
            limit: q.limit,
          }) as RequestRow[]
        ).map(toRequest),
      );
    },
    decideRequest(id, direction, d) {
      return exec.run(
        "could not record the decision on the follow-up request",
        () =>
          prepared(
            db,
            `UPDATE match_requests SET status = ?, decided_at = ?, decided_by = ?, decided_role = ?,
               reasons = ?, released = ?
             WHERE id = ? AND direction = ? AND status = 'pending' AND decided_by IS ?`,
          ).run(
            d.status,
            d.decidedAt,
            d.decidedBy,
            d.decidedRole,
            JSON.stringify(d.reasons),
            JSON.stringify(d.released),
            id,
            direction,
            d.claim ?? null,
          ).changes === 1,
      );
    },
    claimRequest(id, direction, c) {
      return exec.run(
        "could not claim the follow-up request",
        () =>
          prepared(
            db,
            `UPDATE match_requests SET decided_by = ?, decided_at = ?
             WHERE id = ? AND direction = ? AND status = 'pending'
               AND (decided_by IS NULL OR decided_at < ?)`,
          ).run(c.claim, c.at, id, direction, c.staleBefore).changes === 1,
      );
    },
    releaseClaim(id, direction, claim) {
      return exec.run("could not release the claim on the follow-up request", () => {
        prepared(
          db,
          `UPDATE match_requests SET decided_by = NULL, decided_at = NULL
           WHERE id = ? AND direction = ? AND status = 'pending' AND decided_by = ?`,
        ).run(id, direction, claim);
      });
    },
  };
}

/** Migration 6 (shared text with migrations.ts, which holds the numbered list). */
export const MATCH_MIGRATION_SQL = `
  CREATE TABLE match_queries (
    id           TEXT NOT NULL,
    side         TEXT NOT NULL CHECK (side IN ('requester', 'responder')),
    partner      TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    epoch        INTEGER NOT NULL CHECK (epoch >= 0),
    kind         TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    elements     INTEGER NOT NULL CHECK (elements >= 0),
    hits         INTEGER,
    at           TEXT NOT NULL,
    PRIMARY KEY (id, side)
  ) STRICT;

  CREATE TABLE match_requests (
    id            TEXT NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
    partner       TEXT NOT NULL,
    agreement_id  TEXT NOT NULL,
    query_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    identifier    TEXT NOT NULL,
    legal_basis   TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    urgency       TEXT NOT NULL CHECK (urgency IN ('standard', 'urgent')),
    justification TEXT NOT NULL,
    filed_at      TEXT NOT NULL,
    filed_key     TEXT NOT NULL,
    hit_at        TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    decided_at    TEXT,
    decided_by    TEXT,
    decided_role  TEXT,
    reasons       TEXT NOT NULL,
    released      TEXT NOT NULL,
    PRIMARY KEY (id, direction)
  ) STRICT;
  CREATE INDEX match_requests_by_filed ON match_requests (filed_key DESC, id);
`;
