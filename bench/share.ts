/**
 * ingest: objects/s through validation and a durable SQLite store (one transaction per bundle),
 * on the real corpora in ../shared/data/corpora (those that are valid STIX) and on a synthetic
 * bundle. share: objects/s from XA to XB over loopback HTTP, from the share call to the verified
 * receipt: decide, minimize, seal, outbox, deliver, open, validate, decide, store, receipt.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { AccordNode } from "../src/app/node.js";
import { generateNodeKeys } from "../src/crypto/keys.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";
import { HttpPeerClient } from "../src/federation/http-peer-client.js";
import { systemClock, systemRandom } from "../src/cli/compose.js";
import { createNodeDir, introduce, makeTempDir, start } from "../test/support/nodes.js";
import { syntheticBundle } from "./synthetic.js";
import type { BenchResult } from "./run.js";

const CORPORA = new URL("../../shared/data/corpora/", import.meta.url).pathname;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function ingestBench(): Promise<BenchResult[]> {
  const inputs: { name: string; bundle: unknown; n: number }[] = [];
  if (existsSync(CORPORA)) {
    for (const f of [
      "ics-attack-18.1.json",
      "opencti-geography.json",
      "capec-2.1.json",
      "stix-atlas.json",
    ]) {
      const bundle = JSON.parse(readFileSync(join(CORPORA, f), "utf8")) as { objects: unknown[] };
      inputs.push({ name: f, bundle, n: bundle.objects.length });
    }
  }
  const synthetic = syntheticBundle(20_000, 7);
  inputs.push({ name: "synthetic-20000", bundle: synthetic, n: synthetic.objects.length });

  const results: BenchResult[] = [];
  let totalObjects = 0;
  let totalMs = 0;
  const root = makeTempDir("accord-bench-");
  try {
    for (const input of inputs) {
      const store = await openSqliteStore({ path: join(root, `${input.name}.db`) });
      const node = new AccordNode({
        nodeId: "XA",
        name: "XA",
        publicUrl: () => "http://127.0.0.1:0",
        keys: generateNodeKeys(),
        store,
        clock: systemClock,
        random: systemRandom,
        peerClient: new HttpPeerClient(),
        logger: silent,
      });
      const t0 = performance.now();
      let refused: string | undefined;
      try {
        await node.ingest(input.bundle);
      } catch (e) {
        refused = (e as { code?: string }).code ?? "error";
      }
      const ms = performance.now() - t0;
      await store.close();
      if (refused !== undefined) {
        results.push({
          bench: "ingest.refused",
          value: ms,
          unit: "ms",
          corpus: input.name,
          n: input.n,
          code: refused,
          note: "the corpus has real defects and is refused whole",
        });
        continue;
      }
      totalObjects += input.n;
      totalMs += ms;
      results.push({
        bench: `ingest.${input.name}`,
        value: Math.round(input.n / (ms / 1000)),
        unit: "objects/s",
        n: input.n,
        store: "sqlite",
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  results.push({
    bench: "ingest",
    value: Math.round(totalObjects / (totalMs / 1000)),
    unit: "objects/s",
    n: totalObjects,
    store: "sqlite",
    durable: "synchronous=FULL",
  });
  return results;
}

export async function shareBench(): Promise<BenchResult[]> {
  const n = 5_000;
  const root = makeTempDir("accord-bench-");
  const xaDir = createNodeDir(root, { id: "XA" });
  const xbDir = createNodeDir(root, { id: "XB" });
  const xa = await start(xaDir);
  const xb = await start(xbDir);
  const results: BenchResult[] = [];
  try {
    await introduce([xa, xb]);
    const runs: number[] = [];
    for (let run = 0; run < 3; run++) {
      const bundle = syntheticBundle(n, 100 + run);
      await xa.node.ingest(bundle);
      const ids = bundle.objects.map((o) => o.id as string);
      const t0 = performance.now();
      const [outcome] = await xa.node.share({
        recipients: ["XB"],
        purpose: "cyber-defence",
        objectIds: ids,
      });
      await xa.deliverNow();
      const ms = performance.now() - t0;
      const pending = await xa.store.outbox.list({ status: "pending", limit: 10 });
      if (pending.length > 0 || outcome?.sent !== n)
        throw new Error(
          `share bench: ${outcome?.sent ?? 0} of ${n} sent, ${pending.length} pending`,
        );
      runs.push(n / (ms / 1000));
    }
    runs.sort((a, b) => a - b);
    results.push({
      bench: "share",
      value: Math.round(runs[1] ?? 0),
      unit: "objects/s",
      n,
      runs: runs.map(Math.round),
      path: "XA->XB loopback HTTP, SQLite both sides, to verified receipt",
    });
  } finally {
    await xa.stop();
    await xb.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}
