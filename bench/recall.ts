/**
 * Retention purge throughput (spec/recall.md, "Retention"): N received object versions whose
 * deadline has passed, among N more that are still kept, removed by `RecallService.purgeExpired`
 * in passes of 500 (each pass one transaction: the deletes and one `purge` log entry per version),
 * on a SQLite file with synchronous FULL. Bench line: `recall.purge` (versions/s).
 * `npx tsx bench/recall.ts` prints the rows as JSON.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Store, StoredObject } from "../src/app/ports.js";
import { LogDigests } from "../src/core/log-digest.js";
import { RecallService } from "../src/app/recall.js";
import { generateNodeKeys } from "../src/crypto/keys.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";

export interface BenchRow {
  bench: string;
  value: number;
  unit: string;
  [k: string]: unknown;
}

const NOW = new Date("2026-12-01T00:00:00.000Z");

function received(i: number, expired: boolean): StoredObject {
  return {
    object: {
      type: "indicator",
      spec_version: "2.1",
      id: `indicator--${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
      created: "2026-05-01T00:00:00.000Z",
      modified: "2026-05-01T00:00:00.000Z",
      pattern: `[ipv4-addr:value = '198.51.${i % 256}.${(i >> 8) % 256}']`,
      pattern_type: "stix",
      valid_from: "2026-05-01T00:00:00Z",
    },
    provenance: {
      originator: "XA",
      receivedFrom: "XA",
      agreementId: "regional-cyber-accord",
      agreementVersion: 1,
      purpose: "cyber-defence",
      // Deadlines spread over a day before (or a year after) NOW.
      retentionUntil: new Date(
        NOW.getTime() + (expired ? -1 : 365 * 86_400_000) - (i % 86_400) * 1000,
      ).toISOString(),
      envelopeId: "0c6f3c2e-5b7a-4d1e-9f8a-2b3c4d5e6f70",
    },
    storedAt: "2026-05-01T00:00:00.000Z",
  };
}

async function fill(store: Store, n: number): Promise<void> {
  for (let from = 0; from < 2 * n; from += 500)
    await store.transaction(async (tx) => {
      for (let i = from; i < Math.min(2 * n, from + 500); i++)
        await tx.objects.put(received(i, i % 2 === 0));
    });
}

export async function run(n = 10_000): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "accord-bench-recall-"));
  try {
    const store = await openSqliteStore({ path: join(dir, "bench.db") });
    await fill(store, n);
    const recalls = new RecallService({
      node: {
        id: "XB",
        prepareShare: () => Promise.reject(new Error("the purge bench shares nothing")),
      },
      keys: generateNodeKeys(),
      store,
      clock: { now: () => NOW },
      random: { bytes: (k) => new Uint8Array(k), uuid: randomUUID },
      transport: { send: () => Promise.reject(new Error("the purge bench sends nothing")) },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      logDigests: new LogDigests(new Uint8Array(32)),
    });
    const t0 = performance.now();
    let purged = 0;
    for (;;) {
      const r = await recalls.purgeExpired(500);
      if (r.purged === 0) break;
      purged += r.purged;
    }
    const seconds = (performance.now() - t0) / 1000;
    const kept = await store.objects.count();
    await store.close();
    if (purged !== n || kept !== n)
      throw new Error(`recall.purge: purged ${purged} and kept ${kept}, expected ${n} each`);
    return [
      {
        bench: "recall.purge",
        value: Math.round(purged / seconds),
        unit: "versions/s",
        versions: purged,
        kept,
        store: "sqlite file, synchronous FULL",
        seconds: Math.round(seconds * 1000) / 1000,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  for (const r of await run()) process.stdout.write(`${JSON.stringify(r)}\n`);
