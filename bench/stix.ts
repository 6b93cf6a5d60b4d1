/**
 * STIX 2.1 validation throughput (spec/stix-validation.md): `validateBundle` over each real corpus
 * in ../shared/data/corpora (when present) and over a 100,000-object synthetic bundle, and
 * `parseStix` (JSON.parse included) over the synthetic bundle's text. One result per input, in
 * objects per second on one core. `npx tsx bench/stix.ts` prints them as JSON lines. Wall-clock
 * figures on a shared machine: compare within one run.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseStix, validateBundle } from "../src/core/stix/validate.js";
import { syntheticBundle } from "./synthetic.js";

export interface StixBenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const MIN_SECONDS = 1.5;
const CORPORA = fileURLToPath(new URL("../../shared/data/corpora", import.meta.url));

function measure(objects: number, op: () => void): { perSecond: number; rounds: number } {
  op(); // warm-up
  let rounds = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  while (rounds < 3 || seconds < MIN_SECONDS) {
    op();
    rounds++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return { perSecond: Math.round((objects * rounds) / seconds), rounds };
}

export function run(): Promise<StixBenchResult[]> {
  const results: StixBenchResult[] = [];
  const inputs: { name: string; bundle: { objects: unknown[] } }[] = [];
  if (existsSync(CORPORA)) {
    for (const f of readdirSync(CORPORA).sort()) {
      if (f.endsWith(".json"))
        inputs.push({
          name: f,
          bundle: JSON.parse(readFileSync(join(CORPORA, f), "utf8")) as { objects: unknown[] },
        });
    }
  }
  const synthetic = syntheticBundle(100_000, 7);
  inputs.push({ name: "synthetic-100k", bundle: synthetic });
  for (const { name, bundle } of inputs) {
    const n = bundle.objects.length;
    const { perSecond, rounds } = measure(n, () => {
      validateBundle(bundle);
    });
    results.push({
      bench: `stix.validateBundle.${name}`,
      value: perSecond,
      unit: "objects/s",
      objects: n,
      rounds,
    });
  }
  const text = JSON.stringify(synthetic);
  const { perSecond, rounds } = measure(synthetic.objects.length, () => {
    parseStix(text);
  });
  results.push({
    bench: "stix.parseStix.synthetic-100k",
    value: perSecond,
    unit: "objects/s",
    objects: synthetic.objects.length,
    bytes: text.length,
    rounds,
  });
  return Promise.resolve(results);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
