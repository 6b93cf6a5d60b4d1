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
import type {
  AgreementEventRecord,
  AgreementExchangeRecord,
  AgreementRecord,
  AgreementSignatureRecord,
  AgreementStateRepo,
  AgreementStatusRecord,
  BudgetRepo,
  ConsentPushRecord,
  ConsentRecord,
  PutResult,
} from "../../app/ports.js";
import { budgetWindow, checkBudgetRequest } from "../../core/budget.js";
import { timeKey } from "./timekey.js";
import type { Exec } from "./rows.js";

interface AgreementRow {
  id: string;
  version: number;
  source: string;
  hash: string;
  loaded_at: string;
}

interface SignatureRow {
  agreement: string;
  version: number;
  node: string;
  hash: string;
  jws: string;
  received_at: string;
}

interface EventRow {
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

type ConsentRow = Omit<ConsentRecord, "storedAt"> & { stored_at: string };

interface ExchangeRow {
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

interface ConsentPushRow extends ConsentRow {
  push_status: ConsentPushRecord["status"];
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  ended_at: string | null;
}

const PUSH_SELECT = `SELECT c.id, c.originator, c.object, c.holder, c.recipient, c.agreement,
    c.purpose, c.expires, c.jws, c.stored_at, p.status AS push_status, p.attempts,
    p.next_attempt_at, p.last_error, p.created_at, p.ended_at
  FROM consent_pushes p JOIN consents c ON c.id = p.consent`;

const EXCHANGE_COLUMNS =
  "agreement, version, partner, status, attempts, next_attempt_at, last_error, created_at, done_at";

const EVENT_COLUMNS =
  "id, agreement, kind, at, by_whom, party, reason, recorded_by, jws, recorded_at";
const CONSENT_COLUMNS =
  "id, originator, object, holder, recipient, agreement, purpose, expires, jws, stored_at";

function prepare(db: Database) {
  return {
    versionsAll: db.prepare<[], AgreementRow>(
      "SELECT id, version, source, hash, loaded_at FROM agreements ORDER BY id, version",
    ),
    versionsOf: db.prepare<[string], AgreementRow>(
      "SELECT id, version, source, hash, loaded_at FROM agreements WHERE id = ? ORDER BY version",
    ),
    signatureInsert: db.prepare<[string, number, string, string, string, string]>(
      `INSERT INTO agreement_signatures (agreement, version, node, hash, jws, received_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    signaturesAll: db.prepare<[string], SignatureRow>(
      `SELECT agreement, version, node, hash, jws, received_at FROM agreement_signatures
       WHERE agreement = ? ORDER BY version, node`,
    ),
    signaturesOf: db.prepare<[string, number], SignatureRow>(
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
    eventsAll: db.prepare<[], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM agreement_events ORDER BY at_key, seq`,
    ),
    eventsOf: db.prepare<[string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM agreement_events WHERE agreement = ? ORDER BY at_key, seq`,
    ),
    consentInsert: db.prepare<
      [string, string, string, string, string, string, string, string, string, string]
    >(
      `INSERT INTO consents (${CONSENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    consentsFor: db.prepare<[string, string], ConsentRow>(
      `SELECT ${CONSENT_COLUMNS} FROM consents WHERE holder = ? AND object IN (?, '*') ORDER BY id`,
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
    exchangesDue: db.prepare<[string, number], ExchangeRow>(
      `SELECT ${EXCHANGE_COLUMNS} FROM agreement_exchanges
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
    exchangesOf: db.prepare<[string], ExchangeRow>(
      `SELECT ${EXCHANGE_COLUMNS} FROM agreement_exchanges WHERE agreement = ?
       ORDER BY version, partner`,
    ),
    pushOwe: db.prepare<[string, string, string, string]>(
      `INSERT INTO consent_pushes (consent, status, attempts, next_attempt_at, next_key,
         created_at, created_n)
       VALUES (?, 'pending', 0, ?, ?, ?,
         (SELECT coalesce(max(created_n), 0) + 1 FROM consent_pushes))
       ON CONFLICT (consent) DO NOTHING`,
    ),
    pushesDue: db.prepare<[string, number], ConsentPushRow>(
      `${PUSH_SELECT} WHERE p.status = 'pending' AND p.next_key <= ?
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
    pushesAll: db.prepare<[], ConsentPushRow>(`${PUSH_SELECT} ORDER BY p.created_n`),
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

const inserted = (changes: number): PutResult => (changes === 1 ? "inserted" : "unchanged");

export function agreementStateRepo(db: Database, exec: Exec): AgreementStateRepo {
  const s = statements(db);
  return {
    async versions(id) {
      const rows = await exec.run("could not list agreement versions", () =>
        id === undefined ? s.versionsAll.all() : s.versionsOf.all(id),
      );
      return rows.map((r): AgreementRecord => ({
        id: r.id,
        version: r.version,
        source: r.source,
        hash: r.hash,
        loadedAt: r.loaded_at,
      }));
    },
    async putSignature(rec) {
      return exec.run("could not store the agreement signature", () =>
        inserted(
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
      return rows.map((r): AgreementSignatureRecord => ({
        agreement: r.agreement,
        version: r.version,
        node: r.node,
        hash: r.hash,
        jws: r.jws,
        receivedAt: r.received_at,
      }));
    },
    async putEvent(rec) {
      const key = timeKey(rec.at, "the event's `at`");
      return exec.run("could not store the agreement event", () =>
        inserted(
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
      return rows.map((r): AgreementEventRecord => ({
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
      }));
    },
    async putConsent(rec) {
      timeKey(rec.expires, "the consent's `expires`");
      return exec.run("could not store the consent", () =>
        inserted(
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
      return rows.map(({ stored_at, ...rest }): ConsentRecord => ({
        ...rest,
        storedAt: stored_at,
      }));
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
      return rows.map(exchangeRecord);
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
      return rows.map(exchangeRecord);
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
      return rows.map(pushRecord);
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
      return rows.map(pushRecord);
    },
  };
}

function pushRecord(r: ConsentPushRow): ConsentPushRecord {
  return {
    consent: {
      id: r.id,
      originator: r.originator,
      object: r.object,
      holder: r.holder,
      recipient: r.recipient,
      agreement: r.agreement,
      purpose: r.purpose,
      expires: r.expires,
      jws: r.jws,
      storedAt: r.stored_at,
    },
    status: r.push_status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    endedAt: r.ended_at,
  };
}

function exchangeRecord(r: ExchangeRow): AgreementExchangeRecord {
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
