/**
 * Harnesses for test/storage/conformance-log.ts: each opens a fresh store and a second, raw
 * connection to the same database for the tamper tests (SQLite: a better-sqlite3 connection to
 * the file; PostgreSQL: a pg client on the store's schema).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import type { LogHarness } from "./conformance-log.js";

type Args = [open: () => Promise<LogHarness>, cleanup: () => Promise<void>];

export function sqliteLogHarness(dir: string): Args {
  let n = 0;
  const raws: Database.Database[] = [];
  return [
    async () => {
      const path = join(dir, `log-${String(n++)}.db`);
      const store = await openSqliteStore({ path });
      const raw = new Database(path);
      raws.push(raw);
      return {
        store,
        sql: (text) => {
          raw.exec(text);
          return Promise.resolve();
        },
      };
    },
    () => {
      for (const r of raws.splice(0)) r.close();
      return Promise.resolve();
    },
  ];
}

export function postgresLogHarness(url: string): Args {
  const schemas: string[] = [];
  return [
    async () => {
      const schema = `accord_log_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      const store = await openPostgresStore({ connectionString: url, schema });
      return {
        store,
        sql: async (text) => {
          const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
          await c.connect();
          try {
            await c.query(text);
          } finally {
            await c.end();
          }
        },
      };
    },
    async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  ];
}
