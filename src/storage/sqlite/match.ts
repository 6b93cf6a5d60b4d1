/**
 * The SQLite MatchRepo (src/app/ports.ts): hit/no-hit queries as each side remembers them (never
 * the identifier) and follow-up requests after a hit (spec/match.md §follow-up), migration 6.
 * Statements are prepared once per connection.
 */
import type { Database, Statement } from "better-sqlite3";
import type { MatchRepo } from "../../app/ports.js";
import { checkPositiveLimit, putResult } from "../common/checks.js";
import { jsonText } from "../common/columns.js";
import * as common from "../common/match.js";

import { timeKey } from "./timekey.js";
import type { Exec } from "./rows.js";

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

export function matchRepo(db: Database, exec: Exec): MatchRepo {
  return {
    putQuery(q) {
      return exec.run("could not record the match query", () =>
        putResult(
          prepared(
            db,
            `INSERT INTO match_queries (${common.QUERY_COLUMNS})
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, side) DO NOTHING`,
          ).run(...common.queryValues(q)).changes,
        ),
      );
    },
    getQuery(id, side) {
      return exec.run("could not read the match query", () => {
        const row = prepared(
          db,
          `SELECT ${common.QUERY_COLUMNS} FROM match_queries WHERE id = ? AND side = ?`,
        ).get(id, side) as common.QueryRow | undefined;
        return row === undefined ? undefined : common.toQuery(row);
      });
    },
    async putRequest(r) {
      const filedKey = timeKey(r.filedAt, "filedAt");
      timeKey(r.dueAt, "dueAt");
      return exec.run("could not record the follow-up request", () =>
        putResult(
          prepared(
            db,
            `INSERT INTO match_requests (${common.REQUEST_COLUMNS}, filed_key)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id, direction) DO NOTHING`,
          ).run(...common.requestValues(r), filedKey).changes,
        ),
      );
    },
    getRequest(id, direction) {
      return exec.run("could not read the follow-up request", () => {
        const row = prepared(
          db,
          `SELECT ${common.REQUEST_COLUMNS} FROM match_requests WHERE id = ? AND direction = ?`,
        ).get(id, direction) as common.RequestRow<string> | undefined;
        return row === undefined ? undefined : common.toRequest(row, jsonText);
      });
    },
    async listRequests(q) {
      checkPositiveLimit(q.limit);
      return exec.run("could not list follow-up requests", () =>
        (
          prepared(
            db,
            `SELECT ${common.REQUEST_COLUMNS} FROM match_requests
             WHERE (@direction IS NULL OR direction = @direction)
               AND (@status IS NULL OR status = @status)
             ORDER BY filed_key DESC, id LIMIT @limit`,
          ).all({
            direction: q.direction ?? null,
            status: q.status ?? null,
            limit: q.limit,
          }) as common.RequestRow<string>[]
        ).map((r) => common.toRequest(r, jsonText)),
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
