/** The storage conformance suite against SQLite: a file in a temporary directory, and :memory:. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { describeStoreConformance } from "./conformance.js";

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
  "sqlite :memory:",
  () => openSqliteStore({ path: ":memory:" }),
  undefined,
  {
    persistent: false,
  },
);
