/**
 * Minimization throughput (spec/minimization.md): objects per second through `minimize` on one
 * core, over the real corpora in ../shared/data/corpora (skipped with a note when absent) and a
 * 20,000-object synthetic bundle.
 *
 * - `minimize`: the corpora through examples/profiles/cyber-default.yaml, the full pipeline as the
 *   regional cyber accord runs it (types it does not carry are refused early, as in production);
 *   `minimize.<input>` per corpus and for the synthetic bundle.
 * - `minimize.everything`: the worst case — a profile that lets every property of every type
 *   travel, so every string is normalised and run through every detector, every pattern parsed
 *   and printed, every id and reference re-issued, and every output validated.
 * - `minimize.calibration.validateObject`: the STIX validator alone on the same objects, to read
 *   the figures on a loaded machine (minimization validates every output, so it is a floor).
 *
 * Refused objects count: refusing is the work the engine did for them. `npx tsx bench/minimize.ts`
 * prints JSON lines; wall-clock figures on a shared machine: compare within one run.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  compileProfile,
  deriveMinimizationKeys,
  minimize,
  parseProfile,
  type MinimizeContext,
  type Profile,
} from "../src/core/minimize/index.js";
import type { StixObject } from "../src/core/stix/object.js";
import { validateObject } from "../src/core/stix/validate.js";
import { syntheticBundle } from "./synthetic.js";

export interface MinimizeBenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const MIN_SECONDS = 1.5;
const CORPORA = fileURLToPath(new URL("../../shared/data/corpora/", import.meta.url));
const PROFILES = new URL("../examples/profiles/", import.meta.url);

function measure(objects: readonly StixObject[], profile: Profile, ctx: MinimizeContext) {
  let refused = 0;
  const once = (): void => {
    refused = 0;
    for (const o of objects) if ("refused" in minimize(o, profile, ctx)) refused++;
  };
  once(); // warm-up
  let rounds = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  while (rounds < 3 || seconds < MIN_SECONDS) {
    once();
    rounds++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return { perSecond: Math.round((objects.length * rounds) / seconds), rounds, refused };
}

/** Every property of every type present travels; detectors pseudonymize or generalize, never refuse. */
function everythingProfile(objects: readonly StixObject[]): Profile {
  const types = Object.fromEntries(
    [...new Set(objects.map((o) => o.type))].map((t) => [t, { properties: ["*"] }]),
  );
  return compileProfile({
    profile: "bench-everything",
    version: 1,
    types,
    detectors: {
      email: "pseudonymize",
      phone: "pseudonymize",
      iban: "pseudonymize",
      card: "redact",
      passport: "redact",
      wallet: "pseudonymize",
      ip: "generalize",
    },
    generalize: {
      ip: { ipv4: 24, ipv6: 48 },
      timestamps: {
        precision: "hour",
        properties: ["valid_from", "valid_until", "first_seen", "last_seen"],
      },
      coordinates: { decimals: 1 },
    },
    source_protection: {
      enabled: true,
      reissue_ids: true,
      grade: "optional",
      grade_scheme: "any",
      public_sources: ["mitre-attack", "capec", "cve", "cwe", "mitre-atlas"],
    },
  });
}

export function run(): Promise<MinimizeBenchResult[]> {
  const results: MinimizeBenchResult[] = [];
  const inputs: { name: string; objects: StixObject[] }[] = [];
  if (existsSync(CORPORA)) {
    for (const f of readdirSync(CORPORA).sort()) {
      if (f.endsWith(".json"))
        inputs.push({
          name: f,
          objects: (JSON.parse(readFileSync(join(CORPORA, f), "utf8")) as { objects: StixObject[] })
            .objects,
        });
    }
  } else {
    results.push({
      bench: "minimize.corpora",
      value: 0,
      unit: "objects/s",
      note: `skipped: ${CORPORA} is absent`,
    });
  }
  inputs.push({
    name: "synthetic-20k",
    objects: syntheticBundle(20_000, 11).objects as unknown as StixObject[],
  });
  const ctx: MinimizeContext = {
    agreementId: "regional-cyber-accord",
    epoch: 1,
    keys: deriveMinimizationKeys(new Uint8Array(32).fill(9), "regional-cyber-accord", 1),
    sourceGrade: { scheme: "admiralty", reliability: "B", credibility: 2 },
  };
  const cyber = parseProfile(
    readFileSync(new URL("cyber-default.yaml", PROFILES), "utf8"),
    "cyber-default.yaml",
  );
  for (const { name, objects } of inputs) {
    const m = measure(objects, cyber, ctx);
    results.push({
      bench: `minimize.${name}`,
      value: m.perSecond,
      unit: "objects/s",
      objects: objects.length,
      refused: m.refused,
      rounds: m.rounds,
      profile: "cyber-default",
    });
  }
  const corpora = inputs.filter((i) => !i.name.startsWith("synthetic")).flatMap((i) => i.objects);
  const main = corpora.length > 0 ? corpora : inputs.flatMap((i) => i.objects);
  const c = measure(main, cyber, ctx);
  results.push({
    bench: "minimize",
    value: c.perSecond,
    unit: "objects/s",
    objects: main.length,
    refused: c.refused,
    rounds: c.rounds,
    profile: "cyber-default",
    input: corpora.length > 0 ? "corpora" : "synthetic (corpora absent)",
  });
  const e = measure(main, everythingProfile(main), ctx);
  results.push({
    bench: "minimize.everything",
    value: e.perSecond,
    unit: "objects/s",
    objects: main.length,
    refused: e.refused,
    rounds: e.rounds,
    profile: "every property of every type",
  });
  // The STIX validator on the same objects, for reading the figures on a loaded machine.
  let rounds = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  while (rounds < 3 || seconds < MIN_SECONDS) {
    for (const o of main) validateObject(o);
    rounds++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  results.push({
    bench: "minimize.calibration.validateObject",
    value: Math.round((main.length * rounds) / seconds),
    unit: "objects/s",
    objects: main.length,
    rounds,
  });
  return Promise.resolve(results);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
