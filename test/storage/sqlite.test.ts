/** The storage conformance suite against SQLite: a file in a temporary directory, and :memory:. */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { describeStoreConformance } from "./conformance.js";
import { describeLogConformance } from "./conformance-log.js";
import { sqliteLogHarness } from "./log-harness.js";
import { describeTaxiiConformance } from "./conformance-taxii.js";
import { describeAgreementStateConformance } from "./conformance-agreements.js";
import { describePeerProtocolConformance } from "./conformance-peer-protocol.js";
import { describeRetentionConformance } from "./conformance-retention.js";
import { describeMatchConformance } from "./conformance-match.js";
import { describeKeyConformance } from "./conformance-keys.js";
import { testEntry } from "../support/log-entries.js";

const dir = mkdtempSync(join(tmpdir(), "accord-sqlite-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let file = 0;
describeStoreConformance(
  "sqlite file",
  () => openSqliteStore({ path: join(dir, `store-${file}.db`) }),
  () => {
    file++;
    return Promise.resolve();
  },
);

describeStoreConformance(
  "sqlite file, writer thread",
  () => openSqliteStore({ path: join(dir, `store-${file}.db`), writerThread: true }),
  () => {
    file++;
    return Promise.resolve();
  },
);

describeStoreConformance(
  "sqlite :memory:",
  () => openSqliteStore({ path: ":memory:" }),
  undefined,
  {
    persistent: false,
  },
);

describeLogConformance("sqlite file", ...sqliteLogHarness(dir));
describeAgreementStateConformance("sqlite :memory:", () => openSqliteStore({ path: ":memory:" }));
describePeerProtocolConformance("sqlite :memory:", () => openSqliteStore({ path: ":memory:" }));
describeKeyConformance("sqlite :memory:", () => openSqliteStore({ path: ":memory:" }));
describeRetentionConformance("sqlite :memory:", () => openSqliteStore({ path: ":memory:" }));
describeMatchConformance("sqlite :memory:", () => openSqliteStore({ path: ":memory:" }));
describeTaxiiConformance("sqlite :memory:", () => openSqliteStore({ path: ":memory:" }));

it("creates a new database file readable by its owner only", async () => {
  const path = join(dir, "private.db");
  const store = await openSqliteStore({ path });
  await store.ledger.append(testEntry(0));
  for (const file of [path, `${path}-wal`]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
  await store.close();
});

it("creates a new database file with 16 KiB pages, and opens an older file at the page size it has", async () => {
  const path = join(dir, "pages.db");
  const store = await openSqliteStore({ path });
  await store.ledger.append(testEntry(0));
  await store.close();
  const pageSize = (p: string): unknown => {
    const db = new Database(p, { readonly: true });
    try {
      return db.pragma("page_size", { simple: true });
    } finally {
      db.close();
    }
  };
  expect(pageSize(path)).toBe(16_384);

  // A store created before (SQLite's default 4 KiB pages) keeps them, and works as before.
  const older = join(dir, "pages-4k.db");
  const db = new Database(older);
  db.pragma("page_size = 4096");
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE before_16k (x)");
  db.close();
  const reopened = await openSqliteStore({ path: older });
  await reopened.ledger.append(testEntry(0));
  expect(await reopened.ledger.size()).toBe(1);
  await reopened.close();
  expect(pageSize(older)).toBe(4096);
});

it("applies a migration missing below the highest applied version", async () => {
  const path = join(dir, "gap.db");
  const first = await openSqliteStore({ path });
  const reached = await first.migrate();
  await first.close();
  // A database made by a build that lacked migration 6: its row and its tables are absent.
  const raw = new Database(path);
  raw.exec(
    "DELETE FROM schema_migrations WHERE version = 6; DROP TABLE match_requests; DROP TABLE match_queries",
  );
  raw.close();
  const second = await openSqliteStore({ path });
  try {
    expect(await second.migrate()).toBe(reached);
    expect(await second.match.listRequests({ limit: 10 })).toEqual([]);
  } finally {
    await second.close();
  }
});

it("checkpoints the WAL once it holds 40 MiB, not after every large commit", async () => {
  const path = join(dir, "checkpoint.db");
  const store = await openSqliteStore({ path });
  try {
    // 24 commits of a 1 MiB envelope each. With SQLite's default of 1,000 pages (16 MiB of this
    // file's 16 KiB pages) the WAL would have been checkpointed and restarted on the way, its file
    // staying near 16 MiB; here every page is still in it.
    const envelope = "e".repeat(1024 * 1024);
    for (let i = 0; i < 24; i++)
      await store.outbox.enqueue({
        id: `env-${i}`,
        recipient: "XB",
        envelope,
        createdAt: "2026-04-01T00:00:00.000Z",
      });
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(24 * 1024 * 1024);
  } finally {
    await store.close();
  }
});
