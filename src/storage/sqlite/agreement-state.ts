/**
 * The SQLite AgreementStateRepo and BudgetRepo (src/app/ports.ts): agreement signatures,
 * lifecycle events, onward-hop consents, the lifecycle state last recorded per version, and
 * hit/no-hit query budgets (migration 3; spec/agreement.md).
 *
 * Statements are prepared once per connection (cached by connection). A budget is consumed in
 * one atomic unit (read, compare, write) under the store's lock, so two concurrent queries
 * never spend the same unit.
 */
import type { Database } from "better-sqlite3";
import type { AgreementStateRepo, AgreementStatusRecord, BudgetRepo } from "../../app/ports.js";
import { budgetWindow, checkBudgetRequest } from "../../core/budget.js";
import { putResult } from "../common/checks.js";
import * as common from "../common/agreement-state.js";
import { timeKey } from "./timekey.js";
import type { Exec } from "./rows.js";

/**
 * Migration 11: events keep the order this node stored them in (`seq`, a durable sequence that
 * breaks ties between events at the same instant; existing rows take their insertion order,
 * the rowid), and signature exchanges owed to partners are kept until done.
 */
export const AGREEMENT_EXCHANGE_MIGRATION_SQL = `
  ALTER TABLE agreement_events ADD COLUMN seq INTEGER;
  UPDATE agreement_events SET seq = rowid;
  CREATE INDEX agreement_events_by_seq ON agreement_events (agreement, at_key, seq);

  CREATE TABLE agreement_exchanges (
    agreement       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    partner         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    next_key        TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    done_at         TEXT,
    PRIMARY KEY (agreement, version, partner)
  ) STRICT;
  CREATE INDEX agreement_exchanges_due ON agreement_exchanges (status, next_key);
`;

/**
 * Migration 19: consents this node signed, owed to their holders until acknowledged (the push
 * row is written in the transaction that stores the consent).
 */
export const CONSENT_PUSH_MIGRATION_SQL = `
  CREATE TABLE consent_pushes (
    consent         TEXT PRIMARY KEY REFERENCES consents (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'expired')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    next_key        TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    created_n       INTEGER NOT NULL,
    ended_at        TEXT
  ) STRICT;
  CREATE INDEX consent_pushes_due ON consent_pushes (status, next_key);
`;

function prepare(db: Database) {
  return {
    versionsAll: db.prepare<[], common.AgreementRow>(
      "SELECT id, version, source, hash, loaded_at FROM agreements ORDER BY id, version",
    ),
    versionsOf: db.prepare<[string], common.AgreementRow>(
      "SELECT id, version, source, hash, loaded_at FROM agreements WHERE id = ? ORDER BY version",
    ),
    signatureInsert: db.prepare<[string, number, string, string, string, string]>(
      `INSERT INTO agreement_signatures (agreement, version, node, hash, jws, received_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    signaturesAll: db.prepare<[string], common.SignatureRow>(
      `SELECT agreement, version, node, hash, jws, received_at FROM agreement_signatures
       WHERE agreement = ? ORDER BY version, node`,
    ),
    signaturesOf: db.prepare<[string, number], common.SignatureRow>(
      `SELECT agreement, version, node, hash, jws, received_at FROM agreement_signatures
       WHERE agreement = ? AND version = ? ORDER BY node`,
    ),
    eventInsert: db.prepare<
      [
        string,
        string,
        string,
        string,
        string,
        string,
        string | null,
        string | null,
        string,
        string,
        string,
      ]
    >(
      `INSERT INTO agreement_events (id, agreement, kind, at, at_key, by_whom, party, reason,
         recorded_by, jws, recorded_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
         (SELECT coalesce(max(seq), 0) + 1 FROM agreement_events)) ON CONFLICT DO NOTHING`,
    ),
    eventsAll: db.prepare<[], common.EventRow>(
      `SELECT ${common.EVENT_COLUMNS} FROM agreement_events ORDER BY at_key, seq`,
    ),
    eventsOf: db.prepare<[string], common.EventRow>(
      `SELECT ${common.EVENT_COLUMNS} FROM agreement_events WHERE agreement = ? ORDER BY at_key, seq`,
    ),
    consentInsert: db.prepare<
      [string, string, string, string, string, string, string, string, string, string]
    >(
      `INSERT INTO consents (${common.CONSENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    consentsFor: db.prepare<[string, string], common.ConsentRow>(
      `SELECT ${common.CONSENT_COLUMNS} FROM consents WHERE holder = ? AND object IN (?, '*') ORDER BY id`,
    ),
    statusAll: db.prepare<[], AgreementStatusRecord>(
      "SELECT agreement, version, status, since FROM agreement_status ORDER BY agreement, version",
    ),
    statusPut: db.prepare<[string, number, string, string]>(
      `INSERT INTO agreement_status (agreement, version, status, since) VALUES (?, ?, ?, ?)
       ON CONFLICT (agreement, version) DO UPDATE SET status = excluded.status, since = excluded.since`,
    ),
    exchangeOwe: db.prepare<[string, number, string, string, string, string]>(
      `INSERT INTO agreement_exchanges (agreement, version, partner, status, attempts,
         next_attempt_at, next_key, created_at)
       VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)
       ON CONFLICT (agreement, version, partner) DO UPDATE SET status = 'pending',
         next_attempt_at = excluded.next_attempt_at, next_key = excluded.next_key, done_at = NULL`,
    ),
    exchangesDue: db.prepare<[string, number], common.ExchangeRow>(
      `SELECT ${common.EXCHANGE_COLUMNS} FROM agreement_exchanges
       WHERE status = 'pending' AND next_key <= ? ORDER BY next_key, agreement, version, partner
       LIMIT ?`,
    ),
    exchangeDone: db.prepare<[string, string, number, string]>(
      `UPDATE agreement_exchanges SET status = 'done', attempts = attempts + 1, done_at = ?,
         last_error = NULL
       WHERE agreement = ? AND version = ? AND partner = ? AND status = 'pending'`,
    ),
    exchangeFailed: db.prepare<[string, string, string, string, number, string]>(
      `UPDATE agreement_exchanges SET attempts = attempts + 1, last_error = ?,
         next_attempt_at = ?, next_key = ?
       WHERE agreement = ? AND version = ? AND partner = ? AND status = 'pending'`,
    ),
    exchangesOf: db.prepare<[string], common.ExchangeRow>(
      `SELECT ${common.EXCHANGE_COLUMNS} FROM agreement_exchanges WHERE agreement = ?
       ORDER BY version, partner`,
    ),
    pushOwe: db.prepare<[string, string, string, string]>(
      `INSERT INTO consent_pushes (consent, status, attempts, next_attempt_at, next_key,
         created_at, created_n)
       VALUES (?, 'pending', 0, ?, ?, ?,
         (SELECT coalesce(max(created_n), 0) + 1 FROM consent_pushes))
       ON CONFLICT (consent) DO NOTHING`,
    ),
    pushesDue: db.prepare<[string, number], common.ConsentPushRow>(
      `${common.PUSH_SELECT} WHERE p.status = 'pending' AND p.next_key <= ?
       ORDER BY p.next_key, p.created_n LIMIT ?`,
    ),
    pushFailed: db.prepare<[string, string, string, string]>(
      `UPDATE consent_pushes SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
         next_key = ?
       WHERE consent = ? AND status = 'pending'`,
    ),
    pushEnd: db.prepare<[string, number, string, string]>(
      `UPDATE consent_pushes SET status = ?, attempts = attempts + ?, ended_at = ?
       WHERE consent = ? AND status = 'pending'`,
    ),
    pushesAll: db.prepare<[], common.ConsentPushRow>(`${common.PUSH_SELECT} ORDER BY p.created_n`),
    budgetGet: db.prepare<[string, string, string, string], { used: number }>(
      `SELECT used FROM query_budgets
       WHERE agreement = ? AND partner = ? AND win = ? AND window_start = ?`,
    ),
    budgetAdd: db.prepare<[string, string, string, string, number]>(
      `INSERT INTO query_budgets (agreement, partner, win, window_start, used) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (agreement, partner, win, window_start) DO UPDATE SET used = used + excluded.used`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;
const cache = new WeakMap<Database, Statements>();

function statements(db: Database): Statements {
  let s = cache.get(db);
  if (s === undefined) cache.set(db, (s = prepare(db)));
  return s;
}

export function agreementStateRepo(db: Database, exec: Exec): AgreementStateRepo {
  const s = statements(db);
  return {
    async versions(id) {
      const rows = await exec.run("could not list agreement versions", () =>
        id === undefined ? s.versionsAll.all() : s.versionsOf.all(id),
      );
      return rows.map(common.toAgreement);
    },
    async putSignature(rec) {
      return exec.run("could not store the agreement signature", () =>
        putResult(
          s.signatureInsert.run(
            rec.agreement,
            rec.version,
            rec.node,
            rec.hash,
            rec.jws,
            rec.receivedAt,
          ).changes,
        ),
      );
    },
    async signatures(agreement, version) {
      const rows = await exec.run("could not read agreement signatures", () =>
        version === undefined
          ? s.signaturesAll.all(agreement)
          : s.signaturesOf.all(agreement, version),
      );
      return rows.map(common.toSignature);
    },
    async putEvent(rec) {
      const key = timeKey(rec.at, "the event's `at`");
      return exec.run("could not store the agreement event", () =>
        putResult(
          s.eventInsert.run(
            rec.id,
            rec.agreement,
            rec.kind,
            rec.at,
            key,
            rec.by,
            rec.party,
            rec.reason,
            rec.recordedBy,
            rec.jws,
            rec.recordedAt,
          ).changes,
        ),
      );
    },
    async events(agreement) {
      const rows = await exec.run("could not read agreement events", () =>
        agreement === undefined ? s.eventsAll.all() : s.eventsOf.all(agreement),
      );
      return rows.map(common.toEvent);
    },
    async putConsent(rec) {
      timeKey(rec.expires, "the consent's `expires`");
      return exec.run("could not store the consent", () =>
        putResult(
          s.consentInsert.run(
            rec.id,
            rec.originator,
            rec.object,
            rec.holder,
            rec.recipient,
            rec.agreement,
            rec.purpose,
            rec.expires,
            rec.jws,
            rec.storedAt,
          ).changes,
        ),
      );
    },
    async consentsFor(holder, object) {
      const rows = await exec.run("could not read consents", () =>
        s.consentsFor.all(holder, object),
      );
      return rows.map(common.toConsent);
    },
    async statuses() {
      return exec.run("could not read agreement states", () => s.statusAll.all());
    },
    async setStatus(rec) {
      await exec.run("could not record the agreement state", () =>
        s.statusPut.run(rec.agreement, rec.version, rec.status, rec.since),
      );
    },
    async oweExchange(req) {
      const key = timeKey(req.at, "the exchange's time");
      await exec.run("could not record the exchange owed", () =>
        s.exchangeOwe.run(req.agreement, req.version, req.partner, req.at, key, req.at),
      );
    },
    async dueExchanges(now, limit) {
      const key = timeKey(now, "the time");
      const rows = await exec.run("could not read the exchanges due", () =>
        s.exchangesDue.all(key, limit),
      );
      return rows.map(common.toExchange);
    },
    async exchangeDone(agreement, version, partner, at) {
      return exec.run(
        "could not record the exchange",
        () => s.exchangeDone.run(at, agreement, version, partner).changes === 1,
      );
    },
    async exchangeFailed(agreement, version, partner, error, nextAttemptAt) {
      const key = timeKey(nextAttemptAt, "the next attempt");
      await exec.run("could not record the exchange", () =>
        s.exchangeFailed.run(error, nextAttemptAt, key, agreement, version, partner),
      );
    },
    async exchanges(agreement) {
      const rows = await exec.run("could not read the exchanges", () =>
        s.exchangesOf.all(agreement),
      );
      return rows.map(common.toExchange);
    },
    async oweConsentPush(consent, at) {
      const key = timeKey(at, "the push's time");
      await exec.run("could not record the consent push owed", () =>
        s.pushOwe.run(consent, at, key, at),
      );
    },
    async dueConsentPushes(now, limit) {
      const key = timeKey(now, "the time");
      const rows = await exec.run("could not read the consent pushes due", () =>
        s.pushesDue.all(key, limit),
      );
      return rows.map(common.toConsentPush);
    },
    async consentPushFailed(consent, error, nextAttemptAt) {
      const key = timeKey(nextAttemptAt, "the next attempt");
      await exec.run("could not record the consent push", () =>
        s.pushFailed.run(error, nextAttemptAt, key, consent),
      );
    },
    async endConsentPush(consent, status, at) {
      return exec.run(
        "could not record the consent push",
        () => s.pushEnd.run(status, status === "done" ? 1 : 0, at, consent).changes === 1,
      );
    },
    async consentPushes() {
      const rows = await exec.run("could not read the consent pushes", () => s.pushesAll.all());
      return rows.map(common.toConsentPush);
    },
  };
}

export function budgetRepo(db: Database, exec: Exec): BudgetRepo {
  const s = statements(db);
  return {
    async consume(req) {
      const cost = req.cost ?? 1;
      checkBudgetRequest(req.limit, cost);
      const w = budgetWindow(req.window, req.at);
      return exec.atomic("could not consume the query budget", () => {
        const used = s.budgetGet.get(req.agreementId, req.partner, req.window, w.start)?.used ?? 0;
        if (used + cost > req.limit)
          return { allowed: false, remaining: Math.max(0, req.limit - used), resetAt: w.end };
        s.budgetAdd.run(req.agreementId, req.partner, req.window, w.start, cost);
        return { allowed: true, remaining: req.limit - used - cost, resetAt: w.end };
      });
    },
    async used(req) {
      const w = budgetWindow(req.window, req.at);
      const row = await exec.run("could not read the query budget", () =>
        s.budgetGet.get(req.agreementId, req.partner, req.window, w.start),
      );
      return row?.used ?? 0;
    },
  };
}
