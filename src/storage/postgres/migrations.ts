/**
 * The PostgreSQL schema as numbered, append-only migrations (spec/storage.md, "Migrations"). A
 * migration that has landed on main is never edited: a change is a new migration with the next
 * number.
 *
 * All pending migrations run in one transaction that first takes a transaction-scoped advisory
 * lock for the schema, so concurrent starts (several node processes, parallel tests) are safe: the
 * others wait, then find the work done. Text that is compared or ordered uses the "C" collation,
 * so order is bytewise, the same as SQLite's, whatever the database's locale.
 */
import type { PoolClient } from "pg";
import { GENESIS_HASH } from "../../core/ledger.js";
import { AccordError } from "../../errors.js";
import { RECALL_MIGRATION_SQL, RECALL_TAXII_MIGRATION_SQL } from "./recall.js";
import { AGREEMENT_EXCHANGE_MIGRATION_SQL, CONSENT_PUSH_MIGRATION_SQL } from "./agreement-state.js";
import { LOG_COSIGNATURES_MIGRATION_SQL, LOG_KIND_COLUMN_MIGRATION_SQL } from "./log.js";
import { MATCH_MIGRATION_SQL } from "./match.js";
import { NODE_KEYS_MIGRATION_SQL } from "./node-keys.js";
import {
  OBJECT_DUPLICATE_SKIP_MIGRATION_SQL,
  TAXII_ONE_TABLE_MIGRATION_SQL,
  TAXII_REISSUED_MIGRATION_SQL,
} from "./taxii.js";

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
      CREATE TABLE objects (
        id                text COLLATE "C" NOT NULL,
        version           text COLLATE "C" NOT NULL,
        version_key       text COLLATE "C" NOT NULL,
        type              text COLLATE "C" NOT NULL,
        object            jsonb NOT NULL,
        originator        text NOT NULL,
        received_from     text,
        agreement_id      text,
        agreement_version bigint,
        purpose           text,
        retention_until   text,
        envelope_id       text,
        stored_at         text NOT NULL,
        PRIMARY KEY (id, version)
      );
      CREATE INDEX objects_by_version ON objects (id, version_key DESC, version DESC);
      CREATE INDEX objects_by_type ON objects (type, id);

      CREATE TABLE ledger (
        seq       bigint PRIMARY KEY CHECK (seq >= 0),
        at        text NOT NULL,
        kind      text NOT NULL,
        data      jsonb NOT NULL,
        prev_hash text NOT NULL UNIQUE,
        hash      text NOT NULL
      );
      -- One row: the next seq and the hash it chains to. Appends lock it (SELECT ... FOR UPDATE),
      -- which serialises them across transactions and processes.
      CREATE TABLE ledger_head (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        next_seq  bigint NOT NULL,
        head_hash text NOT NULL
      );
      INSERT INTO ledger_head (next_seq, head_hash) VALUES (0, '${GENESIS_HASH}');

      CREATE TABLE outbox (
        n                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id               text COLLATE "C" NOT NULL UNIQUE,
        recipient        text NOT NULL,
        envelope         text NOT NULL,
        status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'cancelled')),
        attempts         integer NOT NULL CHECK (attempts >= 0),
        next_attempt_at  text NOT NULL,
        next_attempt_key text COLLATE "C" NOT NULL,
        last_error       text,
        created_at       text NOT NULL,
        created_key      text COLLATE "C" NOT NULL,
        delivered_at     text,
        receipt          text
      );
      CREATE INDEX outbox_by_status ON outbox (status, created_key, n);

      CREATE TABLE inbox (
        envelope_id   text COLLATE "C" PRIMARY KEY,
        sender        text NOT NULL,
        envelope_hash text NOT NULL,
        received_at   text NOT NULL,
        receipt       text NOT NULL
      );

      CREATE TABLE peers (
        node_id        text COLLATE "C" PRIMARY KEY,
        url            text NOT NULL,
        signing_key    jsonb NOT NULL,
        encryption_key jsonb NOT NULL,
        added_at       text NOT NULL
      );

      CREATE TABLE agreements (
        id        text COLLATE "C" NOT NULL,
        version   bigint NOT NULL,
        source    text NOT NULL,
        hash      text NOT NULL,
        loaded_at text NOT NULL,
        PRIMARY KEY (id, version)
      );
    `,
  },
  {
    // Issue 5: the Merkle log replaces the hash-chained ledger (spec/log.md, "Storage"). The old
    // chain is kept, renamed, as evidence; its rows are carried into the log once on open.
    version: 2,
    name: "merkle-log",
    sql: `
      ALTER TABLE ledger RENAME TO ledger_v1;
      DROP TABLE ledger_head;
      CREATE TABLE log_entries (
        idx       bigint PRIMARY KEY CHECK (idx >= 0),
        entry     text NOT NULL,
        leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32)
      );
      CREATE TABLE log_tiles (
        level  integer NOT NULL CHECK (level >= 0),
        idx    bigint NOT NULL CHECK (idx >= 0),
        hashes bytea NOT NULL,
        PRIMARY KEY (level, idx)
      );
      -- One row: the tree size and frontier. Appending transactions lock it (SELECT ... FOR
      -- UPDATE), which serialises them across connections and processes.
      CREATE TABLE log_state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        size      bigint NOT NULL CHECK (size >= 0),
        frontier  bytea NOT NULL
      );
      INSERT INTO log_state (size, frontier) VALUES (0, '\\x');
      CREATE TABLE log_checkpoints (
        size       bigint PRIMARY KEY CHECK (size >= 0),
        note       text NOT NULL,
        created_at text NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "agreement-lifecycle-and-budgets",
    sql: `
      CREATE TABLE agreement_signatures (
        agreement   text COLLATE "C" NOT NULL,
        version     bigint NOT NULL,
        node        text COLLATE "C" NOT NULL,
        hash        text NOT NULL,
        jws         text NOT NULL,
        received_at text NOT NULL,
        PRIMARY KEY (agreement, version, node)
      );

      CREATE TABLE agreement_events (
        id          text COLLATE "C" PRIMARY KEY,
        agreement   text COLLATE "C" NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('suspend', 'resume', 'suspend-party', 'resume-party', 'terminate')),
        at          text NOT NULL,
        at_key      text COLLATE "C" NOT NULL,
        by_whom     text NOT NULL,
        party       text,
        reason      text,
        recorded_by text NOT NULL,
        jws         text NOT NULL,
        recorded_at text NOT NULL
      );
      CREATE INDEX agreement_events_by_time ON agreement_events (agreement, at_key, id);

      CREATE TABLE consents (
        id         text COLLATE "C" PRIMARY KEY,
        originator text NOT NULL,
        object     text COLLATE "C" NOT NULL,
        holder     text COLLATE "C" NOT NULL,
        recipient  text NOT NULL,
        agreement  text NOT NULL,
        purpose    text NOT NULL,
        expires    text NOT NULL,
        jws        text NOT NULL,
        stored_at  text NOT NULL
      );
      CREATE INDEX consents_by_holder ON consents (holder, object, id);

      CREATE TABLE agreement_status (
        agreement text COLLATE "C" NOT NULL,
        version   bigint NOT NULL,
        status    text NOT NULL,
        since     text NOT NULL,
        PRIMARY KEY (agreement, version)
      );

      CREATE TABLE query_budgets (
        agreement    text COLLATE "C" NOT NULL,
        partner      text COLLATE "C" NOT NULL,
        win          text NOT NULL CHECK (win IN ('day', 'burst')),
        window_start text COLLATE "C" NOT NULL,
        used         bigint NOT NULL CHECK (used >= 0),
        PRIMARY KEY (agreement, partner, win, window_start)
      );
    `,
  },
  {
    version: 7,
    name: "taxii",
    // Date-added order for TAXII (spec/taxii.md, "Storage"). The trigger takes the one-row head
    // with UPDATE, which holds its row lock until commit: inserting transactions serialise there,
    // so seq order is commit order and a reader paging by seq never skips a row that commits late.
    sql: `
      CREATE TABLE object_added_head (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        next_seq  bigint NOT NULL,
        last_us   bigint NOT NULL
      );
      CREATE TABLE object_added (
        seq           bigint PRIMARY KEY,
        id            text COLLATE "C" NOT NULL,
        version       text COLLATE "C" NOT NULL,
        type          text COLLATE "C" NOT NULL,
        spec_version  text COLLATE "C" NOT NULL,
        date_added_us bigint NOT NULL,
        UNIQUE (id, version)
      );
      CREATE INDEX object_added_by_date ON object_added (date_added_us);
      CREATE INDEX object_added_by_type ON object_added (type, seq);

      CREATE FUNCTION accord_stored_us(ts text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $f$
      BEGIN
        RETURN floor(extract(epoch FROM ts::timestamptz) * 1000) * 1000;
      EXCEPTION WHEN others THEN
        RETURN 0;
      END $f$;

      WITH ordered AS (
        SELECT id, version, type, coalesce(object->>'spec_version', '2.1') AS spec_version,
               accord_stored_us(stored_at) AS t,
               row_number() OVER (ORDER BY accord_stored_us(stored_at), id, version) AS rn
        FROM objects
      )
      INSERT INTO object_added (seq, id, version, type, spec_version, date_added_us)
      SELECT rn, id, version, type, spec_version,
             max(t - rn) OVER (ORDER BY rn ROWS UNBOUNDED PRECEDING) + rn
      FROM ordered;
      INSERT INTO object_added_head (next_seq, last_us)
      SELECT coalesce(max(seq), 0) + 1, coalesce(max(date_added_us), 0) FROM object_added;

      CREATE FUNCTION accord_object_added() RETURNS trigger LANGUAGE plpgsql AS $f$
      DECLARE s bigint; u bigint;
      BEGIN
        IF TG_OP = 'DELETE' THEN
          DELETE FROM object_added WHERE id = OLD.id AND version = OLD.version;
          RETURN NULL;
        END IF;
        UPDATE object_added_head
           SET next_seq = next_seq + 1,
               last_us = greatest(last_us + 1, accord_stored_us(NEW.stored_at))
         RETURNING next_seq - 1, last_us INTO s, u;
        INSERT INTO object_added (seq, id, version, type, spec_version, date_added_us)
        VALUES (s, NEW.id, NEW.version, NEW.type, coalesce(NEW.object->>'spec_version', '2.1'), u);
        RETURN NULL;
      END $f$;
      CREATE TRIGGER object_added_insert AFTER INSERT ON objects
        FOR EACH ROW EXECUTE FUNCTION accord_object_added();
      CREATE TRIGGER object_added_delete AFTER DELETE ON objects
        FOR EACH ROW EXECUTE FUNCTION accord_object_added();

      CREATE TABLE taxii_credentials (
        id           text COLLATE "C" PRIMARY KEY,
        partner      text NOT NULL,
        purpose      text NOT NULL,
        agreement_id text,
        can_read     boolean NOT NULL,
        can_write    boolean NOT NULL,
        secret_hash  text NOT NULL,
        created_at   text NOT NULL
      );

      CREATE TABLE taxii_status (
        id         text COLLATE "C" PRIMARY KEY,
        owner      text NOT NULL,
        created_at text NOT NULL,
        body       jsonb NOT NULL
      );
    `,
  },
  {
    // Issue 6: peer-protocol hardening (spec/federation.md). RFC 9421 nonces kept until their
    // window passes; partners' previous keys during a rotation's overlap; the agreement each
    // outbox item travels under (so a sunset can cancel it) and why an item was cancelled.
    version: 4,
    name: "peer-protocol-hardening",
    sql: `
      CREATE TABLE peer_nonces (
        key_id      text COLLATE "C" NOT NULL,
        nonce       text COLLATE "C" NOT NULL,
        expires_at  text NOT NULL,
        expires_key text COLLATE "C" NOT NULL,
        PRIMARY KEY (key_id, nonce)
      );
      CREATE INDEX peer_nonces_by_expiry ON peer_nonces (expires_key);

      CREATE TABLE peer_keys (
        node_id        text COLLATE "C" NOT NULL,
        fingerprint    text COLLATE "C" NOT NULL,
        signing_key    jsonb NOT NULL,
        encryption_key jsonb NOT NULL,
        retires_at     text NOT NULL,
        retires_key    text COLLATE "C" NOT NULL,
        PRIMARY KEY (node_id, fingerprint)
      );

      ALTER TABLE outbox ADD COLUMN agreement_id text COLLATE "C";
      ALTER TABLE outbox ADD COLUMN agreement_version integer;
      ALTER TABLE outbox ADD COLUMN cancelled_at text;
      ALTER TABLE outbox ADD COLUMN cancel_reason text;
      CREATE INDEX outbox_by_agreement ON outbox (agreement_id, status);
    `,
  },
  {
    version: 6,
    name: "match-queries-and-requests",
    // Hit/no-hit queries as each side remembers them and follow-up requests (spec/match.md).
    sql: MATCH_MIGRATION_SQL,
  },
  {
    // Issue 6: recall, correction and retention (spec/recall.md): who got which copy, recalls
    // issued and received, their targets and outbox; an index on retention deadlines.
    version: 5,
    name: "recall-and-retention",
    sql: RECALL_MIGRATION_SQL,
  },
  {
    // Key rotation (spec/federation.md, "Key rotation"): this node's key history (public halves),
    // the durable outbox of key announcements to partners, partners' revoked keys.
    version: 8,
    name: "key-rotation",
    sql: NODE_KEYS_MIGRATION_SQL,
  },
  {
    version: 9,
    name: "taxii-reissued-ids",
    // Partner collections: re-issued id -> original id, per agreement (spec/taxii.md, "Storage").
    sql: TAXII_REISSUED_MIGRATION_SQL,
  },
  {
    version: 11,
    name: "agreement-event-order-and-exchanges",
    // Events ordered by a durable sequence at equal instants; exchanges owed to partners.
    sql: AGREEMENT_EXCHANGE_MIGRATION_SQL,
  },
  {
    // Copies read through a partner's TAXII collection, named by credential, so recalls reach
    // them (spec/recall.md, "Copies read by TAXII").
    version: 12,
    name: "taxii-copies",
    sql: RECALL_TAXII_MIGRATION_SQL,
  },
  {
    // Witnesses' cosignatures of this node's checkpoints; an index on log entries' kind
    // (spec/log.md, "Witnesses").
    version: 14,
    name: "log-cosignatures",
    sql: LOG_COSIGNATURES_MIGRATION_SQL,
  },
  {
    // SQLite's migration 17 moves envelopes out of the outbox rows so that a status update does
    // not rewrite them; PostgreSQL already keeps large values out of line (TOAST) and an UPDATE
    // that leaves them unchanged does not copy them, so nothing changes here.
    version: 17,
    name: "outbox-envelopes",
    sql: "SELECT 1",
  },
  {
    // Consents pushed to their holders, owed until acknowledged (spec/agreement.md).
    version: 19,
    name: "consent-pushes",
    sql: CONSENT_PUSH_MIGRATION_SQL,
  },
  {
    // Log entries' kind in a plain, indexed column written by append, in place of migration 14's
    // index on an expression over the entry text (spec/log.md, "Storage").
    version: 20,
    name: "log-entry-kind-column",
    sql: LOG_KIND_COLUMN_MIGRATION_SQL,
  },
  {
    // One table for objects and their date-added order: seq is the primary key, no
    // `object_added` and its indexes, a last-version flag (spec/taxii.md, "Storage").
    version: 21,
    name: "objects-in-date-added-order",
    sql: TAXII_ONE_TABLE_MIGRATION_SQL,
  },
  {
    // SQLite's migration 24 drops the (type, id) index and lists a type as a range of ids
    // (`<type>--` up to `<type>-.`); here text compares under the database's collation, where
    // that range need not hold the type's ids, so the index stays.
    version: 24,
    name: "objects-without-type-id-index",
    sql: "SELECT 1",
  },
  {
    // The insert trigger skips a version already stored before it takes the head's row lock
    // (spec/taxii.md, "Storage").
    version: 26,
    name: "objects-duplicate-insert-skipped",
    sql: OBJECT_DUPLICATE_SKIP_MIGRATION_SQL,
  },
  {
    // An envelope is kept while it may still be sent: marking an item delivered or cancelled sets
    // it to NULL in the same UPDATE (spec/federation.md, "Outbox"); those already past are cleared.
    version: 27,
    name: "outbox-envelopes-dropped-after-delivery",
    sql: `
      ALTER TABLE outbox ALTER COLUMN envelope DROP NOT NULL;
      UPDATE outbox SET envelope = NULL WHERE status <> 'pending';
      ALTER TABLE outbox ADD CONSTRAINT outbox_envelope_while_pending
        CHECK ((status = 'pending') = (envelope IS NOT NULL));
    `,
  },
];

/** The schema version this code reaches. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** `"name"`: a schema name already checked against /^[a-z_][a-z0-9_]*$/. */
function quoted(schema: string): string {
  return `"${schema}"`;
}

/**
 * Create `schema` if missing and apply every migration it lacks, in one transaction on `client`
 * under the schema's advisory lock. Returns the version reached. The client's search_path must
 * already name `schema`.
 */
export async function applyMigrations(client: PoolClient, schema: string): Promise<number> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('accord.migrate'), hashtext($1))", [
      schema,
    ]);
    // Checked first so that a role without CREATE on the database can use a schema made for it.
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted(schema)}`);
    const current = await client.query<{ s: string | null }>("SELECT current_schema() AS s");
    if (current.rows[0]?.s !== schema) {
      throw new AccordError(
        "ERR_STORAGE",
        `connections do not use schema \`${schema}\`; remove any search_path or options from the connection string`,
      );
    }
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const found = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    const applied = new Set(found.rows.map((r) => r.version));
    let reached = Math.max(0, ...applied);
    if (reached > SCHEMA_VERSION) {
      throw new AccordError(
        "ERR_STORAGE",
        `the database is at schema version ${reached}, newer than version ${SCHEMA_VERSION} that this accord knows; upgrade accord`,
      );
    }
    // Every version the database lacks, in order — also one below the highest applied (a
    // database made by a build that lacked it), which a "newer than the maximum" rule would skip.
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      reached = Math.max(reached, m.version);
    }
    await client.query("COMMIT");
    return reached;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
