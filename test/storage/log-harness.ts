/**
 * Harnesses for test/storage/conformance-log.ts: each opens a fresh store and a second, raw
 * connection to the same database for the tamper tests (SQLite: a better-sqlite3 connection to
 * the file; PostgreSQL: a pg client on the store's schema). `legacy` builds a database the way a
 * build at an older schema version left it (that build's migrations only, then raw SQL for its
 * rows) and then opens the store on it, which applies the migrations that follow.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import type { Store } from "../../src/app/ports.js";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { MIGRATIONS as POSTGRES_MIGRATIONS } from "../../src/storage/postgres/migrations.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../../src/storage/sqlite/migrations.js";
import type { LegacyOpen, LogHarness } from "./conformance-log.js";

type Args = [open: () => Promise<LogHarness>, cleanup: () => Promise<void>, legacy: LegacyOpen];

export function sqliteLogHarness(dir: string): Args {
  let n = 0;
  const raws: Database.Database[] = [];
  const harness = (store: Store, raw: Database.Database): LogHarness => {
    raws.push(raw);
    return {
      store,
      sql: (text) => {
        raw.exec(text);
        return Promise.resolve();
      },
      rows: (text) => Promise.resolve(raw.prepare<[], Record<string, unknown>>(text).all()),
    };
  };
  return [
    async () => {
      const path = join(dir, `log-${String(n++)}.db`);
      const store = await openSqliteStore({ path });
      return harness(store, new Database(path));
    },
    () => {
      for (const r of raws.splice(0)) r.close();
      return Promise.resolve();
    },
    async (version, setup) => {
      const path = join(dir, `log-${String(n++)}.db`);
      const raw = new Database(path);
      raw.exec(`
        CREATE TABLE schema_migrations (
          version    INTEGER PRIMARY KEY,
          name       TEXT NOT NULL,
          applied_at TEXT NOT NULL
        ) STRICT`);
      const record = raw.prepare<[number, string]>(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 'then')",
      );
      for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= version)) {
        raw.transaction(() => {
          raw.exec(m.sql);
          record.run(m.version, m.name);
        })();
      }
      raw.exec(setup((b) => `X'${Buffer.from(b).toString("hex")}'`).join(";\n"));
      return harness(await openSqliteStore({ path }), raw);
    },
  ];
}

export function postgresLogHarness(url: string): Args {
  const schemas: string[] = [];
  const client = async <T>(schema: string, f: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };
  const harness = async (schema: string): Promise<LogHarness> => {
    const store = await openPostgresStore({ connectionString: url, schema });
    return {
      store,
      sql: async (text) => {
        await client(schema, (c) => c.query(text));
      },
      rows: (text) => client(schema, async (c) => (await c.query(text)).rows),
    };
  };
  const fresh = (): string => {
    const schema = `accord_log_${randomBytes(6).toString("hex")}`;
    schemas.push(schema);
    return schema;
  };
  return [
    () => harness(fresh()),
    async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await c.end();
      }
    },
    async (version, setup) => {
      const schema = fresh();
      await client(schema, async (c) => {
        await c.query("BEGIN");
        await c.query(`CREATE SCHEMA "${schema}"`);
        await c.query(`
          CREATE TABLE schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
          )`);
        for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version <= version)) {
          await c.query(m.sql);
          await c.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
            m.version,
            m.name,
          ]);
        }
        await c.query(setup((b) => `'\\x${Buffer.from(b).toString("hex")}'::bytea`).join(";\n"));
        await c.query("COMMIT");
      });
      return harness(schema);
    },
  ];
}
