/**
 * `accord log verify` against a node's tables edited directly (issue 5, "Proof"): a row's content
 * changed, a row deleted, two rows reordered, the log truncated, on SQLite (`--dir` through the
 * adapter and `--db FILE` through the CLI's independent reader) and on PostgreSQL (`--dir`). Each
 * edit is undone afterwards and the same command passes again, so the verdict is the edit's.
 * The store-level checks of the same edits (and of tiles and checkpoints): test/storage/
 * conformance-log.ts.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { testEntry } from "../support/log-entries.js";
import {
  api,
  createNodeDir,
  dropSchemas,
  makeTempDir,
  PG_URL,
  removeDir,
  start,
  type TestNodeDir,
} from "../support/nodes.js";

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, {}, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Runs SQL on the node's own database, behind the node's back. */
interface RawSql {
  run(sql: string): Promise<void>;
  close(): Promise<void>;
}

const FILLED = 300;

function describeTampering(driver: "sqlite" | "postgres"): void {
  const skip = driver === "postgres" && PG_URL === undefined;
  describe.skipIf(skip)(`accord log verify on ${driver} tables edited directly`, () => {
    let root: string;
    let node: TestNodeDir;
    let raw: RawSql;
    /** The index of an entry in the middle of what the test appended. */
    let k: number;
    let size: number;

    beforeAll(async () => {
      root = makeTempDir();
      node = createNodeDir(root, { id: "XA", postgres: driver === "postgres" });
      const running = await start(node);
      try {
        const before = await running.store.ledger.size();
        for (let i = 0; i < FILLED; i += 100) {
          await running.store.transaction(async (tx) => {
            for (let n = i; n < i + 100; n++) await tx.ledger.append(testEntry(n, { tag: "t" }));
          });
        }
        // A signed checkpoint of the whole log, which a truncation then contradicts.
        expect((await api(running, "GET", "/api/v1/log/checkpoint")).status).toBe(200);
        size = await running.store.ledger.size();
        expect(size).toBe(before + FILLED);
        k = before + FILLED / 2;
      } finally {
        await running.stop();
      }
      if (driver === "sqlite") {
        const db = new Database(join(node.dir, "accord.db"));
        raw = {
          run: (sql) => {
            db.exec(sql);
            return Promise.resolve();
          },
          close: () => {
            db.close();
            return Promise.resolve();
          },
        };
      } else {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`SET search_path TO "${node.schema!}"`);
        raw = {
          run: async (sql) => {
            await client.query(sql);
          },
          close: () => client.end(),
        };
      }
      await raw.run("CREATE TABLE tamper_backup AS SELECT * FROM log_entries");
    }, 120_000);

    afterAll(async () => {
      await raw.close();
      await dropSchemas([node]);
      removeDir(root);
    });

    /** Every form of the command a new user would run on this node's database. */
    const commands = (): string[][] => [
      ["log", "verify", "--dir", node.dir, "--json"],
      ...(driver === "sqlite"
        ? [["log", "verify", "--db", join(node.dir, "accord.db"), "--dir", node.dir, "--json"]]
        : []),
    ];

    async function verdicts(): Promise<
      { code: number; ok: boolean; firstBad?: number; problem?: string }[]
    > {
      const out = [];
      for (const argv of commands()) {
        const r = await cli(argv);
        expect(r.err, argv.join(" ")).toBe("");
        const v = JSON.parse(r.out) as { ok: boolean; firstBad?: number; problem?: string };
        out.push({ code: r.code, ...v });
      }
      return out;
    }

    /** Applies `edit`, expects every command to name `firstBad`, then restores the rows. */
    async function detects(edit: string[], firstBad: () => number): Promise<string[]> {
      for (const sql of edit) await raw.run(sql);
      try {
        const vs = await verdicts();
        for (const v of vs) expect(v).toMatchObject({ code: 4, ok: false, firstBad: firstBad() });
        return vs.map((v) => v.problem ?? "");
      } finally {
        await raw.run("DELETE FROM log_entries");
        await raw.run("INSERT INTO log_entries SELECT * FROM tamper_backup");
      }
    }

    it("passes on the untouched log, with the checkpoint's signature checked", async () => {
      for (const v of await verdicts()) expect(v).toMatchObject({ code: 0, ok: true });
    });

    it("`log tail` and `log prove` read the stopped node's store", async () => {
      const tail = await cli(["log", "tail", "--limit", "2", "--dir", node.dir, "--json"]);
      expect(tail.code, tail.err).toBe(0);
      const t = JSON.parse(tail.out) as { size: number; entries: { seq: number }[]; from: string };
      expect(t).toMatchObject({ size, from: "store" });
      expect(t.entries.map((e) => e.seq)).toEqual([size - 2, size - 1]);
      const prove = await cli(["log", "prove", "--entry", String(k), "--dir", node.dir, "--json"]);
      expect(prove.code, prove.err).toBe(0);
      expect(JSON.parse(prove.out)).toMatchObject({ ok: true, index: k, size, from: "store" });
      // An entry past the latest signed checkpoint cannot be proven until the node signs one.
      const past = await cli(["log", "prove", "--entry", String(size), "--dir", node.dir]);
      expect(past.code).toBe(3);
      expect(past.err).toMatch(/not under a signed checkpoint of the stopped node/);
    });

    it("names the entry whose content was changed", async () => {
      await detects(
        [
          `UPDATE log_entries SET entry = replace(entry, '"objects":', '"objects":1') WHERE idx = ${String(k)}`,
        ],
        () => k,
      );
    });

    it("names a deleted row", async () => {
      const problems = await detects([`DELETE FROM log_entries WHERE idx = ${String(k)}`], () => k);
      for (const p of problems) expect(p).toMatch(/missing/);
    });

    it("names the first of two reordered rows", async () => {
      await detects(
        [
          `UPDATE log_entries SET idx = 1000000 WHERE idx = ${String(k)}`,
          `UPDATE log_entries SET idx = ${String(k)} WHERE idx = ${String(k + 1)}`,
          `UPDATE log_entries SET idx = ${String(k + 1)} WHERE idx = 1000000`,
        ],
        () => k,
      );
    });

    it("names where a truncated log ends", async () => {
      await detects([`DELETE FROM log_entries WHERE idx >= ${String(k)}`], () => k);
    });

    it("passes again once the rows are restored", async () => {
      for (const v of await verdicts()) expect(v).toMatchObject({ code: 0, ok: true });
      expect(size).toBeGreaterThan(k);
    });
  });
}

describeTampering("sqlite");
describeTampering("postgres"); // skipped without ACCORD_TEST_PG_URL
