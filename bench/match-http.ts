/**
 * match.query.latency: one hit/no-hit query end to end over loopback HTTP, as a requester's user
 * sees it: POST /api/v1/match/queries on XA -> normalise, blind -> XB's signed filter (cached by
 * XA after the first query; the cold figure includes fetching it) -> signed POST of the blinded
 * element to XB -> decide(query), budget (day and burst, in a transaction), log, POPRF evaluation
 * with a proof -> XA verifies the proof, finalizes, checks the filter, logs -> one bit. Real nodes:
 * SQLite stores, real keys, real HTTP (spec/match.md).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  api,
  createNodeDir,
  EXAMPLES,
  introduce,
  makeTempDir,
  removeDir,
  start,
} from "../test/support/nodes.js";
import type { BenchResult } from "./run.js";

const HELD = "DE89 3704 0044 0532 0130 00";
const OTHER = "GB82 WEST 1234 5698 7654 32";

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export async function run(n = Number(process.env.MATCH_LATENCY_N ?? 200)): Promise<BenchResult[]> {
  const root = makeTempDir("accord-bench-match-");
  const agreement = readFileSync(join(EXAMPLES, "agreements", "fiu-mou.yaml"), "utf8")
    .replace("agreement: fiu-mou", "agreement: bench-mou")
    .replace("budget_per_day: 20", "budget_per_day: 10000000");
  const dirs = [
    createNodeDir(root, { id: "XA", agreements: [] }),
    createNodeDir(root, { id: "XB", agreements: [] }),
  ];
  for (const d of dirs) writeFileSync(join(d.dir, "agreements", "bench-mou.yaml"), agreement);
  const xa = await start(dirs[0]!);
  const xb = await start(dirs[1]!);
  try {
    await introduce([xa, xb]);
    const objects = Array.from({ length: 1000 }, (_, i) => ({
      type: "identity",
      spec_version: "2.1",
      id: `identity--${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
      created: "2026-03-02T09:15:00.000Z",
      modified: "2026-03-02T09:15:00.000Z",
      name: `holder ${String(i)}`,
      identity_class: "individual",
      x_iban:
        i === 0
          ? HELD
          : `DE${String(10 + (i % 89)).padStart(2, "0")}370400440532${String(i).padStart(6, "0")}`,
    }));
    await xb.node.ingest({
      type: "bundle",
      id: "bundle--00000000-0000-4000-8000-000000000001",
      objects,
    });
    const ask = async (value: string): Promise<number> => {
      const t0 = performance.now();
      const r = await api(xa, "POST", "/api/v1/match/queries", {
        partner: "XB",
        agreement: "bench-mou",
        kind: "iban",
        value,
      });
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`query failed: ${JSON.stringify(r.body)}`);
      const hit = (r.body as { hits: boolean[] }).hits[0];
      if (hit !== (value === HELD)) throw new Error("wrong answer");
      return ms;
    };
    const cold = await ask(HELD);
    for (let i = 0; i < 10; i++) await ask(i % 2 === 0 ? HELD : OTHER);
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await ask(i % 2 === 0 ? HELD : OTHER));
    times.sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 100) / 100;
    return [
      {
        bench: "match.query.latency",
        value: round(quantile(times, 0.5)),
        unit: "ms",
        p95: round(quantile(times, 0.95)),
        p99: round(quantile(times, 0.99)),
        min: round(times[0] ?? Number.NaN),
        queries: n,
        cold_ms: round(cold),
        responder_identifiers: objects.length,
        note: "median, requester end to end over loopback HTTP (API -> evaluate -> proof -> filter); cold_ms includes fetching the signed filter",
      },
    ];
  } finally {
    await xa.stop();
    await xb.stop();
    removeDir(root);
  }
}
