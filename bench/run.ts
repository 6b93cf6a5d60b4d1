/**
 * `npm run bench [-- NAME]`: runs the benchmarks whose name starts with NAME (all when left out)
 * and prints one JSON object per line: {"bench": "...", "value": N, "unit": "...", ...}.
 * Machines here are noisy (2 cores): compare ratios within one run, not figures across runs.
 */
import { ingestBench, shareBench } from "./share.js";
import { run as cryptoBench } from "./crypto.js";
import { run as storageBench } from "./storage.js";
import { run as stixBench } from "./stix.js";
import { run as matchBench } from "./match.js";
import { run as matchHttpBench } from "./match-http.js";
import { run as logBench } from "./log.js";
import { run as policyBench } from "./policy.js";
import { run as minimizeBench } from "./minimize.js";
import { run as taxiiBench, syncRun as syncBench } from "./taxii.js";
import { run as recallBench } from "./recall.js";

export interface BenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const benches: Record<string, () => Promise<BenchResult[]>> = {
  ingest: ingestBench,
  share: shareBench,
  crypto: cryptoBench,
  storage: storageBench,
  stix: stixBench,
  match: matchBench,
  "match-http": () => matchHttpBench(),
  log: () => logBench(),
  policy: policyBench,
  minimize: minimizeBench,
  taxii: taxiiBench,
  sync: syncBench,
  recall: () => recallBench(),
};

const filter = process.argv[2];
const selected = Object.entries(benches).filter(
  ([name]) => filter === undefined || name.startsWith(filter) || filter.startsWith(name),
);
if (selected.length === 0) {
  process.stderr.write(
    `no benchmark named \`${filter ?? ""}\`; known: ${Object.keys(benches).join(", ")}\n`,
  );
  process.exitCode = 2;
} else {
  for (const [, run] of selected)
    for (const r of await run()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
