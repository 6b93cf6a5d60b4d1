/**
 * The guarantees of minimization (spec/minimization.md §guarantees; VISION.md C5), proven with
 * fast-check over valid STIX objects of sixteen types (test/core/stix/arbitraries.ts) with personal
 * data planted in their strings and granular markings added, under random profiles:
 * - the output validates as STIX 2.1;
 * - every property path of the output is allowed by the profile;
 * - minimizing twice equals minimizing once;
 * - markings are never widened: object markings are kept, and every granular marking selector that
 *   still resolves keeps its marking;
 * - no detector fires on the output unless the profile allows its category.
 * (Pseudonym stability across epochs and agreements: pseudonym.test.ts.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DETECTOR_KINDS,
  allows,
  compileProfile,
  detect,
  minimize,
  normalizeText,
  type DetectorAction,
  type Profile,
  type ProfileDocument,
} from "../../src/core/minimize/index.js";
import type { JsonValue, StixObject } from "../../src/core/stix/object.js";
import { isTimestamp } from "../../src/core/stix/formats.js";
import { TLP2_IDS } from "../../src/core/stix/tlp.js";
import { validateObject } from "../../src/core/stix/validate.js";
import { validObject, type Obj } from "../core/stix/arbitraries.js";
import { CTX } from "./support.js";

const PII = [
  "suspect.one@mail.example",
  "ｓｕｓｐｅｃｔ＠ｍａｉｌ．ｅｘａｍｐｌｅ",
  "+44 20 7946 0958",
  "+44\u200b20\u200b7946\u200b0958",
  "GB82 WEST 1234 5698 7654 32",
  "4111 1111 1111 1111",
  "𝟺𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷𝟷",
  "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
  "passport no. X1234567",
  "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
  "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
  "home IP 203.0.113.9",
  "2001:db8:85a3::8a2e:370:7334",
];

const TYPES = [
  "attack-pattern",
  "campaign",
  "identity",
  "indicator",
  "malware",
  "relationship",
  "sighting",
  "report",
  "note",
  "opinion",
  "location",
  "ipv4-addr",
  "domain-name",
  "url",
  "file",
  "user-account",
];
const TEXT_KEYS = ["name", "description", "objective", "content", "user_id", "account_login"];

/** A valid object with PII planted in its text properties, labels, a custom property and granular markings. */
const hostileObject: fc.Arbitrary<Obj> = fc
  .tuple(
    validObject,
    fc.array(fc.constantFrom(...PII), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([o, pii, mark, custom]) => {
    const out: Obj = { ...o };
    for (const k of TEXT_KEYS)
      if (typeof out[k] === "string") out[k] = `${out[k]} ${pii.join(" and ")}`;
    if (Array.isArray(out.labels)) out.labels = [...(out.labels as string[]), pii[0] ?? ""];
    if (custom) out.x_contact = pii.join(", ");
    if (mark && out.created !== undefined) {
      const selectors = Object.keys(out).filter(
        (k) => !["type", "id", "spec_version", "created", "modified"].includes(k),
      );
      if (selectors.length > 0)
        out.granular_markings = [
          { marking_ref: TLP2_IDS.red, selectors },
          { marking_ref: TLP2_IDS.amber, selectors: [selectors[0] ?? "name"] },
        ];
    }
    return out;
  });

const action = fc.constantFrom<DetectorAction>("allow", "redact", "pseudonymize", "refuse");
const PATHS = [
  "*",
  "name",
  "description",
  "labels",
  "labels[]",
  "confidence",
  "kill_chain_phases[].kill_chain_name",
  "kill_chain_phases[].phase_name",
  "pattern",
  "pattern_type",
  "valid_from",
  "valid_until",
  "indicator_types",
  "is_family",
  "malware_types",
  "sample_refs",
  "relationship_type",
  "source_ref",
  "target_ref",
  "sighting_of_ref",
  "count",
  "observed_data_refs",
  "object_refs",
  "published",
  "content",
  "opinion",
  "objective",
  "aliases",
  "identity_class",
  "sectors",
  "country",
  "latitude",
  "longitude",
  "value",
  "hashes",
  "size",
  "user_id",
  "account_login",
  "is_privileged",
  "account_created",
  "x_contact",
  "external_references[].source_name",
  "external_references[].external_id",
];

const profileArb: fc.Arbitrary<Profile> = fc
  .record({
    types: fc.dictionary(
      fc.constantFrom(...TYPES),
      fc.uniqueArray(fc.constantFrom(...PATHS), { maxLength: 12 }),
      {
        minKeys: 8,
      },
    ),
    detectors: fc.record(
      Object.fromEntries(DETECTOR_KINDS.map((k) => [k, action])) as Record<
        string,
        fc.Arbitrary<DetectorAction>
      >,
    ),
    ip: fc.boolean(),
    ts: fc.option(fc.constantFrom<"hour" | "day">("hour", "day"), { nil: undefined }),
    decimals: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    publicSources: fc.boolean(),
  })
  .map((r) => {
    const doc: ProfileDocument = {
      profile: "random",
      version: 1,
      types: Object.fromEntries(
        Object.entries(r.types).map(([t, properties]) => [t, { properties }]),
      ),
      detectors: r.detectors,
      generalize: {
        ...(r.ip ? { ip: { ipv4: 24, ipv6: 48 } } : {}),
        ...(r.ts === undefined
          ? {}
          : {
              timestamps: {
                precision: r.ts,
                properties: ["created", "modified", "valid_from", "valid_until", "published"],
              },
            }),
        ...(r.decimals === undefined ? {} : { coordinates: { decimals: r.decimals } }),
      },
      source_protection: {
        enabled: true,
        reissue_ids: true,
        grade: "optional",
        grade_scheme: "any",
        ...(r.publicSources ? { public_sources: ["capec"] } : {}),
      },
    };
    return compileProfile(doc);
  });

const GRADE = { scheme: "admiralty", reliability: "B", credibility: 2 } as const;

/** Every leaf path of a JSON value, list indexes as numbers. */
function leaves(
  v: JsonValue,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, i], out));
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) leaves(x, [...path, k], out);
  else out.push(path);
  return out;
}

/** Every string of an object with its key, skipping identifiers and timestamps as the engine does. */
function strings(v: JsonValue, key = "", out: string[] = []): string[] {
  if (typeof v === "string") {
    if (!(key === "id" || key.endsWith("_ref") || key.endsWith("_refs") || isTimestamp(v)))
      out.push(v);
  } else if (Array.isArray(v)) v.forEach((x) => strings(x, key, out));
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, k, out);
    }
  return out;
}

describe("minimization guarantees", () => {
  it("holds for every object and profile", () => {
    let produced = 0;
    fc.assert(
      fc.property(hostileObject, profileArb, fc.boolean(), (input, profile, graded) => {
        const object = input as unknown as StixObject;
        const ctx = graded ? { ...CTX, sourceGrade: GRADE } : CTX;
        const r = minimize(object, profile, ctx);
        if (!("object" in r)) {
          expect(r.refused.length, "a refusal gives reasons").toBeGreaterThan(0);
          return;
        }
        produced++;
        const out = r.object;
        expect(validateObject(out), "the output validates as STIX 2.1").toEqual([]);
        for (const path of leaves(out as unknown as JsonValue))
          expect(allows(profile, out.type, path), `the profile allows ${path.join(".")}`).toBe(
            true,
          );
        const again = minimize(out, profile, ctx);
        expect(
          "object" in again && again.object,
          "minimizing twice equals minimizing once",
        ).toEqual(out);
        expect(out.object_marking_refs, "object markings are never dropped").toEqual(
          object.object_marking_refs,
        );
        const before = (object.granular_markings ?? []) as {
          marking_ref: string;
          selectors: string[];
        }[];
        const after = (out.granular_markings ?? []) as {
          marking_ref: string;
          selectors: string[];
        }[];
        for (const m of before)
          for (const s of m.selectors) {
            const kept = s.split(".")[0] ?? "";
            if (out[kept] !== undefined)
              expect(
                after.some((a) => a.marking_ref === m.marking_ref && a.selectors.includes(s)),
                "a granular marking on a kept property is never dropped",
              ).toBe(true);
          }
        const identityContext = profile.identityContextTypes.has(out.type);
        for (const s of strings(out as unknown as JsonValue)) {
          const fired = detect(normalizeText(s), { identityContext }).filter(
            (m) => profile.detectors[m.kind] !== "allow",
          );
          expect(
            fired.map((m) => m.kind),
            "no detector fires unless the profile allows its category",
          ).toEqual([]);
        }
      }),
      { numRuns: 600 },
    );
    expect(produced, "some objects make it through").toBeGreaterThan(50);
  });

  it("is deterministic", () => {
    fc.assert(
      fc.property(hostileObject, profileArb, (input, profile) => {
        const object = input as unknown as StixObject;
        expect(minimize(object, profile, CTX), "same input, same output and report").toEqual(
          minimize(object, profile, CTX),
        );
      }),
      { numRuns: 100 },
    );
  });
});
