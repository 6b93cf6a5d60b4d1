/**
 * The PostgreSQL AgreementStateRepo and BudgetRepo (src/app/ports.ts): agreement signatures,
 * lifecycle events, onward-hop consents, the lifecycle state last recorded per version, and
 * hit/no-hit query budgets (migration 3; spec/agreement.md).
 *
 * A budget is consumed by one INSERT ... ON CONFLICT DO UPDATE ... WHERE used + cost <= limit:
 * the row lock taken by the upsert makes concurrent consumers queue, and the condition is
 * re-checked on the row they find, so no window ever spends more than its limit.
 */
import type { QueryResultRow } from "pg";
import type { AgreementStateRepo, AgreementStatusRecord, BudgetRepo } from "../../app/ports.js";
import { budgetWindow, checkBudgetRequest } from "../../core/budget.js";
import { putResult } from "../common/checks.js";
import * as common from "../common/agreement-state.js";
import { instantKey } from "./timekey.js";
import type { Exec, Sql } from "./sql.js";

type NoRows = Record<string, never>;

function sql<R extends QueryResultRow = NoRows>(name: string, text: string): Sql<R> {
  return { name: `accord_as_${name}`, text };
}

/**
 * Migration 11: events keep the order this node stored them in (`seq`, a durable sequence that
 * breaks ties between events at the same instant; existing rows are numbered as they lie), and
 * signature exchanges owed to partners are kept until done.
 */
export const AGREEMENT_EXCHANGE_MIGRATION_SQL = `
  ALTER TABLE agreement_events ADD COLUMN seq bigserial;
  CREATE INDEX agreement_events_by_seq ON agreement_events (agreement, at_key, seq);

  CREATE TABLE agreement_exchanges (
    agreement       text COLLATE "C" NOT NULL,
    version         integer NOT NULL,
    partner         text COLLATE "C" NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'done')),
    attempts        integer NOT NULL CHECK (attempts >= 0),
    next_attempt_at text NOT NULL,
    next_key        text COLLATE "C" NOT NULL,
    last_error      text,
    created_at      text NOT NULL,
    done_at         text,
    PRIMARY KEY (agreement, version, partner)
  );
  CREATE INDEX agreement_exchanges_due ON agreement_exchanges (status, next_key);
`;

/**
 * Migration 19: consents this node signed, owed to their holders until acknowledged (the push
 * row is written in the transaction that stores the consent).
 */
export const CONSENT_PUSH_MIGRATION_SQL = `
  CREATE TABLE consent_pushes (
    consent         text COLLATE "C" PRIMARY KEY REFERENCES consents (id),
    status          text NOT NULL CHECK (status IN ('pending', 'done', 'expired')),
    attempts        integer NOT NULL CHECK (attempts >= 0),
    next_attempt_at text NOT NULL,
    next_key        text COLLATE "C" NOT NULL,
    last_error      text,
    created_at      text NOT NULL,
    created_n       bigserial NOT NULL,
    ended_at        text
  );
  CREATE INDEX consent_pushes_due ON consent_pushes (status, next_key);
`;

interface StatusRow {
  agreement: string;
  version: string;
  status: string;
  since: string;
}

const S = {
  versionsAll: sql<common.AgreementRow>(
    "versions_all",
    "SELECT id, version, source, hash, loaded_at FROM agreements ORDER BY id, version",
  ),
  versionsOf: sql<common.AgreementRow>(
    "versions_of",
    "SELECT id, version, source, hash, loaded_at FROM agreements WHERE id = $1 ORDER BY version",
  ),
  signatureInsert: sql(
    "signature_insert",
    `INSERT INTO agreement_signatures (agreement, version, node, hash, jws, received_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
  ),
  signaturesAll: sql<common.SignatureRow>(
    "signatures_all",
    `SELECT agreement, version, node, hash, jws, received_at FROM agreement_signatures
     WHERE agreement = $1 ORDER BY version, node`,
  ),
  signaturesOf: sql<common.SignatureRow>(
    "signatures_of",
    `SELECT agreement, version, node, hash, jws, received_at FROM agreement_signatures
     WHERE agreement = $1 AND version = $2 ORDER BY node`,
  ),
  eventInsert: sql(
    "event_insert",
    `INSERT INTO agreement_events (id, agreement, kind, at, at_key, by_whom, party, reason,
       recorded_by, jws, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
  ),
  eventsAll: sql<common.EventRow>(
    "events_all",
    `SELECT ${common.EVENT_COLUMNS} FROM agreement_events ORDER BY at_key, seq`,
  ),
  eventsOf: sql<common.EventRow>(
    "events_of",
    `SELECT ${common.EVENT_COLUMNS} FROM agreement_events WHERE agreement = $1 ORDER BY at_key, seq`,
  ),
  consentInsert: sql(
    "consent_insert",
    `INSERT INTO consents (${common.CONSENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT DO NOTHING`,
  ),
  consentsFor: sql<common.ConsentRow>(
    "consents_for",
    `SELECT ${common.CONSENT_COLUMNS} FROM consents WHERE holder = $1 AND object IN ($2, '*') ORDER BY id`,
  ),
  statusAll: sql<StatusRow>(
    "status_all",
    "SELECT agreement, version, status, since FROM agreement_status ORDER BY agreement, version",
  ),
  exchangeOwe: sql(
    "exchange_owe",
    `INSERT INTO agreement_exchanges (agreement, version, partner, status, attempts,
       next_attempt_at, next_key, created_at)
     VALUES ($1, $2, $3, 'pending', 0, $4, $5, $4)
     ON CONFLICT (agreement, version, partner) DO UPDATE SET status = 'pending',
       next_attempt_at = EXCLUDED.next_attempt_at, next_key = EXCLUDED.next_key, done_at = NULL`,
  ),
  exchangesDue: sql<common.ExchangeRow>(
    "exchanges_due",
    `SELECT ${common.EXCHANGE_COLUMNS} FROM agreement_exchanges
     WHERE status = 'pending' AND next_key <= $1 ORDER BY next_key, agreement, version, partner
     LIMIT $2`,
  ),
  exchangeDone: sql(
    "exchange_done",
    `UPDATE agreement_exchanges SET status = 'done', attempts = attempts + 1, done_at = $1,
       last_error = NULL
     WHERE agreement = $2 AND version = $3 AND partner = $4 AND status = 'pending'`,
  ),
  exchangeFailed: sql(
    "exchange_failed",
    `UPDATE agreement_exchanges SET attempts = attempts + 1, last_error = $1,
       next_attempt_at = $2, next_key = $3
     WHERE agreement = $4 AND version = $5 AND partner = $6 AND status = 'pending'`,
  ),
  exchangesOf: sql<common.ExchangeRow>(
    "exchanges_of",
    `SELECT ${common.EXCHANGE_COLUMNS} FROM agreement_exchanges WHERE agreement = $1
     ORDER BY version, partner`,
  ),
  pushOwe: sql(
    "push_owe",
    `INSERT INTO consent_pushes (consent, status, attempts, next_attempt_at, next_key, created_at)
     VALUES ($1, 'pending', 0, $2, $3, $2) ON CONFLICT (consent) DO NOTHING`,
  ),
  pushesDue: sql<common.ConsentPushRow>(
    "pushes_due",
    `${common.PUSH_SELECT} WHERE p.status = 'pending' AND p.next_key <= $1
     ORDER BY p.next_key, p.created_n LIMIT $2`,
  ),
  pushFailed: sql(
    "push_failed",
    `UPDATE consent_pushes SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
       next_key = $3
     WHERE consent = $4 AND status = 'pending'`,
  ),
  pushEnd: sql(
    "push_end",
    `UPDATE consent_pushes SET status = $1, attempts = attempts + $2, ended_at = $3
     WHERE consent = $4 AND status = 'pending'`,
  ),
  pushesAll: sql<common.ConsentPushRow>("pushes_all", `${common.PUSH_SELECT} ORDER BY p.created_n`),
  statusPut: sql(
    "status_put",
    `INSERT INTO agreement_status (agreement, version, status, since) VALUES ($1, $2, $3, $4)
     ON CONFLICT (agreement, version) DO UPDATE SET status = EXCLUDED.status, since = EXCLUDED.since`,
  ),
  budgetConsume: sql<{ used: string }>(
    "budget_consume",
    `INSERT INTO query_budgets AS b (agreement, partner, win, window_start, used)
     SELECT $1, $2, $3, $4, $5::bigint WHERE $5::bigint <= $6::bigint
     ON CONFLICT (agreement, partner, win, window_start)
       DO UPDATE SET used = b.used + EXCLUDED.used WHERE b.used + EXCLUDED.used <= $6::bigint
     RETURNING used`,
  ),
  budgetGet: sql<{ used: string }>(
    "budget_get",
    `SELECT used FROM query_budgets
     WHERE agreement = $1 AND partner = $2 AND win = $3 AND window_start = $4`,
  ),
} as const;

export function agreementStateRepo({ query }: Exec): AgreementStateRepo {
  return {
    async versions(id) {
      const { rows } =
        id === undefined
          ? await query("could not list agreement versions", S.versionsAll, [])
          : await query("could not list agreement versions", S.versionsOf, [id]);
      return rows.map(common.toAgreement);
    },
    async putSignature(rec) {
      const r = await query("could not store the agreement signature", S.signatureInsert, [
        rec.agreement,
        rec.version,
        rec.node,
        rec.hash,
        rec.jws,
        rec.receivedAt,
      ]);
      return putResult(r.rowCount);
    },
    async signatures(agreement, version) {
      const { rows } =
        version === undefined
          ? await query("could not read agreement signatures", S.signaturesAll, [agreement])
          : await query("could not read agreement signatures", S.signaturesOf, [
              agreement,
              version,
            ]);
      return rows.map(common.toSignature);
    },
    async putEvent(rec) {
      const key = instantKey(rec.at, "the event's `at`");
      const r = await query("could not store the agreement event", S.eventInsert, [
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
      ]);
      return putResult(r.rowCount);
    },
    async events(agreement) {
      const { rows } =
        agreement === undefined
          ? await query("could not read agreement events", S.eventsAll, [])
          : await query("could not read agreement events", S.eventsOf, [agreement]);
      return rows.map(common.toEvent);
    },
    async putConsent(rec) {
      instantKey(rec.expires, "the consent's `expires`");
      const r = await query("could not store the consent", S.consentInsert, [
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
      ]);
      return putResult(r.rowCount);
    },
    async consentsFor(holder, object) {
      const { rows } = await query("could not read consents", S.consentsFor, [holder, object]);
      return rows.map(common.toConsent);
    },
    async statuses() {
      const { rows } = await query("could not read agreement states", S.statusAll, []);
      return rows.map((r): AgreementStatusRecord => ({
        agreement: r.agreement,
        version: Number(r.version),
        status: r.status,
        since: r.since,
      }));
    },
    async setStatus(rec) {
      await query("could not record the agreement state", S.statusPut, [
        rec.agreement,
        rec.version,
        rec.status,
        rec.since,
      ]);
    },
    async oweExchange(req) {
      const key = instantKey(req.at, "the exchange's time");
      await query("could not record the exchange owed", S.exchangeOwe, [
        req.agreement,
        req.version,
        req.partner,
        req.at,
        key,
      ]);
    },
    async dueExchanges(now, limit) {
      const key = instantKey(now, "the time");
      const { rows } = await query("could not read the exchanges due", S.exchangesDue, [
        key,
        limit,
      ]);
      return rows.map(common.toExchange);
    },
    async exchangeDone(agreement, version, partner, at) {
      const r = await query("could not record the exchange", S.exchangeDone, [
        at,
        agreement,
        version,
        partner,
      ]);
      return r.rowCount === 1;
    },
    async exchangeFailed(agreement, version, partner, error, nextAttemptAt) {
      const key = instantKey(nextAttemptAt, "the next attempt");
      await query("could not record the exchange", S.exchangeFailed, [
        error,
        nextAttemptAt,
        key,
        agreement,
        version,
        partner,
      ]);
    },
    async exchanges(agreement) {
      const { rows } = await query("could not read the exchanges", S.exchangesOf, [agreement]);
      return rows.map(common.toExchange);
    },
    async oweConsentPush(consent, at) {
      const key = instantKey(at, "the push's time");
      await query("could not record the consent push owed", S.pushOwe, [consent, at, key]);
    },
    async dueConsentPushes(now, limit) {
      const key = instantKey(now, "the time");
      const { rows } = await query("could not read the consent pushes due", S.pushesDue, [
        key,
        limit,
      ]);
      return rows.map(common.toConsentPush);
    },
    async consentPushFailed(consent, error, nextAttemptAt) {
      const key = instantKey(nextAttemptAt, "the next attempt");
      await query("could not record the consent push", S.pushFailed, [
        error,
        nextAttemptAt,
        key,
        consent,
      ]);
    },
    async endConsentPush(consent, status, at) {
      const r = await query("could not record the consent push", S.pushEnd, [
        status,
        status === "done" ? 1 : 0,
        at,
        consent,
      ]);
      return r.rowCount === 1;
    },
    async consentPushes() {
      const { rows } = await query("could not read the consent pushes", S.pushesAll, []);
      return rows.map(common.toConsentPush);
    },
  };
}

export function budgetRepo({ query }: Exec): BudgetRepo {
  return {
    async consume(req) {
      const cost = req.cost ?? 1;
      checkBudgetRequest(req.limit, cost);
      const w = budgetWindow(req.window, req.at);
      const key = [req.agreementId, req.partner, req.window, w.start];
      const r = await query("could not consume the query budget", S.budgetConsume, [
        ...key,
        cost,
        req.limit,
      ]);
      const spent = r.rows[0];
      if (spent !== undefined)
        return { allowed: true, remaining: req.limit - Number(spent.used), resetAt: w.end };
      const held = await query("could not read the query budget", S.budgetGet, key);
      const used = Number(held.rows[0]?.used ?? 0);
      return { allowed: false, remaining: Math.max(0, req.limit - used), resetAt: w.end };
    },
    async used(req) {
      const w = budgetWindow(req.window, req.at);
      const { rows } = await query("could not read the query budget", S.budgetGet, [
        req.agreementId,
        req.partner,
        req.window,
        w.start,
      ]);
      return Number(rows[0]?.used ?? 0);
    },
  };
}
