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

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
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
];

/** The schema version this code reaches. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** `"name"`: a schema name already checked against /^[a-z_][a-z0-9_]*$/. */
function quoted(schema: string): string {
  return `"${schema}"`;
}

/**
 * Create `schema` if missing and apply every pending migration, in one transaction on `client`
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
    const found = await client.query<{ v: number }>(
      "SELECT coalesce(max(version), 0) AS v FROM schema_migrations",
    );
    let reached = found.rows[0]?.v ?? 0;
    if (reached > SCHEMA_VERSION) {
      throw new AccordError(
        "ERR_STORAGE",
        `the database is at schema version ${reached}, newer than version ${SCHEMA_VERSION} that this accord knows; upgrade accord`,
      );
    }
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (m.version <= reached) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      reached = m.version;
    }
    await client.query("COMMIT");
    return reached;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
