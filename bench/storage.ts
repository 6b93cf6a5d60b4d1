/**
 * Storage throughput: object puts batched in transactions of 500, and ledger appends (each its
 * own commit, and batched), on a SQLite file with synchronous FULL and NORMAL, and on PostgreSQL
 * when ACCORD_BENCH_PG_URL or ACCORD_TEST_PG_URL names a database (a throwaway schema is made and
 * dropped). `run()` returns machine-readable rows; `npx tsx bench/storage.ts` prints them as JSON.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Store, StoredObject } from "../src/app/ports.js";
import { openPostgresStore } from "../src/storage/postgres/index.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";

/** A registered `ingest` entry (src/core/log-kinds.ts), distinct per `i`. */
function benchEntry(i: number): { kind: string; at: string; data: Record<string, unknown> } {
  return {
    kind: "ingest",
    at: "2024-05-01T00:00:00.000Z",
    data: { bundle: `bundle--${String(i)}`, objects: i, stored: i, digest: "f".repeat(64) },
  };
}

export interface BenchRow {
  bench: string;
  value: number;
  unit: string;
  [k: string]: unknown;
}

const BATCH = 500;

function object(i: number): StoredObject {
  const id = `indicator--${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`;
  return {
    object: {
      type: "indicator",
      spec_version: "2.1",
      id,
      created: "2024-05-01T00:00:00.000Z",
      modified: "2024-05-01T00:00:00.000Z",
      name: `bench indicator ${i}`,
      description: "A synthetic indicator of about the size of a real one, for throughput only.",
      indicator_types: ["malicious-activity"],
      pattern: `[ipv4-addr:value = '198.51.${i % 256}.${(i >> 8) % 256}']`,
      pattern_type: "stix",
      valid_from: "2024-05-01T00:00:00.000Z",
      labels: ["bench"],
      object_marking_refs: ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    },
    provenance: {
      originator: "node-a",
      receivedFrom: "node-b",
      agreementId: "agreement-ab",
      agreementVersion: 1,
      purpose: "incident-response",
      retentionUntil: "2025-05-01T00:00:00.000Z",
      envelopeId: `env-${i}`,
    },
    storedAt: "2024-05-01T00:00:01.000Z",
  };
}

async function rate(
  n: number,
  work: () => Promise<void>,
): Promise<{ perSecond: number; ms: number }> {
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  return { perSecond: Math.round((n / ms) * 1000), ms: Math.round(ms) };
}

async function measure(
  target: string,
  store: Store,
  sizes: { puts: number; appends: number },
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  const puts = await rate(sizes.puts, async () => {
    for (let start = 0; start < sizes.puts; start += BATCH) {
      await store.transaction(async (tx) => {
        for (let i = start; i < Math.min(start + BATCH, sizes.puts); i++)
          await tx.objects.put(object(i));
      });
    }
  });
  rows.push({
    bench: "storage.objects.put.batched",
    target,
    value: puts.perSecond,
    unit: "puts/s",
    n: sizes.puts,
    batch: BATCH,
    ms: puts.ms,
  });

  const single = await rate(sizes.appends, async () => {
    for (let i = 0; i < sizes.appends; i++) {
      await store.ledger.append(benchEntry(i));
    }
  });
  rows.push({
    bench: "storage.ledger.append.each-committed",
    target,
    value: single.perSecond,
    unit: "appends/s",
    n: sizes.appends,
    ms: single.ms,
  });

  const concurrent = await rate(sizes.appends, async () => {
    await Promise.all(
      Array.from({ length: sizes.appends }, (_, i) => store.ledger.append(benchEntry(i))),
    );
  });
  rows.push({
    bench: "storage.ledger.append.concurrent",
    target,
    value: concurrent.perSecond,
    unit: "appends/s",
    n: sizes.appends,
    ms: concurrent.ms,
  });

  const batched = await rate(sizes.puts, async () => {
    for (let start = 0; start < sizes.puts; start += BATCH) {
      await store.transaction(async (tx) => {
        for (let i = start; i < Math.min(start + BATCH, sizes.puts); i++) {
          await tx.ledger.append(benchEntry(i));
        }
      });
    }
  });
  rows.push({
    bench: "storage.ledger.append.batched",
    target,
    value: batched.perSecond,
    unit: "appends/s",
    n: sizes.puts,
    batch: BATCH,
    ms: batched.ms,
  });
  return rows;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "accord-bench-"));
  try {
    for (const synchronous of ["full", "normal"] as const) {
      const store = await openSqliteStore({
        path: join(dir, `bench-${synchronous}.db`),
        synchronous,
      });
      try {
        rows.push(
          ...(await measure(`sqlite-file-${synchronous}`, store, { puts: 20_000, appends: 2_000 })),
        );
      } finally {
        await store.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const url = process.env.ACCORD_BENCH_PG_URL ?? process.env.ACCORD_TEST_PG_URL;
  if (url !== undefined) {
    const schema = `accord_bench_${randomBytes(6).toString("hex")}`;
    const store = await openPostgresStore({ connectionString: url, schema });
    try {
      rows.push(...(await measure("postgres", store, { puts: 20_000, appends: 2_000 })));
    } finally {
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await run()) console.log(JSON.stringify(row));
}
